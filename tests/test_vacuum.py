# -*- coding: utf-8 -*-
"""Tables that need autovacuum and don't get it, in every database, for real
(the vacuum finding, and what the table findings share)."""
from __future__ import unicode_literals

import itertools
import re
import time

import pytest

from scenarios import (
    NOTHING_HOLDS_BACK, Stopwatch, age_past_zero, database, only, quote_ident,
    role, server_settings, table_with_dead_rows, wait_for_statistics)

_numbers = itertools.count(1)
QUIET_PERFDATA = ('databases_unreadable=0;;;0 dead_tuples_max_ratio=0;;;0 '
                  'tables_autovacuum_disabled=0;;;0 tables_being_vacuumed=0;;;0 '
                  'tables_need_vacuum=0;;;0 '
                  'tables_never_autovacuumed=0;;;0 '
                  'vacuum_overdue_max=0s;86400;604800;0')


@pytest.fixture
def db(cluster):
    """A database of this test's own, so that no other test's tables count."""
    with database(cluster, 'tables-%d' % next(_numbers)) as name:
        yield name


def test_untouched_and_small_tables_are_not_reported(plugin, cluster, db):
    cluster.execute('CREATE TABLE untouched (id int)', dbname=db)
    table_with_dead_rows(cluster, db, 'small', live=10, dead=20)
    result = plugin('--only', 'vacuum,analyze', *only(db) + (
        '--vacuum-warning', '0', '--analyze-warning', '0'))
    assert result.returncode == 0, result
    assert result.stdout == (
        'AUTOVACUUM OK - no table needs vacuum / no table needs analyze|'
        'analyze_overdue_max=0s;0;604800;0 databases_unreadable=0;;;0 '
        'dead_tuples_max_ratio=0;;;0 tables_autovacuum_disabled=1;;;0 '
        'tables_being_vacuumed=0;;;0 tables_need_analyze=0;;;0 '
        'tables_need_vacuum=0;;;0 '
        'tables_never_autovacuumed=0;;;0 vacuum_overdue_max=0s;0;604800;0\n')


def test_busy_table_never_vacuumed_is_reported(plugin, cluster, db):
    table_with_dead_rows(cluster, db, 'object_state', live=50, dead=500)
    age_past_zero()
    result = plugin('--only', 'vacuum', '-v', *only(db) + (
        '--vacuum-warning', '0', '--vacuum-critical', '1h'))
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    assert re.match(
        r'AUTOVACUUM WARNING - 1 table needs vacuum and never got it, worst '
        r'%s.public.object_state \(500 dead rows, 10x live, past its trigger '
        r'for \w+ \(estimated\), never vacuumed, autovacuum disabled\)$' % db,
        lines[0].split('|')[0]), lines[0]
    assert re.match(
        r'%s.public.object_state needs vacuum: 500 dead rows \(trigger 50\), '
        r'50 live; past its trigger for \w+ \(estimated from the pace the '
        r'rows accrued at\); last autovacuum never, '
        r'last vacuum never; statistics began \S+ ago; autovacuum disabled '
        r'for this table$' % db, lines[1]), lines[1]
    assert re.match(
        r'databases_unreadable=0;;;0 dead_tuples_max_ratio=10;;;0 '
        r'tables_autovacuum_disabled=1;;;0 tables_being_vacuumed=0;;;0 '
        r'tables_need_vacuum=1;;;0 tables_never_autovacuumed=1;;;0 '
        r'vacuum_overdue_max=\d+s;0;3600;0$',
        lines[0].split('|')[1]), lines[0]


