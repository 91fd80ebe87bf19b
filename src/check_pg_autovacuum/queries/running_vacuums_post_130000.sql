-- PostgreSQL 13 to 17.
-- Every vacuum and analyze running now in the cluster, auto or manual, with
-- the table (by database and relation oid: the caller matches them to its
-- tables), how far it got and since when it works on that table.  A vacuum
-- or analyze runs each table in a transaction of its own, so xact_start is
-- when this table's turn began.  VACUUM FULL shows in the cluster progress
-- view, as a rewrite.
SELECT p.pid, p.datid AS database_oid, p.datname AS database, p.relid,
       'vacuum' AS command, p.phase, p.heap_blks_total AS blocks_total,
       p.heap_blks_scanned AS blocks_done, p.index_vacuum_count,
       NULL::float8 AS delay_ms,
       a.backend_type = 'autovacuum worker' AS by_autovacuum,
       substring(a.query FROM '^autovacuum: (?:VACUUM )?(?:ANALYZE )?(\S+)')
         AS autovacuum_table,
       -- A manual one names its table in its statement only: the relid is
       -- of another database, perhaps.
       CASE WHEN a.backend_type <> 'autovacuum worker'
            THEN left(regexp_replace(a.query, '\s+', ' ', 'g'), 100)
       END AS statement,
       extract(epoch FROM a.xact_start)::float8 AS started_epoch,
       extract(epoch FROM now())::float8 AS now_epoch
  FROM pg_stat_progress_vacuum p
  LEFT JOIN pg_stat_activity a ON a.pid = p.pid
 WHERE p.relid IS NOT NULL
UNION ALL
SELECT p.pid, p.datid, p.datname, p.relid, 'vacuum full', p.phase,
       p.heap_blks_total, p.heap_blks_scanned, NULL, NULL, false, NULL,
       left(regexp_replace(a.query, '\s+', ' ', 'g'), 100),
       extract(epoch FROM a.xact_start)::float8, extract(epoch FROM now())::float8
  FROM pg_stat_progress_cluster p
  LEFT JOIN pg_stat_activity a ON a.pid = p.pid
 WHERE p.relid IS NOT NULL AND p.command = 'VACUUM FULL'
UNION ALL
SELECT p.pid, p.datid, p.datname, p.relid, 'analyze', p.phase,
       p.sample_blks_total, p.sample_blks_scanned, NULL, NULL,
       a.backend_type = 'autovacuum worker',
       substring(a.query FROM '^autovacuum: (?:VACUUM )?(?:ANALYZE )?(\S+)'),
       CASE WHEN a.backend_type <> 'autovacuum worker'
            THEN left(regexp_replace(a.query, '\s+', ' ', 'g'), 100)
       END,
       extract(epoch FROM a.xact_start)::float8, extract(epoch FROM now())::float8
  FROM pg_stat_progress_analyze p
  LEFT JOIN pg_stat_activity a ON a.pid = p.pid
 WHERE p.relid IS NOT NULL
