-- How close each database is to transaction ID and multixact wraparound,
-- as a share of the 2^31 that may separate the oldest unfrozen ID from the
-- newest.
SELECT d.datname AS database,
       age(d.datfrozenxid) AS xid_age,
       mxid_age(d.datminmxid) AS multixact_age,
       round(100.0 * greatest(age(d.datfrozenxid), mxid_age(d.datminmxid))
             / 2147483648, 2)::float8 AS percent
  FROM pg_database d
 WHERE d.datallowconn
 ORDER BY percent DESC, d.datname
