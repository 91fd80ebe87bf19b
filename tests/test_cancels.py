"""Autovacuum cancelled for real by LOCK TABLE, counted from the server's own log.

A cluster of its own, with logging_collector on: the server writes and
rotates the log itself, and the test compares the plugin's counts with
what the files say.
"""
import glob
import os
import re
import threading
import time

import pytest

from pgcluster import LOGGING_COLLECTOR, running
from scenarios import (
    lock_table_repeatedly, server_settings, table_autovacuum_crawls_through)

CANCEL_LINE = b'ERROR:  canceling autovacuum task'


@pytest.fixture(scope='module')
def logging_cluster():
    with running(**LOGGING_COLLECTOR) as server:
        yield server


def written_cancels(pattern):
    total = 0
    for path in glob.glob(pattern):
        with open(path, 'rb') as log:
            total += log.read().count(CANCEL_LINE)
    return total


@pytest.mark.slow
def test_every_cancellation_counted_once_across_rotations(logging_cluster,
                                                         plugin, tmpdir):
    cluster = logging_cluster
    pattern = os.path.join(cluster.datadir, 'log', 'postgresql-*.log')
    state = str(tmpdir.join('state.json'))

    def counted():
        result = plugin('--only', 'cancels', '--logfile', pattern,
                        '--state-file', state, '--log-from-start', '-v',
                        env={'PGPORT': str(cluster.port), 'PGHOST': cluster.host})
        assert result.returncode in (0, 1, 2), result
        return cancels(result.stdout)

    cluster.execute('CREATE DATABASE "abc-hans"')
    table_autovacuum_crawls_through(cluster, 'abc-hans', 'object_state')
    total = counted()
    total += count_while_locking(cluster, counted, pattern, rounds=3)
    total += counted()
    total += counted()
    written = written_cancels(pattern)
    assert written > 0, 'the scenario cancelled no autovacuum run'
    assert total == written
    assert len(glob.glob(pattern)) > 1, 'the log never rotated'


@pytest.mark.slow
def test_the_same_over_sql_as_a_least_privileged_role(logging_cluster, plugin,
                                                      tmpdir):
    cluster = logging_cluster
    cluster.execute('CREATE ROLE logreader LOGIN IN ROLE pg_monitor')
    state = str(tmpdir.join('state.json'))

    def via_sql():
        result = plugin('--only', 'cancels', '--log-via-sql', '--state-file',
                        state, '-U', 'logreader',
                        env={'PGPORT': str(cluster.port), 'PGHOST': cluster.host})
        assert result.stderr == '', result
        return result

    try:
        refused = via_sql()
        assert refused.returncode == 3, refused
        if 'pg_current_logfile' in refused.stdout:  # not pg_monitor's on 15
            assert refused.stdout == (
                'AUTOVACUUM UNKNOWN - server log: query failed: permission denied '
                'for function pg_current_logfile; run: GRANT pg_monitor TO '
                '"logreader"; GRANT EXECUTE ON FUNCTION pg_current_logfile(text) '
                'TO "logreader"\n')
            cluster.execute('GRANT EXECUTE ON FUNCTION pg_current_logfile(text) '
                            'TO logreader')
            refused = via_sql()
        if cluster.server_version_num() < 110000:
            assert refused.stdout == (
                'AUTOVACUUM UNKNOWN - server log: query failed: must be superuser '
                'to read files; PostgreSQL 10 lets only superusers read files: '
                'use --logfile on the database host\n')
            return
        assert refused.stdout == (
            'AUTOVACUUM UNKNOWN - server log: query failed: permission denied '
            'for function pg_read_binary_file; run: GRANT EXECUTE ON FUNCTION '
            'pg_read_binary_file(text, bigint, bigint, boolean) TO "logreader"\n')
        cluster.execute('GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, '
                        'bigint, bigint, boolean) TO logreader')
        if 'abc-hans' not in [row[0] for row in cluster.execute(
                'SELECT datname FROM pg_database')]:
            cluster.execute('CREATE DATABASE "abc-hans"')
        cluster.execute('DROP TABLE IF EXISTS object_state', dbname='abc-hans')
        table_autovacuum_crawls_through(cluster, 'abc-hans', 'object_state')
        pattern = os.path.join(cluster.datadir, 'log', 'postgresql-*.log')
        before = written_cancels(pattern)
        first = via_sql().stdout
        assert first.startswith('AUTOVACUUM OK - started reading log/postgresql-')
        total = cancels(first)
        total += count_while_locking(
            cluster, lambda: cancels(via_sql().stdout), pattern, rounds=2)
        total += cancels(via_sql().stdout)
        total += cancels(via_sql().stdout)
        assert written_cancels(pattern) > before, 'no cancellation this time'
        assert total == written_cancels(pattern) - before
    finally:
        cluster.execute('DROP OWNED BY logreader')
        cluster.execute('DROP ROLE logreader')


