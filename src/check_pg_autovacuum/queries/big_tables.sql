-- Tables (and materialized views) of at least %(min_size)s bytes, as the
-- last VACUUM or ANALYZE counted their pages.  Cheap, so that a database
-- of small tables costs next to nothing; bloat_estimates reads the
-- statistics of those found.  Shared catalogs are left out: every
-- database lists them.
SELECT c.oid::bigint AS oid
FROM pg_class c
WHERE c.relkind IN ('r', 'm')
  AND c.relpersistence <> 't'
  AND NOT c.relisshared
  AND c.relpages::bigint * current_setting('block_size')::bigint >= %(min_size)s
