# -*- coding: utf-8 -*-
"""Quiet databases left unread, for real: a database where nothing moved is
not connected to, and each way a table can get past a trigger there -- rows
written, a reloption, a reload of the settings, a statistics reset, a
session's VACUUM, the age of anti-wraparound -- has the next run read it
and name the table."""
from __future__ import unicode_literals

import itertools
import json
import os
import re
import time

import pytest

from pgcluster import Cluster, running
from scenarios import database, server_settings, wait_for_statistics
from test_blind import big_table_with_dead_rows, copy_of, wait_for_replay

_numbers = itertools.count(1)
LEFT_UNREAD = 'left unread'


@pytest.fixture(scope='module')
def server():
    # No autovacuum worker wandering into a database while a test expects
    # it left unread: one there is a reason to read it (quiet.py).
    with running(autovacuum='off') as started:
        yield started


@pytest.fixture
def db(server):
    if server.server_version_num() < 140000:
        pytest.skip('databases are left unread from PostgreSQL 14 on')
    with database(server, 'quiet-%d' % next(_numbers)) as name:
        # 100 rows, vacuumed and analyzed: the trigger is 50 + 20 = 70.
        server.execute('CREATE TABLE t (id int); '
                       'INSERT INTO t SELECT generate_series(1, 100)',
                       dbname=name)
        # The inserts counted before ANALYZE, or they would count after it.
        wait_for_statistics(server, name, 't', live=100)
        server.execute('VACUUM ANALYZE t', dbname=name)
        wait_for_statistics(server, name, 't', dead=0, modified=0)
        yield name


def check(plugin, server, *databases, **kwargs):
    """The plugin with -vv on DATABASES only, once every session made
    there before is counted by the server (see sessions_counted())."""
    if kwargs.pop('wait', True):
        for name in databases:
            sessions_counted(server, name)
    args = ['-vv', '--only', 'vacuum,analyze,blind', '--databases',
            '^(%s)$' % '|'.join(re.escape(name) for name in databases)]
    result = plugin(*(args + list(kwargs.pop('args', ()))), env={
        'PGHOST': server.host, 'PGPORT': str(server.port)})
    for name, why in reads(result).items():
        if why != LEFT_UNREAD:
            server.connections[name] += 1  # one session per database read
    return result


def sessions_counted(server, name, timeout=15):
    """Wait until pg_stat_database.sessions counts every session made in
    database NAME, ours and the plugin's: a backend counts its own as it
    exits, after the client has gone on, and a session not yet counted
    would come to the plugin's next run as a stranger's."""
    if server.server_version_num() < 140000:
        return  # no such counter; every database is read anyway
    deadline = time.time() + timeout
    while True:
        counted = server.execute('SELECT sessions FROM pg_stat_database '
                                 'WHERE datname = %s', (name,))
        if not counted or counted[0][0] == server.connections[name]:
            return  # dropped, or every session counted
        assert time.time() < deadline, (
            'database %s: the server counted %r sessions, we made %d'
            % (name, counted, server.connections[name]))
        time.sleep(0.05)


def stats_reset(server, name):
    return server.execute('SELECT stats_reset FROM pg_stat_database '
                          'WHERE datname = %s', (name,))[0][0]


def reads(result):
    """{database: why it was read, or LEFT_UNREAD}, from -vv."""
    found = {}
    for line in result.stdout.splitlines():
        match = re.match(r'database (\S+): (.*)$', line)
        if match:
            why = match.group(2)
            found[match.group(1)] = LEFT_UNREAD if why.startswith(LEFT_UNREAD) \
                else why
    return found


def read_then_quiet(plugin, server, *databases):
    """Two runs: the first reads DATABASES, the second leaves them unread."""
    first = check(plugin, server, *databases)
    assert reads(first) == dict((name, 'read for the first time')
                                for name in databases), first.stdout
    second = check(plugin, server, *databases)
    assert reads(second) == dict((name, LEFT_UNREAD) for name in databases), \
        second.stdout
    assert 'left unread: nothing moved in' in second.stdout, second.stdout
    return second


