-- The server's log files (logging_collector), oldest first, for
-- --log-via-sql: those with the ending of the live file, since with
-- log_destination = 'stderr,csvlog' every entry is written twice.  csvlog,
-- where written, is preferred: it carries SQLSTATE and backend type.
-- live is NULL when the server writes no log file of its own.
WITH live AS (
    SELECT coalesce(pg_current_logfile('csvlog'), pg_current_logfile('stderr'))
             AS path
)
SELECT current_setting('log_directory') || '/' || f.name AS path,
       f.size, extract(epoch FROM f.modification)::float8 AS mtime, l.path AS live
  FROM live l
  LEFT JOIN pg_ls_logdir() f
         ON l.path IS NOT NULL
        AND right(f.name, length(substring(l.path FROM '\.[^./]*$')))
            = substring(l.path FROM '\.[^./]*$')
 ORDER BY f.modification, f.name
