# -*- coding: utf-8 -*-
"""A healthy, busy server stays OK: no false alarm while autovacuum keeps up.

What an operator tries first: pgbench writing all the time, autovacuum with
a naptime of 1 s, the big table's autovacuum throttled so that it takes
most of a minute (hours, on a production server), and a nightly-style
manual VACUUM (FREEZE) of another big table, throttled too.  The check runs
every few seconds with thresholds scaled to that clock (30 s here is what
a day is to a server whose tables cross their trigger every few days), and
says OK every time.  The test also checks that what it claims to test
happened: the vacuums ran while checks ran, and tables crossed their
triggers.
"""
from __future__ import unicode_literals

import re
import subprocess
import threading
import time

import psycopg2.extensions
import pytest

from pgcluster import find_client, running

SCALED = ['--vacuum-warning', '30s', '--vacuum-critical', '120s',
          '--analyze-warning', '30s', '--analyze-critical', '120s',
          '--horizon-warning', '30s', '--horizon-critical', '120s',
          '--idle-warning', '30s', '--idle-critical', '120s',
          '--lock-warning', '30s', '--lock-critical', '120s',
          '--workers-warning', '30s',
          # The big table's vacuum: most of a minute here, hours there.
          '--vacuum-runtime-warning', '240s',
          '--vacuum-runtime-critical', '960s']
# A minute: the big table crosses its trigger in some 20 s and its
# throttled autovacuum runs through most of the rest.  On a loaded machine
# the checks go on until they saw it happen, three minutes at the most.
BENCH_SECONDS = 60
MAX_SECONDS = 180
BENCH_RATE = 500  # transactions a second
CHECK_EVERY = 2


def manual_vacuum(server, stop):
    """VACUUM (FREEZE) of the other big table, throttled, again and again."""
    conn = server.connect('bench', application_name='psql')
    with conn.cursor() as cursor:
        cursor.execute('SET vacuum_cost_delay = 10')
        cursor.execute('SET vacuum_cost_limit = 20')
        while not stop.is_set():
            try:
                cursor.execute('VACUUM (FREEZE) nightly')
            except psycopg2.extensions.QueryCanceledError:
                break
    conn.close()


@pytest.mark.first
@pytest.mark.slow
def test_a_healthy_busy_server_stays_ok(plugin, tmpdir):
    pgbench = find_client('pgbench')
    if pgbench is None:
        pytest.skip('no pgbench beside the server binaries or installed')
    with running(autovacuum_naptime='1') as server:
        server.execute('CREATE DATABASE bench')
        subprocess.check_call([pgbench, '-i', '-q', '-s', '5', '-h', server.host,
                               '-p', str(server.port), '-U', 'postgres', 'bench'],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # Its vacuum dirties every page at 20 cost units: throttled to most
        # of a minute; its analyze only reads, and takes seconds.  A low
        # scale factor lets it cross its trigger within seconds also on a
        # slow machine: 10,000 dead rows.
        server.execute('ALTER TABLE pgbench_accounts SET '
                       '(autovacuum_vacuum_cost_delay = 10, '
                       'autovacuum_vacuum_cost_limit = 20, '
                       'autovacuum_vacuum_scale_factor = 0.02)', dbname='bench')
        server.execute("CREATE TABLE nightly AS SELECT g AS id, repeat('x', 40) "
                       "AS payload FROM generate_series(1, 300000) g",
                       dbname='bench')
        # Busy, not flat out: at 500 transactions a second the big table
        # crosses its trigger in some 20 s, and the suite's other tests
        # (and the other interpreter's run) keep a share of the 2 cores.
        bench = subprocess.Popen(
            [pgbench, '-n', '-c', '3', '-R', str(BENCH_RATE), '-T',
             str(MAX_SECONDS), '-h',
             server.host, '-p', str(server.port), '-U', 'postgres', 'bench'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        stop = threading.Event()
        vacuum = threading.Thread(target=manual_vacuum, args=(server, stop))
        vacuum.start()
        env = {'PGHOST': server.host, 'PGPORT': str(server.port)}
        state = str(tmpdir.join('state.json'))
        results, vacuums_seen = [], set()
        try:
            began = time.time()
            while time.time() < began + MAX_SECONDS - 5 and not (
                    time.time() >= began + BENCH_SECONDS - 5
                    and not premise_missing(results, vacuums_seen)):
                started = time.time()
                results.append(plugin('-v', '--state-file', state, *SCALED,
                                      env=env))
                vacuums_seen.update(row[0] for row in server.execute(
                    "SELECT a.backend_type || ' ' || p.relid::regclass "
                    "FROM pg_stat_progress_vacuum p JOIN pg_stat_activity a "
                    "USING (pid)", dbname='bench'))
                time.sleep(max(0, CHECK_EVERY - (time.time() - started)))
        finally:
            stop.set()
            server.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                           "WHERE application_name = 'psql'")
            vacuum.join()
            bench.terminate()
            bench.communicate()
    alarms = [r.stdout for r in results if r.returncode != 0]
    assert not alarms, '%d of %d checks were not OK:\n%s' % (
        len(alarms), len(results), '\n'.join(alarms))
    # The premise: all of it really happened while the checks ran.
    assert not premise_missing(results, vacuums_seen), (
        premise_missing(results, vacuums_seen), vacuums_seen, len(results))


def premise_missing(results, vacuums_seen):
    """What of the premise the checks RESULTS have not seen happen yet:
    the vacuums, a table past its trigger, one being vacuumed, enough
    checks; None once all of it."""
    crossed = [int(re.search(r'tables_need_vacuum=(\d+)', r.stdout).group(1))
               for r in results if 'tables_need_vacuum=' in r.stdout]
    if 'autovacuum worker pgbench_accounts' not in vacuums_seen:
        return 'no autovacuum of pgbench_accounts'
    if 'client backend nightly' not in vacuums_seen:
        return 'no VACUUM of nightly'
    if not crossed or max(crossed) < 1:
        return 'no table ever crossed its trigger'
    if all('tables_being_vacuumed=0;' in r.stdout for r in results):
        return 'no check saw a table past its trigger being vacuumed'
    if len(results) < 15:  # a loaded machine: ~2s each
        return 'only %d checks' % len(results)
    return None
