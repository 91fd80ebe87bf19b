# -*- coding: utf-8 -*-
"""Tables autovacuum is blind to, for real: statistics lost by a reset, a
single table's reset and a crash recovery, each premise checked in the
catalogs; and no false alarm for a table loaded, truncated, unlogged or
small, nor after a clean restart."""
from __future__ import unicode_literals

import contextlib
import itertools
import os
import re
import time

import pytest

from pgcluster import Cluster, running
from scenarios import database, quote_ident, wait_for_statistics

_numbers = itertools.count(1)


@pytest.fixture
def db(cluster):
    with database(cluster, 'blind-%d' % next(_numbers)) as name:
        yield name


def only(name):
    return '--databases', '^%s$' % re.escape(name)


# How long ago, as the plugin words it: 3s, 1m10s, 2h5m.
AGO = r'(\d+[wdhms])+ ago'


def lost(cluster, how, seen_before=True):
    """The words for HOW the statistics were lost ('reset', 'start'), as a
    pattern: before 15 a database's statistics begin anew, stats_reset set,
    at its first use after a crash too, and the two look alike.  Unless a
    run SEEN_BEFORE the database, a loss at the start may be a copy made
    since."""
    copy = '' if seen_before else (
        r'; or never gathered, if its database was made since \(CREATE '
        r'DATABASE copies tables, not their statistics\)')
    if cluster.server_version_num() < 150000:
        return (r'begun anew ' + AGO + r': reset \(pg_stat_reset\(\), or the '
                r'table\'s own counters\), or lost at the server\'s start ' + AGO
                + r' \(a crash, an immediate stop, a promotion, a restored '
                r'backup or pg_upgrade\); before PostgreSQL 15 the two look '
                r'alike' + copy)
    if how == 'reset':
        return (r'reset ' + AGO + r' \(pg_stat_reset\(\), or the table\'s own '
                r'counters\)')
    return (r'lost at the server\'s start ' + AGO + r': only a clean shutdown '
            r'keeps them \(a crash, an immediate stop, a restored backup or '
            r'pg_upgrade do not\)' + copy)


def statistics_began(server):
    return server.execute('SELECT stats_reset FROM pg_stat_archiver')[0][0]


def statistics_kept_over_start(server):
    """Whether the statistics began before the server's last start (it
    kept them: a clean restart), by pg_stat_archiver."""
    return server.execute(
        'SELECT stats_reset < pg_postmaster_start_time() '
        'FROM pg_stat_archiver')[0][0]


def counters(cluster, dbname, table):
    """What autovacuum sees of TABLE, and what pg_class keeps."""
    return cluster.execute(
        "SELECT n_live_tup, n_dead_tup, n_mod_since_analyze, "
        "coalesce(last_autovacuum, last_vacuum, last_analyze, last_autoanalyze) "
        "IS NULL, c.reltuples, pg_relation_size(c.oid) "
        "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
        "WHERE s.relname = %s", (table,), dbname=dbname)[0]


def assert_blind_premise(cluster, dbname, table, rows, naptimes=3):
    """The counters say nothing ever happened; pg_class says ROWS rows;
    and autovacuum leaves the table alone for NAPTIMES naptimes (1s here)."""
    deadline = time.time() + 15  # before 15 the collector takes a while
    while counters(cluster, dbname, table)[:4] != (0, 0, 0, True) \
            and time.time() < deadline:
        time.sleep(0.1)
    live, dead, modified, never, reltuples, size = counters(cluster, dbname, table)
    assert (live, dead, modified, never) == (0, 0, 0, True)
    assert reltuples == rows and size > 1 << 20
    time.sleep(naptimes)  # the premise is that nothing happens
    assert counters(cluster, dbname, table)[:4] == (0, 0, 0, True)


def wait_for_autovacuum(cluster, dbname, table, timeout=60):
    """Until autovacuum has vacuumed TABLE's dead rows away (the insert
    trigger may have had it vacuumed before they died)."""
    deadline = time.time() + timeout
    while not cluster.execute(
            'SELECT autovacuum_count > 0 AND n_dead_tup = 0 FROM '
            'pg_stat_user_tables WHERE relname = %s', (table,),
            dbname=dbname)[0][0]:
        assert time.time() < deadline, 'autovacuum never vacuumed %s' % table
        time.sleep(0.2)


def analyze_and_see_it_vacuumed(plugin, cluster, dbname, env=None):
    """The remedy: ANALYZE gives autovacuum its counts back, autovacuum
    vacuums the dead rows away, and the check is OK."""
    cluster.execute('ALTER TABLE big RESET (autovacuum_enabled); ANALYZE big',
                    dbname=dbname)
    wait_for_autovacuum(cluster, dbname, 'big')
    after = plugin('--only', 'blind', env=env or {})
    assert after.returncode == 0, after
    assert after.stdout.startswith('AUTOVACUUM OK - no table blind to '
                                   'autovacuum|'), after
    assert 'tables_blind=0;;;0' in after.stdout


