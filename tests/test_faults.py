# -*- coding: utf-8 -*-
"""Faults of the server and of the log: always a clear answer, in time."""
from __future__ import unicode_literals

import contextlib
import os
import signal
import threading
import time

import psycopg2
import pytest

from pgcluster import Cluster, running
from scenarios import database, quote_ident, table_with_dead_rows


@pytest.fixture
def own_cluster():
    """A cluster this test may stop, restart or break."""
    with running() as server:
        yield server


def run_against(plugin, server, *args):
    return plugin(*args, env={'PGHOST': server.host, 'PGPORT': str(server.port)})


def test_server_stopped_while_we_wait_for_a_database(plugin, own_cluster):
    server = own_cluster
    server.execute('CREATE DATABASE hanging')
    blocker = server.connect('hanging')
    with blocker.cursor() as cursor:
        cursor.execute('BEGIN')
        cursor.execute('LOCK TABLE pg_class IN ACCESS EXCLUSIVE MODE')
    outcome = {}
    check = threading.Thread(target=lambda: outcome.update(result=run_against(
        plugin, server, '--only', 'vacuum', '-t', '20')))
    check.start()
    time.sleep(1.5)  # the plugin now waits for the lock in "hanging"
    server._run('pg_ctl', 'stop', '-m', 'immediate', '-D', server.datadir)
    check.join(25)
    result = outcome['result']
    assert result.returncode == 3, result
    assert result.stdout.startswith('AUTOVACUUM UNKNOWN - '), result.stdout
    assert 'Traceback' not in result.stdout and result.stderr == ''


def wait_for_lock_wait(server, dbname, timeout=10):
    """Until a session of ours waits for a lock in DBNAME.

    Not an autovacuum worker, which may visit a new database at any time
    and wait there too: its process title says what it is."""
    deadline = time.time() + timeout
    while not [pid for (pid,) in server.execute(
            'SELECT pid FROM pg_locks JOIN pg_database d ON d.oid = database '
            'WHERE NOT granted AND d.datname = %s', (dbname,))
            if 'autovacuum' not in process_title(pid)]:
        assert time.time() < deadline, 'nobody waits for a lock in %s' % dbname
        time.sleep(0.05)


def process_title(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as cmdline:
            return cmdline.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return ''


@contextlib.contextmanager
def catalog_locked(server, dbname, catalog):
    """CATALOG of DBNAME locked by a transaction left open for the block.

    pg_class is needed to start a session in DBNAME; pg_namespace only by
    the queries run once it has started."""
    blocker = server.connect(dbname)
    try:
        with blocker.cursor() as cursor:
            cursor.execute('BEGIN')
            cursor.execute('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE' % catalog)
        yield blocker
    finally:
        blocker.close()


def test_a_database_dropped_while_we_scan_is_gone_not_unknown(plugin, cluster):
    # One connection besides our first: the databases are visited one after
    # another, in name order.  While we wait for a lock in the first, the
    # second is dropped before we get to it.
    hanging, dropped = 'dropped-a-hanging', 'dropped-b-gone'
    for name in (hanging, dropped):
        cluster.execute('CREATE DATABASE %s' % quote_ident(name))
    try:
        with catalog_locked(cluster, hanging, 'pg_class'):
            check = plugin.start('--only', 'vacuum', '-t', '8', '-vv',
                                 '--max-connections', '2', '--databases',
                                 '^dropped-')
            wait_for_lock_wait(cluster, hanging)
            cluster.execute('DROP DATABASE %s' % quote_ident(dropped))
            stdout = check.communicate()[0].decode('utf-8')
    finally:
        for name in (hanging, dropped):
            cluster.execute('DROP DATABASE IF EXISTS %s' % quote_ident(name))
    status_line = stdout.splitlines()[0]
    assert check.returncode == 3, stdout
    assert status_line.startswith(
        'AUTOVACUUM UNKNOWN - cannot read database dropped-a-hanging: '), stdout
    assert dropped not in status_line and 'databases_unreadable=1;' in status_line
    assert 'database dropped-b-gone was dropped while we checked it' in stdout


def test_a_database_dropped_with_force_under_our_query_is_gone(plugin, cluster):
    if cluster.server_version_num() < 130000:
        pytest.skip('DROP DATABASE ... WITH (FORCE) is new in PostgreSQL 13')
    name = 'dropped-forced'
    cluster.execute('CREATE DATABASE %s' % quote_ident(name))
    try:
        with catalog_locked(cluster, name, 'pg_namespace'):
            check = plugin.start('--only', 'vacuum', '-t', '20', '-vv',
                                 '--databases', '^dropped-forced$')
            wait_for_lock_wait(cluster, name)
            cluster.execute('DROP DATABASE %s WITH (FORCE)' % quote_ident(name))
            stdout = check.communicate()[0].decode('utf-8')
    finally:
        cluster.execute('DROP DATABASE IF EXISTS %s' % quote_ident(name))
    assert check.returncode == 0, stdout
    assert stdout.startswith('AUTOVACUUM OK - no table needs vacuum|'), stdout
    assert 'database dropped-forced was dropped while we checked it' in stdout


def test_a_session_terminated_under_our_query_is_tried_once_more(plugin, cluster):
    with database(cluster, 'terminated') as name:
        with catalog_locked(cluster, name, 'pg_namespace') as blocker:
            check = plugin.start('--only', 'vacuum', '-t', '20',
                                 '--databases', '^terminated$')
            wait_for_lock_wait(cluster, name)
            assert cluster.execute(
                'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                "WHERE datname = %s AND application_name = 'check_pg_autovacuum'",
                (name,)) == [(True,)]
            blocker.close()  # the second try gets through
            stdout = check.communicate()[0].decode('utf-8')
    assert check.returncode == 0, stdout
    assert 'databases_unreadable=0;' in stdout


def our_session_in(server, dbname):
    rows = server.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND "
        "application_name = 'check_pg_autovacuum'", (dbname,))
    return rows[0][0] if rows else None


