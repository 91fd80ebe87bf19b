# -*- coding: utf-8 -*-
"""Autovacuum's own health, seen live: locks, long vacuums, busy workers."""
from __future__ import unicode_literals

import itertools
import re
import time

import pytest

from pgcluster import running
from scenarios import (
    Stopwatch, in_background, quote_ident, server_settings,
    table_autovacuum_crawls_through, vacuum_scanning, wait_for_statistics)

_numbers = itertools.count(1)


@pytest.fixture
def db(cluster):
    name = 'workers-%d' % next(_numbers)
    cluster.execute('CREATE DATABASE %s' % quote_ident(name))
    try:
        yield name
    finally:
        # The crawling autovacuum may still be there.
        cluster.execute('SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                        'WHERE datname = %s', (name,))
        deadline = time.time() + 10
        while cluster.execute('SELECT 1 FROM pg_stat_activity WHERE datname = '
                              '%s', (name,)) and time.time() < deadline:
            time.sleep(0.1)
        cluster.execute('DROP DATABASE %s' % quote_ident(name))


def only(name):
    return '--databases', '^%s$' % re.escape(name)


def waiting_for_a_lock(cluster, pid, timeout=15):
    deadline = time.time() + timeout
    while not cluster.execute('SELECT 1 FROM pg_locks WHERE pid = %s AND NOT '
                              'granted', (pid,)):
        assert time.time() < deadline, 'pid %d never waited' % pid
        time.sleep(0.05)


def test_a_lock_that_keeps_autovacuum_out_is_named(plugin, cluster, db):
    # The incident's pattern, live and without the log: autovacuum starts on
    # a table full of dead rows, the application takes LOCK TABLE ... IN
    # EXCLUSIVE MODE (cancelling it) and sits idle in its transaction.
    table_autovacuum_crawls_through(cluster, db, 'object_state')
    vacuum_scanning(cluster, db, 'object_state', autovacuum=True)
    locker = cluster.connect(db, application_name='zodb')
    locker_pid = locker.get_backend_pid()
    try:
        with locker.cursor() as cursor:
            began = Stopwatch()
            cursor.execute('BEGIN')
            cursor.execute('LOCK TABLE object_state IN EXCLUSIVE MODE')
        time.sleep(2.1)
        result = plugin('--only', 'workers', '-vv', '--lock-warning', '1',
                        *only(db))
        began.stop()
        vacuumed = cluster.execute(
            "SELECT autovacuum_count FROM pg_stat_user_tables WHERE relname = "
            "'object_state'", dbname=db)[0][0]
    finally:
        locker.close()
    assert vacuumed == 0, 'autovacuum got through after all'
    assert result.returncode == 1, result
    assert result.stdout.startswith(
        'AUTOVACUUM WARNING - pid %d (app zodb, idle in transaction ' % locker_pid)
    began.assert_age(r'^AUTOVACUUM WARNING - pid \d+ \(app zodb, idle in '
                     r'transaction (\d+)s\) holds EXCLUSIVE on '
                     r'%s.public.object_state, which needs vacuum: autovacuum '
                     r'cannot run there\|' % re.escape(db), result.stdout, least=2)
    assert 'autovacuum_blocking_locks=1;' in result.stdout
    assert result.stdout.splitlines()[-1] == (
        'what to do: end the transaction that holds the lock (COMMIT or '
        'ROLLBACK in the application, or SELECT pg_terminate_backend(%d)), and '
        'fix the application that takes LOCK TABLE or DDL and then waits'
        % locker_pid), result.stdout


def test_a_lock_request_about_to_cancel_autovacuum_is_named(plugin, cluster, db):
    table_autovacuum_crawls_through(cluster, db, 'object_state')
    worker = vacuum_scanning(cluster, db, 'object_state', autovacuum=True)
    # A long deadlock_timeout: the request waits before it cancels.
    with server_settings(cluster, deadlock_timeout=20000):  # ms
        with in_background(cluster, db, [
                'BEGIN', 'LOCK TABLE object_state IN ACCESS EXCLUSIVE MODE'],
                application_name='migration') as waiter_pid:
            waiting_for_a_lock(cluster, waiter_pid)
            result = plugin('--only', 'workers', '-v', *only(db))
    assert re.search(
        r'^pid %d \(app migration, active \d+s\) waits for ACCESS EXCLUSIVE on '
        r'%s.public.object_state while autovacuum pid %d works there: it is '
        r'about to cancel it$' % (waiter_pid, re.escape(db), worker),
        result.stdout, re.M), result.stdout
    assert 'autovacuum_blocking_locks=1;' in result.stdout


def test_a_long_autovacuum_is_reported_with_its_progress(plugin, cluster, db):
    # The vacuum cannot begin before its table: the watch bounds its age.
    table_made = Stopwatch()
    table_autovacuum_crawls_through(cluster, db, 'object_state')
    worker = vacuum_scanning(cluster, db, 'object_state', autovacuum=True)
    time.sleep(3.1)
    result = plugin('--only', 'workers', '-v', '--vacuum-runtime-warning', '2',
                    *only(db))
    table_made.stop()
    assert result.returncode == 1, result
    table_made.assert_age(r'^AUTOVACUUM WARNING - autovacuum of '
                          r'%s.public.object_state runs for (\d+)s'
                          % re.escape(db), result.stdout, least=3)
    # track_cost_delay_timing is off here (and absent before 18): the
    # time it slept is not known, and not claimed.
    assert re.search(r'^%s.public.object_state: being vacuumed by pid %d '
                     r'\(autovacuum\) for \d+s, phase scanning heap, \d+%% '
                     r'scanned; how long it slept is not known \(PostgreSQL 18 '
                     r'tells, with track_cost_delay_timing = on\)$'
                     % (re.escape(db), worker), result.stdout, re.M), result.stdout
    assert re.search(r' vacuums_running=\d+;', result.stdout)


@pytest.mark.slow
def test_how_long_an_autovacuum_slept_on_18(plugin, cluster):
    if cluster.server_version_num() < 180000:
        pytest.skip('delay_time came with PostgreSQL 18')
    with running(track_cost_delay_timing='on') as server:
        table_autovacuum_crawls_through(server, 'postgres', 'object_state')
        vacuum_scanning(server, 'postgres', 'object_state', autovacuum=True)
        time.sleep(3.1)
        result = plugin('--only', 'workers', '-v', '--vacuum-runtime-warning',
                        '2', env={'PGHOST': server.host,
                                  'PGPORT': str(server.port)})
    assert re.search(r'; throttled (9\d|100)% of the time; raise '
                     r'autovacuum_vacuum_cost_limit', result.stdout), result.stdout


@pytest.mark.slow
def test_saturated_workers_are_reported_with_how_long(plugin, tmpdir):
    # One worker, busy crawling through a big table, while other tables
    # wait past their trigger.
    with running(autovacuum_max_workers='1') as server:
        table_autovacuum_crawls_through(server, 'postgres', 'big')
        vacuum_scanning(server, 'postgres', 'big', autovacuum=True)
        for name in ('waiting_a', 'waiting_b'):
            server.execute('CREATE TABLE %s (id int); INSERT INTO %s SELECT '
                           'generate_series(1, 1000); DELETE FROM %s'
                           % (name, name, name))
            wait_for_statistics(server, 'postgres', name, dead=1000)
        args = ('--only', 'workers', '-v', '--workers-warning', '1',
                '--state-file', str(tmpdir.join('state')))
        env = {'PGHOST': server.host, 'PGPORT': str(server.port)}
        started = time.time()
        first = plugin(*args, env=env)
        time.sleep(2.1)
        second = plugin(*args, env=env)
        took = time.time() - started
        vacuumed = server.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname LIKE "
            "'waiting_%' AND autovacuum_count > 0")[0][0]
    assert vacuumed == 0, 'a second worker got to the waiting tables'
    assert first.returncode == 0, first
    assert second.returncode == 1, second
    saturated = re.match(r'AUTOVACUUM WARNING - all 1 autovacuum workers busy '
                         r'for (\d+)s while 2 tables wait past the trigger\|',
                         second.stdout)
    assert saturated, second.stdout
    # Since the first run saw it: at least the pause between the runs, at
    # most the time both took (a loaded machine starts a plugin slowly).
    assert 2 <= int(saturated.group(1)) <= took + 1, (took, second.stdout)
    assert 'autovacuum_workers_busy=1;;;0;1 ' in second.stdout


