# -*- coding: utf-8 -*-
"""How long tables wait past their trigger, and the memory between runs, for real."""
from __future__ import unicode_literals

import getpass
import itertools
import json
import os
import re
import shutil
import time

import pytest

from scenarios import (
    NOTHING_HOLDS_BACK, Stopwatch, database, idle_in_transaction,
    in_background, lock_table_repeatedly, read_only, server_settings,
    table_autovacuum_crawls_through, table_with_dead_rows, vacuum_scanning,
    wait_for_statistics)

_numbers = itertools.count(1)


@pytest.fixture
def db(cluster):
    with database(cluster, 'waiting-%d' % next(_numbers)) as name:
        yield name


def only(name):
    return '--databases', '^%s$' % re.escape(name)


def test_the_time_a_vacuum_runs_does_not_count_the_time_before_does(
        plugin, cluster, db):
    # Vacuumed by hand (quickly), then every row dies: past its trigger,
    # with an old last vacuum, and an autovacuum that crawls through it.
    cluster.execute(
        'CREATE TABLE big (id int, payload text) WITH '
        '(autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1,'
        ' autovacuum_analyze_threshold = 1000000000)', dbname=db)
    cluster.execute("INSERT INTO big SELECT g, repeat('x', 20) "
                    "FROM generate_series(1, 200000) g", dbname=db)
    cluster.execute('VACUUM big', dbname=db)
    time.sleep(3)
    cluster.execute('DELETE FROM big', dbname=db)
    wait_for_statistics(cluster, db, 'big', dead=200000)
    pid = vacuum_scanning(cluster, db, 'big')
    time.sleep(2)
    args = ('--only', 'vacuum', '-v', '--vacuum-warning', '1h') + only(db)
    first = plugin(*args)
    time.sleep(1.5)
    second = plugin(*args)
    assert vacuum_scanning(cluster, db, 'big') == pid, 'the vacuum ended early'
    started, vacuumed = cluster.execute(
        "SELECT extract(epoch FROM a.xact_start), extract(epoch FROM "
        "s.last_vacuum) FROM pg_stat_activity a, pg_stat_user_tables s "
        "WHERE a.pid = %s AND s.relname = 'big'", (pid,), dbname=db)[0]
    waits = []
    for result in (first, second):
        assert result.returncode == 0, result
        match = re.match(r'AUTOVACUUM OK - 1 table needs vacuum, worst '
                         r'%s.public.big \(200k dead rows, \d+x live, past its '
                         r'trigger for (\d+)s( \(estimated\))?, last vacuumed '
                         r'\d+s ago, being vacuumed\)\|' % db, result.stdout)
        assert match, result
        waits.append(int(match.group(1)))
        assert 'tables_being_vacuumed=1;' in result.stdout
        assert re.search(r'; being vacuumed by pid %d \(autovacuum\) for \d+s, '
                         r'phase scanning heap, \d+%% scanned$' % pid,
                         result.stdout.splitlines()[1]), result.stdout
    # The wait ends where the vacuum began: the same on both runs, and no
    # longer than from the last vacuum to this one's start.
    assert waits[0] == waits[1], waits
    assert waits[0] <= float(started) - float(vacuumed), waits


@pytest.mark.slow
def test_the_incidents_first_run_is_critical_while_a_worker_is_on_the_table(
        plugin, cluster, db):
    """The README's incident, and a plugin with no memory of it: LOCK TABLE
    has cancelled autovacuum again and again; a new worker, a second old,
    proves nothing about the wait before it."""
    table_autovacuum_crawls_through(cluster, db, 'object_state')
    cluster.execute('VACUUM object_state', dbname=db)  # a restore, vacuumed once
    cluster.execute("INSERT INTO object_state SELECT g, 'x' "
                    "FROM generate_series(1, 300000) g", dbname=db)
    cluster.execute('DELETE FROM object_state', dbname=db)
    wait_for_statistics(cluster, db, 'object_state', dead=300000)
    with server_settings(cluster, deadlock_timeout=100):  # milliseconds
        lock_table_repeatedly(cluster, db, 'object_state', seconds=15)
    cancelled = cluster.execute(
        "SELECT autovacuum_count FROM pg_stat_user_tables "
        "WHERE relname = 'object_state'", dbname=db)[0][0]
    assert cancelled == 0, 'autovacuum completed: no incident'
    pid = vacuum_scanning(cluster, db, 'object_state', autovacuum=True)
    result = plugin('--only', 'vacuum', '--vacuum-warning', '5s',
                    '--vacuum-critical', '10s', *only(db))
    assert vacuum_scanning(cluster, db, 'object_state', autovacuum=True) == pid
    assert result.returncode == 2, result
    match = re.match(r'AUTOVACUUM CRITICAL - 1 table needs vacuum, worst '
                     r'%s.public.object_state \(300k dead rows[^()]*, past its '
                     r'trigger for (\d+)s \(estimated\), last vacuumed \d+s '
                     r'ago, being vacuumed\)\|' % db, result.stdout)
    assert match and int(match.group(1)) > 10, result.stdout


