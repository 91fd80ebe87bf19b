# -*- coding: utf-8 -*-
"""Bloat, for real: tables of known bloat, measured against pgstattuple.

A table is bloated the way an incident leaves it: rows inserted, every row
updated several times with autovacuum off, then VACUUM ANALYZE -- the dead
rows' space is reusable but not returned.  After U updates of every row
about U/(U+1) of the table is free.  Where the server has contrib's
pgstattuple (the system PostgreSQL does; the npm binaries of the matrix
may not), its exact figure is the truth we compare with; else the figure
the construction gives.
"""
from __future__ import division, unicode_literals

import itertools
import re

import psycopg2
import pytest

from scenarios import database, idle_in_transaction, role, wait_for_statistics

_numbers = itertools.count(1)

# Percentage points the estimate may be off from pgstattuple's exact figure
# (measured: within 2.6 for these shapes, README has the table).
ESTIMATE_TOLERANCE = 10
# pgstattuple_approx against pgstattuple, after a VACUUM (all pages are
# all-visible, so it takes their free space from the free space map).
CONFIRMED_TOLERANCE = 3

SHAPES = {
    'narrow': ('(id int, v int, t text)',
               "SELECT g, g, 'x' || g FROM generate_series(1, 120000) g",
               'UPDATE {t} SET v = v + 1'),
    # Every value is compressed, many moved to the TOAST table: the heap
    # holds a pointer, which is what pg_stats' avg_width measures too.
    'toasted': ('(id int, payload text)',
                "SELECT g, (SELECT string_agg(md5(g::text || i::text), '') "
                "FROM generate_series(1, 150) i) FROM generate_series(1, 20000) g",
                'UPDATE {t} SET id = id + 1'),
    'null_heavy': ('(id int, a text, b text, c bigint, d text)',
                   "SELECT g, CASE WHEN g % 10 = 0 THEN repeat('a', 50) END, "
                   "NULL, CASE WHEN g % 3 = 0 THEN g END, "
                   "CASE WHEN g % 2 = 0 THEN 'dd' END "
                   "FROM generate_series(1, 120000) g",
                   'UPDATE {t} SET id = id + 1'),
}


@pytest.fixture
def db(cluster):
    with database(cluster, 'bloat-%d' % next(_numbers)) as name:
        yield name


def has_pgstattuple(cluster, db):
    try:
        cluster.execute('CREATE EXTENSION IF NOT EXISTS pgstattuple', dbname=db)
        return True
    except psycopg2.Error:
        return False


def bloated_table(cluster, db, name, shape, updates=3):
    columns, rows, update = SHAPES[shape]
    cluster.execute('CREATE TABLE %s %s WITH (autovacuum_enabled = false)'
                    % (name, columns), dbname=db)
    cluster.execute('INSERT INTO %s %s' % (name, rows), dbname=db)
    for _ in range(updates):
        cluster.execute(update.format(t=name), dbname=db)
    cluster.execute('VACUUM ANALYZE %s' % name, dbname=db)
    # Before 15 the analyze reaches the statistics late.
    wait_for_statistics(cluster, db, name, modified=0)


def true_percent(cluster, db, table, updates):
    """pgstattuple's share free or dead; the construction's without it."""
    if not has_pgstattuple(cluster, db):
        return 100 * updates / (updates + 1)
    measured = cluster.execute(
        'SELECT (dead_tuple_len + free_space) * 100.0 / table_len AS share '
        'FROM pgstattuple(%s)', (table,), dbname=db)
    return float(measured[0][0])


def bloat_check(plugin, db, *args, **kwargs):
    return plugin('--only', 'bloat', '--bloat-min-size', '1MB', '-v',
                  '--databases', '^%s$' % re.escape(db), *args, **kwargs)


# What the memory adds to a table's -v line from the second run on.
WITNESS = r'(; size per row [\d.]+x the least seen \(\w+ ago\))?'


