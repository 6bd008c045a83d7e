-- The vault: per-tenant data keys (wrapped by a key-encryption key) and sealed secrets.
-- No plaintext secret or unwrapped key is ever stored.

CREATE TABLE vault_keys (
    tenant      TEXT    NOT NULL,
    version     BIGINT  NOT NULL CHECK (version > 0),
    kek_id      TEXT    NOT NULL,
    wrapped     BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL DEFAULT (extract(epoch FROM now())::BIGINT),
    rotated_at  BIGINT,
    PRIMARY KEY (tenant, version)
);

CREATE TABLE vault_secrets (
    tenant       TEXT    NOT NULL,
    connection   TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    key_version  BIGINT  NOT NULL,
    sealed       BYTEA   NOT NULL,
    updated_at   BIGINT  NOT NULL DEFAULT (extract(epoch FROM now())::BIGINT),
    PRIMARY KEY (tenant, connection, name),
    FOREIGN KEY (tenant, key_version) REFERENCES vault_keys (tenant, version)
);

CREATE INDEX vault_secrets_by_key ON vault_secrets (tenant, key_version);