def test_the_first_run_estimates_the_crossing_from_the_pace_of_dead_rows(
        plugin, cluster, db):
    # Vacuumed empty (trigger 50), then 500 rows died: at an even pace they
    # crossed 50 a tenth of the way from the vacuum to now, so the table
    # has waited past its trigger 90% of the time since its vacuum.
    table_with_dead_rows(cluster, db, 'stale', live=1000, dead=500,
                         vacuum_first=True)
    time.sleep(4)
    result = plugin('--only', 'vacuum', *only(db) + (
        '--vacuum-warning', '1', '--vacuum-critical', '1h'))
    assert result.returncode == 1, result
    match = re.match(
        r'AUTOVACUUM WARNING - 1 table needs vacuum, worst %s.public.stale '
        r'\(500 dead rows, 50%% of live, past its trigger for (\d+)s '
        r'\(estimated\), last vacuumed (\d+)s ago, autovacuum disabled\)\|'
        r'.* vacuum_overdue_max=(\d+)s;1;3600;0\n$' % db, result.stdout)
    assert match, result.stdout
    waited, since_vacuum, overdue = [int(n) for n in match.groups()]
    assert waited == overdue
    assert 4 <= since_vacuum < 30
    assert int(since_vacuum * 0.9) - 1 <= waited <= since_vacuum


def test_the_memory_carries_the_crossing_to_the_next_run(plugin, cluster, db):
    table_with_dead_rows(cluster, db, 'stale', live=1000, dead=500,
                         vacuum_first=True)
    args = ('--only', 'vacuum') + only(db) + ('--vacuum-warning', '1h')
    started = time.time()
    first = plugin(*args)
    time.sleep(3)
    second = plugin(*args + ('-v',))
    took = time.time() - started
    estimated = int(re.search(r'past its trigger for (\d+)s \(estimated\)',
                              first.stdout).group(1))
    remembered = int(re.search(r'past its trigger for (\d+)s,',
                               second.stdout).group(1))
    # The same crossing, seen later by the time between the two runs: at
    # least the pause, at most what both took (whole seconds, each).
    assert estimated + 2 <= remembered <= estimated + took + 1, \
        (took, first, second)
    assert '(estimated' not in second.stdout, second.stdout


def test_a_table_that_crossed_after_the_previous_run_waits_from_it(
        plugin, cluster, db):
    # Vacuumed long ago by the clock of this test, quiet at the first run,
    # then a burst: the estimate from the pace would say it crossed long
    # ago, but the previous run saw it below the trigger.
    table_with_dead_rows(cluster, db, 'bursty', live=1000, dead=0,
                         vacuum_first=True)
    cluster.execute('VACUUM bursty', dbname=db)
    time.sleep(4)
    args = ('--only', 'vacuum') + only(db) + ('--vacuum-warning', '3')
    since_quiet_run = Stopwatch()
    assert plugin(*args).stdout.startswith('AUTOVACUUM OK - no table needs vacuum')
    cluster.execute('DELETE FROM bursty WHERE id <= 900', dbname=db)
    wait_for_statistics(cluster, db, 'bursty', dead=900)
    result = plugin(*args)
    since_quiet_run.stop()
    assert result.returncode == 0, result
    since_quiet_run.assert_age(
        r'worst %s.public.bursty \(900 dead rows, 9.0x live, past its trigger '
        r'for (\d+)s, last vacuumed \d+s ago, autovacuum disabled\)' % db,
        result.stdout)


def test_a_table_loaded_just_now_has_not_waited(plugin, cluster, db):
    # The server is up longer than the thresholds; a table never vacuumed
    # whose rows were only inserted may have been loaded a second ago, and
    # nothing in the statistics says otherwise: it waits from now on.
    table_with_dead_rows(cluster, db, 'loaded', live=5000, dead=0)
    args = ('--only', 'vacuum,analyze', '--vacuum-warning', '0',
            '--analyze-warning', '0') + only(db)
    started = cluster.execute('SELECT extract(epoch FROM now() - '
                              'pg_postmaster_start_time())')[0][0]
    assert started > 1, 'the server must be older than the thresholds'
    began = time.time()
    first = plugin(*args)
    assert first.returncode == 0, first
    assert 'worst %s.public.loaded (5.0k rows changed, past its trigger for ' \
        '0s, never analyzed)' % db in first.stdout, first.stdout
    time.sleep(1.1)
    second = plugin(*args)
    assert second.returncode == 1, second  # the memory counts from the first
    assert_waited_since(began, second.stdout)


