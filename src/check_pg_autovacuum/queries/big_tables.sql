-- Tables (and materialized views) of at least %(min_size)s bytes, and
-- TOAST tables as big, as the last VACUUM or ANALYZE counted their pages.
-- Cheap, so that a database of small tables costs next to nothing:
-- bloat_estimates reads the statistics of the tables found, toast_tables
-- the names of the TOAST tables' owners.  Shared catalogs are left out:
-- every database lists them.
SELECT c.oid::bigint AS oid, c.relkind = 't' AS is_toast
FROM pg_class c
WHERE c.relkind IN ('r', 'm', 't')
  AND c.relpersistence <> 't'
  AND NOT c.relisshared
  AND c.relpages::bigint * current_setting('block_size')::bigint >= %(min_size)s
