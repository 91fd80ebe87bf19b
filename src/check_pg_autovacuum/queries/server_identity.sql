-- Which cluster answers at this address: a memory between runs is believed
-- only for the cluster that wrote it.  pg_control_system() is open to all
-- unless a provider revoked it; then only the start time tells.
SELECT CASE WHEN has_function_privilege('pg_control_system()', 'execute')
            THEN (SELECT system_identifier::text FROM pg_control_system())
       END AS system_identifier,
       extract(epoch FROM pg_postmaster_start_time())::float8 AS started_epoch,
       extract(epoch FROM now())::float8 AS now_epoch
