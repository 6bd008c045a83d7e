-- Secrets are bound to the plugin that wrote them. Each row records that plugin, and the format
-- of the associated data it was sealed with: 1 (tenant, connection, name, key version) for every
-- secret written before, 2 (the plugin added) for every write from now on. Existing secrets keep
-- opening under format 1; their plugin is taken from their connection ('' when the connection was
-- never created: a failed authorization's leftovers).

ALTER TABLE vault_secrets ADD COLUMN plugin TEXT NOT NULL DEFAULT '';
ALTER TABLE vault_secrets ADD COLUMN aad_version INTEGER NOT NULL DEFAULT 1;

UPDATE vault_secrets SET plugin = COALESCE(
    (SELECT c.plugin FROM connections c
     WHERE c.tenant_id = vault_secrets.tenant AND c.id = vault_secrets.connection),
    '');
