-- When and how the statistics of each database can have been lost: its
-- stats_reset (pg_stat_reset(), or a single table's counters reset, which
-- sets it too), else the server's start (only a clean shutdown keeps the
-- statistics), and the timeline (above 1: a promoted standby, or a
-- restore that ended recovery).  The timeline is the one of the WAL being
-- written (its file name's first 8 hex digits): pg_control_checkpoint()
-- tells the new one only after the first checkpoint past the promotion.
-- A standby in recovery has statistics of its own, empty for the tables it
-- replays, and no autovacuum: nothing to see there.
--
-- When the statistics began, cluster-wide: pg_stat_archiver's stats_reset
-- is set when the server starts without them (a crash recovery, a restored
-- backup, pg_upgrade: tried on 10, 14, 15 and 18) and kept over a clean
-- restart; pg_stat_reset_shared('archiver') sets it too.  Before the
-- server's start, the statistics survived it.
SELECT d.datname AS database, d.datid AS database_oid,
       pg_is_in_recovery() AS in_recovery,
       extract(epoch FROM d.stats_reset)::float8 AS stats_reset_epoch,
       extract(epoch FROM pg_postmaster_start_time())::float8 AS started_epoch,
       extract(epoch FROM (SELECT stats_reset FROM pg_stat_archiver))::float8
           AS statistics_began_epoch,
       CASE WHEN NOT pg_is_in_recovery()
            THEN ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))
                 ::bit(32)::int
       END AS timeline,
       extract(epoch FROM now())::float8 AS now_epoch
  FROM pg_stat_database d
 WHERE d.datname IS NOT NULL