def assert_waited_since(began, output):
    """The wait OUTPUT names runs from the first run, which started after
    BEGAN: at least the 1.1s slept, at most the time since BEGAN (a loaded
    machine starts a plugin in seconds)."""
    waited = int(re.search(r'past its trigger for (\d+)s', output).group(1))
    assert 1 <= waited <= time.time() - began + 1, (waited, output)


def test_inserts_alone_trigger_vacuum_on_13_and_later(plugin, cluster, db):
    if cluster.server_version_num() < 130000:
        pytest.skip('the insert trigger came with PostgreSQL 13')
    table_with_dead_rows(cluster, db, 'append_only', live=2000, dead=0)
    args = ('--only', 'vacuum', '--vacuum-warning', '0') + only(db)
    began = time.time()
    plugin(*args)
    time.sleep(1.1)
    result = plugin(*args)
    assert result.returncode == 1, result
    assert re.match(
        r'AUTOVACUUM WARNING - 1 table needs vacuum and never got it, worst '
        r'%s.public.append_only \(2.0k rows inserted, past its trigger for \d+s, '
        r'never vacuumed, autovacuum disabled\)\|' % db, result.stdout), \
        result.stdout
    assert_waited_since(began, result.stdout)


def test_every_database_in_one_run_awkward_names_too(plugin, cluster):
    names = ['abc-hans', 'with space', 'quote"d', 'ünï 🥐']
    with database(cluster, names[0]), database(cluster, names[1]), \
            database(cluster, names[2]), database(cluster, names[3]):
        for name in names:
            table_with_dead_rows(cluster, name, 'object_state', live=10,
                                 dead=100)
        age_past_zero()
        result = plugin('--only', 'vacuum', '-v', '--vacuum-warning', '0',
                        '--vacuum-critical', '0', '--exclude-databases',
                        '^tables-')
    assert result.returncode == 2, result
    lines = result.stdout.splitlines()
    assert re.match(r'AUTOVACUUM CRITICAL - 4 tables need vacuum and never '
                    r'got it, worst .+\.public\.object_state \(100 dead rows, '
                    r'10x live, past its trigger for \w+ \(estimated\), never '
                    r'vacuumed, autovacuum disabled\)$',
                    lines[0].split('|')[0]), lines[0]
    reported = sorted(line.split('.public.object_state needs vacuum')[0]
                      for line in lines[1:5])
    assert reported == sorted(names)


def test_exclusion_regexes(plugin, cluster, db):
    table_with_dead_rows(cluster, db, 'object_state', live=10, dead=100)
    table_with_dead_rows(cluster, db, 'blob_chunk', live=10, dead=100)
    age_past_zero()
    args = ('--only', 'vacuum', '--vacuum-warning', '0')
    assert plugin(*args + only(db)).stdout.startswith(
        'AUTOVACUUM WARNING - 2 tables need vacuum')
    result = plugin(*args + only(db, r'\.object_state$'))
    assert re.match(r'AUTOVACUUM WARNING - 1 table needs vacuum and never got '
                    r'it, worst %s.public.blob_chunk ' % db, result.stdout)
    result = plugin(*args + only(db, r'^%s\.public\.' % re.escape(db)))
    assert result.stdout.startswith('AUTOVACUUM OK - no table needs vacuum')
    result = plugin(*args + only(db) + ('--exclude-databases', db))
    assert result.stdout.startswith('AUTOVACUUM OK - no table needs vacuum')