def big_table_with_dead_rows(cluster, dbname, autovacuum=True):
    """300,000 rows analyzed (reltuples), then half of them deleted: 150,000
    dead rows, past the trigger (50 + 0.2 * 300,000)."""
    cluster.execute(
        "CREATE TABLE big (id int, pad text)%s; INSERT INTO big SELECT g, "
        "repeat('x', 50) FROM generate_series(1, 300000) g; ANALYZE big"
        % ('' if autovacuum else ' WITH (autovacuum_enabled = false)'),
        dbname=dbname)
    cluster.execute('DELETE FROM big WHERE id % 2 = 0', dbname=dbname)
    wait_for_statistics(cluster, dbname, 'big', dead=150000)


@pytest.mark.slow
def test_a_reset_after_a_table_passed_its_trigger_is_critical_until_analyze(
        plugin, cluster, db):
    big_table_with_dead_rows(cluster, db, autovacuum=False)
    args = ('--only', 'vacuum,blind', '-vv', '--vacuum-warning', '1h') + only(db)
    before = plugin(*args)
    assert 'tables_blind=0;;;0' in before.stdout, before
    cluster.execute('SELECT pg_stat_reset()', dbname=db)
    cluster.execute('ALTER TABLE big SET (autovacuum_enabled = true)', dbname=db)
    assert_blind_premise(cluster, db, 'big', 300000)

    blind = plugin(*args)
    assert blind.returncode == 2, blind
    assert re.match(
        r'AUTOVACUUM CRITICAL - autovacuum is blind to 1 table: statistics lost, '
        r'worst %s\.public\.big \((2[0-9]|1[0-9]) MB, 300k rows by pg_class\): '
        r'statistics %s; had 150,000 dead rows, past its trigger \(60,050\), '
        r'before\|' % (re.escape(db), lost(cluster, 'reset')), blind.stdout), \
        blind.stdout
    assert 'tables_blind=1;;;0' in blind.stdout
    assert '\nwhat to do: ANALYZE gives autovacuum back the dead and live rows ' \
        'it decides by: ANALYZE public.big in its database (vacuumdb --all ' \
        '--analyze-only for the whole cluster)' in blind.stdout, blind.stdout

    cluster.execute('ANALYZE big', dbname=db)
    wait_for_autovacuum(cluster, db, 'big')
    after = plugin(*args)
    assert after.returncode == 0, after
    assert 'no table blind to autovacuum' in after.stdout
    assert 'tables_blind=0;;;0' in after.stdout


def test_a_single_tables_reset_is_a_warning_naming_it_and_no_other(
        plugin, cluster, db):
    big_table_with_dead_rows(cluster, db, autovacuum=False)
    cluster.execute(
        # small: blind as well, but below --blind-min-size (16 kB)
        "CREATE TABLE small AS SELECT g FROM generate_series(1, 100) g; "
        "ANALYZE small; "
        # loaded: rows and reltuples, and counters that say so
        "CREATE TABLE loaded AS SELECT g, repeat('y', 50) AS pad "
        "FROM generate_series(1, 100000) g; CREATE INDEX ON loaded (g)",
        dbname=db)
    wait_for_statistics(cluster, db, 'loaded', live=100000)
    for table in ('big', 'small'):
        cluster.execute("SELECT pg_stat_reset_single_table_counters(%s::regclass)",
                        (table,), dbname=db)
    assert_blind_premise(cluster, db, 'big', 300000)
    result = plugin('--only', 'blind', '-v', *only(db))
    assert result.returncode == 1, result
    assert re.match(
        r'AUTOVACUUM WARNING - autovacuum is blind to 1 table: statistics lost, '
        r'worst %s\.public\.big \(\d+ MB, 300k rows by pg_class\): statistics '
        r'%s\|databases_unreadable=0;;;0 tables_blind=1;;;0\n'
        % (re.escape(db), lost(cluster, 'reset', seen_before=False)),
        result.stdout), result.stdout
    assert 'small' not in result.stdout and 'loaded' not in result.stdout
    analyze_and_see_it_vacuumed(plugin, cluster, db)


@contextlib.contextmanager
def copy_of(cluster, template, name):
    """A database made from TEMPLATE (CREATE DATABASE copies its files),
    for the block."""
    cluster.execute('CREATE DATABASE %s TEMPLATE %s'
                    % (quote_ident(name), quote_ident(template)))
    try:
        yield name
    finally:
        cluster.execute('DROP DATABASE %s' % quote_ident(name))


