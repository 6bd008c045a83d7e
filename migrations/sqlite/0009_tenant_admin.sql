-- Tenant administration. A tenant can be disabled (its API keys refused, its jobs held) and
-- deleted (a tombstone: its secrets erased, jobs cancelled, keys revoked; the row and its audit
-- trail stay, so the id is never reused). API keys get an id and a name, so a tenant can hold
-- several and rotate or revoke them one at a time; a `revoked_at` in the future is a rotation's
-- grace period.
ALTER TABLE tenants ADD COLUMN disabled_at BIGINT;
ALTER TABLE tenants ADD COLUMN disabled_reason TEXT;
ALTER TABLE tenants ADD COLUMN deleted_at BIGINT;
ALTER TABLE api_keys ADD COLUMN id TEXT;
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT '';
-- Keys made before ids existed: an id from their digest (which reveals nothing of the key).
UPDATE api_keys SET id = 'key_' || substr(key_sha256, 1, 32), name = 'default' WHERE id IS NULL;
CREATE UNIQUE INDEX api_keys_by_id ON api_keys (id);
-- The admin audit listing across tenants, newest first (ids are time-ordered).
CREATE INDEX audit_log_by_id ON audit_log (id);