def test_bad_regex_is_unknown(plugin):
    result = plugin('--exclude-tables', '(unclosed')
    assert result.returncode == 3, result
    assert re.match(r'AUTOVACUUM UNKNOWN - --exclude-tables: invalid regular '
                    r'expression: parentheses \(\) not balanced\n$',
                    result.stdout), result.stdout


def test_partitioned_parents_are_skipped(plugin, cluster, db):
    cluster.execute('CREATE TABLE measurement (id int) PARTITION BY RANGE (id); '
                    'CREATE TABLE measurement_low PARTITION OF measurement '
                    'FOR VALUES FROM (0) TO (100000) '
                    'WITH (autovacuum_enabled = false); '
                    'INSERT INTO measurement SELECT generate_series(1, 200); '
                    'DELETE FROM measurement', dbname=db)
    wait_for_statistics(cluster, db, 'measurement_low', dead=200)
    age_past_zero()
    result = plugin('--only', 'vacuum', '-v', '--vacuum-warning', '0', *only(db))
    assert result.returncode == 1, result
    assert result.stdout.startswith(
        'AUTOVACUUM WARNING - 1 table needs vacuum and never got it, worst '
        '%s.public.measurement_low (' % db), result.stdout


def test_a_toast_table_is_judged_on_its_own_under_its_owners_name(
        plugin, cluster, db):
    # Values stored out of line, uncompressed: each row has chunks in the
    # TOAST table, and rewriting them leaves dead chunks there.  The main
    # table's trigger is out of reach; the TOAST table has no reloptions of
    # its own, so the owner's autovacuum_vacuum_threshold holds for it too,
    # as autovacuum does it -- and the owner's autovacuum_enabled.  Only the
    # main table is ever analyzed.
    cluster.execute(
        'CREATE TABLE blob_chunk (id int, data text) '
        'WITH (autovacuum_enabled = false, autovacuum_vacuum_threshold = 1000, '
        'autovacuum_analyze_threshold = 1000); '
        'ALTER TABLE blob_chunk ALTER COLUMN data SET STORAGE EXTERNAL; '
        "INSERT INTO blob_chunk SELECT g, repeat('x', 6000) "
        'FROM generate_series(1, 300) g; '
        "UPDATE blob_chunk SET data = repeat('y', 6000); "
        "UPDATE blob_chunk SET data = repeat('z', 6000)", dbname=db)
    toast = cluster.execute(
        "SELECT reltoastrelid::regclass::text FROM pg_class "
        "WHERE relname = 'blob_chunk'", dbname=db)[0][0].split('.')[-1]
    wait_for_statistics(cluster, db, 'blob_chunk', dead=600)
    deadline = time.time() + 15
    # Twice the trigger: with no earlier run, the crossing is estimated
    # half-way since statistics began.
    while not cluster.execute(
            'SELECT n_dead_tup >= 2000 FROM pg_stat_all_tables '
            'WHERE relname = %s', (toast,), dbname=db)[0][0]:
        assert time.time() < deadline, 'no dead chunks in %s' % toast
        time.sleep(0.1)
    age_past_zero()
    result = plugin('--only', 'vacuum,analyze', '-v', '--vacuum-warning', '0',
                    *only(db))
    excluded = plugin('--only', 'vacuum', '--vacuum-warning', '0',
                      *only(db, r'\.blob_chunk$'))
    assert result.returncode == 1, result
    assert result.stdout.startswith(
        'AUTOVACUUM WARNING - 1 table needs vacuum and never got it, worst '
        '%s.public.blob_chunk (TOAST) (' % db), result.stdout
    assert 'tables_need_analyze=0;' in result.stdout  # never for TOAST
    assert excluded.stdout.startswith('AUTOVACUUM OK - no table needs vacuum|')


