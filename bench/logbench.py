"""The log finding's throughput on a generated log, next to grep -c.

Writes a stderr log of --megabytes (default 1024) in the format of
log_line_prefix '%m [%p] %q%u@%d ': statements, checkpoints, autovacuum
reports and, now and then, a cancelled autovacuum.  Then times
``grep -c 'canceling autovacuum task'`` and the plugin's first full read
(--log-from-start) of the same file, with the file in the page cache for
both.  Prints MB/s, the plugin's peak memory, and checks that both counted
the same.
"""
from __future__ import print_function

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests'))

import logs  # noqa: E402
from pgcluster import Cluster  # noqa: E402


def block(cancels_per_block=2):
    """About 1 MB of log lines, as a busy server writes them."""
    lines = []
    size = 0
    number = 0
    while size < (1 << 20):
        number += 1
        if number % 2000 == 0 and cancels_per_block:
            line = logs.cancel()
        elif number % 500 == 0:
            line = ('2026-11-26 03:24:23.564 UTC [9300] LOG:  automatic vacuum of '
                    'table "abc-hans.public.t%d": index scans: 1\n\tpages: 0 '
                    'removed, 120 remain\n' % number)
        else:
            line = logs.statement("UPDATE object_state SET state = 'x' WHERE "
                                  "zoid = %d" % number)
        lines.append(line)
        size += len(line)
    return ''.join(lines).encode('utf-8')


def timed(command, env=None):
    started = time.time()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read().decode('utf-8')
    return time.time() - started, usage.ru_maxrss / 1024.0, output


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--plugin', required=True)
    parser.add_argument('--megabytes', type=int, default=1024)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix='cpa-logbench-')
    path = os.path.join(directory, 'postgresql.log')
    one_block = block()
    with open(path, 'wb') as log:
        for _ in range(args.megabytes):
            log.write(one_block)
    megabytes = os.path.getsize(path) / float(1 << 20)
    cluster = Cluster()
    cluster.start()
    try:
        env = dict(os.environ, **cluster.libpq_environment())
        subprocess.call(['cat', path], stdout=open(os.devnull, 'w'))  # cache it
        grep_seconds, _, grep_output = timed(
            ['grep', '-c', 'canceling autovacuum task', path])
        plugin_seconds, plugin_mb, plugin_output = timed(
            [os.path.abspath(args.plugin), '--only', 'cancels', '--logfile', path,
             '--state-file', os.path.join(directory, 'state.json'),
             '--log-from-start', '-t', '600'], env)
        counted = re.search(r'autovacuum_cancels=(\d+)', plugin_output).group(1)
        print('%.0f MB log, page-cached:\n' % megabytes)
        print('| reader | seconds | MB/s | peak memory (MB) | cancellations |')
        print('| --- | --- | --- | --- | --- |')
        print('| grep -c | %.2f | %.0f | | %s |' % (
            grep_seconds, megabytes / grep_seconds, grep_output.strip()))
        print('| check_pg_autovacuum, first full read | %.2f | %.0f | %.1f | %s |' % (
            plugin_seconds, megabytes / plugin_seconds, plugin_mb, counted))
        # An incremental run costs what was added, not the file's size.
        with open(path, 'ab') as log:
            log.write(one_block)
        increment_seconds, _, _ = timed(
            [os.path.abspath(args.plugin), '--only', 'cancels', '--logfile', path,
             '--state-file', os.path.join(directory, 'state.json')], env)
        print('| check_pg_autovacuum, next run after 1 MB more | %.2f | | | |'
              % increment_seconds)
        # A hostile line: memory stays flat, the line is passed in chunks.
        with open(path, 'ab') as log:
            for _ in range(100):
                log.write(b'x' * (1 << 20))
            log.write(b'\n')
        long_seconds, long_mb, _ = timed(
            [os.path.abspath(args.plugin), '--only', 'cancels', '--logfile', path,
             '--state-file', os.path.join(directory, 'state.json'), '-t', '600'],
            env)
        print('| check_pg_autovacuum, next run after one 100 MB line | %.2f | %.0f '
              '| %.1f | |' % (long_seconds, 100 / long_seconds, long_mb))
    finally:
        cluster.stop()
        os.unlink(path)
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)


if __name__ == '__main__':
    main()