def test_a_manual_vacuum_is_no_horizon_holder(plugin, cluster, db):
    # A nightly VACUUM running long: it holds an xmin in pg_stat_activity,
    # but every other vacuum ignores it -- seen here by a VACUUM of another
    # table that removes all its dead rows meanwhile.
    # No autoanalyze of it meanwhile: that would be a holder, rightly.
    cluster.execute("CREATE TABLE nightly WITH (autovacuum_enabled = false) AS "
                    "SELECT g AS id, repeat('x', 20) AS payload "
                    "FROM generate_series(1, 200000) g", dbname=db)
    table_with_dead_rows(cluster, db, 'other', live=100, dead=0)
    with in_background(cluster, db, [
            'SET vacuum_cost_delay = 100', 'SET vacuum_cost_limit = 1',
            'VACUUM (FREEZE) nightly']):
        pid = vacuum_scanning(cluster, db, 'nightly')
        cluster.execute('DELETE FROM other', dbname=db)
        cluster.execute('VACUUM other', dbname=db)
        wait_for_statistics(cluster, db, 'other', dead=0, live=0)
        time.sleep(1.1)
        result = plugin('--only', 'horizon', '--horizon-warning', '0', *only(db))
        still = cluster.execute('SELECT count(*) FROM pg_stat_progress_vacuum '
                                'WHERE pid = %s', (pid,))[0][0]
    assert still == 1, 'the VACUUM was over before the check ran'
    assert result.returncode == 0, result
    assert re.match(r'AUTOVACUUM OK - %s\|' % NOTHING_HOLDS_BACK,
                    result.stdout), result.stdout


def test_catalogs_are_judged_like_tables(plugin, cluster, db):
    # Temp-table churn behind an open transaction: pg_attribute fills with
    # dead rows that no vacuum may remove.
    with idle_in_transaction(cluster, dbname=db):
        churn = cluster.connect(db)
        with churn.cursor() as cursor:
            for number in range(40):
                cursor.execute('CREATE TEMP TABLE scratch_%d (%s)' % (
                    number, ', '.join('c%d int' % c for c in range(40))))
                cursor.execute('DROP TABLE scratch_%d' % number)
        churn.close()
        deadline = time.time() + 15
        while not cluster.execute(
                "SELECT n_dead_tup > 1000 FROM pg_stat_sys_tables "
                "WHERE relname = 'pg_attribute'", dbname=db)[0][0]:
            assert time.time() < deadline, 'pg_attribute has no dead rows'
            time.sleep(0.1)
        result = plugin('--only', 'vacuum,horizon', '-v', '--horizon-warning',
                        '0', *only(db))
    assert re.search(r'^%s\.pg_catalog\.pg_attribute needs vacuum: [\d,]+ dead '
                     r'rows' % re.escape(db), result.stdout, re.M), result.stdout


def test_a_corrupt_memory_is_said_once_and_nothing_else_is_lost(
        plugin, cluster, db, tmpdir):
    table_with_dead_rows(cluster, db, 'object_state', live=10, dead=100)
    time.sleep(2.1)  # waited a second past its trigger (test_tables)
    state = str(tmpdir.join('position.json'))
    args = ('--only', 'vacuum', '--vacuum-warning', '0', '--state-file',
            state) + only(db)
    with open(state + '.memory', 'w') as memory:
        memory.write('{"format": 1, "server": [')
    first = plugin(*args)
    second = plugin(*args)
    assert first.returncode == 1, first  # WARNING outranks UNKNOWN
    assert re.match(r'AUTOVACUUM WARNING - 1 table needs vacuum .*\) / memory: '
                    r'state file %s.memory was corrupt; moved it to '
                    r'%s.memory.corrupt and started afresh\|'
                    % (re.escape(state), re.escape(state)), first.stdout), first
    assert second.returncode == 1 and 'memory:' not in second.stdout, second
    assert oct(os.stat(state + '.memory').st_mode & 0o777) == oct(0o600)


