# -*- coding: utf-8 -*-
"""Names that try to break the output or the SQL: they do neither."""
from __future__ import unicode_literals

import re
import time

from scenarios import (
    database, idle_in_transaction, role, table_with_dead_rows)

HOSTILE_DB = 'db|x=1 \'quo"te\' 🥐'
HOSTILE_TABLE = 'tab|le\nnew"line\'; DROP TABLE x; --'


def test_hostile_names_keep_output_and_perfdata_valid(plugin, cluster):
    with database(cluster, HOSTILE_DB):
        cluster.execute('CREATE TABLE x (id int)', dbname=HOSTILE_DB)
        table_with_dead_rows(cluster, HOSTILE_DB, HOSTILE_TABLE, live=10, dead=100)
        with idle_in_transaction(cluster, dbname=HOSTILE_DB,
                                 application_name='app|=1',
                                 last_query="SELECT 'a|b'", idle_for=2.1):
            result = plugin('-v', '--only', 'idle,vacuum,horizon', '--databases',
                            re.escape(HOSTILE_DB), '--vacuum-warning', '0',
                            '--exclude-tables', "^nothing'; DROP TABLE x; --")
        # Nothing in the names reached the SQL as SQL: the table is there.
        assert cluster.execute('SELECT count(*) FROM x', dbname=HOSTILE_DB)
    assert result.returncode in (1, 2), result
    assert 'removed illegal characters' not in result.stdout
    lines = result.stdout.splitlines()
    # Exactly one "|": the one that starts the perfdata, on the first line.
    assert [line for line in lines if '|' in line] == [lines[0]]
    status, perfdata = lines[0].split('|')
    assert 'db¦x=1 \'quo"te\' 🥐' in status
    assert any('tab¦le new"line\'; DROP TABLE x; --' in line for line in lines[1:])
    assert all(re.match(r"^'?[a-z_]+'?=[\d.]+s?%?(;[^;\s]*){0,4}$", item)
               for item in perfdata.split(' ')), perfdata


def test_a_role_with_only_pg_monitor_runs_every_finding(plugin, cluster, tmpdir):
    log = tmpdir.join('postgresql.log')
    log.write('')
    with role(cluster, 'nagios', 'pg_monitor'):
        result = plugin('-U', 'nagios', '--logfile', str(log), '--state-file',
                        str(tmpdir.join('state.json')))
    assert result.returncode == 0, result
    assert 'UNKNOWN' not in result.stdout
    for label in ('idle_in_transaction=', 'tables_need_vacuum=',
                  'tables_need_analyze=', 'autovacuum_cancels=',
                  'horizon_age_max=', 'wraparound_max='):
        assert label in result.stdout, (label, result.stdout)



def test_the_first_line_keeps_every_problem_and_an_ok_line_fits_nrpe_v2(
        plugin, cluster):
    # NRPE v2 passes on 1 KB of output.  An OK line is cut to fit with its
    # perfdata; a problem's line is never cut: what is wrong matters more
    # than the last perfdata labels.
    long_db = 'd' * 60
    with database(cluster, long_db):
        table_with_dead_rows(cluster, long_db, 't' * 60, live=10, dead=100)
        with idle_in_transaction(cluster, dbname=long_db, application_name='a' * 60,
                                 idle_for=2.1):
            problem = plugin('-v', '--databases', '^d+$', '--idle-warning', '0',
                             '--horizon-warning', '0', '--vacuum-warning', '0',
                             '--analyze-warning', '0')
        quiet = plugin('-v', '--databases', '^d+$')
    status, perfdata = problem.stdout.splitlines()[0].split('|')
    assert status.startswith('AUTOVACUUM WARNING - pid '), status
    assert not status.endswith(' / ...'), status
    for finding in ('holds back vacuum', 'idle in transaction, longest',
                    'table needs vacuum', 'table needs analyze'):
        assert finding in status, (finding, status)
    assert perfdata.endswith('wraparound_max=0%;50;75;0;100')
    first_line = quiet.stdout.splitlines()[0]
    assert quiet.returncode == 0, quiet
    assert len(first_line.encode('utf-8')) <= 1000, first_line
    assert first_line.split('|')[1].endswith('wraparound_max=0%;50;75;0;100')
    assert len(problem.stdout.splitlines()) > 3  # the long output follows


def execute_bytes(cluster, dbname, *statements):
    """Statements as bytes, sent as they are: what a SQL_ASCII client does.

    The connection is closed at once, which sends its statistics."""
    conn = cluster.connect(dbname)
    try:
        conn.set_client_encoding('SQL_ASCII')
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def wait_for_dead_rows(cluster, dbname, dead, timeout=15):
    deadline = time.time() + timeout
    while cluster.execute('SELECT sum(n_dead_tup) FROM pg_stat_user_tables',
                          dbname=dbname) != [(dead,)]:
        assert time.time() < deadline, 'no %d dead rows in %s' % (dead, dbname)
        time.sleep(0.1)


def test_names_and_queries_that_are_not_utf8_do_no_harm(plugin, cluster):
    # A SQL_ASCII database takes any bytes for names and queries; from it,
    # a database can even be created whose name is not UTF-8.
    cluster.execute("CREATE DATABASE legacy ENCODING 'SQL_ASCII' "
                    "TEMPLATE template0")
    try:
        execute_bytes(
            cluster, 'legacy', b'CREATE DATABASE "caf\xe9" TEMPLATE template0',
            b'CREATE TABLE "t\xe9\xff|x" (id int) WITH (autovacuum_enabled = off)',
            b'INSERT INTO "t\xe9\xff|x" SELECT generate_series(1, 110)',
            b'DELETE FROM "t\xe9\xff|x" WHERE id <= 100')
        wait_for_dead_rows(cluster, 'legacy', 100)
        # idle_for: the table waits past its trigger a second (test_tables)
        with idle_in_transaction(cluster, dbname='legacy', idle_for=2.1,
                                 last_query=b"SELECT 'caf\xe9 \xff'"):
            result = plugin('-vvv', '--databases', '^(legacy|caf)',
                            '--vacuum-warning', '0', '--idle-warning', '0')
    finally:
        execute_bytes(cluster, 'legacy', b'DROP DATABASE IF EXISTS "caf\xe9"')
        cluster.execute('DROP DATABASE legacy')
    # -vvv: the queries, and nothing else, on stderr.
    assert 'Traceback' not in result.stderr, result.stderr
    assert result.stderr.startswith('-- SQL in database '), result.stderr
    assert 'removed illegal characters' not in result.stdout
    status = result.stdout.splitlines()[0]
    assert status.startswith('AUTOVACUUM WARNING - '), status
    assert '1 session idle in transaction, longest ' in status
    assert ('1 table needs vacuum and never got it, worst '
            'legacy.public.t\ufffd\ufffd\u00a6x (100 dead rows') in status, status
    assert "last query: SELECT 'caf\ufffd \ufffd'" in result.stdout
    assert ('cannot read database caf\ufffd: its name is not UTF-8, and libpq '
            'takes a database name as UTF-8; leave it out with '
            '--exclude-databases|') in status, status