def test_a_database_made_from_a_template_since_a_run_lost_nothing(
        plugin, cluster):
    number = next(_numbers)
    template = 'blind-template-%d' % number
    copies = '^blind-copy-%d-' % number
    args = ('--only', 'blind', '-v', '--databases', copies)
    with database(cluster, template):
        cluster.execute(
            "CREATE TABLE catalogue AS SELECT g AS id, repeat('x', 50) AS pad "
            "FROM generate_series(1, 30000) g; ANALYZE catalogue",
            dbname=template)
        with copy_of(cluster, template, 'blind-copy-%d-a' % number) as early:
            first = plugin(*args)
            if statistics_kept_over_start(cluster):
                # Nothing can have lost the copy's statistics: it never had
                # any (on 15 and later: before, its first use stamps its
                # stats_reset, as a reset would).
                assert first.returncode == 0, first
                assert re.search(
                    r'\n%s: 1 table holds rows with no statistics yet, not '
                    r'counted as blind: none were lost there since the '
                    r'statistics began %s \(a clean restart keeps them\) '
                    r'\(CREATE DATABASE copies tables, not their statistics; '
                    r'ANALYZE in it counts the dead rows it copied\), largest '
                    r'public\.catalogue \([\d.]+ MB\)\n' % (
                        re.escape(early), AGO), first.stdout), first.stdout
            else:
                # They began at the server's start: the first run has no
                # earlier look to tell a copy by.
                assert first.returncode == 1, first
                assert re.match(
                    r'AUTOVACUUM WARNING - autovacuum is blind to 1 table: '
                    r'statistics lost, worst %s\.public\.catalogue \([\d.]+ '
                    r'MB, 30k rows by pg_class\): statistics .*; or never '
                    r'gathered, if its database was made since \(CREATE '
                    r'DATABASE copies tables, not their statistics\)\|'
                    % re.escape(early), first.stdout), first.stdout
            with copy_of(cluster, template,
                         'blind-copy-%d-b' % number) as later:
                # A copy's premise: nothing counted; autovacuum's inaction
                # is the other tests'.
                assert_blind_premise(cluster, later, 'catalogue', 30000,
                                     naptimes=0)
                second = plugin(*args)
                assert second.returncode == first.returncode, second
                assert '%s.public.catalogue' % later not in second.stdout
                assert re.search(
                    r'\n%s: 1 table holds rows with no statistics yet, not '
                    r'counted as blind: made after the check %s \(CREATE '
                    r'DATABASE copies tables, not their statistics; ANALYZE '
                    r'in it counts the dead rows it copied\), largest '
                    r'public\.catalogue \([\d.]+ MB\)\n' % (re.escape(later), AGO),
                    second.stdout), second.stdout
                # Still a copy at the next run; a reset loses what it has
                # counted since.
                third = plugin(*args)
                assert 'tables_blind=%d;;;0' % first.returncode \
                    in third.stdout, third.stdout
                assert '%s.public.catalogue' % later not in third.stdout
                cluster.execute('SELECT pg_stat_reset()', dbname=later)
                assert_blind_premise(cluster, later, 'catalogue', 30000,
                                     naptimes=0)
                reset = plugin(*args)
    assert reset.returncode == 1, reset
    assert 'tables_blind=%d;;;0' % (1 + first.returncode) in reset.stdout, \
        reset.stdout
    assert re.search(r'\n%s\.public\.catalogue \([\d.]+ MB, 30k rows by '
                     r'pg_class\): statistics %s\n' % (
                         re.escape(later), lost(cluster, 'reset')),
                     reset.stdout), reset.stdout


