-- A tenant's own egress ceiling (requests a second across plugins and connections; 0: none).
-- NULL: the host's `tenant_egress_per_second` applies.
ALTER TABLE tenants ADD COLUMN egress_per_second BIGINT;
