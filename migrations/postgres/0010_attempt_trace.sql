-- Traces (OpenTelemetry, when the host exports them): each run's trace id, to find the run in
-- the trace backend, and the `traceparent` of the request that accepted a post, which its jobs'
-- runs link to.
ALTER TABLE job_attempts ADD COLUMN trace_id TEXT;
ALTER TABLE posts ADD COLUMN traceparent TEXT;
