-- What every database's last visit was judged under: the server's start
-- (a crash loses the statistics), the autovacuum settings (a reload may
-- move every trigger), and now.
SELECT extract(epoch FROM pg_postmaster_start_time())::float8 AS started_epoch,
       (SELECT string_agg(name || '=' || setting, ' ' ORDER BY name)
          FROM pg_settings
         WHERE name LIKE 'autovacuum%' OR name LIKE 'vacuum%'
            OR name = 'track_counts') AS settings,
       extract(epoch FROM now())::float8 AS now_epoch