def dead_rows(server, name, count):
    server.execute('DELETE FROM t WHERE id <= %d' % count, dbname=name)
    wait_for_statistics(server, name, 't', dead=count)


def test_a_quiet_database_is_left_unread_and_read_again_once_written(
        plugin, server, db):
    with database(server, db + '-other') as other:
        read_then_quiet(plugin, server, db, other)
        # Below the trigger: read, nothing to report, quiet again.
        dead_rows(server, db, 30)
        written = check(plugin, server, db, other)
        assert reads(written) == {db: 'written to', other: LEFT_UNREAD}, \
            written.stdout
        assert 'tables_need_vacuum=0;' in written.stdout
        assert reads(check(plugin, server, db, other)) == {
            db: LEFT_UNREAD, other: LEFT_UNREAD}
        # Past it (30 + 50 > 70): named the next run.
        server.execute('DELETE FROM t WHERE id <= 80', dbname=db)
        wait_for_statistics(server, db, 't', dead=80)
        past = check(plugin, server, db, other)
        assert reads(past) == {db: 'written to', other: LEFT_UNREAD}, past.stdout
        assert '%s.public.t needs vacuum: 80 dead rows (trigger 70)' % db \
            in past.stdout, past.stdout
        # Something to report: read every run, never left to the memory.
        again = check(plugin, server, db, other)
        assert reads(again) == {db: 'had something to report',
                                other: LEFT_UNREAD}, again.stdout
        assert 'tables_need_vacuum=1;' in again.stdout


def test_a_reloption_set_in_a_quiet_database_has_it_read(plugin, server, db):
    dead_rows(server, db, 30)
    read_then_quiet(plugin, server, db)
    # No row of t written: pg_class's is, which the database's counters show.
    server.execute('ALTER TABLE t SET (autovacuum_vacuum_threshold = 10, '
                   'autovacuum_vacuum_scale_factor = 0)', dbname=db)
    assert server.execute('SELECT n_dead_tup FROM pg_stat_user_tables',
                          dbname=db) == [(30,)]
    result = check(plugin, server, db)
    assert reads(result) == {db: 'written to'}, result.stdout
    assert '%s.public.t needs vacuum: 30 dead rows (trigger 10)' % db \
        in result.stdout, result.stdout


def test_a_reload_of_the_autovacuum_settings_has_every_database_read(
        plugin, server, db):
    dead_rows(server, db, 30)
    read_then_quiet(plugin, server, db)
    with server_settings(server, autovacuum_vacuum_threshold=10,
                         autovacuum_vacuum_scale_factor=0):
        result = check(plugin, server, db)
    assert reads(result) == {db: 'read afresh: the server restarted or was '
                             'promoted, or an autovacuum setting changed'}, \
        result.stdout
    assert '%s.public.t needs vacuum: 30 dead rows (trigger 10)' % db \
        in result.stdout, result.stdout


def test_a_statistics_reset_has_the_database_read(plugin, server, db):
    read_then_quiet(plugin, server, db)
    before = stats_reset(server, db)
    server.execute('SELECT pg_stat_reset()', dbname=db)
    # Before 15 the statistics collector takes it in a while later.
    deadline = time.time() + 15
    while stats_reset(server, db) == before:
        assert time.time() < deadline, 'the reset never showed'
        time.sleep(0.05)
    # The reset zeroed the sessions counter too: nothing to wait for.
    result = check(plugin, server, db, wait=False)
    assert reads(result) == {db: 'statistics reset'}, result.stdout


def test_a_session_that_did_anything_has_the_database_read(plugin, server, db):
    """VACUUM and ANALYZE write no row of their own, yet move reltuples and
    the dead rows: a session that could have run one means a read."""
    pooled = server.connect(db, application_name='pool')
    try:
        pooled.cursor().execute('SELECT 1')
        # Idle since before the first run: it did nothing since.
        read_then_quiet(plugin, server, db)
        pooled.cursor().execute('VACUUM t')
        by_pooled = check(plugin, server, db)
        assert reads(by_pooled) == {db: 'had other sessions'}, by_pooled.stdout
        assert reads(check(plugin, server, db)) == {db: LEFT_UNREAD}
    finally:
        pooled.close()
    # A session that came and went, and wrote nothing: the sessions counter.
    server.execute('SELECT count(*) FROM t', dbname=db)
    came_and_went = check(plugin, server, db)
    assert reads(came_and_went) == {db: 'had other sessions'}, \
        came_and_went.stdout


