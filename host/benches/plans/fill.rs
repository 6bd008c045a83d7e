//! The data: [`JOBS`] jobs (two per post) of `tenants` tenants, built with `generate_series`
//! in a few statements. Per 10,000 jobs (by `i % 10000`): 1 queued and due, 1 running under a
//! live lease, 1 running under an expired one (its worker died), 97 queued for later with a
//! continuation each, 100 paused, 100 dead with an open dead letter, 100 cancelled, 50 deleted
//! on the platform and the rest (9,549) published; every job that ran has one attempt. Jobs
//! were created over the last 60 days (spread, not in id order), so about half of the finished
//! ones are past a 30-day retention.

/// Jobs in the database.
pub const JOBS: u64 = 1_000_000;
/// Jobs running (under a live lease or an expired one): two per 10,000.
pub const RUNNING: u64 = JOBS / 10_000 * 2;
/// One day in milliseconds.
pub const DAY: i64 = 86_400_000;
/// "Now" in the data (Unix milliseconds).
pub const NOW: i64 = 1_800_000_000_000;

/// Job `i`'s id.
pub fn job(i: u64) -> String {
    format!("job_{i:010}")
}

/// The id of job `i`'s post (jobs `2p` and `2p + 1` are the two targets of post `p`).
pub fn post(i: u64) -> String {
    format!("post_{:010}", i / 2)
}

/// Job `i`'s tenant.
pub fn tenant_of(i: u64, tenants: u64) -> String {
    format!("t{}", (i / 2) % tenants)
}

/// A job running under a live lease (owner `w/lease`), in the middle of the table.
pub fn running_job() -> u64 {
    JOBS / 2 + 1
}

/// The statements that build the data, in order (run with foreign-key triggers off:
/// `session_replication_role = replica`; the data is consistent by construction).
pub fn sql(tenants: u64) -> Vec<String> {
    let (n, posts) = (JOBS, JOBS / 2);
    let tenant = format!("'t' || ((i / 2) % {tenants})");
    // Computed here: `60 * DAY` does not fit PostgreSQL's 32-bit integers.
    let window = 60 * DAY;
    let created = format!("{NOW} - (i * 7919) % {window} - {DAY}");
    vec![
        format!(
            "INSERT INTO tenants (id, name, created_at)
             SELECT 't' || t, 'tenant ' || t, 0 FROM generate_series(0, {tenants} - 1) t"
        ),
        format!(
            "INSERT INTO connections (tenant_id, id, plugin, external_id, display_name, status, scopes,
                 next_health_at, created_at, updated_at)
             SELECT 't' || t, 'conn_t' || t, 'pipeline', 'x', 'x', 'healthy', '', {NOW} + {DAY}, 0, 0
             FROM generate_series(0, {tenants} - 1) t"
        ),
        format!(
            "INSERT INTO posts (tenant_id, id, idempotency_key, payload_sha256, created_at)
             SELECT 't' || (p % {tenants}), 'post_' || lpad(p::text, 10, '0'), 'key-' || p, md5(p::text),
                 {NOW} - (p * 2 * 7919) % {window} - {DAY}
             FROM generate_series(0::BIGINT, {posts} - 1) p"
        ),
        format!(
            "INSERT INTO jobs (tenant_id, id, post_id, connection_id, plugin, account_id, content, state,
                 attempts, next_run_at, lease_owner, lease_until, created_at, updated_at)
             SELECT {tenant}, 'job_' || lpad(i::text, 10, '0'), 'post_' || lpad((i / 2)::text, 10, '0'),
                 'conn_' || {tenant}, 'pipeline', 'acct', '{{\"text\":\"hello\"}}',
                 CASE WHEN b = 0 OR b BETWEEN 3 AND 99 THEN 'queued' WHEN b IN (1, 2) THEN 'running'
                      WHEN b < 200 THEN 'paused' WHEN b < 300 THEN 'dead' WHEN b < 400 THEN 'cancelled'
                      WHEN b < 450 THEN 'deleted' ELSE 'published' END,
                 CASE WHEN b = 0 OR b BETWEEN 3 AND 99 THEN 0 ELSE 1 END,
                 CASE WHEN b = 0 THEN {NOW} - 60000 WHEN b BETWEEN 3 AND 99 THEN {NOW} + (i % 30 + 1) * {DAY}
                      ELSE created END,
                 CASE WHEN b IN (1, 2) THEN 'w/lease' END,
                 CASE WHEN b = 1 THEN {NOW} + 3600000 WHEN b = 2 THEN {NOW} - 60000 END,
                 created,
                 CASE WHEN b = 0 OR b BETWEEN 3 AND 99 THEN created ELSE created + 60000 END
             FROM (SELECT i, i % 10000 AS b, {created} AS created FROM generate_series(0::BIGINT, {n} - 1) i) g"
        ),
        format!(
            "INSERT INTO job_attempts (tenant_id, id, job_id, attempt, export, worker, started_at, latency_ms,
                 fuel, outcome)
             SELECT {tenant}, 'att_' || lpad(i::text, 10, '0'), 'job_' || lpad(i::text, 10, '0'), 1, 'publish',
                 'w', {NOW}, 5, 1000, 'published'
             FROM generate_series(0::BIGINT, {n} - 1) i WHERE i % 10000 >= 100"
        ),
        format!(
            "INSERT INTO dead_letters (tenant_id, id, job_id, reason_code, last_error, attempts, created_at)
             SELECT {tenant}, 'dlq_' || lpad(i::text, 10, '0'), 'job_' || lpad(i::text, 10, '0'), 'rejected', '',
                 1, {NOW}
             FROM generate_series(0::BIGINT, {n} - 1) i WHERE i % 10000 BETWEEN 200 AND 299"
        ),
        format!(
            "INSERT INTO job_tasks (tenant_id, id, job_id, kind, payload, run_at)
             SELECT {tenant}, 'task_' || lpad(i::text, 10, '0'), 'job_' || lpad(i::text, 10, '0'), 'poll', '{{}}',
                 {NOW} + (i % 30 + 1) * {DAY}
             FROM generate_series(0::BIGINT, {n} - 1) i WHERE i % 10000 BETWEEN 3 AND 99"
        ),
    ]
}
