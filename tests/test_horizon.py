# -*- coding: utf-8 -*-
"""What holds back vacuum, for real: sessions, prepared transactions, slots."""
from __future__ import unicode_literals

import os
import re
import time

import pytest

from pgcluster import Cluster, running
from scenarios import (NOTHING_HOLDS_BACK, Stopwatch, database,
                       idle_in_transaction, in_background, query_running,
                       wait_for_statistics)


def horizon(plugin, *args):
    return plugin('--only', 'horizon', '--horizon-critical', '1h', *args)


def test_nothing_holds_back_vacuum(plugin):
    result = horizon(plugin)
    assert result.returncode == 0, result
    assert re.match(
        r'AUTOVACUUM OK - %s\|databases_unreadable=0;;;0 '
        r'horizon_age_max=\d+s;3600;3600;0 '
        r'horizon_xid_age_max=\d+;10000000;100000000;0 '
        r'replication_slots_stale=0;;;0 tables_vacuum_ineffective=0;;;0\n$'
        % NOTHING_HOLDS_BACK, result.stdout), result.stdout


def test_a_session_idle_in_transaction_holds_the_horizon(plugin, cluster):
    with database(cluster, 'abc-hans'):
        with idle_in_transaction(cluster, dbname='abc-hans', idle_for=1.1) as pid:
            idle = Stopwatch(ago=1.1)
            result = horizon(plugin, '--horizon-warning', '0', '-v')
            idle.stop()
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    idle.assert_age(r'^AUTOVACUUM WARNING - pid %d \(abc-hans, app zodb-app\) '
                    r'idle in transaction (\d+)s holds back vacuum$' % pid,
                    lines[0].split('|')[0], least=1)
    idle.assert_age(r'^holds back vacuum: pid %d \(abc-hans, app zodb-app\) idle '
                    r'in transaction (\d+)s, xmin \d+ transactions? old; last '
                    r'query: SELECT txid_current\(\)$' % pid, lines[1], least=1)


def test_a_long_query_holds_the_horizon(plugin, cluster):
    sleeper = cluster.connect(application_name='report')
    try:
        with query_running(sleeper.cursor(), 'SELECT pg_sleep(60)', settle=1.2):
            result = horizon(plugin, '--horizon-warning', '0')
    finally:
        sleeper.close()
    assert result.returncode == 1, result
    # Its age: the 1.2 s it ran, and however long the plugin took to start.
    assert re.match(r'AUTOVACUUM WARNING - pid \d+ \(postgres, app report\) active '
                    r'[1-9]\d*s holds back vacuum\|', result.stdout), result.stdout


def test_a_forgotten_prepared_transaction_holds_the_horizon(plugin, cluster):
    conn = cluster.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute('BEGIN')
            cursor.execute('SELECT txid_current()')
            cursor.execute("PREPARE TRANSACTION 'forgotten'")
        prepared = Stopwatch()
        time.sleep(1.1)
        result = horizon(plugin, '--horizon-warning', '0', '-vv')
        prepared.stop()
    finally:
        cluster.execute("ROLLBACK PREPARED 'forgotten'")
        conn.close()
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    prepared.assert_age(r"^AUTOVACUUM WARNING - prepared transaction "
                        r"'forgotten' \(postgres\) open (\d+)s holds back "
                        r"vacuum$", lines[0].split('|')[0], least=1)
    # The last line: after the problems and which databases were read.
    assert lines[-1] == (
        "what to do: end it in database postgres: ROLLBACK PREPARED "
        "'forgotten', or COMMIT PREPARED if it must be kept; then fix the "
        "application; idle_in_transaction_session_timeout ends idle sessions "
        "for you")


