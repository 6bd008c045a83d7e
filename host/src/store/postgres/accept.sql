-- Posts and their jobs (`accept.rs` says what it takes and returns).
WITH p AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
        $6::bigint[], $7::text[], $8::text[])
        AS p(tenant_id, id, idempotency_key, payload_sha256, scheduled_for, created_at,
            traceparent, content)),
post AS (
    INSERT INTO posts (tenant_id, id, idempotency_key, payload_sha256, scheduled_for, created_at,
        traceparent)
    SELECT tenant_id, id, idempotency_key, payload_sha256, scheduled_for, created_at, traceparent
    FROM p
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
    RETURNING tenant_id, id),
jobs AS (
    INSERT INTO jobs (tenant_id, id, post_id, connection_id, plugin, account_id, content, state,
        state_reason, attempts, next_run_at, created_at, updated_at)
    SELECT post.tenant_id, v.id, post.id, v.connection_id, v.plugin, v.account_id, p.content,
        v.state, v.reason, 0, v.run_at, p.created_at, p.created_at
    FROM post JOIN p ON p.tenant_id = post.tenant_id AND p.id = post.id
    JOIN unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
        $15::text[], $16::bigint[])
        AS v(post_id, id, connection_id, plugin, account_id, state, reason, run_at)
        ON v.post_id = post.id)
SELECT id AS "id!" FROM post
