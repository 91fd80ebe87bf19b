-- The tables of the current database that hold its datfrozenxid (by
-- transaction IDs) or its datminmxid (by multixacts) back, oldest first by
-- the kind that drives its age.
SELECT current_database() AS database, n.nspname AS schema, c.relname AS table_name,
       age(c.relfrozenxid) AS xid_age, mxid_age(c.relminmxid) AS multixact_age
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm', 't')
 ORDER BY CASE WHEN %(by_multixact)s THEN mxid_age(c.relminmxid)
               ELSE age(c.relfrozenxid) END DESC
 LIMIT 3