@pytest.mark.slow
def test_index_passes_say_maintenance_work_mem_is_short(plugin, cluster, db):
    if cluster.server_version_num() >= 170000:
        pytest.skip('from 17 on, 1 MB holds millions of dead rows (TidStore)')
    # Eight passes of about 175,000 dead rows each (1 MB of 6-byte row
    # pointers), throttled to some 1.6 s each: seen at the second, the
    # vacuum has about ten seconds to go while the check starts, also on a
    # loaded machine (at 600,000 rows unthrottled it was over in 1.2 s).
    cluster.execute('CREATE TABLE indexed (id int PRIMARY KEY) WITH '
                    '(autovacuum_enabled = false); INSERT INTO indexed SELECT '
                    'generate_series(1, 1200000); DELETE FROM indexed', dbname=db)
    with in_background(cluster, db, [
            "SET maintenance_work_mem = '1MB'", 'SET vacuum_cost_delay = 10',
            'SET vacuum_cost_limit = 40', 'VACUUM indexed']):
        deadline = time.time() + 120
        # Its second pass over the indexes: the first is done, and the
        # memory filled again.
        while not cluster.execute(
                "SELECT 1 FROM pg_stat_progress_vacuum WHERE index_vacuum_count "
                "= 1 AND phase = 'vacuuming indexes'"):
            assert time.time() < deadline, 'never a second index pass'
            time.sleep(0.05)
        result = plugin('--only', 'workers', '-v', *only(db))
    assert result.returncode == 0, result
    # A manual VACUUM: named by its statement, the setting of its session.
    assert re.search(r'\n%s, relation \d+ \(VACUUM indexed\): being vacuumed by '
                     r'pid \d+ \(manual\) for \d+s, phase (vacuuming indexes|'
                     r'vacuuming heap|scanning heap), \d+%% scanned; '
                     # The 2nd, or later on a machine slow to start the check.
                     r'(\d+(nd|rd|th) index pass|\d+ index passes so far): '
                     r'its dead rows fill '
                     r'maintenance_work_mem \(SET in the session that runs the '
                     r'VACUUM\); raise it' % re.escape(db), result.stdout), \
        result.stdout
