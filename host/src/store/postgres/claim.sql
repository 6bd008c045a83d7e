-- The claim (`claim.rs` says what it takes and returns).
WITH due AS (
    SELECT id FROM (
        SELECT id, next_run_at FROM (SELECT id, next_run_at FROM jobs
            WHERE state = 'queued' AND next_run_at <= $3 AND tenant_id <> ALL($5::text[])
                AND NOT EXISTS (SELECT 1 FROM unnest($6::text[], $7::text[]) AS h(tenant_id, connection_id)
                    WHERE h.tenant_id = jobs.tenant_id AND h.connection_id = jobs.connection_id)
                AND NOT EXISTS (SELECT 1 FROM unnest($10::text[], $11::text[]) AS l(tenant_id, connection_id)
                    WHERE l.tenant_id = jobs.tenant_id
                        AND (l.connection_id = '' OR l.connection_id = jobs.connection_id))
                AND plugin <> ALL($8::text[])
            ORDER BY next_run_at LIMIT $4 FOR UPDATE SKIP LOCKED) AS queued
        UNION ALL
        SELECT room.id, room.next_run_at FROM unnest($8::text[], $9::bigint[]) AS p(plugin, room)
        CROSS JOIN LATERAL (SELECT id, next_run_at FROM jobs
            WHERE state = 'queued' AND next_run_at <= $3 AND plugin = p.plugin
                AND tenant_id <> ALL($5::text[])
                AND NOT EXISTS (SELECT 1 FROM unnest($6::text[], $7::text[]) AS h(tenant_id, connection_id)
                    WHERE h.tenant_id = jobs.tenant_id AND h.connection_id = jobs.connection_id)
                AND NOT EXISTS (SELECT 1 FROM unnest($10::text[], $11::text[]) AS l(tenant_id, connection_id)
                    WHERE l.tenant_id = jobs.tenant_id
                        AND (l.connection_id = '' OR l.connection_id = jobs.connection_id))
            ORDER BY next_run_at LIMIT p.room FOR UPDATE SKIP LOCKED) AS room
        UNION ALL
        SELECT limited.id, limited.next_run_at
        FROM unnest($10::text[], $11::text[], $12::bigint[]) AS l(tenant_id, connection_id, room)
        CROSS JOIN LATERAL (SELECT id, next_run_at FROM jobs
            WHERE state = 'queued' AND next_run_at <= $3 AND tenant_id = l.tenant_id
                AND (l.connection_id = '' OR connection_id = l.connection_id)
                AND tenant_id <> ALL($5::text[])
                AND NOT EXISTS (SELECT 1 FROM unnest($6::text[], $7::text[]) AS h(tenant_id, connection_id)
                    WHERE h.tenant_id = jobs.tenant_id AND h.connection_id = jobs.connection_id)
            ORDER BY next_run_at LIMIT l.room FOR UPDATE SKIP LOCKED) AS limited
        UNION ALL
        SELECT id, next_run_at FROM (SELECT id, next_run_at FROM jobs
            WHERE state = 'running' AND lease_until < $3
            ORDER BY lease_until LIMIT $4 FOR UPDATE SKIP LOCKED) AS abandoned) AS due
    ORDER BY next_run_at LIMIT $4),
j AS (UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2,
        attempts = attempts + 1, updated_at = $3
    WHERE id IN (SELECT id FROM due) RETURNING *)
SELECT j.tenant_id AS "tenant_id!", j.id AS "id!", j.post_id AS "post_id!",
    j.connection_id AS "connection_id!", j.plugin AS "plugin!", j.account_id AS "account_id!",
    j.content AS "content!", p.scheduled_for, j.state AS "state!", j.state_reason,
    j.attempts AS "attempts!", j.next_run_at AS "next_run_at!", j.recovery_point, j.result,
    j.last_error, j.created_at AS "created_at!", j.updated_at AS "updated_at!", j.deleted_at,
    p.traceparent,
    t.id AS "fact_tenant?", t.disabled_at AS "fact_disabled_at?", tp.enabled AS "fact_plugin_enabled?",
    c.status AS "fact_status?", c.expires_at AS "fact_expires_at?",
    task.id AS "task_id?", task.kind AS "task_kind?", task.payload AS "task_payload?",
    task.run_at AS "task_run_at?"
FROM j JOIN posts p ON p.tenant_id = j.tenant_id AND p.id = j.post_id
LEFT JOIN tenants t ON t.id = j.tenant_id
LEFT JOIN tenant_plugins tp ON tp.tenant_id = j.tenant_id AND tp.plugin = j.plugin
LEFT JOIN connections c ON c.tenant_id = j.tenant_id AND c.id = j.connection_id AND c.deleted_at IS NULL
LEFT JOIN LATERAL (SELECT id, kind, payload, run_at FROM job_tasks
    WHERE tenant_id = j.tenant_id AND job_id = j.id AND run_at <= $3
    ORDER BY run_at, id LIMIT 1) task ON TRUE
