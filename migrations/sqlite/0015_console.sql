-- Console sign-ins: a session is named by the SHA-256 of its cookie's token (the token itself
-- is never stored); `csrf` is the token every change made in that session must carry.
CREATE TABLE console_sessions (
    token_hash  TEXT    PRIMARY KEY,
    admin       TEXT    NOT NULL,
    csrf        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);

-- Hosted connect sessions: a tenant's backend opens one for one of its users, who connects an
-- account at /connect/{token} and is sent back to `return_to`. Named by the token's SHA-256.
CREATE TABLE connect_sessions (
    token_hash     TEXT    PRIMARY KEY,
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id),
    plugins        TEXT    NOT NULL,
    return_to      TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    connection_id  TEXT,
    finished_at    BIGINT
);
CREATE INDEX connect_sessions_by_expiry ON connect_sessions (expires_at);
