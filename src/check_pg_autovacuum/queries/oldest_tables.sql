-- The tables of the current database that hold its datfrozenxid back.
SELECT current_database() AS database, n.nspname AS schema, c.relname AS table_name,
       age(c.relfrozenxid) AS xid_age
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm', 't')
 ORDER BY age(c.relfrozenxid) DESC
 LIMIT 3