def count_while_locking(cluster, counted, pattern, rounds, timeout=60):
    """The sum of COUNTED() runs made while LOCK TABLE keeps cancelling
    autovacuum: a run once the log in PATTERN has a new cancellation, the
    log rotated by the server after each run.  The locking goes on a
    moment after the last round, for a cancellation no run has seen."""
    stop = threading.Event()
    locker = threading.Thread(target=lock_table_repeatedly,
                              args=(cluster, 'abc-hans', 'object_state', timeout),
                              kwargs={'stop': stop})
    locker.start()
    total = 0
    try:
        for _ in range(rounds):
            seen = written(pattern)
            deadline = time.time() + timeout
            while written(pattern) == seen:
                assert time.time() < deadline, 'LOCK TABLE cancelled no ' \
                    'autovacuum run in %ds' % timeout
                time.sleep(0.1)
            total += counted()
            cluster.execute('SELECT pg_rotate_logfile()')
        time.sleep(1)
    finally:
        stop.set()
        locker.join()
    return total


def cancels(output):
    return int(re.search(r'autovacuum_cancels=(\d+);', output).group(1))


FORMATS = [('stderr', 'log'), ('csvlog', 'csv'), ('jsonlog', 'json')]


@pytest.mark.slow
@pytest.mark.parametrize('verbosity', ['default', 'verbose'])
@pytest.mark.parametrize('destination, suffix', FORMATS)
def test_every_format_and_verbosity(logging_cluster, plugin, tmpdir,
                                    destination, suffix, verbosity):
    # log_error_verbosity = verbose writes "ERROR:  57014: canceling
    # autovacuum task" to stderr logs; csvlog and jsonlog keep the SQLSTATE
    # in a field of its own.
    cluster = logging_cluster
    if destination == 'jsonlog' and cluster.server_version_num() < 150000:
        pytest.skip('jsonlog came with PostgreSQL 15')
    if 'abc-hans' not in [row[0] for row in cluster.execute(
            'SELECT datname FROM pg_database')]:
        cluster.execute('CREATE DATABASE "abc-hans"')
    cluster.execute('DROP TABLE IF EXISTS object_state', dbname='abc-hans')
    table_autovacuum_crawls_through(cluster, 'abc-hans', 'object_state')
    pattern = os.path.join(cluster.datadir, 'log', 'postgresql-*.' + suffix)
    state = str(tmpdir.join('state.json'))

    def counted():
        result = plugin('--only', 'cancels', '--logfile', pattern,
                        '--state-file', state,
                        env={'PGPORT': str(cluster.port), 'PGHOST': cluster.host})
        assert result.returncode in (0, 1, 2), result
        return cancels(result.stdout)

    with server_settings(cluster, log_destination="'%s'" % destination,
                         log_error_verbosity=verbosity):
        cluster.execute('SELECT pg_rotate_logfile()')
        before = written(pattern)
        counted()  # starts at the end of the live file
        total = count_while_locking(cluster, counted, pattern, rounds=2)
        total += counted()
    after = written(pattern)
    assert after > before, 'the scenario cancelled no autovacuum run'
    assert total == after - before
    if verbosity == 'verbose' and destination == 'stderr':
        assert b'ERROR:  57014: canceling autovacuum task' in b''.join(
            open(path, 'rb').read() for path in glob.glob(pattern))


def written(pattern):
    """Cancellations in the files: the message, wherever the format puts it."""
    total = 0
    for path in glob.glob(pattern):
        with open(path, 'rb') as log:
            total += log.read().count(b'canceling autovacuum task')
    return total


@pytest.mark.slow
def test_a_clients_skip_locked_is_not_autovacuums(logging_cluster, plugin,
                                                   tmpdir):
    # VACUUM (SKIP_LOCKED) by a client logs its skip as a WARNING;
    # autovacuum's own skip is a LOG line.  Only autovacuum's count.
    cluster = logging_cluster
    if cluster.server_version_num() < 120000:
        pytest.skip('SKIP_LOCKED came with PostgreSQL 12')
    pattern = os.path.join(cluster.datadir, 'log', 'postgresql-*.log')
    state = str(tmpdir.join('state.json'))
    args = ('--only', 'cancels', '--logfile', pattern, '--state-file', state)
    env = {'PGPORT': str(cluster.port), 'PGHOST': cluster.host}
    cluster.execute('CREATE TABLE IF NOT EXISTS skipped (id int)')
    plugin(*args, env=env)
    holder = cluster.connect()
    try:
        with holder.cursor() as cursor:
            cursor.execute('BEGIN')
            cursor.execute('LOCK TABLE skipped IN ACCESS EXCLUSIVE MODE')
            cluster.execute('VACUUM (SKIP_LOCKED) skipped')
    finally:
        holder.close()
    result = plugin(*args + ('-v',), env=env)
    logged = b''.join(open(path, 'rb').read() for path in glob.glob(pattern))
    assert b'WARNING:  skipping vacuum of "skipped" --- lock not available' \
        in logged, 'the client skipped nothing'
    assert 'autovacuum_lock_skips=0;' in result.stdout, result.stdout
    assert '"skipped"' not in result.stdout and 'skipped:' not in result.stdout
