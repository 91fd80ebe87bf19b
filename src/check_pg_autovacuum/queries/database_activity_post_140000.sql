-- What PostgreSQL keeps cluster-wide of each database's activity, read in
-- our first session: a database where none of it moved since our last
-- visit cannot have a table newly past autovacuum's trigger (quiet.py
-- says why, one way each).  14+: the sessions counter.
--
-- tup_*: every insert, update and delete, catalogs included (DDL,
-- reloptions, pg_statistic written by ANALYZE, temp-table churn), counted
-- when the writing backend flushes, together with the tables' own counters.
-- sessions: client connections made (not autovacuum workers): one that came
-- and went between two runs.  busy, last_change: the sessions there now
-- other than ours, autovacuum workers included.
--
-- In every row, what every database's last visit was judged under: the
-- server's start (a crash loses the statistics), whether it is a standby
-- and its timeline (a promoted standby's statistics are its own, not the
-- old primary's: see statistics_lost.sql), the autovacuum settings (a
-- reload may move every trigger); and now.
WITH judged_under AS (
    SELECT extract(epoch FROM pg_postmaster_start_time())::float8 AS started_epoch,
           CASE WHEN pg_is_in_recovery() THEN 'standby'
                ELSE 'timeline ' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)
           END AS role,
           (SELECT string_agg(name || '=' || setting, ' ' ORDER BY name)
              FROM pg_settings
             WHERE name LIKE 'autovacuum%' OR name LIKE 'vacuum%'
                OR name = 'track_counts') AS settings,
           extract(epoch FROM now())::float8 AS now_epoch
)
SELECT d.oid AS database_oid, d.datname AS database,
       s.tup_inserted, s.tup_updated, s.tup_deleted, s.sessions,
       s.stats_reset::text AS stats_reset,
       d.datfrozenxid::text AS datfrozenxid, d.datminmxid::text AS datminmxid,
       age(d.datfrozenxid) AS xid_age, mxid_age(d.datminmxid) AS mxid_age,
       coalesce(a.busy, 0) AS busy,
       a.last_change_epoch, j.started_epoch, j.role, j.settings, j.now_epoch
  FROM judged_under j
 CROSS JOIN pg_database d
  JOIN pg_stat_database s ON s.datid = d.oid
  LEFT JOIN (
       -- A session we may not see into (no pg_read_all_stats) shows no
       -- state: busy, as we cannot tell.
       SELECT datid,
              count(*) FILTER (WHERE backend_type <> 'client backend'
                                  OR state IS DISTINCT FROM 'idle') AS busy,
              extract(epoch FROM max(state_change))::float8 AS last_change_epoch
         FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND datid IS NOT NULL
        GROUP BY datid) a ON a.datid = d.oid