def figure(result, db, table):
    """(percent, how) from the -v line of TABLE."""
    match = re.search(r'\n%s\.public\.%s [\d.]+ [kMG]B, ([\d.]+)%% free or dead '
                      r'\(would be ~[\d.]+ [kMG]?B after a rewrite\), (.*?)%s\n'
                      % (re.escape(db), table, WITNESS), result.stdout)
    assert match, result.stdout
    return float(match.group(1)), match.group(2)


def assert_not_known(result, db, table, reason, why_not):
    """RESULT is OK with TABLE the one table whose bloat is not known, for
    REASON, and not measured either, for WHY_NOT."""
    assert result.returncode == 0, result
    assert result.stdout.startswith(
        'AUTOVACUUM OK - no table known to be bloated (1 table not known, -v '
        'says why)|'), result.stdout
    assert re.search(r'\n%s\.public\.%s [\d.]+ MB: bloat not known: %s; not '
                     r'measured either: %s%s\n'
                     % (tuple(re.escape(part) for part in (db, table, reason,
                                                           why_not)) + (WITNESS,)),
                     result.stdout), result.stdout


@pytest.mark.parametrize('shape', sorted(SHAPES))
def test_the_estimate_and_the_measurement_match_pgstattuple(
        plugin, cluster, db, shape):
    bloated_table(cluster, db, shape, shape, updates=3)
    truth = true_percent(cluster, db, shape, updates=3)
    measurable = has_pgstattuple(cluster, db)
    cluster.execute('DROP EXTENSION IF EXISTS pgstattuple', dbname=db)

    estimated = bloat_check(plugin, db)
    assert estimated.returncode == 1, estimated  # 50% < ~75% < 80%
    percent, how = figure(estimated, db, shape)
    assert abs(percent - truth) <= ESTIMATE_TOLERANCE, (percent, truth)
    assert how == ('estimated from statistics, not confirmed: pgstattuple is '
                   'not installed in %s' % db), how
    assert re.search(r'1 table bloated, worst %s\.public\.%s \([\d.]+ [kMG]B, '
                     r'[\d.]+%% wasted, estimated\)\|' % (re.escape(db), shape),
                     estimated.stdout), estimated.stdout
    assert re.search(r'\|bloat_bytes_total=\d+B;;;0 bloat_max=\d+(\.\d)?%;50;80;0;'
                     r'100 databases_unreadable=0;;;0 tables_bloated=1;;;0\n',
                     estimated.stdout), estimated.stdout

    if not measurable:
        pytest.skip('no pgstattuple in this server: the estimate alone')
    cluster.execute('CREATE EXTENSION pgstattuple', dbname=db)
    confirmed = bloat_check(plugin, db)
    percent, how = figure(confirmed, db, shape)
    assert how == 'confirmed by pgstattuple_approx', how
    assert abs(percent - truth) <= CONFIRMED_TOLERANCE, (percent, truth)


def test_the_incidents_table_stays_bloated_after_the_cause_is_fixed(
        plugin, cluster, db):
    # make demo's story: a forgotten transaction keeps every dead row while
    # the application rewrites its rows; then it ends, and a manual VACUUM
    # makes the space reusable.  Every other finding is OK again.
    cluster.execute('CREATE TABLE object_state (zoid int PRIMARY KEY, '
                    'state text)', dbname=db)
    cluster.execute("INSERT INTO object_state SELECT g, 'state' FROM "
                    "generate_series(1, 50000) g", dbname=db)
    cluster.execute('VACUUM ANALYZE object_state', dbname=db)
    with idle_in_transaction(cluster, dbname=db):
        for _ in range(5):
            cluster.execute("UPDATE object_state SET state = state || 'x'",
                            dbname=db)
    cluster.execute('VACUUM ANALYZE object_state', dbname=db)
    wait_for_statistics(cluster, db, 'object_state', modified=0)
    cluster.execute('DROP EXTENSION IF EXISTS pgstattuple', dbname=db)
    result = bloat_check(plugin, db)
    assert result.returncode in (1, 2), result
    assert re.match(r'AUTOVACUUM (WARNING|CRITICAL) - 1 table bloated, worst '
                    r'%s\.public\.object_state \([\d.]+ MB, [\d.]+%% wasted, '
                    r'estimated\)\|' % re.escape(db), result.stdout), result.stdout
    assert figure(result, db, 'object_state')[0] >= 70, result.stdout
    others = plugin('--skip', 'bloat,cancels', '--databases',
                    '^%s$' % re.escape(db))
    assert others.returncode == 0, others
    # In a full check the estimate rides along with the tables' own query.
    full = plugin('--skip', 'cancels', '--bloat-min-size', '1MB',
                  '--databases', '^%s$' % re.escape(db))
    assert re.match(r'AUTOVACUUM (WARNING|CRITICAL) - 1 table bloated, worst '
                    r'%s\.public\.object_state ' % re.escape(db),
                    full.stdout), full.stdout