def test_an_inactive_replication_slot_holds_the_horizon(plugin, cluster):
    cluster.execute("SELECT pg_create_logical_replication_slot('stale_slot', "
                    "'pgoutput')")
    for _ in range(3):  # transactions after it, which it holds back
        cluster.execute('SELECT txid_current()')
    try:
        result = horizon(plugin, '-v')
    finally:
        cluster.execute("SELECT pg_drop_replication_slot('stale_slot')")
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    assert re.match(r'AUTOVACUUM WARNING - 1 inactive replication slot holds back '
                    r'vacuum \(stale_slot, \d+ transactions\)$', lines[0].split('|')[0]), lines
    assert re.match(r'holds back vacuum: replication slot stale_slot \(\d+ '
                    r'transactions old, the same xmin for 0s\), xmin \d+ '
                    r'transactions old$', lines[1]), lines


def test_autovacuum_runs_in_vain_behind_an_old_transaction(plugin, cluster):
    with database(cluster, 'bloating') as db:
        # No autoanalyze: its worker would hold a snapshot of its own.
        cluster.execute('CREATE TABLE object_state (id int) WITH '
                        '(autovacuum_vacuum_threshold = 10, '
                        'autovacuum_vacuum_scale_factor = 0, '
                        'autovacuum_analyze_threshold = 1000000)', dbname=db)
        with idle_in_transaction(cluster, dbname=db, idle_for=1.1) as pid:
            cluster.execute('INSERT INTO object_state SELECT generate_series(1, '
                            '1000); DELETE FROM object_state WHERE id > 100',
                            dbname=db)
            _wait_for_autovacuum(cluster, db, 'object_state')
            result = horizon(plugin, '--horizon-warning', '0', '-v',
                             '--databases', '^bloating$')
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    assert re.match(r'AUTOVACUUM WARNING - pid %d \(bloating, app zodb-app\) idle in '
                    r'transaction \d+s holds back vacuum: 1 table bloating behind it '
                    r'\(object_state 900 dead rows, 9.0x live\)$' % pid, lines[0].split('|')[0]), lines
    # After the holders' lines: any autovacuum worker at work elsewhere in
    # the cluster holds a snapshot too, and is listed.
    ineffective = [line for line in lines
                   if line.startswith('autovacuum ineffective: ')]
    assert len(ineffective) == 1, lines
    assert re.match(r'autovacuum ineffective: bloating.public.object_state still '
                    r'has 900 dead rows although autovacuumed \d+s ago; cause: pid '
                    r'%d ' % pid, ineffective[0]), lines
    assert 'tables_vacuum_ineffective=1;' in result.stdout


