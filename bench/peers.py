"""Our check against check_postgres on the same work, side by side.

Not a test: it prints medians for a human to read and to copy into the
docs/benchmarks.md.  The cluster: the incident's database (a session idle in
transaction, tables past their trigger) and DATABASES databases of TABLES
tables each, no server log.  The same work: sessions idle in transaction,
and when each table was last autovacuumed and autoanalyzed, in every
database.  check_postgres does that with three actions -- txn_idle (once:
pg_stat_activity is the cluster's) and last_autovacuum and last_autoanalyze
over all databases (--dbname a,b,...) -- each a perl process that runs its
queries through psql; we do it with --only idle,vacuum,analyze, and also
show our full check.  Two floors show what no Python check can go below
here: the interpreter starting, and the interpreter importing psycopg2 and
opening a session in each database for a mere SELECT 1 (floor.py).  Runs
are interleaved, so that a slow moment of the machine hurts all alike.

check_postgres is Bucardo's (github.com/bucardo/check_postgres), taken at
run time from the Debian package check-postgres (with perl's DBD::Pg), which
this script installs with apt-get when it runs as root and finds none.
"""
from __future__ import print_function

import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests'))
sys.path.insert(0, HERE)

from bench import build, median, scale_arguments  # noqa: E402
from pgcluster import Cluster, find_client  # noqa: E402

PACKAGES = ['check-postgres', 'libdbd-pg-perl']


def check_postgres():
    """The check_postgres program, installed from apt if need be."""
    found = shutil.which('check_postgres') or shutil.which('check_postgres.pl')
    if found:
        return found
    if os.geteuid() == 0 and shutil.which('apt-get'):
        print('installing %s with apt-get ...' % ' '.join(PACKAGES))
        with open(os.devnull, 'w') as quiet:
            subprocess.check_call(['apt-get', 'install', '-y', '-qq',
                                   '--no-install-recommends'] + PACKAGES,
                                  stdout=quiet, stderr=quiet,
                                  env=dict(os.environ,
                                           DEBIAN_FRONTEND='noninteractive'))
        found = shutil.which('check_postgres')
    if not found:
        sys.exit('bench/peers: no check_postgres (apt-get install %s, or put '
                 'check_postgres.pl on PATH)' % ' '.join(PACKAGES))
    return found


# Our check's sessions beside its first one, at its --max-connections 4.
FLOOR_SESSIONS = 3


def psycopg2_directory():
    """Where the plugin's psycopg2 is (this runs with the same eggs)."""
    import psycopg2
    return os.path.dirname(os.path.dirname(os.path.abspath(psycopg2.__file__)))


def build_incident(cluster):
    """The README's story, in small: tables past their trigger."""
    cluster.execute('CREATE DATABASE "abc-hans"')
    for table, rows in (('object_state', 50000), ('blob_chunk', 20000)):
        cluster.execute('CREATE TABLE %s (id int PRIMARY KEY, state text) '
                        'WITH (autovacuum_enabled = false)' % table,
                        dbname='abc-hans')
        cluster.execute("INSERT INTO %s SELECT g, 'x' FROM "
                        "generate_series(1, %d) g" % (table, rows),
                        dbname='abc-hans')
        cluster.execute('UPDATE %s SET state = state' % table,
                        dbname='abc-hans')


def peer_commands(program, databases):
    """check_postgres' three actions, as a monitoring system would run them
    (it finds psql on PATH: Debian's build refuses --PGBINDIR)."""
    common = [program, '--dbuser=postgres']
    every = ','.join(databases)
    return [
        common + ['--action=txn_idle', '--dbname=postgres',
                  '--warning=15 minutes', '--critical=1 hour'],
        common + ['--action=last_autovacuum', '--dbname=%s' % every,
                  '--warning=1d', '--critical=7d'],
        common + ['--action=last_autoanalyze', '--dbname=%s' % every,
                  '--warning=1d', '--critical=7d'],
    ]


def time_once(commands, env):
    started = time.time()
    with open(os.devnull, 'w') as quiet:
        for command in commands:
            subprocess.call(command, env=env, stdout=quiet, stderr=quiet)
    return time.time() - started


def main():
    args = scale_arguments(__doc__, databases=20, tables=500, runs=11)
    program = check_postgres()
    psql = find_client('psql')
    if not psql:
        sys.exit('bench/peers: check_postgres needs psql, and there is none')
    plugin = os.path.abspath(args.plugin)
    python = open(plugin).readline()[2:].strip()  # the plugin's interpreter
    cluster = Cluster()
    print('building the incident database and %d databases x %d tables ...'
          % (args.databases, args.tables))
    sys.stdout.flush()
    cluster.start()
    holder = None
    try:
        build(cluster, args.databases, args.tables)
        build_incident(cluster)
        holder = cluster.connect('abc-hans', application_name='zodb-app')
        holder.cursor().execute('BEGIN; SELECT txid_current()')
        time.sleep(2)  # let the statistics arrive
        databases = sorted(row[0] for row in cluster.execute(
            'SELECT datname FROM pg_database WHERE datallowconn'))
        env = dict(os.environ, **cluster.libpq_environment())
        env['PATH'] = os.path.dirname(psql) + os.pathsep + env.get('PATH', '')
        contenders = [
            ('check_postgres: txn_idle + last_autovacuum + last_autoanalyze',
             peer_commands(program, databases)),
            ('check_pg_autovacuum --only idle,vacuum,analyze',
             [[plugin, '--only', 'idle,vacuum,analyze']]),
            ('check_pg_autovacuum, full check', [[plugin]]),
            # What no Python check can go below (see floor.py):
            ('floor: the interpreter starting, nothing imported',
             [[python, '-c', 'pass']]),
            ('floor: the interpreter, psycopg2, SELECT 1 in each database, '
             '%d at a time' % FLOOR_SESSIONS,
             [[python, os.path.join(HERE, 'floor.py'), psycopg2_directory(),
               str(FLOOR_SESSIONS)] + databases]),
        ]
        print('\nwhat each says (it must have done the work, not failed):')
        for label, commands in contenders:
            for command in commands:
                done = subprocess.run(command, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT)
                said = done.stdout.decode().splitlines() or ['(nothing)']
                print('  %s' % said[0][:110])
        timings = dict((label, []) for label, _ in contenders)
        for _ in range(args.runs):
            for label, commands in contenders:
                timings[label].append(time_once(commands, env))
        peer = median(timings[contenders[0][0]])
        print('\n%d databases (%d x %d tables, the incident\'s, postgres, '
              'template1), median of %d interleaved runs:\n'
              % (len(databases), args.databases, args.tables, args.runs))
        print('| run | wall time (s) | check_postgres / this |')
        print('| --- | --- | --- |')
        for label, _ in contenders:
            seconds = median(timings[label])
            print('| %s | %.3f | %.1fx |' % (label, seconds, peer / seconds))
        print('\ncheck_postgres %s; machine: %d cores, %s' % (
            subprocess.check_output([program, '--version']).decode().split()[-1],
            os.cpu_count() or 0, ' '.join(os.uname()[::2])))
    finally:
        if holder is not None:
            holder.close()
        cluster.stop()


if __name__ == '__main__':
    main()
