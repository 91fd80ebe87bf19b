-- Everything that keeps old row versions alive: vacuum may remove a dead row
-- only when no transaction, prepared transaction, replication slot or
-- standby (hot_standby_feedback) can still see it.  Each holder with the
-- age of what it holds, in transactions, and since when, where that is
-- known (slots and standbys keep no time), clamped at 0: a transaction may
-- begin after our now().  Not counted: a lazy VACUUM, manual or auto, whose
-- xmin every other vacuum ignores (vacuum_rel() sets PROC_IN_VACUUM, on
-- 10 to 18; pg_stat_progress_vacuum lists exactly those; VACUUM FULL and
-- ANALYZE, an autovacuum worker's too, do hold the horizon), and walsenders,
-- which pg_stat_replication shows as standbys.
SELECT 'session' AS kind, pid::text AS holder, datname AS database,
       usename AS user_name, application_name, state,
       greatest(age(backend_xid), age(backend_xmin)) AS xid_age,
       greatest(0, floor(extract(epoch FROM
           now() - coalesce(xact_start, query_start, backend_start))))::bigint AS seconds,
       greatest(0, floor(extract(epoch FROM now() - state_change)))::bigint
         AS state_seconds,
       backend_type, query AS last_query
  FROM pg_stat_activity
 WHERE (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)
   AND pid <> pg_backend_pid()
   AND backend_type <> 'walsender'
   AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum)
UNION ALL
SELECT 'prepared transaction', gid, database, owner, NULL, NULL,
       age(transaction),
       greatest(0, floor(extract(epoch FROM now() - prepared)))::bigint,
       NULL, NULL, NULL
  FROM pg_prepared_xacts
UNION ALL
SELECT 'replication slot', slot_name, database, NULL, plugin,
       CASE WHEN active THEN 'active' ELSE 'inactive' END,
       greatest(age(xmin), age(catalog_xmin)), NULL, NULL, slot_type, NULL
  FROM pg_replication_slots
 WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL
UNION ALL
SELECT 'standby', coalesce(host(client_addr), 'local') || ' ' || application_name,
       NULL, usename, application_name, state, age(backend_xmin), NULL, NULL,
       NULL, NULL
  FROM pg_stat_replication
 WHERE backend_xmin IS NOT NULL
 ORDER BY xid_age DESC NULLS LAST, seconds DESC NULLS LAST
