-- pg_stat_activity hides the state and query of other roles' sessions
-- unless we have the privileges of pg_read_all_stats (pg_monitor has them).
SELECT current_user AS role_name,
       pg_has_role('pg_read_all_stats', 'USAGE') AS can_read_all_stats
