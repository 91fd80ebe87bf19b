-- Client sessions that sit in an open transaction doing nothing, and what
-- each holds.  Only a transaction ID or a snapshot keeps dead rows alive:
-- a READ COMMITTED session between statements holds no snapshot, and one
-- whose transaction failed ("aborted") has released its transaction ID,
-- snapshot and locks.  Locks it holds are counted, the strongest named
-- (a table of another database by its oid: names live per database).
-- Ages are clamped at 0: a session may change state after our now().
SELECT a.pid,
       a.datname AS database,
       a.usename AS user_name,
       a.application_name,
       coalesce(host(a.client_addr), 'local') AS client,
       a.state,
       greatest(0, floor(extract(epoch FROM now() - a.state_change)))::bigint
         AS idle_seconds,
       -- NULL in an aborted transaction, which no longer says when it began
       CASE WHEN a.xact_start IS NOT NULL
            THEN greatest(0, floor(extract(epoch FROM now() - a.xact_start)))::bigint
       END AS transaction_seconds,
       a.backend_xid IS NOT NULL AS holds_xid,
       a.backend_xmin IS NOT NULL AS holds_snapshot,
       l.locks, l.strongest_mode, l.strongest_on,
       a.query AS last_query
  FROM pg_stat_activity a
 CROSS JOIN LATERAL (
       SELECT count(*) AS locks,
              (array_agg(mode ORDER BY strength DESC))[1] AS strongest_mode,
              (array_agg(CASE WHEN database = (SELECT oid FROM pg_database
                                                WHERE datname = current_database())
                              THEN relation::regclass::text
                              ELSE 'table ' || relation || ' of ' || a.datname
                         END ORDER BY strength DESC))[1] AS strongest_on
         FROM (SELECT mode, relation, database,
                      array_position(ARRAY['AccessShareLock', 'RowShareLock',
                          'RowExclusiveLock', 'ShareUpdateExclusiveLock',
                          'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock',
                          'AccessExclusiveLock'], mode) AS strength
                 FROM pg_locks
                WHERE pid = a.pid AND granted AND locktype = 'relation') held
       ) l
 WHERE a.state IN ('idle in transaction', 'idle in transaction (aborted)')
   AND a.backend_type = 'client backend'
   AND a.pid <> pg_backend_pid()
 ORDER BY a.state_change, a.pid