def test_an_unwritable_memory_is_unknown_and_the_next_run_recovers(
        plugin, cluster, db, tmpdir):
    table_with_dead_rows(cluster, db, 'object_state', live=10, dead=100)
    state = str(tmpdir.join('position.json'))
    os.mkdir(state + '.memory')  # neither readable nor replaceable as a file
    args = ('--only', 'vacuum', '--vacuum-warning', '1h', '--state-file',
            state) + only(db)
    broken = plugin(*args)
    shutil.rmtree(state + '.memory')
    mended = plugin(*args)
    assert broken.returncode == 3, broken
    assert re.match(r'AUTOVACUUM UNKNOWN - memory: cannot read state file '
                    r'%s.memory: Is a directory\|.* tables_need_vacuum=1;'
                    % re.escape(state), broken.stdout), broken.stdout
    assert mended.returncode == 0, mended
    with open(state + '.memory') as memory:
        assert json.load(memory)['scopes']['database %s' % db]['facts']


def test_an_unwritable_state_dir_is_one_unknown_with_what_to_do(
        plugin, cluster, db, tmpdir):
    table_with_dead_rows(cluster, db, 'object_state', live=10, dead=100)
    log = tmpdir.join('postgresql.log')
    log.write('')
    state_dir = tmpdir.mkdir('state-dir')
    time.sleep(2.1)  # past its trigger for a second, by the estimate
    args = ('--only', 'vacuum,cancels', '--vacuum-warning', '0',
            '--logfile', str(log), '--state-dir', str(state_dir)) + only(db)
    with read_only(str(state_dir)):
        result = plugin(*args)
    assert result.returncode == 1, result
    first_line = result.stdout.splitlines()[0]
    # The finding first, then both files that could not be kept, the
    # advice said once, at the end.
    assert re.match(r'AUTOVACUUM WARNING - 1 table needs vacuum.* / server '
                    r'log: cannot .*%s.*: [^(]+ / memory: cannot .*%s.*: '
                    r'[^;(]+ \(what to do: give --state-dir a directory that '
                    r'user %s may write\)\|' % (
                        re.escape(str(state_dir)), re.escape(str(state_dir)),
                        getpass.getuser()), first_line), first_line
    assert first_line.count('what to do') == 1, first_line
    # Once writable, the files are where --state-dir says.
    plugin(*args)
    kept = sorted(name for name in os.listdir(str(state_dir))
                  if name.endswith('.json'))
    assert len(kept) == 2, kept
    assert kept[0].startswith('memory-'), kept
    assert re.match(r'.*-postgresql\.log-[0-9a-f]{10}\.json$', kept[1]), kept


def test_a_memory_of_another_cluster_or_table_is_not_believed(
        plugin, cluster, db, tmpdir):
    table_with_dead_rows(cluster, db, 'object_state', live=100, dead=1000)
    state = str(tmpdir.join('position.json'))
    args = ('--only', 'vacuum', '-v', '--vacuum-warning', '1h',
            '--state-file', state) + only(db)
    plugin(*args)
    with open(state + '.memory') as memory:
        remembered = json.load(memory)
    remembered['server'] = 'another'
    with open(state + '.memory', 'w') as memory:
        json.dump(remembered, memory)
    since_other = Stopwatch()
    other_cluster = plugin(*args)
    # Dropped and made again under the same name: another oid.
    cluster.execute('DROP TABLE object_state', dbname=db)
    table_with_dead_rows(cluster, db, 'object_state', live=100, dead=1000)
    recreated = plugin(*args)
    since_other.stop()
    assert 'was written for another cluster at this address; started ' \
        'afresh' in other_cluster.stdout, other_cluster.stdout
    assert '(estimated' in other_cluster.stdout, other_cluster.stdout
    # It crossed after the previous run looked: no estimate from the pace.
    since_other.assert_age(r'object_state needs vacuum: .*past its trigger for '
                           r'(\d+)s; ', recreated.stdout)
    assert '(estimated' not in recreated.stdout, recreated.stdout
