-- In a database we visit: the least age at which autovacuum would force an
-- anti-wraparound vacuum of one of its tables (a reloption may set it below
-- the server's), for transaction IDs and for multixacts.  Until the
-- database's own age reaches it, no such vacuum can have run there.
SELECT current_database() AS database,
       least(min(o.option_value::float8)
               FILTER (WHERE o.option_name = 'autovacuum_freeze_max_age'),
             current_setting('autovacuum_freeze_max_age')::float8) AS xid,
       least(min(o.option_value::float8)
               FILTER (WHERE o.option_name = 'autovacuum_multixact_freeze_max_age'),
             current_setting('autovacuum_multixact_freeze_max_age')::float8) AS mxid
  FROM pg_class c
 CROSS JOIN LATERAL pg_options_to_table(c.reloptions) o
 WHERE c.reloptions IS NOT NULL