def test_a_database_old_enough_for_an_anti_wraparound_vacuum_is_read(
        plugin, server, db):
    """The least autovacuum_freeze_max_age of its tables (a reloption here)
    is read at the visit; once the database's age reaches it, autovacuum
    may vacuum there unseen."""
    server.execute('ALTER TABLE t SET (autovacuum_freeze_max_age = 100000)',
                   dbname=db)
    read_then_quiet(plugin, server, db)
    server.execute('CREATE PROCEDURE burn(n int) LANGUAGE plpgsql AS $$ '
                   'BEGIN FOR i IN 1..n LOOP PERFORM txid_current(); '
                   'COMMIT; END LOOP; END $$')
    try:
        age = server.execute('SELECT age(datfrozenxid) FROM pg_database '
                             'WHERE datname = %s', (db,))[0][0]
        server.execute('CALL burn(%d)' % (100000 - age - 100))
        assert reads(check(plugin, server, db)) == {db: LEFT_UNREAD}
        server.execute('CALL burn(200)')
        result = check(plugin, server, db)
    finally:
        server.execute('DROP PROCEDURE burn')
    assert reads(result) == {
        db: 'old enough for an anti-wraparound vacuum'}, result.stdout


@pytest.mark.slow
def test_a_promoted_standby_reads_every_database_afresh(plugin, server, db):
    """A standby's statistics are its own: quiet there says nothing of the
    old primary's, and once promoted its tables are blind.  Nothing moves
    in the database (no write, no session), yet it is read and the table
    named."""
    if not os.path.exists(os.path.join(server.bindir, 'pg_basebackup')):
        pytest.skip('no pg_basebackup beside %s to make a standby'
                    % server.bindir)
    # Autovacuum is off on this server: no reloption needed to keep it away.
    big_table_with_dead_rows(server, db)
    standby = Cluster(bindir=server.bindir)
    try:
        standby.start(standby_of=server)
        wait_for_replay(server, standby)
        read_then_quiet(plugin, standby, db)
        standby._run('pg_ctl', 'promote', '-w', '-D', standby.datadir)
        assert standby.execute('SELECT pg_is_in_recovery()') == [(False,)]
        promoted = check(plugin, standby, db)
    finally:
        standby.stop()
    assert reads(promoted) == {db: 'read afresh: the server restarted or was '
                               'promoted, or an autovacuum setting changed'}, \
        promoted.stdout
    assert 'tables_blind=1;' in promoted.stdout, promoted.stdout
    assert '%s.public.big' % db in promoted.stdout, promoted.stdout


def test_new_dropped_and_every_run_databases(plugin, server, db):
    read_then_quiet(plugin, server, db)
    with database(server, db + '-new') as new:
        result = check(plugin, server, db, new)
        assert reads(result) == {db: LEFT_UNREAD,
                                 new: 'read for the first time'}, result.stdout
    gone = check(plugin, server, db, db + '-new')
    assert 'databases_unreadable=0;' in gone.stdout, gone
    assert reads(gone) == {db: LEFT_UNREAD}, gone.stdout
    every = check(plugin, server, db, args=['--revisit', '0'])
    assert reads(every) == {db: 'read every run (--revisit 0, or before '
                            'PostgreSQL 14)'}, every.stdout


