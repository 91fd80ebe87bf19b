"""make demo: the incident this plugin exists for, in a throwaway cluster.

An application opens a transaction at start-up and never finishes it.  The
check says OK before, and CRITICAL while that session sits idle in
transaction.  The real incident ran for 11 hours; the demo uses thresholds
of seconds so that it takes a few.

Usage: bin/py demo/incident.py bin/check_pg_autovacuum
"""
from __future__ import print_function

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests'))

from pgcluster import Cluster  # noqa: E402


def say(text):
    print('\n### ' + text)
    sys.stdout.flush()


def run_check(plugin, cluster, *args):
    command = [plugin, '-H', cluster.host, '-p', str(cluster.port),
               '-U', 'postgres', '-d', 'abc-hans'] + list(args)
    print('$ ' + ' '.join(command))
    sys.stdout.flush()
    returncode = subprocess.call(command)
    print('(exit code %d)' % returncode)


def main(plugin):
    cluster = Cluster()
    say('Starting a throwaway PostgreSQL in %s, port %d'
        % (cluster.base, cluster.port))
    cluster.start()
    try:
        cluster.execute('CREATE DATABASE "abc-hans"')
        cluster.execute('CREATE TABLE object_state (zoid bigint PRIMARY KEY, '
                        'state bytea)', dbname='abc-hans')
        say('Before the application starts: all is well')
        run_check(plugin, cluster, '--idle-warning', '2s', '--idle-critical', '4s')

        say('The application starts; one component opens a transaction '
            'and never finishes it:\n    BEGIN; SELECT txid_current();  '
            '-- and then nothing')
        app = cluster.connect('abc-hans', application_name='zodb-app')
        with app.cursor() as cursor:
            cursor.execute('BEGIN')
            cursor.execute('SELECT txid_current()')
        time.sleep(5)

        say('Five seconds later (thresholds: 2s warning, 4s critical)')
        run_check(plugin, cluster, '-v', '--idle-warning', '2s',
                  '--idle-critical', '4s')
        app.close()
    finally:
        say('Removing the throwaway cluster')
        cluster.stop()


if __name__ == '__main__':
    main(os.path.abspath(sys.argv[1]))
