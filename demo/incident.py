"""make demo: the incident this plugin exists for, in a throwaway cluster.

A customer's database got slow; no table had ever been autovacuumed.  One
component of the application opened a transaction at start-up and never
finished it, and another took LOCK TABLE ... IN EXCLUSIVE MODE so often that
autovacuum kept being cancelled.  Here both happen again, in a minute
instead of eleven hours, so the thresholds are seconds instead of hours.

Usage: bin/py demo/incident.py bin/check_pg_autovacuum
"""
from __future__ import print_function

import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests'))

from pgcluster import LOGGING_COLLECTOR, Cluster  # noqa: E402
from scenarios import lock_table_repeatedly  # noqa: E402


def server_version(cluster):
    """'15.14', as its postgres --version says ("postgres (PostgreSQL)
    15.14", or with the packager's words after it)."""
    output = subprocess.check_output(
        [os.path.join(cluster.bindir, 'postgres'), '--version']).decode()
    found = re.search(r'\(PostgreSQL\) (\S+)', output)
    return found.group(1) if found else output.strip()

THRESHOLDS = ['--idle-warning', '5s', '--idle-critical', '10s',
              '--horizon-warning', '5s', '--horizon-critical', '10s',
              '--vacuum-warning', '5s', '--vacuum-critical', '10s',
              '--cancel-warning', '0', '--cancel-critical', '1']


def say(text):
    print('\n### ' + text)
    sys.stdout.flush()


def sql(cluster, statement, dbname='abc-hans'):
    print('    ' + statement)
    cluster.execute(statement, dbname=dbname)


def run_check(plugin, cluster, state_file, *args):
    command = [plugin, '-H', cluster.host, '-p', str(cluster.port),
               '-U', 'postgres', '-d', 'abc-hans', '--logfile',
               os.path.join(cluster.datadir, 'log', 'postgresql-*.log'),
               '--state-file', state_file] + THRESHOLDS + list(args)
    print('$ ' + ' '.join([os.path.relpath(plugin)] + command[1:]))
    sys.stdout.flush()
    returncode = subprocess.call(command)
    print('(exit code %d)' % returncode)


def write_repeatedly(cluster, seconds):
    """The application at work: rows of both busy tables updated all the time."""
    conn = cluster.connect('abc-hans', application_name='zodb-app writer')
    deadline = time.time() + seconds
    step = 0
    with conn.cursor() as cursor:
        while time.time() < deadline:
            cursor.execute("UPDATE object_state SET state = state || 'x' "
                           "WHERE zoid %% 10 = %s", (step % 10,))
            cursor.execute("UPDATE blob_chunk SET chunk = chunk || 'y' "
                           "WHERE chunk_id %% 10 = %s", (step % 10,))
            step += 1
            time.sleep(0.5)
    conn.close()


def main(plugin):
    cluster = Cluster(settings=LOGGING_COLLECTOR)
    state_file = os.path.join(cluster.base, 'check-state.json')
    say('A throwaway PostgreSQL %s (%s) in %s, port %d, with '
        'logging_collector on' % (
            server_version(cluster),
            cluster.bindir, cluster.base, cluster.port))
    cluster.start()
    try:
        cluster.execute('CREATE DATABASE "abc-hans"')
        say('The application database: two busy tables, a few quiet ones')
        sql(cluster, 'CREATE TABLE object_state (zoid int PRIMARY KEY, state text) '
            'WITH (autovacuum_vacuum_cost_delay = 100, '
            'autovacuum_vacuum_cost_limit = 1)  -- a big table: vacuum takes long')
        sql(cluster, "INSERT INTO object_state SELECT g, 'state' FROM "
            "generate_series(1, 50000) g")
        sql(cluster, 'CREATE TABLE blob_chunk (chunk_id int PRIMARY KEY, chunk text)')
        sql(cluster, "INSERT INTO blob_chunk SELECT g, 'chunk' FROM "
            "generate_series(1, 20000) g")
        for quiet in ('users', 'settings', 'audit_2019'):
            sql(cluster, 'CREATE TABLE %s (id int PRIMARY KEY)' % quiet)
        sql(cluster, 'VACUUM ANALYZE  -- a fresh restore, vacuumed once')
        try:
            sql(cluster, 'CREATE EXTENSION pgstattuple  -- to measure bloat')
        except Exception as error:  # a server without contrib
            print('    (no pgstattuple here: %s)' % str(error).strip())
        time.sleep(1.5)

        say('Before the application starts: all is well')
        run_check(plugin, cluster, state_file)

        say('The application starts.  One component opens a transaction and '
            'never finishes it:\n    BEGIN; SELECT txid_current();  -- and then '
            'nothing, for hours\nanother updates rows all the time, and a third '
            'takes, again and again:\n    LOCK TABLE object_state IN EXCLUSIVE MODE')
        forgotten = cluster.connect('abc-hans', application_name='zodb-app')
        with forgotten.cursor() as cursor:
            cursor.execute('BEGIN')
            cursor.execute('SELECT txid_current()')
        writer = threading.Thread(target=write_repeatedly, args=(cluster, 25))
        locker = threading.Thread(target=lock_table_repeatedly,
                                  args=(cluster, 'abc-hans', 'object_state', 25))
        writer.start()
        locker.start()
        time.sleep(20)

        say('Twenty seconds later (thresholds in seconds, not hours)')
        run_check(plugin, cluster, state_file, '-vv')
        writer.join()
        locker.join()

        say('The cause is found and fixed: the forgotten transaction ends, the '
            'locking stops,\nand the tables are vacuumed by hand')
        forgotten.close()
        sql(cluster, 'VACUUM ANALYZE object_state')
        sql(cluster, 'VACUUM ANALYZE blob_chunk')
        time.sleep(1)
        say('Every finding is OK again, but object_state stays several times '
            'its size:\nonly a rewrite gives the space back (small tables '
            'count here: --bloat-min-size 1MB)')
        run_check(plugin, cluster, state_file, '--only', 'bloat',
                  '--bloat-min-size', '1MB', '-vv')
    finally:
        say('Removing the throwaway cluster')
        cluster.stop()


if __name__ == '__main__':
    main(os.path.abspath(sys.argv[1]))
