-- Where the pgstattuple extension lives in this database, and whether we
-- may call its pgstattuple_approx (superuser, pg_stat_scan_tables, or a
-- grant); no row when it is not installed here.
SELECT n.nspname AS schema,
       has_function_privilege(p.oid, 'EXECUTE') AS allowed
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
JOIN pg_proc p ON p.pronamespace = n.oid AND p.proname = 'pgstattuple_approx'
WHERE e.extname = 'pgstattuple'