def test_temp_tables_are_left_out(plugin, cluster, db):
    # Autovacuum never visits a temp table (only its session can read it):
    # however many dead rows it has, that is not autovacuum failing.
    session = cluster.connect(db)
    try:
        with session.cursor() as cursor:
            cursor.execute('CREATE TEMP TABLE scratch (id int)')
            cursor.execute('INSERT INTO scratch SELECT generate_series(1, 300)')
            cursor.execute('DELETE FROM scratch WHERE id > 50')
            if cluster.server_version_num() >= 150000:
                cursor.execute('SELECT pg_stat_force_next_flush()')
            else:
                time.sleep(0.6)  # past the stats collector's interval
                cursor.execute('SELECT 1')
        wait_for_statistics(cluster, db, 'scratch', dead=250)
        age_past_zero()
        result = plugin('--only', 'vacuum', '--vacuum-warning', '0', *only(db))
    finally:
        session.close()
    assert result.returncode == 0, result
    assert result.stdout.startswith('AUTOVACUUM OK - no table needs vacuum|')


def test_autovacuum_off_is_critical(plugin, cluster, db):
    with server_settings(cluster, autovacuum='off'):
        result = plugin('--only', 'vacuum,analyze', *only(db))
    assert result.returncode == 2, result
    assert result.stdout.startswith(
        'AUTOVACUUM CRITICAL - autovacuum is off for the whole server '
        '(autovacuum = off): tables get vacuumed only to prevent wraparound|')


def test_track_counts_off_is_critical(plugin, cluster, db):
    with server_settings(cluster, track_counts='off'):
        result = plugin('--only', 'vacuum', *only(db))
    assert result.returncode == 2, result
    assert result.stdout.startswith(
        'AUTOVACUUM CRITICAL - statistics are off (track_counts = off): '
        'autovacuum cannot tell which tables need it|')


def test_stats_reset_raises_no_storm(plugin, cluster, db):
    table_with_dead_rows(cluster, db, 'object_state', live=10, dead=100)
    started = cluster.execute('SELECT extract(epoch FROM now() - '
                              'pg_postmaster_start_time())')[0][0]
    if started < 5:
        time.sleep(5 - float(started))
    since_reset = Stopwatch()
    cluster.execute('SELECT pg_stat_reset()', dbname=db)
    wait_for_statistics(cluster, db, 'object_state', dead=0)
    # Right after the reset nothing needs vacuum: the counters start at 0.
    result = plugin('--only', 'vacuum', '--vacuum-warning', '0', *only(db))
    assert result.stdout.startswith('AUTOVACUUM OK - no table needs vacuum'), \
        result.stdout
    # New dead rows: the wait counts from the reset, not from server start.
    cluster.execute('DELETE FROM object_state', dbname=db)
    wait_for_statistics(cluster, db, 'object_state', dead=10)
    cluster.execute('INSERT INTO object_state SELECT generate_series(1, 100); '
                    'DELETE FROM object_state', dbname=db)
    wait_for_statistics(cluster, db, 'object_state', dead=110)
    # Counted from the server's start (5 s or more before the reset), the
    # wait would pass what the watch saw since the reset.
    result = plugin('--only', 'vacuum', '--vacuum-warning', '1h', *only(db))
    since_reset.stop()
    assert result.returncode == 0, result
    since_reset.assert_age(r'^AUTOVACUUM OK - 1 table needs vacuum and never '
                           r'got it, worst .*past its trigger for (\d+)s',
                           result.stdout)


