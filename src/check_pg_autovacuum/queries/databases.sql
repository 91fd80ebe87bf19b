-- The databases to check: every one that accepts connections, templates
-- aside, filtered by --databases / --exclude-databases (PostgreSQL regular
-- expressions, unanchored).
SELECT datname AS name
  FROM pg_database
 WHERE datallowconn
   AND NOT datistemplate
   AND datname ~ %(include)s
   AND (%(exclude)s::text IS NULL OR datname !~ %(exclude)s)
 ORDER BY datname
