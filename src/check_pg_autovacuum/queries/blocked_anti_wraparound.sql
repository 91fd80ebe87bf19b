-- Anti-wraparound autovacuums that wait for a lock, and who holds it: the
-- worst case, as such a vacuum is not skipped or cancelled like the others
-- but waits, while the age keeps growing.  The worker names its table in
-- its query: "autovacuum: VACUUM [ANALYZE] schema.table (to prevent
-- wraparound)".
SELECT w.datname AS database,
       w.pid AS worker_pid,
       substring(w.query FROM 'VACUUM (?:ANALYZE )?(.*) \(to prevent wraparound\)')
           AS table_name,
       greatest(0, floor(extract(epoch FROM now() - w.query_start)))::bigint
           AS running_seconds,
       b.pid AS blocker_pid,
       b.application_name AS blocker_application,
       b.state AS blocker_state,
       b.query AS blocker_query
  FROM pg_stat_activity w
 CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocking(pid)
  LEFT JOIN pg_stat_activity b ON b.pid = blocking.pid
 WHERE w.backend_type = 'autovacuum worker'
   AND w.wait_event_type = 'Lock'
   AND w.query LIKE '%(to prevent wraparound)%'
 ORDER BY w.query_start, w.pid, b.pid
