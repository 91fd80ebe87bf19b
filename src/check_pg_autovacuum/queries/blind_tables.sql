-- PostgreSQL 10 to 12.
-- Tables of the current database that hold rows while their statistics say
-- nothing ever happened to them: the counters autovacuum decides by were
-- lost (a crash, an immediate stop, a promotion, pg_stat_reset(), a
-- restore), so autovacuum sees no dead row there until as many new ones
-- accrue again (relation_needs_vacanalyze() reads n_dead_tup,
-- n_mod_since_analyze).
--
-- pg_class survives what the statistics do not: reltuples > 0 says the
-- table had rows when it was last vacuumed or analyzed, and its size now
-- that they are still there (an unlogged table emptied by crash recovery,
-- a truncated one, are not blind).  Each counter is read directly, cheap
-- and first: the size (a stat() of its files) only for the few tables
-- whose counters are all zero.
SELECT current_database() AS database, n.nspname AS schema,
       c.relname AS table_name, c.oid AS relid, c.relisshared AS shared,
       c.reltuples::float8 AS reltuples, pg_relation_size(c.oid) AS size
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm')
   AND c.relpersistence <> 't'
   AND c.reltuples > 0
   -- A standby's statistics are its own, empty for what it replays: none
   -- of its tables is blind (and none is news to quiet.py).
   AND NOT pg_is_in_recovery()
   AND pg_stat_get_live_tuples(c.oid) = 0
   AND pg_stat_get_dead_tuples(c.oid) = 0
   AND pg_stat_get_mod_since_analyze(c.oid) = 0
   AND pg_stat_get_tuples_inserted(c.oid) = 0
   AND pg_stat_get_tuples_updated(c.oid) = 0
   AND pg_stat_get_tuples_deleted(c.oid) = 0
   AND pg_stat_get_vacuum_count(c.oid) = 0
   AND pg_stat_get_autovacuum_count(c.oid) = 0
   AND pg_stat_get_analyze_count(c.oid) = 0
   AND pg_stat_get_autoanalyze_count(c.oid) = 0
   AND pg_relation_size(c.oid) >= %(min_size)s
   AND (%(exclude_tables)s::text IS NULL
        OR current_database() || '.' || n.nspname || '.' || c.relname
           !~ %(exclude_tables)s)
 ORDER BY n.nspname, c.relname