def test_a_freshly_loaded_table_is_not_bloated(plugin, cluster, db):
    bloated_table(cluster, db, 'fresh', 'narrow', updates=0)
    result = bloat_check(plugin, db)
    assert result.returncode == 0, result
    assert result.stdout.startswith('AUTOVACUUM OK - no table bloated|'), result


def test_a_table_without_statistics_is_not_known_not_a_number(
        plugin, cluster, db):
    bloated_table(cluster, db, 'unanalyzed', 'narrow', updates=3)
    # Its statistics gone, as after a dump and restore without ANALYZE.
    cluster.execute("DELETE FROM pg_statistic WHERE starelid = "
                    "'unanalyzed'::regclass", dbname=db)
    cluster.execute('DROP EXTENSION IF EXISTS pgstattuple', dbname=db)
    result = bloat_check(plugin, db)
    assert_not_known(result, db, 'unanalyzed', 'never analyzed',
                     'pgstattuple is not installed in %s' % db)
    assert 'bloat_max=0%' in result.stdout


def test_a_role_that_cannot_read_the_statistics_says_so(plugin, cluster, db):
    bloated_table(cluster, db, 'private', 'narrow', updates=3)
    measurable = has_pgstattuple(cluster, db)
    cluster.execute('DROP EXTENSION IF EXISTS pgstattuple', dbname=db)
    with role(cluster, 'watcher', 'pg_monitor'):
        blind = bloat_check(plugin, db, env={'PGUSER': 'watcher'})
        assert blind.returncode == 0, blind
        assert re.search(r'\n%s\.public\.private [\d.]+ MB: bloat not known: '
                         r'its statistics are not visible to this role \(pg_stats '
                         r'shows only columns it may SELECT\)' % re.escape(db),
                         blind.stdout), blind.stdout
        if not measurable:
            pytest.skip('no pgstattuple in this server')
        # pg_monitor includes pg_stat_scan_tables: pgstattuple_approx may run.
        cluster.execute('CREATE EXTENSION pgstattuple', dbname=db)
        measured = bloat_check(plugin, db, env={'PGUSER': 'watcher'})
    assert measured.returncode == 1, measured
    assert figure(measured, db, 'private')[1] == 'confirmed by pgstattuple_approx'


