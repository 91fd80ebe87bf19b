-- A statement_timeout, in milliseconds, for the statements that follow in
-- this session: a measurement gets the time left to it, no more.
SELECT set_config('statement_timeout', %(ms)s, false)
