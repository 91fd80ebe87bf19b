-- A piece of a log file.  Binary: a text read fails on bytes that are not
-- valid in the database encoding.  missing_ok: a file rotated away reads
-- as NULL instead of an error.
SELECT pg_read_binary_file(%(path)s, %(offset)s, %(length)s, true) AS data
