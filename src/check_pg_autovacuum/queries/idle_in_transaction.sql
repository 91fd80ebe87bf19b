-- Client sessions that sit in an open transaction doing nothing.  While
-- they do, vacuum cannot remove rows that became dead after they began.
-- Ages are clamped at 0: a session may change state after our now().
SELECT pid,
       datname AS database,
       usename AS user_name,
       application_name,
       coalesce(host(client_addr), 'local') AS client,
       state,
       greatest(0, floor(extract(epoch FROM now() - state_change)))::bigint
         AS idle_seconds,
       -- NULL in an aborted transaction, which no longer says when it began
       CASE WHEN xact_start IS NOT NULL
            THEN greatest(0, floor(extract(epoch FROM now() - xact_start)))::bigint
       END AS transaction_seconds,
       query AS last_query
  FROM pg_stat_activity
 WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')
   AND backend_type = 'client backend'
   AND pid <> pg_backend_pid()
 ORDER BY state_change, pid
