-- Outbound events: each tenant's endpoints, and one delivery row per (endpoint, event), written
-- in the transaction of the change the event reports (an outbox). The delivery row carries the
-- event's exact body, so every attempt signs and sends the same bytes. Signing secrets live in
-- the vault, never here.

CREATE TABLE event_endpoints (
    tenant_id              TEXT    NOT NULL REFERENCES tenants (id),
    id                     TEXT    NOT NULL,
    url                    TEXT    NOT NULL,
    -- The event types it wants, each between spaces (' post.published post.failed '), or ' * '.
    event_types            TEXT    NOT NULL,
    description            TEXT    NOT NULL,
    enabled                BIGINT  NOT NULL,
    -- Until when deliveries are also signed with the secret replaced by the last rotation.
    previous_secret_until  BIGINT,
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE event_deliveries (
    tenant_id        TEXT    NOT NULL,
    endpoint_id      TEXT    NOT NULL,
    event_id         TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    -- Deliveries with the same key reach their endpoint one at a time, in event order.
    ordering_key     TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    -- pending | delivered | failed
    state            TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL,
    next_attempt_at  BIGINT  NOT NULL,
    -- Retries run for the configured window from here (the event, or its last redelivery).
    window_start     BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    last_status      BIGINT,
    last_error       TEXT,
    created_at       BIGINT  NOT NULL,
    delivered_at     BIGINT,
    PRIMARY KEY (tenant_id, endpoint_id, event_id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES event_endpoints (tenant_id, id)
);
CREATE INDEX event_deliveries_due ON event_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX event_deliveries_in_order ON event_deliveries (tenant_id, endpoint_id, ordering_key, event_id)
    WHERE state = 'pending';
-- Listing by endpoint (ids are unique across tenants). Not (tenant_id, endpoint_id, …): on a table
-- without statistics yet, PostgreSQL would pick such an index for the ordering check above and
-- scan every pending row per candidate.
CREATE INDEX event_deliveries_by_time ON event_deliveries (endpoint_id, created_at);
CREATE INDEX event_deliveries_finished ON event_deliveries (created_at) WHERE state <> 'pending';

-- Every attempt of a delivery: when, how long, what the receiver answered.
CREATE TABLE event_attempts (
    tenant_id    TEXT    NOT NULL,
    endpoint_id  TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    attempt      BIGINT  NOT NULL,
    at           BIGINT  NOT NULL,
    latency_ms   BIGINT  NOT NULL,
    -- The HTTP status; NULL when the receiver did not answer.
    status       BIGINT,
    error        TEXT,
    PRIMARY KEY (tenant_id, endpoint_id, event_id, attempt),
    FOREIGN KEY (tenant_id, endpoint_id, event_id)
        REFERENCES event_deliveries (tenant_id, endpoint_id, event_id)
);
