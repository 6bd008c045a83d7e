-- Refresh leases: the replica holding `lock_key` (a tenant's connection) may exchange its
-- refresh token until `expires_ms` (Unix ms of the database's clock). Taken when free or
-- ended, deleted by its holder.
CREATE TABLE refresh_leases (
    lock_key    TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expires_ms  BIGINT  NOT NULL
);
