-- Each database's statistics, by name: what a memory of its tables is
-- believed for (the same oid, no stats reset since), and the server's now.
SELECT datname AS database, datid AS database_oid,
       stats_reset::text AS stats_reset,
       extract(epoch FROM now())::float8 AS now_epoch
  FROM pg_stat_database
 WHERE datname IS NOT NULL
