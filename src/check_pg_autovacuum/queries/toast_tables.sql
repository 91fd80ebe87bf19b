-- The TOAST tables %(oids)s (from big_tables), under their owner's name with
-- " (TOAST)", as the vacuum finding shows them.  ANALYZE keeps no
-- statistics of a TOAST table: there is nothing to estimate from, only
-- pgstattuple_approx can tell -- and the memory of its size per row
-- (VACUUM counts its rows), and what pgstattuple_approx would read, as
-- bloat_estimates.sql.
SELECT current_database() AS database,
       owner_ns.nspname AS schema,
       owner.relname || ' (TOAST)' AS table_name,
       c.oid::bigint AS oid,
       true AS is_toast,
       c.relpages::bigint AS pages,
       c.reltuples::float8 AS live_rows,
       current_setting('block_size')::int AS block_size,
       pg_relation_filenode(c.oid)::bigint AS file_node,
       pg_relation_size(c.oid) AS size_now,
       c.relallvisible::bigint AS all_visible_pages,
       -- ANALYZE skips TOAST tables: only their dead rows are counted.
       pg_stat_get_dead_tuples(c.oid) AS changed_since_vacuum,
       (SELECT oid FROM pg_database
         WHERE datname = current_database())::bigint AS database_oid,
       extract(epoch FROM now())::float8 AS now_epoch
FROM pg_class c
JOIN pg_class owner ON owner.reltoastrelid = c.oid
JOIN pg_namespace owner_ns ON owner_ns.oid = owner.relnamespace
WHERE c.oid = ANY (%(oids)s::oid[])
  AND owner.relkind IN ('r', 'm')