def wait_until_nobody_is_in(server, dbname, timeout=10):
    deadline = time.time() + timeout
    while server.execute('SELECT 1 FROM pg_stat_activity WHERE datname = %s',
                         (dbname,)):
        assert time.time() < deadline, 'sessions stay in %s' % dbname
        time.sleep(0.05)


@pytest.mark.slow
def test_a_hung_backend_in_one_database_is_unknown_and_the_others_are_read(
        plugin, cluster, tmpdir):
    # Our session in "hung-a" is stopped while its query waits for a lock:
    # it never answers.  The client's deadline ends the wait in time, and
    # what "hung-b" says is still reported.
    with database(cluster, 'hung-a') as hung, database(cluster, 'hung-b') as fine:
        table_with_dead_rows(cluster, fine, 'object_state', live=10, dead=100)
        time.sleep(2.1)  # waited a second past its trigger (test_tables)
        backend = None
        try:
            with catalog_locked(cluster, hung, 'pg_namespace'):
                timing = str(tmpdir.join('main-seconds'))
                check = plugin.start('--only', 'vacuum', '-t', '4',
                                     '--vacuum-warning', '0',
                                     '--databases', '^hung-', timing=timing)
                wait_for_lock_wait(cluster, hung)
                backend = our_session_in(cluster, hung)
                os.kill(backend, signal.SIGSTOP)
            stdout = check.communicate()[0].decode('utf-8')
        finally:
            if backend is not None:
                os.kill(backend, signal.SIGCONT)
            wait_until_nobody_is_in(cluster, hung)
    assert check.returncode == 1, stdout
    assert stdout.startswith(
        'AUTOVACUUM WARNING - 1 table needs vacuum and never got it, worst '
        'hung-b.public.object_state'), stdout
    assert (' / cannot read database hung-a: no answer from the server within '
            'the timeout (4s)|') in stdout.splitlines()[0], stdout
    with open(timing) as took:
        assert float(took.read()) < 4


def connect_once_a_slot_is_free(server, timeout=10):
    """A backend gives its slot back a moment after its client has gone:
    the plugin's, just ended, may still hold one."""
    deadline = time.time() + timeout
    while True:
        try:
            return server.connect()
        except psycopg2.OperationalError as error:
            if 'too many clients' not in str(error) or time.time() > deadline:
                raise
            time.sleep(0.05)


def test_max_connections_exhausted_is_a_clear_unknown(plugin):
    # Four connections in all, none kept for superusers; no WAL senders,
    # which PostgreSQL 10 and 11 count against max_connections.
    with running(max_connections='4', superuser_reserved_connections='0',
                 max_wal_senders='0') as server:
        server.execute('CREATE DATABASE other')
        others = [server.connect() for _ in range(3)]
        try:
            # One free slot: our first session takes it, the next is refused.
            one_free = run_against(plugin, server, '--only', 'vacuum')
            others.append(connect_once_a_slot_is_free(server))
            none_free = run_against(plugin, server, '--only', 'vacuum')
        finally:
            for conn in others:
                conn.close()
    assert one_free.returncode == 3, one_free
    assert one_free.stdout.startswith(
        'AUTOVACUUM UNKNOWN - cannot read database other: cannot connect to '
        '%s port %d: sorry, too many clients already|' % (server.host, server.port)
    ), one_free.stdout
    assert none_free.returncode == 3, none_free
    assert none_free.stdout == (
        'AUTOVACUUM UNKNOWN - cannot connect to %s port %d: sorry, too many '
        'clients already\n' % (server.host, server.port))


