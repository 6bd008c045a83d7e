-- Jobs are no longer announced through Redis Streams (the database is the queue, woken by
-- LISTEN/NOTIFY): the column that recorded when a job was announced is unused.
ALTER TABLE jobs DROP COLUMN announced_at;
