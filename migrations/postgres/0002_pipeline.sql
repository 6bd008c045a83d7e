-- Tenants, connections and the publish pipeline. Times are Unix milliseconds (BIGINT), so the
-- same queries run on PostgreSQL and SQLite. Every tenant-owned row carries tenant_id and is
-- reached through (tenant_id, id): a row of one tenant can never reference another's.

CREATE TABLE tenants (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- Per-tenant plugin enablement, overriding plugins.toml's `tenants` list.
CREATE TABLE tenant_plugins (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    plugin      TEXT    NOT NULL,
    enabled     BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, plugin)
);

CREATE TABLE connections (
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id),
    id                  TEXT    NOT NULL,
    plugin              TEXT    NOT NULL,
    external_id         TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    -- healthy | expiring_soon | attention | revoked
    status              TEXT    NOT NULL,
    status_reason       TEXT,
    scopes              TEXT    NOT NULL,
    expires_at          BIGINT,
    refresh_expires_at  BIGINT,
    refreshed_at        BIGINT,
    -- Bumped whenever new tokens are stored (connect, reconnect, refresh): a refresh that finds
    -- it changed while waiting for the lock knows another refresh already did the work.
    token_version       BIGINT  NOT NULL DEFAULT 0,
    next_health_at      BIGINT  NOT NULL,
    -- Set when the user deletes the connection: its secrets are erased, its pending jobs
    -- cancelled, the row kept for the history of its jobs.
    deleted_at          BIGINT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX connections_by_expiry ON connections (expires_at);
CREATE INDEX connections_by_health ON connections (next_health_at);

-- One accepted publish request; its idempotency key is unique per tenant.
CREATE TABLE posts (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id),
    id               TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL,
    payload_sha256   TEXT    NOT NULL,
    scheduled_for    BIGINT,
    created_at       BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key)
);

-- One target of a post: the unit the pipeline runs, retries and dead-letters.
CREATE TABLE jobs (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    post_id         TEXT    NOT NULL,
    connection_id   TEXT    NOT NULL,
    plugin          TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    content         TEXT    NOT NULL,
    -- queued | running | paused | published | dead | cancelled
    state           TEXT    NOT NULL,
    state_reason    TEXT,
    attempts        BIGINT  NOT NULL,
    next_run_at     BIGINT  NOT NULL,
    recovery_point  TEXT,
    result          TEXT,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     BIGINT,
    announced_at    BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, post_id) REFERENCES posts (tenant_id, id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
);
CREATE UNIQUE INDEX jobs_by_id ON jobs (id);
CREATE INDEX jobs_due ON jobs (state, next_run_at);
CREATE INDEX jobs_leased ON jobs (state, lease_until);
CREATE INDEX jobs_by_connection ON jobs (tenant_id, connection_id, state);
CREATE INDEX jobs_by_post ON jobs (tenant_id, post_id);

-- Continuations a connector enqueued, handed back to `handle-task` in run_at order.
CREATE TABLE job_tasks (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    job_id      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    run_at      BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id)
);
CREATE INDEX job_tasks_by_job ON job_tasks (job_id, run_at);

-- Every run of a job: what it did and what it cost.
CREATE TABLE job_attempts (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    job_id       TEXT    NOT NULL,
    attempt      BIGINT  NOT NULL,
    export       TEXT    NOT NULL,
    worker       TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    latency_ms   BIGINT  NOT NULL,
    fuel         BIGINT  NOT NULL,
    -- published | in-progress | retry | rate-limited | paused | dead
    outcome      TEXT    NOT NULL,
    error_code   TEXT,
    error        TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id)
);
CREATE INDEX job_attempts_by_job ON job_attempts (job_id);

CREATE TABLE dead_letters (
    tenant_id    TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    job_id       TEXT    NOT NULL,
    reason_code  TEXT    NOT NULL,
    last_error   TEXT    NOT NULL,
    attempts     BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    replayed_at  BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id)
);
CREATE INDEX dead_letters_open ON dead_letters (tenant_id, replayed_at);

-- Verified webhook deliveries, stored once per platform event id.
CREATE TABLE webhook_events (
    plugin          TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    tenant_id       TEXT,
    connection_id   TEXT,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    received_at     BIGINT  NOT NULL,
    PRIMARY KEY (plugin, event_id)
);

CREATE TABLE connection_health (
    tenant_id      TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    connection_id  TEXT    NOT NULL,
    checked_at     BIGINT  NOT NULL,
    latency_ms     BIGINT  NOT NULL,
    ok             BIGINT  NOT NULL,
    error          TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
);
CREATE INDEX connection_health_by_connection ON connection_health (tenant_id, connection_id, checked_at);

-- Who changed what: connection changes, refreshes, enablement, replays.
CREATE TABLE audit_log (
    tenant_id   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_by_time ON audit_log (tenant_id, at);
