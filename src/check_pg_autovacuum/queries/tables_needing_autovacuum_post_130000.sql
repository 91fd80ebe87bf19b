-- PostgreSQL 13 to 17.
-- Tables of the current database past autovacuum's own trigger for vacuum or
-- analyze, or with autovacuum disabled, and how long each has waited.
--
-- The trigger is relation_needs_vacanalyze() of autovacuum.c:
--   vacuum:  n_dead_tup > threshold + scale_factor * reltuples
--        or  n_ins_since_vacuum > insert_threshold
--                                 + insert_scale_factor * reltuples (new in 13)
--   analyze: n_mod_since_analyze > threshold + scale_factor * reltuples
-- reltuples < 0 (never vacuumed or analyzed) counts as 0; a table's
-- reloptions override the server settings.
--
-- How long a table has waited past its trigger is worked out by the caller
-- (overdue.py) from the times given here: the last vacuum (manual or auto)
-- and analyze, and when statistics began (the database's stats_reset, else
-- server start).
--
-- A TOAST table is autovacuumed on its own trigger and shown under its
-- owner's name with " (TOAST)".  Like autovacuum, we take its own
-- reloptions (toast.* on the owner), else its owner's.  It is never
-- analyzed.
WITH settings AS (
    SELECT current_setting('autovacuum_vacuum_threshold')::float8 AS vacuum_threshold,
           current_setting('autovacuum_vacuum_scale_factor')::float8 AS vacuum_scale_factor,
           current_setting('autovacuum_vacuum_insert_threshold')::float8 AS insert_threshold,
           current_setting('autovacuum_vacuum_insert_scale_factor')::float8 AS insert_scale_factor,
           current_setting('autovacuum_analyze_threshold')::float8 AS analyze_threshold,
           current_setting('autovacuum_analyze_scale_factor')::float8 AS analyze_scale_factor,
           coalesce(pg_stat_get_db_stat_reset_time(d.oid),
                    pg_postmaster_start_time()) AS stats_since,
           d.oid AS database_oid
      -- pg_database and the function pg_stat_database reads stats_reset
      -- with: a fresh backend plans the view in some 0.5 ms more.
      FROM pg_database d
     WHERE d.datname = current_database()
),
tables AS (
    SELECT coalesce(owner_ns.nspname, n.nspname) AS schemaname,
           coalesce(owner.relname, c.relname) AS relname,
           c.oid AS relid, c.relisshared AS shared,
           c.relkind = 't' AS is_toast,
           pg_stat_get_live_tuples(c.oid) AS n_live_tup, s.n_dead_tup,
           pg_stat_get_tuples_updated(c.oid) + pg_stat_get_tuples_deleted(c.oid)
             AS updated_or_deleted,
           s.n_ins_since_vacuum, s.n_mod_since_analyze,
           greatest(c.reltuples, 0) AS reltuples,
           pg_stat_get_last_autovacuum_time(c.oid) AS last_autovacuum,
           pg_stat_get_last_vacuum_time(c.oid) AS last_vacuum,
           pg_stat_get_last_autoanalyze_time(c.oid) AS last_autoanalyze,
           pg_stat_get_last_analyze_time(c.oid) AS last_analyze,
           o.*
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     CROSS JOIN LATERAL (
           -- The counters pg_stat_all_tables is built on, read directly:
           -- the view also sums index scans over pg_index for every
           -- table, which we never read.
           SELECT pg_stat_get_dead_tuples(c.oid) AS n_dead_tup,
                  pg_stat_get_ins_since_vacuum(c.oid) AS n_ins_since_vacuum,
                  pg_stat_get_mod_since_analyze(c.oid) AS n_mod_since_analyze) AS s
      LEFT JOIN pg_class owner ON c.relkind = 't' AND owner.reltoastrelid = c.oid
      LEFT JOIN pg_namespace owner_ns ON owner_ns.oid = owner.relnamespace
     CROSS JOIN LATERAL (
           SELECT CASE WHEN c.relkind = 't'
                       THEN coalesce(c.reloptions, owner.reloptions)
                       ELSE c.reloptions
                  END AS reloptions) AS r
     CROSS JOIN LATERAL (
           SELECT coalesce(bool_and(option_value::boolean)
                             FILTER (WHERE option_name = 'autovacuum_enabled'),
                           true) AS autovacuum_enabled,
                  max(option_value::float8) FILTER (WHERE option_name = 'autovacuum_vacuum_threshold') AS vacuum_threshold,
                  max(option_value::float8) FILTER (WHERE option_name = 'autovacuum_vacuum_scale_factor') AS vacuum_scale_factor,
                  max(option_value::float8) FILTER (WHERE option_name = 'autovacuum_vacuum_insert_threshold') AS insert_threshold,
                  max(option_value::float8) FILTER (WHERE option_name = 'autovacuum_vacuum_insert_scale_factor') AS insert_scale_factor,
                  max(option_value::float8) FILTER (WHERE option_name = 'autovacuum_analyze_threshold') AS analyze_threshold,
                  max(option_value::float8) FILTER (WHERE option_name = 'autovacuum_analyze_scale_factor') AS analyze_scale_factor
             FROM pg_options_to_table(r.reloptions)) AS o
           -- Every table autovacuum visits, catalogs included (temp-table
           -- churn bloats pg_attribute, a logical slot holds them back);
           -- partitioned parents have no storage.  Shared catalogs show in
           -- every database: the caller keeps one of each.
     WHERE c.relkind IN ('r', 'm', 't')
       AND (c.relkind IN ('r', 'm') OR owner.relkind IN ('r', 'm'))
       AND c.relpersistence <> 't'  -- autovacuum never visits temp tables
       -- Every trigger is >= 0: without any change or reloption, a table
       -- can be skipped before the costly part.
       AND (s.n_dead_tup > 0 OR s.n_ins_since_vacuum > 0
            OR s.n_mod_since_analyze > 0 OR r.reloptions IS NOT NULL)
       AND (%(exclude_tables)s::text IS NULL
            OR current_database() || '.' || coalesce(owner_ns.nspname, n.nspname)
               || '.' || coalesce(owner.relname, c.relname) !~ %(exclude_tables)s)
),
triggers AS (
    SELECT t.*,
           coalesce(t.vacuum_threshold, z.vacuum_threshold)
             + coalesce(t.vacuum_scale_factor, z.vacuum_scale_factor) * t.reltuples
             AS vacuum_trigger,
           CASE WHEN coalesce(t.insert_threshold, z.insert_threshold) >= 0
                THEN coalesce(t.insert_threshold, z.insert_threshold)
                     + coalesce(t.insert_scale_factor, z.insert_scale_factor)
                       * t.reltuples
           END AS insert_trigger,
           -- never for TOAST, and never for pg_statistic, which ANALYZE
           -- refuses (relation_needs_vacanalyze())
           CASE WHEN NOT t.is_toast AND t.relid <> 'pg_catalog.pg_statistic'::regclass
                THEN coalesce(t.analyze_threshold, z.analyze_threshold)
                     + coalesce(t.analyze_scale_factor, z.analyze_scale_factor)
                       * t.reltuples
           END AS analyze_trigger,
           greatest(t.last_vacuum, t.last_autovacuum) AS last_any_vacuum,
           greatest(t.last_analyze, t.last_autoanalyze) AS last_any_analyze,
           z.stats_since, z.database_oid
      FROM tables t CROSS JOIN settings z
)
SELECT current_database() AS database, schemaname AS schema,
       relname || CASE WHEN is_toast THEN ' (TOAST)' ELSE '' END AS table_name,
       n_live_tup, n_dead_tup, n_ins_since_vacuum, n_mod_since_analyze,
       vacuum_trigger, insert_trigger, analyze_trigger,
       n_dead_tup > vacuum_trigger AS dead_rows_past_trigger,
       coalesce(n_ins_since_vacuum > insert_trigger, false) AS inserts_past_trigger,
       coalesce(n_mod_since_analyze > analyze_trigger, false) AS needs_analyze,
       autovacuum_enabled,
       last_any_vacuum IS NULL AS never_vacuumed,
       last_any_analyze IS NULL AS never_analyzed,
       database_oid, relid, shared, updated_or_deleted,
       extract(epoch FROM now())::float8 AS now_epoch,
       extract(epoch FROM stats_since)::float8 AS stats_since_epoch,
       extract(epoch FROM last_any_vacuum)::float8 AS last_vacuum_epoch,
       extract(epoch FROM last_any_analyze)::float8 AS last_analyze_epoch,
       -- now() is when the statement began: a vacuum that ended since
       -- ended 0s ago, not -1s (greatest() of a NULL is the other).
       floor(extract(epoch FROM greatest(now(), last_autovacuum) - last_autovacuum))::bigint AS last_autovacuum_seconds,
       floor(extract(epoch FROM greatest(now(), last_vacuum) - last_vacuum))::bigint AS last_vacuum_seconds,
       floor(extract(epoch FROM greatest(now(), last_autoanalyze) - last_autoanalyze))::bigint AS last_autoanalyze_seconds,
       floor(extract(epoch FROM greatest(now(), last_analyze) - last_analyze))::bigint AS last_analyze_seconds
  FROM triggers
 WHERE n_dead_tup > vacuum_trigger
    OR n_ins_since_vacuum > insert_trigger
    OR n_mod_since_analyze > analyze_trigger
    OR NOT autovacuum_enabled
 ORDER BY schemaname, relname, is_toast
