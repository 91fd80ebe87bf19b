-- Autovacuum workers at work now, and how many there may be: all busy
-- while tables wait past their trigger means autovacuum fell behind.
SELECT count(*) FILTER (WHERE backend_type = 'autovacuum worker') AS busy,
       current_setting('autovacuum_max_workers')::int AS max_workers,
       extract(epoch FROM pg_postmaster_start_time())::float8 AS started_epoch,
       extract(epoch FROM now())::float8 AS now_epoch
  FROM pg_stat_activity
