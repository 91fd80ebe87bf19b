-- Everything that keeps old row versions alive: vacuum may remove a dead row
-- only when no transaction, prepared transaction, replication slot or
-- standby (hot_standby_feedback) can still see it.  Each holder with the
-- age of what it holds, in transactions, and since when, where that is
-- known, clamped at 0: a transaction may begin after our now().
--
-- A session is aged by what it holds (procarray.c): a transaction ID from
-- its first write on, which only xact_start bounds; a snapshot only (xmin)
-- in READ COMMITTED for the statement running now (query_start), and
-- while idle in a transaction -- REPEATABLE READ, SERIALIZABLE, an open
-- cursor -- since its transaction began.
--
-- Not counted: a lazy VACUUM, manual or auto, whose xmin every other vacuum
-- ignores (vacuum_rel() sets PROC_IN_VACUUM, on 10 to 18;
-- pg_stat_progress_vacuum lists exactly those; VACUUM FULL and ANALYZE, an
-- autovacuum worker's too, do hold the horizon), and walsenders, which
-- pg_stat_replication shows as standbys.
--
-- Slots and standbys keep no time: the caller remembers since when each has
-- held the same xmin.  "holding" says whether that xmin is older than the
-- oldest transaction running here, i.e. whether it keeps anything that
-- would otherwise go: a healthy standby's xmin follows the primary's.
WITH here AS (
    SELECT (txid_snapshot_xmin(txid_current_snapshot()) % 4294967296)::text::xid
             AS oldest_running
)
SELECT 'session' AS kind, pid::text AS holder, datname AS database,
       usename AS user_name, application_name, state,
       greatest(age(backend_xid), age(backend_xmin)) AS xid_age,
       greatest(0, floor(extract(epoch FROM now() - coalesce(
           CASE WHEN backend_xid IS NULL AND state = 'active' THEN query_start
                ELSE xact_start
           END, query_start, backend_start))))::bigint AS seconds,
       backend_xid IS NOT NULL AS holds_xid, backend_type, query AS last_query,
       true AS holding, NULL::text AS xmin_held
  FROM pg_stat_activity
 WHERE (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)
   AND pid <> pg_backend_pid()
   AND backend_type <> 'walsender'
   AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum)
UNION ALL
SELECT 'prepared transaction', gid, database, owner, NULL, NULL,
       age(transaction),
       greatest(0, floor(extract(epoch FROM now() - prepared)))::bigint,
       true, NULL, NULL, true, NULL
  FROM pg_prepared_xacts
UNION ALL
SELECT 'replication slot', slot_name, database, NULL, plugin,
       CASE WHEN active THEN 'active' ELSE 'inactive' END,
       greatest(age(xmin), age(catalog_xmin)), NULL, false, slot_type, NULL,
       greatest(age(xmin), age(catalog_xmin)) > age(here.oldest_running),
       coalesce(xmin::text, '') || '/' || coalesce(catalog_xmin::text, '')
  FROM pg_replication_slots CROSS JOIN here
 WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL
UNION ALL
SELECT 'standby', coalesce(host(client_addr), 'local') || ' ' || application_name,
       NULL, usename, application_name, state, age(backend_xmin), NULL, false,
       NULL, NULL, age(backend_xmin) > age(here.oldest_running),
       backend_xmin::text
  FROM pg_stat_replication CROSS JOIN here
 WHERE backend_xmin IS NOT NULL
 ORDER BY xid_age DESC NULLS LAST, seconds DESC NULLS LAST
