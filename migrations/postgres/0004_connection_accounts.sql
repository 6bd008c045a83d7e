-- The accounts each connection can post to (pages, organizations, locations, audiences), as
-- `list-accounts` last answered: webhooks that name an account, not the authorizing user, find
-- their connection through it.

CREATE TABLE connection_accounts (
    tenant_id      TEXT    NOT NULL,
    connection_id  TEXT    NOT NULL,
    account_id     TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    parent_id      TEXT,
    seen_at        BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, connection_id, account_id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
);
CREATE INDEX connection_accounts_by_account ON connection_accounts (account_id);
