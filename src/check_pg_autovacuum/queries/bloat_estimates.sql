-- Tables (and materialized views) of at least %(min_size)s bytes, as the
-- last VACUUM or ANALYZE counted their pages, with what their statistics
-- say of a row's width: bloat.py estimates from these the size a rewrite
-- would leave.  pg_stats shows a column only to a role that may SELECT
-- it; columns_visible says how many it showed us.  Cheap: the statistics
-- are read for the big tables only.
WITH big AS (
    SELECT c.oid, n.nspname, c.relname, c.relpages, c.reltuples,
           coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                     WHERE option_name = 'fillfactor'), '100')::int AS fillfactor
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm')
      AND c.relpersistence <> 't'
      AND NOT c.relisshared  -- every database lists them
      AND c.relpages::bigint * current_setting('block_size')::bigint
          >= %(min_size)s
)
SELECT current_database() AS database,
       big.nspname AS schema,
       big.relname AS table_name,
       big.oid::bigint AS oid,
       big.relpages::bigint AS pages,
       big.reltuples::float8 AS live_rows,
       big.fillfactor,
       current_setting('block_size')::int AS block_size,
       columns.total AS columns,
       columns.visible AS columns_visible,
       columns.with_statistics,
       columns.data_width::float8 AS data_width,
       columns.any_nulls,
       pg_stat_get_mod_since_analyze(big.oid) AS changed_since_analyze
FROM big
CROSS JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE has_column_privilege(big.oid, a.attnum,
                                                       'SELECT')) AS visible,
           count(s.attname) AS with_statistics,
           sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0))
               AS data_width,
           coalesce(bool_or(s.null_frac > 0), false) AS any_nulls
    FROM pg_attribute a
    LEFT JOIN pg_stats s ON s.schemaname = big.nspname
                        AND s.tablename = big.relname
                        AND s.attname = a.attname
                        AND NOT s.inherited
    WHERE a.attrelid = big.oid AND a.attnum > 0 AND NOT a.attisdropped
) columns
