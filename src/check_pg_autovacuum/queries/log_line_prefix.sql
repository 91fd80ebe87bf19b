-- How the server prefixes each line of a stderr log.
SELECT current_setting('log_line_prefix') AS log_line_prefix
