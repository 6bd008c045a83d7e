-- A published job whose post was deleted on the platform through the API moves to state
-- `deleted`; when is kept here, which call in `state_reason`.
ALTER TABLE jobs ADD COLUMN deleted_at BIGINT;
