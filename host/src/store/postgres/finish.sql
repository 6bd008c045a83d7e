-- Run outcomes (`finish.rs` says what it takes and returns).
WITH f AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
        $6::bigint[], $7::text[], $8::text[], $9::text[], $10::bigint[])
        AS f(tenant_id, id, lease, state, next_run_at, delta, reason, result, error, at)),
moved AS (
    UPDATE jobs SET state = f.state, next_run_at = COALESCE(f.next_run_at, jobs.next_run_at),
        attempts = jobs.attempts + f.delta, state_reason = f.reason,
        result = COALESCE(f.result, jobs.result), last_error = COALESCE(f.error, jobs.last_error),
        lease_owner = NULL, lease_until = NULL, updated_at = f.at
    FROM f
    WHERE jobs.tenant_id = f.tenant_id AND jobs.id = f.id AND jobs.state = 'running'
        AND jobs.lease_owner = f.lease
    RETURNING jobs.tenant_id, jobs.id, f.error, f.at),
attempt AS (
    INSERT INTO job_attempts (tenant_id, id, job_id, attempt, export, worker, started_at,
        latency_ms, fuel, outcome, error_code, error, trace_id)
    SELECT m.tenant_id, a.id, m.id, a.attempt, a.export, a.worker, a.started_at, a.latency_ms,
        a.fuel, a.outcome, a.error_code, m.error, a.trace_id
    FROM moved m JOIN unnest($11::text[], $12::text[], $13::bigint[], $14::text[], $15::text[],
        $16::bigint[], $17::bigint[], $18::bigint[], $19::text[], $20::text[], $21::text[])
        AS a(job_id, id, attempt, export, worker, started_at, latency_ms, fuel, outcome,
            error_code, trace_id) ON a.job_id = m.id),
cleared AS (
    DELETE FROM job_tasks USING moved m
    WHERE job_tasks.tenant_id = m.tenant_id AND job_tasks.job_id = m.id
        AND m.id = ANY($22::text[])),
consumed AS (
    DELETE FROM job_tasks USING moved m, unnest($23::text[], $24::text[]) AS c(job_id, task_id)
    WHERE c.job_id = m.id AND job_tasks.tenant_id = m.tenant_id AND job_tasks.id = c.task_id),
added AS (
    INSERT INTO job_tasks (tenant_id, id, job_id, kind, payload, run_at)
    SELECT m.tenant_id, v.id, m.id, v.kind, v.payload, v.run_at
    FROM moved m JOIN unnest($25::text[], $26::text[], $27::text[], $28::text[], $29::bigint[])
        AS v(job_id, id, kind, payload, run_at) ON v.job_id = m.id),
lettered AS (
    INSERT INTO dead_letters (tenant_id, id, job_id, reason_code, last_error, attempts, created_at)
    SELECT m.tenant_id, d.id, m.id, d.reason_code, d.last_error, d.attempts, m.at
    FROM moved m JOIN unnest($30::text[], $31::text[], $32::text[], $33::text[], $34::bigint[])
        AS d(job_id, id, reason_code, last_error, attempts) ON d.job_id = m.id),
told AS (
    INSERT INTO event_deliveries (tenant_id, endpoint_id, event_id, event_type, ordering_key,
        payload, state, attempts, next_attempt_at, window_start, created_at)
    SELECT e.tenant_id, e.id, v.event_id, v.kind, v.ordering_key, v.body, 'pending', 0, m.at,
        m.at, m.at
    FROM moved m JOIN unnest($35::text[], $36::text[], $37::text[], $38::text[], $39::text[])
        AS v(job_id, event_id, kind, ordering_key, body) ON v.job_id = m.id
    JOIN event_endpoints e ON e.tenant_id = m.tenant_id AND e.enabled = 1
        AND (e.event_types = ' * ' OR e.event_types LIKE '% ' || v.kind || ' %'))
SELECT id AS "id!" FROM moved
