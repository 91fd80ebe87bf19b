"""Time check_pg_autovacuum against a throwaway cluster of many tables.

Not a test: it prints medians of repeated runs for a human to read and to
copy into docs/benchmarks.md.  Default scale: 50 databases x 2,000 tables, a few of
them with dead rows past the trigger.
"""
from __future__ import print_function

import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests'))

from pgcluster import Cluster  # noqa: E402


def build(cluster, databases, tables, neglected=5):
    """One template database with TABLES tables, copied DATABASES times;
    their names.

    Every table has seen a few writes, below any trigger, as in a live
    database: none can be skipped for being untouched.  NEGLECTED of them
    per database are past their trigger, autovacuum off for them.
    """
    cluster.execute('CREATE DATABASE bench_template')
    cluster.execute("""
        DO $$
        BEGIN
            FOR i IN 1..%d LOOP
                EXECUTE format('CREATE TABLE t%%s (id int, payload text)', i);
                EXECUTE format('INSERT INTO t%%s SELECT g, ''x'' FROM generate_series(1, 20) g', i);
                EXECUTE format('DELETE FROM t%%s WHERE id <= 2', i);
            END LOOP;
        END $$""" % tables, dbname='bench_template')
    # A few busy tables per database: dead rows past the trigger, autovacuum
    # off for them so that they stay that way.
    cluster.execute("""
        DO $$
        BEGIN
            FOR i IN 1..%d LOOP
                EXECUTE format('ALTER TABLE t%%s SET (autovacuum_enabled = false)', i);
                EXECUTE format('INSERT INTO t%%s SELECT g, ''x'' FROM generate_series(1, 1000) g', i);
                EXECUTE format('DELETE FROM t%%s WHERE id <= 500', i);
            END LOOP;
        END $$""" % neglected, dbname='bench_template')
    # 15+ copies a template through the WAL unless told to copy files.
    strategy = ' STRATEGY FILE_COPY' if cluster.server_version_num() >= 150000 else ''
    names = ['bench_%03d' % number for number in range(databases)]
    for name in names:
        cluster.execute('CREATE DATABASE %s TEMPLATE bench_template%s'
                        % (name, strategy))
    cluster.execute('DROP DATABASE bench_template')
    return names


def median(values):
    return sorted(values)[len(values) // 2]


def timed_runs(command, env, runs):
    """Median wall time in seconds and median peak memory in MB."""
    times, peaks = [], []
    with open(os.devnull, 'w') as quiet:
        for _ in range(runs):
            started = time.time()
            process = subprocess.Popen(command, env=env, stdout=quiet)
            _, _, usage = os.wait4(process.pid, 0)
            times.append(time.time() - started)
            peaks.append(usage.ru_maxrss / 1024.0)
    return median(times), median(peaks)


STATEMENT = re.compile(r' check_pg_autovacuum LOG:  duration: ([\d.]+) ms  statement: ')


def server_side(cluster, command, env):
    """Statements one run sends, and their summed duration on the server."""
    start = os.path.getsize(cluster.logfile)
    subprocess.call(command, env=env, stdout=open(os.devnull, 'w'))
    time.sleep(0.5)
    with open(cluster.logfile, 'rb') as log:
        log.seek(start)
        durations = [float(match.group(1)) for match in STATEMENT.finditer(
            log.read().decode('utf-8', 'replace'))]
    return len(durations), sum(durations)


def scale_arguments(description, databases, tables, runs):
    """The options every benchmark here takes, with its own defaults."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--plugin', required=True)
    parser.add_argument('--databases', type=int, default=databases)
    parser.add_argument('--tables', type=int, default=tables)
    parser.add_argument('--runs', type=int, default=runs)
    return parser.parse_args()


def main():
    args = scale_arguments(__doc__, databases=50, tables=2000, runs=7)
    plugin = os.path.abspath(args.plugin)
    # Every statement's duration goes to the server log, with its
    # application name: that is how queries and server time are counted.
    cluster = Cluster(settings={'max_connections': '200', 'autovacuum': 'off',
                                'log_min_duration_statement': '0',
                                'log_line_prefix': "'%m [%p] %a '"})
    print('building %d databases x %d tables ...' % (args.databases, args.tables))
    sys.stdout.flush()
    cluster.start()
    try:
        started = time.time()
        build(cluster, args.databases, args.tables)
        print('built in %.0fs' % (time.time() - started))
        time.sleep(2)  # let the statistics arrive
        env = dict(os.environ, **cluster.libpq_environment())
        python = open(plugin).readline()[2:].strip()
        rows = [
            ('interpreter start-up and imports',
             [python, '-c', 'import sys; sys.argv[1:] = ["-V"]; '
              'exec(open(%r).read())' % plugin]),
            ('full check', [plugin]),
            ('full check without bloat', [plugin, '--skip', 'bloat']),
            ('idle alone', [plugin, '--only', 'idle']),
            ('vacuum alone', [plugin, '--only', 'vacuum']),
            ('analyze alone', [plugin, '--only', 'analyze']),
            ('blind alone', [plugin, '--only', 'blind']),
            ('horizon alone', [plugin, '--only', 'horizon']),
            ('wraparound alone', [plugin, '--only', 'wraparound']),
            ('workers alone', [plugin, '--only', 'workers']),
            ('bloat alone', [plugin, '--only', 'bloat']),
        ]
        print('\n%d databases x %d tables, median of %d runs:\n'
              % (args.databases, args.tables, args.runs))
        print('| run | wall time (s) | peak memory (MB) |')
        print('| --- | --- | --- |')
        for label, command in rows:
            seconds, megabytes = timed_runs(command, env, args.runs)
            print('| %s | %.3f | %.1f |' % (label, seconds, megabytes))
        queries, server_ms = server_side(cluster, [plugin], env)
        print('\na full check sends %d queries, %.0f ms of server time in all'
              % (queries, server_ms))
        print('\nmachine: %d cores, %s' % (os.cpu_count() or 0,
                                          ' '.join(os.uname()[::2])))
    finally:
        cluster.stop()


if __name__ == '__main__':
    main()
