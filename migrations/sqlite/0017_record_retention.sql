-- Retention of recorded rows by age (store/record_retention.rs): each deletion scans its table's
-- oldest rows first, so each table gets an index on its time.
CREATE INDEX webhook_events_by_time ON webhook_events (received_at);
CREATE INDEX connection_health_by_time ON connection_health (checked_at);
CREATE INDEX audit_log_by_at ON audit_log (at);
