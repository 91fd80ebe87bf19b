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

from scenarios import (database, heap_blocks_touched, idle_in_transaction,
                       role, table_no_page_all_visible, wait_for_statistics)

_numbers = itertools.count(1)

# Percentage points the estimate may be off from pgstattuple's exact figure
# (measured: within 2.6 for these shapes, docs/bloat.md has the table).
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


# How a table measured in this very run is said to be confirmed.
MEASURED_NOW = re.compile(r'confirmed by pgstattuple_approx now \(read '
                          r'(\d+ bytes|[\d.]+ [kMG]B)\)$')

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
    assert MEASURED_NOW.match(how), how
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
    assert MEASURED_NOW.match(figure(measured, db, 'private')[1])


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
    assert MEASURED_NOW.match(how), how
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


def measured_checks(plugin, cluster, db, table, runs, *args):
    """RUNS bloat checks; for each, the check and the heap blocks of TABLE
    it touched, as the server counts them."""
    checks = []
    for _ in range(runs):
        before = heap_blocks_touched(cluster, db, table)
        result = bloat_check(plugin, db, *args)
        checks.append((result, heap_blocks_touched(cluster, db, table) - before))
    return checks


def test_a_measurement_is_remembered_not_read_again(plugin, cluster, db):
    """The incident's table (no page all-visible): the first check reads it,
    the next ones within --bloat-measure-every read next to nothing, and
    -v says when it was measured."""
    if not has_pgstattuple(cluster, db):
        pytest.skip('no pgstattuple in this server')
    blocks = table_no_page_all_visible(cluster, db, 'incident')
    checks = measured_checks(plugin, cluster, db, 'incident', 3)
    (first, first_read), later = checks[0], checks[1:]
    assert first_read >= blocks, (first_read, blocks)
    percent, how = figure(first, db, 'incident')
    assert MEASURED_NOW.match(how), how
    for result, read in later:
        assert read <= blocks / 10, (read, blocks)
        assert figure(result, db, 'incident') == (
            percent, 'confirmed by pgstattuple_approx %s ago'
            % re.search(r'(\d+s) ago$', figure(result, db, 'incident')[1])
            .group(1)), result.stdout
        assert result.returncode == first.returncode, result
    # Told to measure every run, it does.
    (again, read), = measured_checks(plugin, cluster, db, 'incident', 1,
                                     '--bloat-measure-every', '0')
    assert MEASURED_NOW.match(figure(again, db, 'incident')[1])
    assert read >= blocks, (read, blocks)


def test_a_table_that_changed_much_is_measured_again(plugin, cluster, db):
    if not has_pgstattuple(cluster, db):
        pytest.skip('no pgstattuple in this server')
    table_no_page_all_visible(cluster, db, 'changing')

    def how(result):
        return figure(result, db, 'changing')[1]

    assert MEASURED_NOW.match(how(bloat_check(plugin, db)))
    # Grown by a third: every row updated once more while a transaction is
    # open (nothing can be pruned), no VACUUM or ANALYZE since: only its
    # size tells.
    with idle_in_transaction(cluster, dbname=db):
        cluster.execute('UPDATE changing SET v = v + 1', dbname=db)
    grown = bloat_check(plugin, db)
    assert MEASURED_NOW.match(how(grown)), grown.stdout
    # Half its rows deleted and vacuumed: the same size, and the estimate
    # jumps.
    cluster.execute('DELETE FROM changing WHERE id <= 30000', dbname=db)
    cluster.execute('VACUUM ANALYZE changing', dbname=db)
    wait_for_statistics(cluster, db, 'changing', modified=0)
    emptied = bloat_check(plugin, db)
    assert MEASURED_NOW.match(how(emptied)), emptied.stdout
    assert figure(emptied, db, 'changing')[0] > figure(grown, db, 'changing')[0]
    assert re.match(r'confirmed by pgstattuple_approx \d+s ago$',
                    how(bloat_check(plugin, db)))
    # A rewrite is a new file: measured afresh, and no longer bloated.
    cluster.execute('VACUUM FULL ANALYZE changing', dbname=db)
    wait_for_statistics(cluster, db, 'changing', modified=0)
    rewritten = bloat_check(plugin, db)
    assert rewritten.stdout.startswith('AUTOVACUUM OK - no table bloated|'), \
        rewritten.stdout


def test_the_read_limit_holds_with_several_big_tables(plugin, cluster, db):
    """Three tables of about 3 MB none of whose pages is all-visible, a
    limit of 5 MB a run: one is measured per run, the worst first, and
    the others wait for the next runs, which find the first remembered."""
    if not has_pgstattuple(cluster, db):
        pytest.skip('no pgstattuple in this server')
    tables = ['big_a', 'big_b', 'big_c']
    for number, table in enumerate(tables):
        table_no_page_all_visible(cluster, db, table, rows=20000 + 2000 * number)
    limit = 5 << 20
    before = heap_blocks_touched(cluster, db, tables)
    measured_in = []
    for _ in range(3):
        result = bloat_check(plugin, db, '--bloat-read-limit', '5MB')
        now = [table for table in tables
               if MEASURED_NOW.match(figure(result, db, table)[1])]
        assert len(now) == 1, result.stdout
        measured_in.append(now[0])
        waiting = [table for table in tables if table not in measured_in]
        for table in waiting:
            assert re.search(r'\n%s\.public\.%s .*not confirmed: it would read '
                             r'~[\d.]+ MB \(pages not all-visible\), over '
                             r'--bloat-read-limit \(5\.0 MB a run, [\d.]+ MB '
                             r'read already\)' % (re.escape(db), table),
                             result.stdout), result.stdout
        after = heap_blocks_touched(cluster, db, tables)
        assert (after - before) * 8192 <= limit, (after - before, limit)
        before = after
    # The biggest wastes the most: measured first.
    assert measured_in == ['big_c', 'big_b', 'big_a'], measured_in


def test_a_table_over_the_read_limit_is_estimated_not_read(plugin, cluster, db):
    if not has_pgstattuple(cluster, db):
        pytest.skip('no pgstattuple in this server')
    blocks = table_no_page_all_visible(cluster, db, 'huge')
    (result, read), = measured_checks(plugin, cluster, db, 'huge', 1,
                                      '--bloat-read-limit', '1MB')
    assert read <= blocks / 10, (read, blocks)
    percent, how = figure(result, db, 'huge')
    assert re.match(r'estimated from statistics, not confirmed: it would read '
                    r'~[\d.]+ MB \(pages not all-visible\), over '
                    r'--bloat-read-limit \(1\.0 MB a run\)$', how), how
