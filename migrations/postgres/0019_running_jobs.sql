-- A run's outcome finds its job by lease among the running jobs. A plan made before the tables
-- had statistics (the batch outcome statement costs its array of runs as ten rows, against a
-- table it takes for ten pages) reads this small index whole instead of a large one: what it
-- costs grows with the jobs in flight, never with the table. With statistics it is a lookup by
-- key like the primary key. PostgreSQL only: SQLite records outcomes one row at a time.
CREATE INDEX jobs_running ON jobs (lease_owner, tenant_id, id) WHERE state = 'running';
