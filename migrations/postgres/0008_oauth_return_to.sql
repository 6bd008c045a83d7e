-- Where an OAuth flow sends the user's browser when it ends (the tenant's app, with the
-- connection id or the error), and the origins each tenant allows there.
ALTER TABLE oauth_states ADD COLUMN return_to TEXT;
ALTER TABLE tenants ADD COLUMN return_origins TEXT NOT NULL DEFAULT '';
