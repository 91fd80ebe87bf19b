-- How close each database is to transaction ID and multixact wraparound,
-- as a share of the 2^31 that may separate the oldest unfrozen ID from the
-- newest.  The server takes the oldest datfrozenxid and datminmxid over
-- every database (vac_update_datfrozenxid()), templates and databases that
-- refuse connections included: template0 ages too.  A database left
-- invalid by an interrupted DROP DATABASE (datconnlimit = -2, 15.4, 14.9,
-- 13.12, 12.16, 11.21 and later) is skipped there, and flagged here.
-- No connection to the database is needed: pg_database has it all.
SELECT d.datname AS database,
       age(d.datfrozenxid) AS xid_age,
       mxid_age(d.datminmxid) AS multixact_age,
       round(100.0 * greatest(age(d.datfrozenxid), mxid_age(d.datminmxid))
             / 2147483648, 2)::float8 AS percent,
       d.datallowconn AS connectable,
       d.datconnlimit = -2 AS invalid
  FROM pg_database d
 WHERE d.datname ~ %(include)s
   AND (%(exclude)s::text IS NULL OR d.datname !~ %(exclude)s)
 ORDER BY percent DESC, d.datname
