-- Plans that hold at scale: each hot statement of the pipeline finds a selective index whether
-- one tenant holds millions of jobs or many tenants hold a few (host/benches/plans.rs checks it
-- with EXPLAIN at 1,000,000 jobs), and the indexes job retention needs.
--
-- A plan made before the tables have statistics (a generic plan cached on empty tables, or a
-- foreign-key check planned on a table never analyzed) cannot tell `tenant_id = $1` from a key:
-- it took (tenant_id, post_id) for the finish update and for the job_attempts foreign-key check,
-- with tenant_id as the only index condition, which reads every job of a large tenant. So:
-- secondary indexes no longer lead with tenant_id (led by a post, a connection or a job, such an
-- index only serves statements that name one), the ones that serve a lookup by (tenant_id, x)
-- carry both columns (two equalities outweigh the tenant-only prefix of the primary key even
-- without statistics), and rows looked up by id alone have a unique index on it (a unique match
-- is one row whatever the statistics say).
--
-- Claims use partial indexes that hold only jobs in flight, not the finished millions. The
-- lease index also requires lease_until IS NOT NULL, which the claim's `lease_until < $n`
-- implies and the finish update (`state = 'running'`, one job by id) does not: that statement
-- cannot take it to scan every running job.
CREATE INDEX jobs_queued ON jobs (next_run_at) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running' AND lease_until IS NOT NULL;
DROP INDEX jobs_due;
DROP INDEX jobs_leased;

-- A post's jobs, in id order as a post lists them; also what deleting a post checks its foreign
-- key against.
CREATE INDEX jobs_of_post ON jobs (post_id, tenant_id, id);
DROP INDEX jobs_by_post;

-- Posts by id (ids are generated, unique across tenants, as job ids are): reading a post and
-- joining a job to its post.
CREATE UNIQUE INDEX posts_by_id ON posts (id);

-- An idempotency key is unique per tenant as before, through an index led by the key: led by
-- tenant_id, a plan made without statistics took it to join jobs to their posts with tenant_id
-- as the only condition (every post of a large tenant per job listed). `ON CONFLICT (tenant_id,
-- idempotency_key)` infers it whatever the column order.
CREATE UNIQUE INDEX posts_by_key ON posts (idempotency_key, tenant_id);
ALTER TABLE posts DROP CONSTRAINT posts_tenant_id_idempotency_key_key;

-- A job's attempts, continuations and dead letters, found by (tenant_id, job_id): the listing,
-- the finish clearing continuations, and the foreign-key checks when a job is deleted.
DROP INDEX job_attempts_by_job;
CREATE INDEX job_attempts_by_job ON job_attempts (job_id, tenant_id);
DROP INDEX job_tasks_by_job;
CREATE INDEX job_tasks_by_job ON job_tasks (job_id, tenant_id, run_at);

-- A connection's jobs in a state (pause, resume, cancel, counts). Connection ids are chosen per
-- tenant, so the tenant follows the connection.
CREATE INDEX jobs_of_connection ON jobs (connection_id, tenant_id, state);
DROP INDEX jobs_by_connection;

-- Paused jobs a re-enabled tenant or plugin resumes.
CREATE INDEX jobs_paused ON jobs (tenant_id, plugin) WHERE state = 'paused';

-- Retention (host/src/store/retention.rs): finished jobs, oldest first. Keyed by created_at,
-- which never changes, rather than updated_at: an index on updated_at would stop recovery points
-- (which change only recovery_point and updated_at) from being heap-only updates.
CREATE INDEX jobs_finished ON jobs (created_at) WHERE state IN ('published', 'cancelled', 'deleted');

CREATE INDEX dead_letters_by_job ON dead_letters (job_id, tenant_id);
