"""What a check reads of a big bloated table: first run and steady state.

Not a test: it prints, for a human to read and copy into docs/bloat.md, the
heap blocks of the table each check touched (read or found in the cache,
as pg_statio_user_tables counts them) and what the check said of it.  The
table is the incident's: every row updated twice while a transaction was
open, so that VACUUM could mark no page all-visible and pgstattuple_approx
has to read all of it; pgstattuple installed; the memory kept between runs.
"""
from __future__ import print_function

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests'))

from pgcluster import Cluster  # noqa: E402
from scenarios import heap_blocks_touched, table_no_page_all_visible  # noqa: E402

ROWS_PER_MB = 60000 / 8.9  # three versions of each narrow row, measured


def checks(cluster, plugin, state_dir, runs, options):
    """RUNS checks with OPTIONS and one state directory: per run the MB of
    the table touched, the seconds taken, and how -v words the table."""
    env = dict(os.environ, XDG_STATE_HOME=state_dir,
               **cluster.libpq_environment())
    rows = []
    for _ in range(runs):
        before = heap_blocks_touched(cluster, 'postgres', 'incident')
        started = time.time()
        output = subprocess.Popen(
            [plugin, '--only', 'bloat', '--bloat-min-size', '1MB', '-v'] +
            options, env=env,
            stdout=subprocess.PIPE).communicate()[0].decode('utf-8')
        seconds = time.time() - started
        touched = heap_blocks_touched(cluster, 'postgres', 'incident') - before
        said = re.search(r'^postgres\.public\.incident (.*)$', output, re.M)
        rows.append((touched * 8192 / 1048576.0, seconds,
                     said.group(1) if said else output.splitlines()[0]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--plugin', required=True)
    parser.add_argument('--megabytes', type=int, default=1100)
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    plugin = os.path.abspath(args.plugin)
    cluster = Cluster(settings={'autovacuum': 'off'})
    cluster.start()
    try:
        print('building a %d MB table, no page all-visible ...' % args.megabytes)
        sys.stdout.flush()
        cluster.execute('CREATE EXTENSION pgstattuple')
        blocks = table_no_page_all_visible(
            cluster, 'postgres', 'incident',
            rows=int(args.megabytes * ROWS_PER_MB))
        print('the table: %.0f MB\n' % (blocks * 8192 / 1048576.0))
        print('| options | run | table read (MB) | wall (s) | -v says |')
        print('| --- | --- | --- | --- | --- |')
        for options in ([], ['--bloat-read-limit', '2GB'],
                        ['--bloat-read-limit', '2GB',
                         '--bloat-measure-every', '0']):
            state_dir = tempfile.mkdtemp(prefix='cpa-bench-state-')
            try:
                for number, (megabytes, seconds, said) in enumerate(
                        checks(cluster, plugin, state_dir, args.runs, options)):
                    print('| %s | %d | %.0f | %.2f | %s |' % (
                        ' '.join(options) or 'defaults', number + 1, megabytes,
                        seconds, said))
            finally:
                shutil.rmtree(state_dir)
        print('\nmachine: %d cores, %s' % (os.cpu_count() or 0,
                                          ' '.join(os.uname()[::2])))
    finally:
        cluster.stop()


if __name__ == '__main__':
    main()
