-- When and how the statistics of each database can have been lost: its
-- stats_reset (pg_stat_reset(), or a single table's counters reset, which
-- sets it too), else the server's start (only a clean shutdown keeps the
-- statistics), and the timeline (above 1: a promoted standby, or a
-- restore that ended recovery).  pg_control_checkpoint() is open to all
-- unless a provider revoked it.
SELECT d.datname AS database,
       extract(epoch FROM d.stats_reset)::float8 AS stats_reset_epoch,
       extract(epoch FROM pg_postmaster_start_time())::float8 AS started_epoch,
       CASE WHEN has_function_privilege('pg_control_checkpoint()', 'execute')
            THEN (SELECT timeline_id FROM pg_control_checkpoint())
       END AS timeline,
       extract(epoch FROM now())::float8 AS now_epoch
  FROM pg_stat_database d
 WHERE d.datname IS NOT NULL