def test_a_copy_made_since_a_run_is_no_news_and_left_unread(
        plugin, server, db):
    """CREATE DATABASE copies the template's tables, not their statistics:
    blind, but nothing was lost, and nothing to read again for."""
    server.execute("CREATE TABLE catalogue AS SELECT g AS id, repeat('x', 50) "
                   "AS pad FROM generate_series(1, 30000) g; ANALYZE catalogue",
                   dbname=db)
    wait_for_statistics(server, db, 'catalogue', live=30000)
    first = check(plugin, server, db)  # a run that saw the databases
    assert 'tables_blind=0;' in first.stdout, first.stdout
    with copy_of(server, db, db + '-copy') as copy:
        made = check(plugin, server, copy)
        assert reads(made) == {copy: 'read for the first time'}, made.stdout
        assert 'tables_blind=0;' in made.stdout, made.stdout
        assert '\n%s: 1 table holds rows with no statistics yet, not ' \
            'counted as blind: ' % copy in made.stdout, made.stdout
        quiet = check(plugin, server, copy)
        assert reads(quiet) == {copy: LEFT_UNREAD}, quiet.stdout


def test_checks_of_other_databases_keep_what_this_one_saw(plugin, server, db):
    """Two services on one server, each with its --databases, share the
    memory file: neither forgets the other's databases, nor takes its own
    look at the server for a look at the other's databases."""
    with database(server, db + '-b') as other:
        pooled = server.connect(db, application_name='pool')
        try:
            pooled.cursor().execute('SELECT 1')
            read_then_quiet(plugin, server, db)
            assert reads(check(plugin, server, other)) == {
                other: 'read for the first time'}
            # After the other check looked: a session in ours did something.
            pooled.cursor().execute('SELECT 1')
            assert reads(check(plugin, server, other)) == {other: LEFT_UNREAD}
            result = check(plugin, server, db)
        finally:
            pooled.close()
    assert reads(result) == {db: 'had other sessions'}, result.stdout


def test_a_quiet_database_is_read_again_after_revisit(plugin, server, db):
    read_then_quiet(plugin, server, db)
    # Each database after between half of --revisit and all of it.
    time.sleep(2.1)
    result = check(plugin, server, db, args=['--revisit', '2s'])
    assert reads(result) == {db: 'due for a revisit (--revisit)'}, result.stdout


def test_a_corrupt_memory_has_every_database_read(plugin, server, db, tmpdir):
    read_then_quiet(plugin, server, db)
    memories = [os.path.join(folder, name)
                for folder, _, names in os.walk(str(tmpdir.join('state')))
                for name in names
                if name.startswith('memory-') and name.endswith('.json')]
    assert len(memories) == 1, memories
    with open(memories[0]) as saved:
        assert json.load(saved)  # the premise: a memory was there
    with open(memories[0], 'w') as broken:
        broken.write('{"server": ')
    result = check(plugin, server, db)
    assert reads(result) == {db: 'read for the first time'}, result.stdout


def test_a_record_of_the_wrong_shape_has_the_database_read(
        plugin, server, db, tmpdir):
    """The memory file checks its own frame; a database's record inside it
    is checked too: a hand-edited one is read afresh, never a traceback."""
    read_then_quiet(plugin, server, db)
    path, = [os.path.join(folder, name)
             for folder, _, names in os.walk(str(tmpdir.join('state')))
             for name in names
             if name.startswith('memory-') and name.endswith('.json')]
    with open(path) as saved:
        memory = json.load(saved)
    records = [fact for name, scope in memory['scopes'].items()
               if name.startswith('quiet databases ')
               for fact in scope['facts'].values()]
    assert len(records) == 1, memory
    records[0][0]['sessions'] = 'many'
    with open(path, 'w') as edited:
        json.dump(memory, edited)
    result = check(plugin, server, db)
    assert result.stderr == '', result
    assert reads(result) == {db: 'read for the first time'}, result.stdout


def test_before_postgresql_14_every_database_is_read(plugin, server):
    if server.server_version_num() >= 140000:
        pytest.skip('PostgreSQL 14 and later have the sessions counter')
    with database(server, 'quiet-old') as name:
        for _ in range(2):
            result = check(plugin, server, name)
            assert reads(result) == {name: 'read every run (--revisit 0, or '
                                     'before PostgreSQL 14)'}, result.stdout
