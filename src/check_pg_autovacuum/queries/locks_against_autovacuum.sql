-- Locks that keep autovacuum out of a table, held or wanted now, in every
-- database.  Autovacuum takes SHARE UPDATE EXCLUSIVE: it skips a table on
-- which another holds that or a stronger mode (an anti-wraparound one
-- waits), and a request for such a mode while it runs there cancels it
-- (ProcSleep(), after deadlock_timeout).  The caller matches them to the
-- tables that need vacuum and to the vacuums running now, by database and
-- relation oid; names resolve here only in the database we are in.
-- Since when: the holding transaction's start (a lock lasts until it ends),
-- or a prepared transaction's; for a waiter, when its statement began.
-- Not counted: autovacuum's own locks, and a lazy VACUUM's, a manual one
-- at work on the table itself.
SELECT l.database AS database_oid, l.relation AS relid, l.mode, l.granted,
       l.pid, a.datname AS database, a.application_name, a.state,
       a.query AS last_query, p.gid,
       CASE WHEN l.database = (SELECT oid FROM pg_database
                                WHERE datname = current_database())
            THEN l.relation::regclass::text
       END AS local_name,
       extract(epoch FROM CASE WHEN l.granted
                               THEN coalesce(a.xact_start, p.prepared)
                               ELSE a.query_start END)::float8 AS since_epoch,
       extract(epoch FROM now())::float8 AS now_epoch
  FROM pg_locks l
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid
  LEFT JOIN pg_locks x ON l.pid IS NULL
                      AND x.virtualtransaction = l.virtualtransaction
                      AND x.locktype = 'transactionid' AND x.pid IS NULL
  LEFT JOIN pg_prepared_xacts p ON p.transaction = x.transactionid
 WHERE l.locktype = 'relation'
   AND l.mode IN ('ShareUpdateExclusiveLock', 'ShareLock',
                  'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
   AND l.pid IS DISTINCT FROM pg_backend_pid()
   AND a.backend_type IS DISTINCT FROM 'autovacuum worker'
   AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_vacuum v WHERE v.pid = l.pid)
 ORDER BY since_epoch, l.pid
