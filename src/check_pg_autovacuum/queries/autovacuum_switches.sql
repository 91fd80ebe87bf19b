-- The two server settings without which autovacuum does nothing useful.
SELECT current_setting('autovacuum')::boolean AS autovacuum,
       current_setting('track_counts')::boolean AS track_counts
