-- The tables %(oids)s (from big_tables) with what their statistics say of
-- a row's width: bloat.py estimates from these the size a rewrite would
-- leave.  pg_stats shows a column only to a role that may SELECT it;
-- columns_visible says how many it showed us.  The file node, the
-- database's oid and now: what the memory of the table's size per row is
-- believed for (a rewrite or a new database begins afresh).  Its size now
-- (relpages is as of the last VACUUM or ANALYZE), and what says how much
-- of it pgstattuple_approx would read: the pages not all-visible at the
-- last VACUUM, and the rows changed since, each of which may have cleared
-- one page's bit of the visibility map.
SELECT current_database() AS database,
       n.nspname AS schema,
       c.relname AS table_name,
       c.oid::bigint AS oid,
       false AS is_toast,
       c.relpages::bigint AS pages,
       c.reltuples::float8 AS live_rows,
       pg_relation_filenode(c.oid)::bigint AS file_node,
       pg_relation_size(c.oid) AS size_now,
       c.relallvisible::bigint AS all_visible_pages,
       pg_stat_get_dead_tuples(c.oid) + pg_stat_get_mod_since_analyze(c.oid)
           AS changed_since_vacuum,
       (SELECT oid FROM pg_database
         WHERE datname = current_database())::bigint AS database_oid,
       extract(epoch FROM now())::float8 AS now_epoch,
       coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'fillfactor'), '100')::int AS fillfactor,
       current_setting('block_size')::int AS block_size,
       columns.total AS columns,
       columns.visible AS columns_visible,
       columns.with_statistics,
       columns.data_width::float8 AS data_width,
       columns.any_nulls,
       pg_stat_get_mod_since_analyze(c.oid) AS changed_since_analyze
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE has_column_privilege(c.oid, a.attnum,
                                                       'SELECT')) AS visible,
           count(s.attname) AS with_statistics,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0))
               AS data_width,
           coalesce(bool_or(s.null_frac > 0), false) AS any_nulls
    FROM pg_attribute a
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname
                        AND s.tablename = c.relname
                        AND s.attname = a.attname
                        AND NOT s.inherited
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
) columns
WHERE c.oid = ANY (%(oids)s::oid[])
