-- A post and its jobs (`accept.rs` says what it takes and returns).
WITH post AS (
    INSERT INTO posts (tenant_id, id, idempotency_key, payload_sha256, scheduled_for, created_at,
        traceparent)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
    RETURNING id),
jobs AS (
    INSERT INTO jobs (tenant_id, id, post_id, connection_id, plugin, account_id, content, state,
        state_reason, attempts, next_run_at, created_at, updated_at)
    SELECT $1, v.id, post.id, v.connection_id, v.plugin, v.account_id, $8, v.state, v.reason, 0,
        v.run_at, $6, $6
    FROM post CROSS JOIN unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
        $14::text[], $15::bigint[])
        AS v(id, connection_id, plugin, account_id, state, reason, run_at))
SELECT COUNT(*) AS "stored!" FROM post