def _wait_for_autovacuum(cluster, db, table, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = cluster.execute('SELECT autovacuum_count, n_dead_tup FROM '
                               'pg_stat_user_tables WHERE relname = %s',
                               (table,), dbname=db)
        if done and done[0][0] > 0 and done[0][1] == 900:
            return
        time.sleep(0.2)
    raise AssertionError('autovacuum never ran on %s: %r' % (table, done))


@pytest.mark.parametrize('text, inside', [('50%', 50), ('50', 50), ('@10:20%', 15)])
def test_percent_thresholds_take_the_sign_or_not(text, inside):
    from check_pg_autovacuum.options import count_range as _count_range
    assert _count_range(text).match(inside) != text.startswith('@')


def test_sql_with_vvv_goes_to_stderr_as_psql_takes_it(plugin, cluster):
    result = plugin('--only', 'idle', '--exclude-databases', "^(x|it's)$",
                    '-vvv')
    assert result.returncode == 0, result
    # On stdout a "|" would start perfdata: the queries go to stderr.
    assert 'SQL in database' not in result.stdout
    queries = re.findall(r'^-- SQL in database postgres:\n(.*?;)$',
                         result.stderr, re.M | re.S)
    assert any('\nSELECT a.pid,\n' in q for q in queries), result.stderr
    # As sent, parameters bound and "||" intact: psql runs each.
    assert any(q.endswith("\nSELECT '' ~ '^(x|it''s)$' AS valid;")
               for q in queries), result.stderr
    pasted = [q for q in queries if '||' in q]
    assert pasted, result.stderr
    for query in pasted:
        cluster.execute(query.rstrip(';'))


def test_skip_leaves_the_rest(plugin):
    result = plugin('--skip',
                    'vacuum,analyze,blind,horizon,wraparound,cancels,workers,'
                    'bloat')
    assert result.returncode == 0, result
    assert result.stdout == (
        'AUTOVACUUM OK - no session idle in transaction|'
        'idle_in_transaction=0;;;0 idle_in_transaction_max=0s;900;3600;0\n')


def _holder_seconds(result):
    return int(re.search(r'horizon_age_max=(\d+)s;', result.stdout).group(1))


def test_a_read_committed_query_holds_only_since_it_began(plugin, cluster):
    # The transaction is 2 s older than its running statement, and in READ
    # COMMITTED the snapshot is that statement's: the holder's age is the
    # query's, however long the plugin takes to start.
    with in_background(cluster, 'postgres', [
            'BEGIN', 'SELECT 1', 'SELECT pg_sleep(2)', 'SELECT pg_sleep(60)'],
            application_name='report') as pid:
        _wait_until_running(cluster, pid, 'SELECT pg_sleep(60)')
        time.sleep(1.1)
        result = horizon(plugin, '--horizon-warning', '1h')
        query_age, transaction_age = cluster.execute(
            'SELECT extract(epoch FROM now() - query_start), '
            'extract(epoch FROM now() - xact_start) FROM pg_stat_activity '
            'WHERE pid = %s', (pid,))[0]
    assert transaction_age - query_age >= 2, (transaction_age, query_age)
    holder = _holder_seconds(result)
    assert 1 <= holder <= query_age, (holder, query_age, result.stdout)
    # Below --horizon-warning: named as what it is, not as holding back.
    assert re.match(r'AUTOVACUUM OK - oldest xmin: pid %d \(postgres, app '
                    r'report\) active %ds\|' % (pid, holder), result.stdout), \
        result.stdout


def _wait_until_running(cluster, pid, query, timeout=15):
    deadline = time.time() + timeout
    while not cluster.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s "
                              "AND state = 'active' AND query = %s",
                              (pid, query)):
        assert time.time() < deadline, 'pid %d never ran %s' % (pid, query)
        time.sleep(0.05)


@pytest.mark.parametrize('isolation, statement', [
    ('REPEATABLE READ', 'SELECT 1'),
    ('READ COMMITTED', 'DECLARE held CURSOR FOR SELECT * FROM pg_class'),
])
def test_an_idle_snapshot_holds_since_its_transaction_began(
        plugin, cluster, isolation, statement):
    conn = cluster.connect(application_name='report')
    try:
        with conn.cursor() as cursor:
            began = Stopwatch()
            cursor.execute('BEGIN ISOLATION LEVEL %s' % isolation)
            cursor.execute(statement)
        time.sleep(2.1)
        result = horizon(plugin, '--horizon-warning', '1')
        began.stop()
    finally:
        conn.close()
    assert result.returncode == 1, result
    began.assert_age(r'^AUTOVACUUM WARNING - pid \d+ \(postgres, app report\) '
                     r'idle in transaction (\d+)s holds back vacuum',
                     result.stdout, least=2)


def test_an_idle_read_committed_session_holds_nothing(plugin, cluster):
    conn = cluster.connect(application_name='report')
    try:
        with conn.cursor() as cursor:
            cursor.execute('BEGIN')
            cursor.execute('SELECT 1')
        time.sleep(1.1)
        result = horizon(plugin, '--horizon-warning', '0')
    finally:
        conn.close()
    assert result.returncode == 0, result
    assert re.match(r'AUTOVACUUM OK - %s\|' % NOTHING_HOLDS_BACK,
                    result.stdout), result.stdout


