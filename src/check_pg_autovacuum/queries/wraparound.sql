-- How close each database is to transaction ID and multixact wraparound,
-- as a share of the 2^31 that may separate the oldest unfrozen ID from the
-- newest; and anti-wraparound autovacuums that wait for a lock, the worst
-- case: they cannot be skipped, and while they wait the age keeps growing.
SELECT d.datname AS database,
       age(d.datfrozenxid) AS xid_age,
       mxid_age(d.datminmxid) AS multixact_age,
       round(100.0 * greatest(age(d.datfrozenxid), mxid_age(d.datminmxid))
             / 2147483648, 2)::float8 AS percent,
       (SELECT string_agg(a.pid || ' blocked by ' || array_to_string(pg_blocking_pids(a.pid), ','), '; ')
          FROM pg_stat_activity a
         WHERE a.datname = d.datname
           AND a.backend_type = 'autovacuum worker'
           AND a.query LIKE '%(to prevent wraparound)%'
           AND a.wait_event_type = 'Lock') AS blocked_antiwraparound
  FROM pg_database d
 WHERE d.datallowconn
 ORDER BY percent DESC, d.datname
