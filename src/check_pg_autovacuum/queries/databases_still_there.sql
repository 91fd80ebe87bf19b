-- Which of the databases we failed to read still exist: one dropped
-- while we ran is gone, not unreadable.
SELECT datname AS name
  FROM pg_database
 WHERE datname = ANY(%(names)s)