@pytest.mark.slow
def test_a_crash_blinds_autovacuum_a_clean_restart_does_not(plugin, tmpdir):
    """The issue's table: 150,000 dead rows past the trigger, seen by a run
    before the crash; autovacuum kept off until then, so that they stay."""
    with running() as server:
        server.execute('CREATE DATABASE app')
        big_table_with_dead_rows(server, 'app', autovacuum=False)
        server.execute(
            # unlogged: emptied by crash recovery, not blind
            "CREATE UNLOGGED TABLE scratch AS SELECT g, repeat('z', 50) AS pad "
            "FROM generate_series(1, 100000) g; ANALYZE scratch; "
            # truncated: empty, not blind
            "CREATE TABLE emptied AS SELECT g, repeat('z', 50) AS pad "
            "FROM generate_series(1, 100000) g; ANALYZE emptied; "
            "TRUNCATE emptied", dbname='app')
        # A customer's database made from a template: no statistics of its
        # own for the tables it copied (before 15 its first use sets its
        # stats_reset, as a reset would: only the memory tells a copy then).
        copies = server.server_version_num() >= 150000
        server.execute('CREATE DATABASE shop')
        server.execute("CREATE TABLE orders AS SELECT g AS id, repeat('o', 50) "
                       "AS pad FROM generate_series(1, 30000) g; ANALYZE orders",
                       dbname='shop')
        if copies:
            server.execute('CREATE DATABASE "shop-42" TEMPLATE shop')
        env = {'PGHOST': server.host, 'PGPORT': str(server.port)}
        args = ('--only', 'vacuum,blind', '--vacuum-warning', '1h')
        began = statistics_began(server)

        server.restart('fast')
        # The premise: a clean restart keeps the statistics, and when they
        # began; a crash recovery begins them anew.
        assert statistics_began(server) == began
        assert statistics_kept_over_start(server)
        clean = plugin(*(args + ('-v',)), env=env)
        assert clean.returncode == 0, clean
        assert re.match(r'AUTOVACUUM OK - \d tables? needs? vacuum.*, worst '
                        r'app\.public\.big ', clean.stdout), clean
        assert 'tables_blind=0;;;0' in clean.stdout, clean
        # The first run: the copy's tables never had statistics, and none
        # can have been lost since they began.
        assert copies == bool(re.search(
            r'\nshop-42: 1 table holds rows with no statistics yet, not '
            r'counted as blind: none were lost there since the statistics '
            r'began ', clean.stdout)), clean.stdout
        # Blind too after a crash, rightly: not this test's subject.
        if copies:
            server.execute('DROP DATABASE "shop-42"')
        server.execute('DROP DATABASE shop')

        server.restart('immediate')
        assert statistics_began(server) > began
        assert not statistics_kept_over_start(server)
        assert_blind_premise(server, 'app', 'big', 300000)
        # Created and loaded after the crash: counted, not blind.
        server.execute("CREATE TABLE fresh AS SELECT g, repeat('w', 50) AS pad "
                       "FROM generate_series(1, 100000) g; ANALYZE fresh",
                       dbname='app')
        wait_for_statistics(server, 'app', 'fresh', live=100000)
        crashed = plugin(*args, env=env)
        assert crashed.returncode == 2, crashed
        assert re.match(
            r'AUTOVACUUM CRITICAL - autovacuum is blind to 1 table: statistics '
            r'lost, worst app\.public\.big \(\d+ MB, 300k rows by pg_class\): '
            r'statistics %s; had 150,000 dead rows, past its trigger '
            r'\(60,050\), before\|' % lost(server, 'start'), crashed.stdout), \
            crashed.stdout
        for table in ('scratch', 'emptied', 'fresh'):
            assert table not in crashed.stdout
        analyze_and_see_it_vacuumed(plugin, server, 'app', env)


@pytest.mark.slow
def test_a_promoted_standby_is_blind_a_standby_in_recovery_is_not(plugin):
    with running() as primary:
        if not os.path.exists(os.path.join(primary.bindir, 'pg_basebackup')):
            pytest.skip('no pg_basebackup beside %s to make a standby'
                        % primary.bindir)
        primary.execute('CREATE DATABASE app')
        big_table_with_dead_rows(primary, 'app', autovacuum=False)
        standby = Cluster(bindir=primary.bindir)
        try:
            standby.start(standby_of=primary)
            env = {'PGHOST': standby.host, 'PGPORT': str(standby.port)}
            wait_for_replay(primary, standby)
            in_recovery = plugin('--only', 'blind', env=env)
            primary.stop()  # the primary dies
            standby._run('pg_ctl', 'promote', '-w', '-D', standby.datadir)
            assert standby.execute('SELECT pg_is_in_recovery()') == [(False,)]
            assert_blind_premise(standby, 'app', 'big', 300000)
            promoted = plugin('--only', 'blind', env=env)
            analyze_and_see_it_vacuumed(plugin, standby, 'app', env)
        finally:
            standby.stop()
    assert in_recovery.stdout == (
        'AUTOVACUUM OK - no table blind to autovacuum (a standby: autovacuum '
        'runs on its primary)|databases_unreadable=0;;;0 tables_blind=0;;;0\n'
    ), in_recovery
    assert promoted.returncode == 1, promoted
    how = lost(standby, 'start') if standby.server_version_num() < 150000 \
        else (r'lost at the server\'s start ' + AGO + r' or when it was '
              r'promoted \(timeline 2\)')
    assert re.match(
        r'AUTOVACUUM WARNING - autovacuum is blind to 1 table: statistics '
        r'lost, worst app\.public\.big \(\d+ MB, 300k rows by pg_class\): '
        r'statistics %s\|' % how, promoted.stdout), promoted.stdout


def wait_for_replay(primary, standby, timeout=30):
    """Until the standby has replayed all the primary wrote."""
    target = primary.execute('SELECT pg_current_wal_lsn()::text')[0][0]
    deadline = time.time() + timeout
    while not standby.execute(
            'SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn', (target,))[0][0]:
        assert time.time() < deadline, 'the standby never caught up'
        time.sleep(0.1)
