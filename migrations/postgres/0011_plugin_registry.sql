-- The fleet's plugin registry: components uploaded through the admin API, content-addressed,
-- and which version each plugin serves. Every replica serves what `plugin_versions` names and
-- converges on a change within seconds (notified on PostgreSQL, polled on SQLite); a plugin
-- without a row serves the component its `plugins.toml` entry names. A NULL digest is that
-- file's component.
CREATE TABLE plugin_components (
    sha256       TEXT    PRIMARY KEY,
    bytes        BYTEA   NOT NULL,
    size_bytes   BIGINT  NOT NULL,
    version      TEXT    NOT NULL,
    uploaded_by  TEXT    NOT NULL,
    uploaded_at  BIGINT  NOT NULL
);

CREATE TABLE plugin_versions (
    plugin           TEXT    PRIMARY KEY,
    serving_sha256   TEXT    REFERENCES plugin_components (sha256),
    previous_sha256  TEXT    REFERENCES plugin_components (sha256),
    -- Grows with every change, so a replica knows whether it has applied the latest.
    generation       BIGINT  NOT NULL,
    changed_by       TEXT    NOT NULL,
    changed_at       BIGINT  NOT NULL
);

-- Plugin configuration set through the admin API: a whole `[plugins.<id>]` entry as TOML,
-- replacing the file's entry for that id on every replica. A NULL entry is a removed override
-- (the file's entry applies again); rows stay so replicas see the removal.
CREATE TABLE plugin_configs (
    plugin      TEXT    PRIMARY KEY,
    entry       TEXT,
    generation  BIGINT  NOT NULL,
    changed_by  TEXT    NOT NULL,
    changed_at  BIGINT  NOT NULL
);
