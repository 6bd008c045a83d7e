-- A claim takes at most a few queued jobs of a tenant (or one of its connections) whose rate
-- hold has just ended: an ordered scan of that tenant's queued jobs, by due time.
CREATE INDEX jobs_queued_by_tenant ON jobs (tenant_id, next_run_at) WHERE state = 'queued';
