-- Anti-wraparound autovacuums that wait, and for whom: the worst case, as
-- such a vacuum is not skipped or cancelled like the others but waits,
-- while the age keeps growing.  The worker names its table in its query:
-- "autovacuum: VACUUM [ANALYZE] schema.table (to prevent wraparound)".
--
-- It waits for a lock (wait_event_type 'Lock'): pg_blocking_pids() names
-- the sessions, and 0 a prepared transaction, named here by its gid: its
-- locks have no pid, and the lock on its own transaction ID shares their
-- virtualtransaction.
-- Or it waits for a buffer cleanup lock ('BufferPin'): somebody -- an open
-- cursor, a long query -- has a page of the table pinned, which no view
-- shows; the blocker is then unknown.
SELECT w.datname AS database,
       w.pid AS worker_pid,
       w.wait_event_type AS waits_for,
       substring(w.query FROM 'VACUUM (?:ANALYZE )?(.*) \(to prevent wraparound\)')
           AS table_name,
       greatest(0, floor(extract(epoch FROM now() - w.query_start)))::bigint
           AS running_seconds,
       blocking.pid AS blocker_pid,
       b.application_name AS blocker_application,
       b.state AS blocker_state,
       b.query AS blocker_query,
       (SELECT p.gid FROM pg_locks l
          JOIN pg_locks x ON x.virtualtransaction = l.virtualtransaction
                         AND x.locktype = 'transactionid' AND x.pid IS NULL
          JOIN pg_prepared_xacts p ON p.transaction = x.transactionid
         WHERE blocking.pid = 0 AND l.pid IS NULL AND l.granted
           AND l.locktype = 'relation' AND l.database = w.datid
         ORDER BY p.prepared
         LIMIT 1) AS blocker_gid
  FROM pg_stat_activity w
  LEFT JOIN LATERAL unnest(CASE WHEN w.wait_event_type = 'Lock'
                                THEN pg_blocking_pids(w.pid) END) AS blocking(pid)
         ON true
  LEFT JOIN pg_stat_activity b ON b.pid = blocking.pid
 WHERE w.backend_type = 'autovacuum worker'
   AND w.wait_event_type IN ('Lock', 'BufferPin')
   AND w.query LIKE '%(to prevent wraparound)%'
 ORDER BY w.query_start, w.pid, blocking.pid
