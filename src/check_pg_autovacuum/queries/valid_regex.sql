-- Whether the regex given is one the server takes: a bad one fails here,
-- named by its option, before any database is read.
SELECT '' ~ %(regex)s AS valid
