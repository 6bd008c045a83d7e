-- API access: per-tenant keys (only their SHA-256 is kept) and OAuth `state` values (single use,
-- bound to tenant and plugin, short-lived).

CREATE TABLE api_keys (
    key_sha256  TEXT    PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    prefix      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

CREATE TABLE oauth_states (
    state          TEXT    PRIMARY KEY,
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id),
    plugin         TEXT    NOT NULL,
    connection_id  TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