def test_server_restarted_between_runs(plugin, own_cluster, tmpdir):
    server = own_cluster
    first = run_against(plugin, server, '--only', 'idle,vacuum')
    server._run('pg_ctl', 'restart', '-w', '-m', 'fast', '-D', server.datadir,
                '-l', server.logfile)
    second = run_against(plugin, server, '--only', 'idle,vacuum')
    assert (first.returncode, second.returncode) == (0, 0), (first, second)


def test_a_fifo_instead_of_a_log_does_not_hang(plugin, tmpdir):
    fifo = str(tmpdir.join('postgresql.log'))
    os.mkfifo(fifo)
    result, seconds = plugin.timed('--only', 'cancels', '--logfile', fifo,
                                   '--state-file', str(tmpdir.join('state.json')),
                                   '-t', '5')
    assert seconds < 5, seconds
    assert result.stdout == ('AUTOVACUUM UNKNOWN - server log: cannot read log '
                             'file %s: not a regular file\n' % fifo)


def test_a_symlink_loop_is_a_clear_unknown(plugin, tmpdir):
    loop = str(tmpdir.join('loop.log'))
    os.symlink(loop, loop)
    result = plugin('--only', 'cancels', '--logfile', loop, '--state-file',
                    str(tmpdir.join('state.json')))
    assert result.stdout == ('AUTOVACUUM UNKNOWN - server log: cannot read log '
                             'file %s: Too many levels of symbolic links\n' % loop)


@pytest.mark.slow
def test_a_huge_sparse_log_is_read_within_the_timeout(plugin, tmpdir):
    log = str(tmpdir.join('postgresql.log'))
    with open(log, 'wb') as sparse:
        sparse.truncate(5 << 30)  # 5 GB of holes
        sparse.seek(0, 2)
        sparse.write(b'\n')
    state = str(tmpdir.join('state.json'))
    result, seconds = plugin.timed('--only', 'cancels', '--logfile', log,
                                   '--state-file', state, '--log-from-start',
                                   '-t', '4', '-v')
    assert seconds < 4, (seconds, result)
    assert result.returncode == 0, result
    assert 'server log: read only part of %s within the timeout; the rest ' \
        'follows next time' % log in result.stdout
    # The next run goes on from there: the log is read in steps.
    import json
    with open(state) as saved:
        offset = json.load(saved)['position']['offset']
    assert 0 < offset < 5 << 30
    plugin('--only', 'cancels', '--logfile', log, '--state-file', state, '-t', '4')
    with open(state) as saved:
        assert json.load(saved)['position']['offset'] > offset


@pytest.mark.slow
def test_a_hot_standby_raises_no_false_alarm(plugin, own_cluster):
    primary = own_cluster
    if not os.path.exists(os.path.join(primary.bindir, 'pg_basebackup')):
        pytest.skip('no pg_basebackup beside %s to make a standby' % primary.bindir)
    table_with_dead_rows(primary, 'postgres', 'object_state', live=10, dead=100)
    standby = Cluster(bindir=primary.bindir)
    try:
        standby.start(standby_of=primary)
        deadline = time.time() + 30
        while not standby.execute("SELECT 1 FROM pg_class WHERE relname = "
                                  "'object_state'") and time.time() < deadline:
            time.sleep(0.2)
        assert standby.execute('SELECT pg_is_in_recovery()') == [(True,)]
        on_primary = run_against(plugin, primary, '--only', 'vacuum',
                                 '--vacuum-warning', '0')
        on_standby = run_against(plugin, standby, '--vacuum-warning', '0',
                                 '--analyze-warning', '0')
    finally:
        standby.stop()
    # Vacuum runs on the primary; the standby's own statistics are empty,
    # so the tables it replays never look neglected there.  (How long the
    # table has waited on the primary depends on how fast the standby
    # came up: what it needs is the point, not the state.)
    assert 'tables_need_vacuum=1;' in on_primary.stdout, on_primary
    assert on_standby.returncode == 0, on_standby
    # Every finding ran; the OK line is cut to 1,000 bytes with its perfdata.
    assert on_standby.stdout.startswith('AUTOVACUUM OK - nothing holds back '
                                        'vacuum / no session idle in transaction / '
                                        'no lock keeps autovacuum out / 0 of 3 '
                                        'autovacuum workers busy / '), \
        on_standby.stdout
    for quiet in ('tables_need_vacuum=0;', 'tables_need_analyze=0;',
                  'tables_bloated=0;', 'wraparound_max=0%;'):
        assert quiet in on_standby.stdout, on_standby.stdout