def test_a_toast_table_is_measured_never_estimated(plugin, cluster, db):
    # Values stored out of line and uncompressed, each rewritten twice
    # with autovacuum off: the TOAST table holds three versions of every
    # chunk until VACUUM makes two of them free space.  The heap keeps
    # only pointers and stays below --bloat-min-size.
    cluster.execute('CREATE TABLE docs (id int, body text) WITH '
                    '(autovacuum_enabled = false, '
                    'toast.autovacuum_enabled = false); '
                    'ALTER TABLE docs ALTER body SET STORAGE EXTERNAL',
                    dbname=db)
    cluster.execute("INSERT INTO docs SELECT g, (SELECT string_agg("
                    "md5(g::text || i::text), '') FROM generate_series(1, 100) "
                    "i) FROM generate_series(1, 3000) g", dbname=db)
    for _ in range(2):
        cluster.execute("UPDATE docs SET body = body || 'x'", dbname=db)
    cluster.execute('VACUUM ANALYZE docs', dbname=db)
    toast = cluster.execute("SELECT reltoastrelid::regclass::text FROM pg_class "
                            "WHERE relname = 'docs'", dbname=db)[0][0]
    measurable = has_pgstattuple(cluster, db)
    truth = measurable and true_percent(cluster, db, toast, updates=2)
    cluster.execute('DROP EXTENSION IF EXISTS pgstattuple', dbname=db)

    too_old = cluster.server_version_num() < 140000

    def not_known(result, why_not):
        assert_not_known(result, db, 'docs (TOAST)', 'a TOAST table, of which '
                         'ANALYZE keeps no statistics', why_not)

    refused = 'pgstattuple_approx measures TOAST tables from PostgreSQL 14 on'
    not_known(bloat_check(plugin, db), refused if too_old else
              'pgstattuple is not installed in %s' % db)
    if not measurable:
        pytest.skip('no pgstattuple in this server: not measured')
    cluster.execute('CREATE EXTENSION pgstattuple', dbname=db)
    measured = bloat_check(plugin, db)
    if too_old:
        not_known(measured, refused)
        return
    assert measured.returncode == 1, measured  # 50% < ~70% < 80%
    assert re.match(r'AUTOVACUUM WARNING - 1 table bloated, worst '
                    r'%s\.public\.docs \(TOAST\) \([\d.]+ MB, [\d.]+%% wasted, '
                    r'confirmed\)\|' % re.escape(db), measured.stdout), \
        measured.stdout
    percent, how = figure(measured, db, re.escape('docs (TOAST)'))
    assert how == 'confirmed by pgstattuple_approx', how
    assert abs(percent - truth) <= CONFIRMED_TOLERANCE, (percent, truth)


def test_the_memory_tells_a_table_that_grew_while_its_rows_did_not(
        plugin, cluster, db):
    # Never analyzed: no estimate, and no pgstattuple to measure it.  Only
    # the memory can tell that its size per row tripled -- and a rewrite
    # (a new file) begins afresh.
    cluster.execute('DROP EXTENSION IF EXISTS pgstattuple', dbname=db)
    columns, rows, update = SHAPES['narrow']
    cluster.execute('CREATE TABLE grown %s WITH (autovacuum_enabled = false); '
                    'INSERT INTO grown %s' % (columns, rows), dbname=db)
    cluster.execute('VACUUM grown', dbname=db)  # counts its pages and rows
    why = ('never analyzed', 'pgstattuple is not installed in %s' % db)

    def witness(result):
        assert_not_known(result, db, 'grown', *why)
        found = re.search(r'size per row ([\d.]+)x the least seen', result.stdout)
        return found and float(found.group(1))

    assert witness(bloat_check(plugin, db)) is None  # the first look
    for _ in range(2):
        cluster.execute(update.format(t='grown'), dbname=db)
    cluster.execute('VACUUM grown', dbname=db)
    grown = witness(bloat_check(plugin, db))
    assert 2.8 <= grown <= 3.2, grown
    cluster.execute('VACUUM FULL grown', dbname=db)
    assert witness(bloat_check(plugin, db)) is None


def test_small_tables_are_never_reported(plugin, cluster, db):
    bloated_table(cluster, db, 'narrow', 'narrow', updates=3)
    result = plugin('--only', 'bloat', '--databases', '^%s$' % re.escape(db))
    assert result.returncode == 0, result
    assert result.stdout.startswith('AUTOVACUUM OK - no table bloated|'), result


@pytest.mark.parametrize('value', ['ten', '10 XB', '-1', '1e9'])
def test_a_bad_minimum_size_is_unknown(plugin, value):
    result = plugin('--only', 'bloat', '--bloat-min-size', value)
    assert result.returncode == 3, result
    assert result.stdout == (
        "AUTOVACUUM UNKNOWN - argument --bloat-min-size: not a size (bytes, or "
        "with kB, MB, GB, TB): '%s' (see --help)\n" % value), result
