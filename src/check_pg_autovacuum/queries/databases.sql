-- The databases to check: every one that accepts connections, templates
-- aside, filtered by --databases / --exclude-databases (PostgreSQL regular
-- expressions, unanchored).
-- The name's bytes as stored: one made in a SQL_ASCII database need not
-- be UTF-8, and then we cannot connect to it by name.
SELECT datname AS name, textsend(datname::text) AS name_bytes
  FROM pg_database
 WHERE datallowconn
   AND NOT datistemplate
   AND datname ~ %(include)s
   AND (%(exclude)s::text IS NULL OR datname !~ %(exclude)s)
 ORDER BY datname