def test_a_transaction_id_in_one_database_holds_back_the_others(plugin, cluster):
    # The holder writes in "ledger"; in "app" every snapshot taken while it
    # runs sees it running, so a VACUUM there cannot remove what died since.
    with database(cluster, 'ledger'), database(cluster, 'app'):
        cluster.execute('CREATE TABLE object_state (id int) WITH '
                        '(autovacuum_enabled = false)', dbname='app')
        with idle_in_transaction(cluster, dbname='ledger') as pid:
            cluster.execute('INSERT INTO object_state SELECT generate_series(1, '
                            '1000); DELETE FROM object_state WHERE id > 100',
                            dbname='app')
            busy = cluster.connect('app', application_name='app-report')
            try:
                with query_running(busy.cursor(), 'SELECT pg_sleep(4)',
                                   settle=0.5):
                    cluster.execute('VACUUM object_state', dbname='app')
                    left = cluster.execute(
                        "SELECT n_dead_tup FROM pg_stat_user_tables WHERE "
                        "relname = 'object_state'", dbname='app')[0][0]
                    time.sleep(1)
                    result = horizon(plugin, '--horizon-warning', '0',
                                     '--databases', '^(ledger|app)$')
            finally:
                busy.close()
    assert left == 900, 'the VACUUM in app removed the dead rows after all'
    assert re.match(r'AUTOVACUUM WARNING - pid %d \(ledger, app zodb-app\) idle in '
                    r'transaction \d+s holds back vacuum: 1 table bloating behind '
                    r'it \(object_state 900 dead rows, 9.0x live\)' % pid,
                    result.stdout), result.stdout


def test_a_snapshot_held_by_a_transaction_id_names_that_transaction(plugin, cluster):
    # A query that starts while a transaction writes takes a snapshot whose
    # xmin is that transaction's ID: both hold the same horizon, for the same
    # whole second here, and only the transaction is the cause.  The query's
    # session is the older backend, so pg_stat_activity lists it first.
    busy = cluster.connect(application_name='app-report')
    try:
        with idle_in_transaction(cluster) as pid, \
                query_running(busy.cursor(), 'SELECT pg_sleep(60)', settle=0.2):
            by_time = horizon(plugin, '--horizon-warning', '0')
            by_transactions = horizon(plugin, '--horizon-xid-warning', '0')
    finally:
        busy.close()
    holder = r'pid %d \(postgres, app zodb-app\) idle in transaction \d+s' % pid
    # 0s is within --horizon-warning 0: OK, the holder named all the same.
    assert re.match(r'AUTOVACUUM (OK - oldest xmin: {0}|WARNING - {0} holds back '
                    r'vacuum)\|'.format(holder), by_time.stdout), by_time.stdout
    assert re.match(r'AUTOVACUUM WARNING - %s holds back vacuum by \d+ transactions?\|'
                    % holder, by_transactions.stdout), by_transactions.stdout


def test_the_transaction_id_age_of_any_holder_is_judged(plugin, cluster):
    with idle_in_transaction(cluster) as pid:
        for _ in range(5):
            cluster.execute('SELECT txid_current()')
        result = horizon(plugin, '--horizon-warning', '1h',
                         '--horizon-xid-warning', '3')
    assert result.returncode == 1, result
    assert re.match(r'AUTOVACUUM WARNING - pid %d \(postgres, app zodb-app\) idle '
                    r'in transaction \d+s holds back vacuum by \d+ transactions\|'
                    % pid, result.stdout), result.stdout
    assert re.search(r' horizon_xid_age_max=\d+;3;100000000;0 ', result.stdout)


