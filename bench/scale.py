"""Many databases, most of them quiet: what one check costs the server.

Not a test: it prints medians for a human to read and to copy into
docs/benchmarks.md.  The cluster: DATABASES databases of TABLES tables each
(every table written a little, below any trigger), and with
--incident the README's story in one more database (a session idle in
transaction, tables past their trigger, written every step).  Between two
checks a share of the databases (--written) gets a row inserted, as a
hosting server's customers do; then each contender checks once.

Each contender runs in a phase of its own -- its first run, then --steps
steady ones -- because every check's connections are sessions the next
check of ours sees: a peer that connects everywhere would make every
database look visited.  Measured per check: wall time; server CPU, the
postmaster's and its children's (exited ones included, /proc's cutime and
cstime), which also holds what the server's own background processes did
meanwhile; connections, from pg_stat_database.sessions.

Peers, as a monitoring system runs them for the same questions (sessions
idle in transaction; each table's last autovacuum and autoanalyze in every
database): check_postgres txn_idle + last_autovacuum + last_autoanalyze and
check_pgactivity oldest_idlexact + last_vacuum + last_analyze, from the
Debian packages check-postgres and check-pgactivity (installed with apt-get
when run as root and missing).
"""
from __future__ import print_function

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests'))
sys.path.insert(0, HERE)

from bench import build, median  # noqa: E402
from peers import build_incident, check_postgres, peer_commands  # noqa: E402
from pgcluster import Cluster, find_client  # noqa: E402

CHECK_PGACTIVITY = '/usr/lib/nagios/plugins/check_pgactivity'
TICKS = os.sysconf('SC_CLK_TCK')


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--plugin', required=True)
    parser.add_argument('--databases', type=int, default=300)
    parser.add_argument('--tables', type=int, default=50)
    parser.add_argument('--written', type=float, default=0.1,
                        help='share of the databases written between checks')
    parser.add_argument('--steps', type=int, default=5,
                        help='steady-state checks per contender')
    parser.add_argument('--incident', action='store_true',
                        help="one more database with the README's incident")
    parser.add_argument('--no-peers', action='store_true')
    parser.add_argument('--debian-plugin', metavar='PATH',
                        help='the plugin as the Debian package runs it '
                        "(Debian's python3 and its nagiosplugin, psycopg2)")
    return parser.parse_args()


def check_pgactivity():
    if not os.path.exists(CHECK_PGACTIVITY) and os.geteuid() == 0:
        subprocess.check_call(['apt-get', 'install', '-y', '-qq',
                               '--no-install-recommends', 'check-pgactivity'],
                              stdout=subprocess.DEVNULL,
                              env=dict(os.environ,
                                       DEBIAN_FRONTEND='noninteractive'))
    return CHECK_PGACTIVITY if os.path.exists(CHECK_PGACTIVITY) else None


def server_cpu(cluster):
    """CPU seconds of the postmaster and its children, living and exited."""
    with open(os.path.join(cluster.datadir, 'postmaster.pid')) as pidfile:
        postmaster = pidfile.readline().strip()
    ticks = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as stat:
                fields = stat.read().rsplit(')', 1)[1].split()
        except (IOError, OSError):
            continue  # gone meanwhile
        # After the name: state ppid ...; utime stime cutime cstime are the
        # 12th to 15th of those.
        if pid == postmaster:
            ticks += sum(int(f) for f in fields[11:15])
        elif fields[1] == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return float(ticks) / TICKS


def sessions_settled(watcher, resident=0):
    """pg_stat_database's sessions, summed, once no client is connected but
    WATCHER (one connection kept for asking: each new one would count) and
    RESIDENT ones (the incident's), and the counter stands still (a backend
    counts its session as it exits)."""
    last = None
    with watcher.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT (SELECT sum(sessions) FROM pg_stat_database), "
                "(SELECT count(*) FROM pg_stat_activity "
                " WHERE backend_type = 'client backend')")
            total, clients = cursor.fetchone()
            if clients == 1 + resident and total == last:
                return int(total)
            last = total
            time.sleep(0.3)


def write_some(cluster, names, share, step):
    """One row into t1 of every database whose turn it is this step."""
    every = max(1, int(round(1 / share))) if share > 0 else None
    if every is None:
        return []
    written = [name for number, name in enumerate(names)
               if (number + step) % every == 0]
    for name in written:
        cluster.execute("INSERT INTO t1 VALUES (0, 'y')", dbname=name)
    return written


def measure(cluster, commands, env, resident):
    """Wall time, server CPU and connections of one check (COMMANDS)."""
    # In template1, which no contender reads: a session of ours in a
    # database would be a stranger's to the next check of ours there.
    watcher = cluster.connect('template1')
    try:
        return _measure(cluster, watcher, commands, env, resident)
    finally:
        watcher.close()