def test_a_database_we_cannot_read_is_unknown_and_never_hidden(plugin, cluster,
                                                               db):
    table_with_dead_rows(cluster, db, 'object_state', live=10, dead=100)
    age_past_zero()
    with database(cluster, 'locked-away') as locked:
        cluster.execute('REVOKE CONNECT ON DATABASE %s FROM PUBLIC'
                        % quote_ident(locked))
        with role(cluster, 'nagios', 'pg_monitor'):
            args = ('--only', 'vacuum', '-U', 'nagios', '--databases',
                    '^(%s|locked-away)$' % re.escape(db))
            quiet = plugin(*args)
            alarming = plugin(*args + ('--vacuum-warning', '0'))
    assert quiet.returncode == 3, quiet
    unknown_text = ('cannot read database locked-away: cannot connect to %s '
                    'port %d: permission denied for database "locked-away"'
                    % (cluster.host, cluster.port))
    assert quiet.stdout.startswith('AUTOVACUUM UNKNOWN - %s|' % unknown_text)
    assert alarming.returncode == 1, alarming
    assert re.match(r'AUTOVACUUM WARNING - 1 table needs vacuum .*\) / %s\|'
                    % re.escape(unknown_text), alarming.stdout), alarming.stdout


# The findings of a default run, in the order the first line gives them;
# a finding marked optional says nothing when it has nothing to count.
DEFAULT_SUMMARY = [
    (NOTHING_HOLDS_BACK, False),
    (r'no session idle in transaction', False),
    (r'no lock keeps autovacuum out', False),
    (r'0 of \d+ autovacuum workers busy', False),
    (r'database postgres is 0% of the way to wraparound '
     r'\([\d.]+k? (transaction IDs|multixacts)\)', True),
    # Catalogs the other tests churned may be past their trigger for a
    # moment (shared ones show in every database): counted, not alarming.
    (r'(no table|\d+ tables?) needs? vacuum.*', True),
    (r'(no table|\d+ tables?) needs? analyze.*', True),
    (r'no table blind to autovacuum', True),
    (r'no table bloated', True),
]


def unmatched_summary_parts(summary, expected):
    """What of SUMMARY's ' / '-separated parts EXPECTED does not account
    for, in order; a trailing '...' (the line would pass 1,000 bytes with
    its perfdata) may cut the list anywhere."""
    parts = summary.split(' / ')
    truncated = parts[-1] == '...'
    if truncated:
        parts.pop()
    for pattern, optional in expected:
        if parts and re.match(pattern + '$', parts[0]):
            parts.pop(0)
        elif not (optional or (truncated and not parts)):
            return ['missing: ' + pattern] + parts
    return parts


def test_unmatched_summary_parts():
    expected = [('a', False), ('b', True), ('c', False)]
    assert unmatched_summary_parts('a / c', expected) == []
    assert unmatched_summary_parts('a / b / c', expected) == []
    assert unmatched_summary_parts('a / ...', expected) == []
    assert unmatched_summary_parts('a', expected) == ['missing: c']
    assert unmatched_summary_parts('c / a', expected) == [
        'missing: a', 'c', 'a']
    assert unmatched_summary_parts('a / c / d', expected) == ['d']


def test_every_finding_by_default(plugin):
    result = plugin('--databases', '^postgres$', '-v')
    assert result.returncode == 0, result
    first_line = result.stdout.splitlines()[0]
    assert len(first_line.encode('utf-8')) <= 1000, len(first_line)
    summary, perfdata = first_line.split('|', 1)
    assert summary.startswith('AUTOVACUUM OK - '), result.stdout
    assert unmatched_summary_parts(
        summary[len('AUTOVACUUM OK - '):], DEFAULT_SUMMARY) == [], \
        result.stdout
    assert re.match(
        r'analyze_overdue_max=\d+s;86400;604800;0 antiwraparound_blocked=0;;;0 '
        r'autovacuum_blocking_lock_age_max=0s;900;3600;0 '
        r'autovacuum_blocking_locks=0;;;0 autovacuum_workers_busy=\d+;;;0;\d+ '
        r'autovacuum_workers_saturated=0s;3600;;0 '
        r'bloat_bytes_total=0B;;;0 bloat_max=0%;50;80;0;100 '
        r'databases_unreadable=0;;;0 dead_tuples_max_ratio=[\d.]+;;;0 '
        r'horizon_age_max=\d+s;3600;21600;0 '
        r'horizon_xid_age_max=\d+;10000000;100000000;0 '
        r'idle_in_transaction=0;;;0 idle_in_transaction_max=0s;900;3600;0 '
        r'replication_slots_stale=0;;;0 tables_autovacuum_disabled=0;;;0 '
        r'tables_being_vacuumed=\d+;;;0 tables_blind=0;;;0 tables_bloated=0;;;0 '
        r'tables_need_analyze=\d+;;;0 tables_need_vacuum=\d+;;;0 '
        r'tables_never_autovacuumed=\d+;;;0 tables_vacuum_ineffective=0;;;0 '
        r'vacuum_overdue_max=\d+s;86400;604800;0 '
        r'vacuum_runtime_max=0s;21600;86400;0 vacuums_running=\d+;;;0 '
        r'wraparound_max=0%;50;75;0;100$', perfdata), result.stdout


