"""Autovacuum cancelled for real by LOCK TABLE, counted from the server's own log.

A cluster of its own, with logging_collector on: the server writes and
rotates the log itself, and the test compares the plugin's counts with
what the files say.
"""
import glob
import os
import re
import threading

import pytest

from pgcluster import LOGGING_COLLECTOR, Cluster
from scenarios import lock_table_repeatedly, table_autovacuum_crawls_through

CANCEL_LINE = b'ERROR:  canceling autovacuum task'


@pytest.fixture(scope='module')
def logging_cluster():
    server = Cluster(settings=LOGGING_COLLECTOR)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def written_cancels(pattern):
    total = 0
    for path in glob.glob(pattern):
        with open(path, 'rb') as log:
            total += log.read().count(CANCEL_LINE)
    return total


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
        return int(re.search(r'autovacuum_cancels=(\d+);',
                             result.stdout).group(1))

    cluster.execute('CREATE DATABASE "abc-hans"')
    table_autovacuum_crawls_through(cluster, 'abc-hans', 'object_state')
    total = counted()
    locker = threading.Thread(target=lock_table_repeatedly,
                              args=(cluster, 'abc-hans', 'object_state', 8))
    locker.start()
    try:
        for _ in range(3):
            locker.join(2.5)
            total += counted()
            cluster.execute('SELECT pg_rotate_logfile()')
    finally:
        locker.join()
    total += counted()
    total += counted()
    written = written_cancels(pattern)
    assert written > 0, 'the scenario cancelled no autovacuum run'
    assert total == written
    assert len(glob.glob(pattern)) > 1, 'the log never rotated'