def _measure(cluster, watcher, commands, env, resident):
    before_sessions = sessions_settled(watcher, resident)
    before_cpu = server_cpu(cluster)
    started = time.time()
    for command in commands:
        subprocess.call(command, env=env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
    wall = time.time() - started
    after_sessions = sessions_settled(watcher, resident)
    cpu = server_cpu(cluster) - before_cpu
    return wall, cpu, after_sessions - before_sessions


def phase(cluster, names, args, commands, env, busy):
    """The first run, then the median of the steady ones."""
    resident = 1 if busy else 0
    first = measure(cluster, commands, env, resident)
    steady = []
    for step in range(args.steps):
        write_some(cluster, names, args.written, step)
        if busy:
            cluster.execute('UPDATE object_state SET state = state '
                            'WHERE id <= 100', dbname='abc-hans')
        time.sleep(1.5)  # the writers' counts flushed, as a minute would
        steady.append(measure(cluster, commands, env, resident))
    return first, [median([s[i] for s in steady]) for i in range(3)]


def what_it_says(commands, env):
    """The first line of each command, and what our -v says of the
    databases read: a contender that failed must not look fast."""
    said = []
    for command in commands:
        ours = 'check_pg_autovacuum' in os.path.basename(command[0])
        done = subprocess.run(command + (['-v'] if ours else []), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = done.stdout.decode('utf-8', 'replace').splitlines() or ['']
        said.append(lines[0][:100])
        said += [line for line in lines if line.startswith('databases: ')]
    return said


def contenders(args, plugin, state, databases):
    ours = [
        ('check_pg_autovacuum, full check', [[plugin]]),
        ('check_pg_autovacuum --only idle,vacuum,analyze',
         [[plugin, '--only', 'idle,vacuum,analyze']]),
        ('check_pg_autovacuum --only idle,vacuum,analyze --revisit 0 '
         '(every database read, as before)',
         [[plugin, '--only', 'idle,vacuum,analyze', '--revisit', '0']]),
    ]
    if args.debian_plugin:
        # Without this machine's site-packages .pth files, which cost the
        # interpreter above some 30 ms at every start.
        ours += [
            ("check_pg_autovacuum, full check, Debian's python3",
             [[args.debian_plugin]]),
            ("check_pg_autovacuum --only idle,vacuum,analyze, Debian's python3",
             [[args.debian_plugin, '--only', 'idle,vacuum,analyze']]),
        ]
    if args.no_peers:
        return ours
    peers = [('check_postgres txn_idle + last_autovacuum + last_autoanalyze',
              peer_commands(check_postgres(), databases))]
    pgactivity = check_pgactivity()
    if pgactivity:
        common = [pgactivity, '-U', 'postgres', '-d', 'postgres',
                  '--status-file', os.path.join(state, 'pgactivity.data')]
        peers.append((
            'check_pgactivity oldest_idlexact + last_vacuum + last_analyze',
            [common + ['-s', 'oldest_idlexact', '-w', '15m', '-c', '1h'],
             common + ['-s', 'last_vacuum', '-w', '1d', '-c', '7d'],
             common + ['-s', 'last_analyze', '-w', '1d', '-c', '7d']]))
    return ours + peers


def main():
    args = arguments()
    plugin = os.path.abspath(args.plugin)
    psql = find_client('psql')
    # Autovacuum as a server runs it: a worker into each database once a
    # minute, not the tests' once a second.
    cluster = Cluster(settings={'max_connections': '400',
                                'autovacuum_naptime': '60'})
    state = tempfile.mkdtemp(prefix='scale-')
    print('building %d databases x %d tables%s ...' % (
        args.databases, args.tables, ' and the incident' if args.incident else ''))
    sys.stdout.flush()
    cluster.start()
    holder = None
    try:
        started = time.time()
        # Every table written a little, below its trigger; none neglected.
        names = build(cluster, args.databases, args.tables, neglected=0)
        # In use for a while: analyzed, and vacuumed since (pg_statistic
        # too, which the analyze filled).  A fresh copy of a template has no
        # statistics, and the blind finding says so of its big catalogs.
        for name in names:
            cluster.execute('ANALYZE', dbname=name)
            cluster.execute('VACUUM', dbname=name)
        if args.incident:
            build_incident(cluster)
            holder = cluster.connect('abc-hans', application_name='zodb-app')
            holder.cursor().execute('BEGIN; SELECT txid_current()')
        print('built in %.0fs' % (time.time() - started))
        databases = sorted(row[0] for row in cluster.execute(
            'SELECT datname FROM pg_database WHERE datallowconn'))
        env = dict(os.environ, **cluster.libpq_environment())
        if psql:
            env['PATH'] = os.path.dirname(psql) + os.pathsep + env['PATH']
        results = []
        for number, (label, commands) in enumerate(
                contenders(args, plugin, state, databases)):
            env['XDG_STATE_HOME'] = os.path.join(state, 'ours-%d' % number)
            print('  %s ...' % label)
            sys.stdout.flush()
            results.append((label, phase(cluster, names, args, commands, env,
                                         args.incident)))
            for line in what_it_says(commands, env):
                print('    %s' % line)
        print('\n%d databases (%d x %d tables%s, postgres, template1); %d%% '
              'of them written between checks; median of %d steady checks:\n'
              % (len(databases), args.databases, args.tables,
                 ', the incident\'s' if args.incident else '',
                 args.written * 100, args.steps))
        print('| check | wall, first run (s) | wall (s) | server CPU per check (s) '
              '| connections per check |')
        print('| --- | --- | --- | --- | --- |')
        for label, (first, steady) in results:
            print('| %s | %.2f | %.2f | %.2f | %d |' % (
                label, first[0], steady[0], steady[1], steady[2]))
        print('\nPostgreSQL %s; machine: %d cores, %s' % (
            cluster.execute('SHOW server_version')[0][0],
            os.cpu_count() or 0, ' '.join(os.uname()[::2])))
    finally:
        if holder is not None:
            holder.close()
        cluster.stop()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == '__main__':
    main()