@pytest.mark.parametrize('args, message', [
    (('--only', 'idle,bloats'), "argument --only: unknown finding 'bloats' "
     "(choose from idle, vacuum, analyze, blind, cancels, horizon, wraparound, "
     "workers, bloat) "
     "(see --help)"),
    (('--only', 'idle', '--skip', 'idle'),
     '--only and --skip leave no finding to run'),
])
def test_bad_finding_names_are_unknown(plugin, args, message):
    result = plugin(*args)
    assert (result.returncode, result.stdout) == (
        3, 'AUTOVACUUM UNKNOWN - %s\n' % message)


def test_never_more_connections_than_max_connections(plugin, cluster):
    # The role may hold 3 connections; the plugin is told to use at most 2.
    # One more than asked for leaves room for a backend that is still
    # exiting after we closed its connection.
    names = ['pool-%d' % number for number in range(8)]
    for name in names:
        cluster.execute('CREATE DATABASE %s' % quote_ident(name))
    try:
        with role(cluster, 'limited', 'pg_monitor'):
            cluster.execute('ALTER ROLE limited CONNECTION LIMIT 3')
            result = plugin('--only', 'vacuum', '-U', 'limited',
                            '--databases', '^pool-', '--max-connections', '2')
    finally:
        for name in names:
            cluster.execute('DROP DATABASE %s' % quote_ident(name))
    assert result.returncode == 0, result
    assert 'databases_unreadable=0;' in result.stdout


def test_a_database_that_hangs_is_unknown_and_the_others_are_read(plugin, cluster):
    with database(cluster, 'hanging') as hanging, database(cluster, 'fine') as fine:
        table_with_dead_rows(cluster, fine, 'object_state', live=10, dead=100)
        age_past_zero()
        blocker = cluster.connect(hanging)
        try:
            with blocker.cursor() as cursor:
                cursor.execute('BEGIN')
                cursor.execute('LOCK TABLE pg_class IN ACCESS EXCLUSIVE MODE')
            result, seconds = plugin.timed(
                '--only', 'vacuum', '-t', '4', '--vacuum-warning', '0',
                '--databases', '^(hanging|fine)$')
        finally:
            blocker.close()
    assert result.returncode == 1, result
    assert re.match(r'AUTOVACUUM WARNING - 1 table needs vacuum and never got it, '
                    r'worst fine.public.object_state .* / cannot read database '
                    r'hanging: cannot connect to .* port \d+: canceling statement '
                    r'due to lock timeout\|', result.stdout), result.stdout
    assert seconds < 4, seconds


def test_a_role_that_may_not_connect_at_all_is_unknown(plugin, cluster):
    with role(cluster, 'nagios', 'pg_monitor'):
        cluster.execute('ALTER ROLE nagios CONNECTION LIMIT 0')
        result = plugin('-U', 'nagios')
    assert result.returncode == 3, result
    assert result.stdout == ('AUTOVACUUM UNKNOWN - cannot connect to %s port %d: '
                             'too many connections for role "nagios"\n'
                             % (cluster.host, cluster.port))
