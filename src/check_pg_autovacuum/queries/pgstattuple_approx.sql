-- One table measured: pgstattuple_approx reads the pages that are not
-- all-visible, and takes the free space of the others from the free space
-- map; scanned_percent says how much of the table it read.  {schema} is
-- the extension's schema, quoted.
SELECT s.table_len, s.scanned_percent, s.dead_tuple_len, s.approx_free_space
FROM {schema}.pgstattuple_approx(%(oid)s::oid::regclass) s