@pytest.mark.slow
def test_a_standby_holding_a_snapshot_is_judged_by_how_long_it_holds(
        plugin, tmpdir):
    with running() as primary:
        if not os.path.exists(os.path.join(primary.bindir, 'pg_basebackup')):
            pytest.skip('no pg_basebackup beside %s to make a standby'
                        % primary.bindir)
        primary.execute('CREATE TABLE held (id int) WITH '
                        '(autovacuum_enabled = false); '
                        'INSERT INTO held SELECT generate_series(1, 10000)')
        standby = Cluster(bindir=primary.bindir, settings={
            'hot_standby_feedback': 'on', 'wal_receiver_status_interval': '1'})
        reader = None
        try:
            standby.start(standby_of=primary)
            deadline = time.time() + 30
            while not standby.execute("SELECT 1 FROM pg_class WHERE relname "
                                      "= 'held'"):
                assert time.time() < deadline, 'the standby never caught up'
                time.sleep(0.2)
            reader = standby.connect(application_name='standby-report')
            with reader.cursor() as cursor:
                cursor.execute('BEGIN ISOLATION LEVEL REPEATABLE READ')
                cursor.execute('SELECT count(*) FROM held')
            primary.execute('DELETE FROM held')
            for _ in range(3):
                primary.execute('SELECT txid_current()')
            time.sleep(2)  # feedback reaches the primary
            primary.execute('VACUUM held')
            wait_for_statistics(primary, 'postgres', 'held', dead=10000)
            args = ('--only', 'vacuum,horizon', '-v', '--horizon-warning', '2',
                    '--vacuum-warning', '1h', '--state-file',
                    str(tmpdir.join('state')))
            env = {'PGHOST': primary.host, 'PGPORT': str(primary.port)}
            began = time.time()
            first = plugin(*args, env=env)
            time.sleep(3.1)
            second = plugin(*args, env=env)
            took = time.time() - began
            streaming = primary.execute('SELECT count(*) FROM pg_stat_replication '
                                        "WHERE state = 'streaming'")[0][0]
        finally:
            if reader is not None:
                reader.close()
            standby.stop()
    assert streaming == 1, 'the standby did not stream'
    assert first.returncode == 0, first
    assert re.search(r'^xmin below the thresholds: standby \S+ \S+ \(\d+ '
                     r'transactions old, the same xmin for 0s\)', first.stdout,
                     re.M), first
    assert second.returncode == 1, second
    held = re.match(r'AUTOVACUUM WARNING - standby \S+ \S+ \(\d+ transactions '
                    r'old, the same xmin for (\d+)s\) holds back vacuum: 1 table '
                    r'bloating behind it \(held 10k dead rows, 10000x live\)',
                    second.stdout)
    # Held since the first run: the 3.1s slept, at most the time both took.
    assert held and 3 <= int(held.group(1)) <= took + 1, (took, second.stdout)


def test_an_autovacuum_analyze_holds_the_horizon(plugin, cluster):
    # Only a lazy VACUUM is ignored by other vacuums; ANALYZE takes a
    # snapshot like any query, in an autovacuum worker too.  Throttled, it
    # samples the table for minutes.
    with database(cluster, 'analyzed') as db:
        insert_trigger_off = ', autovacuum_vacuum_insert_threshold = -1' \
            if cluster.server_version_num() >= 130000 else ''
        cluster.execute(
            'CREATE TABLE big (id int, payload text) WITH '
            '(autovacuum_vacuum_threshold = 2000000000, '
            'autovacuum_analyze_threshold = 0, '
            'autovacuum_analyze_scale_factor = 0, '
            'autovacuum_vacuum_cost_delay = 100, '
            'autovacuum_vacuum_cost_limit = 1%s)' % insert_trigger_off,
            dbname=db)
        cluster.execute("INSERT INTO big SELECT g, repeat('x', 20) "
                        "FROM generate_series(1, 300000) g", dbname=db)
        deadline = time.time() + 30
        while True:
            analyzing = cluster.execute(
                "SELECT pid FROM pg_stat_activity WHERE backend_type = "
                "'autovacuum worker' AND query LIKE 'autovacuum: ANALYZE %%big' "
                "AND backend_xmin IS NOT NULL", dbname=db)
            if analyzing:
                break
            assert time.time() < deadline, 'no autovacuum ANALYZE began'
            time.sleep(0.1)
        time.sleep(1.1)
        result = horizon(plugin, '--horizon-warning', '0')
        still = cluster.execute('SELECT count(*) FROM pg_stat_activity WHERE '
                                'pid = %s', (analyzing[0][0],))[0][0]
        cluster.execute('SELECT pg_terminate_backend(%s)', (analyzing[0][0],))
    assert still == 1, 'the ANALYZE was over before the check'
    assert re.match(r'AUTOVACUUM WARNING - pid %d \(analyzed\) autovacuum worker '
                    r'\d+s holds back vacuum' % analyzing[0][0], result.stdout), \
        result.stdout
