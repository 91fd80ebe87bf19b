-- Tables (and materialized views) of at least %(min_size)s bytes, and the
-- TOAST tables of such as big themselves, as the last VACUUM or ANALYZE
-- counted their pages.  Cheap, so that a database of small tables costs
-- next to nothing; bloat_estimates reads the statistics of the tables
-- found.  A TOAST table has none (ANALYZE never visits it): it is shown
-- under its owner's name with " (TOAST)", as the vacuum finding does, for
-- pgstattuple_approx to measure.  Shared catalogs are left out: every
-- database lists them.
SELECT current_database() AS database,
       coalesce(owner_ns.nspname, n.nspname) AS schema,
       coalesce(owner.relname || ' (TOAST)', c.relname) AS table_name,
       c.oid::bigint AS oid,
       c.relkind = 't' AS is_toast,
       c.relpages::bigint AS pages,
       current_setting('block_size')::int AS block_size
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class owner ON c.relkind = 't' AND owner.reltoastrelid = c.oid
LEFT JOIN pg_namespace owner_ns ON owner_ns.oid = owner.relnamespace
WHERE c.relkind IN ('r', 'm', 't')
  AND (c.relkind IN ('r', 'm') OR owner.relkind IN ('r', 'm'))
  AND c.relpersistence <> 't'
  AND NOT c.relisshared
  AND c.relpages::bigint * current_setting('block_size')::bigint >= %(min_size)s
