# -*- coding: utf-8 -*-
"""Cancelled autovacuum runs, counted in the server log exactly once."""
from __future__ import unicode_literals

import contextlib
import getpass
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time

import pytest

import logs
from check_pg_autovacuum.connection import Deadline
from check_pg_autovacuum.serverlog import files
from check_pg_autovacuum.serverlog.tail import LogTail
from check_pg_autovacuum.statefile import StateFile
from scenarios import debian_log_closed_to_us, idle_in_transaction, read_only
from scenarios import without_root_powers
from scenarios import server_settings


@pytest.fixture
def log(tmpdir):
    path = tmpdir.join('postgresql.log')
    path.write('')
    return path


@pytest.fixture
def count(plugin, tmpdir):
    """Run the cancels finding on a log; return (exit code, first line)."""
    state = str(tmpdir.join('state', 'position.json'))

    def run(logfile, *args, **kwargs):
        result = plugin('--only', 'cancels', '--logfile', str(logfile),
                        '--state-file', state, *args, **kwargs)
        assert result.stderr == '', result
        return result.returncode, result.stdout.splitlines()[0]
    run.state = state
    return run


def cancels_in(line):
    """The autovacuum_cancels perfdata value of a first line."""
    return int(re.search(r'autovacuum_cancels=(\d+);', line).group(1))


def test_first_run_starts_at_the_end_then_counts_what_is_new(count, log):
    logs.append(log, logs.cancel() * 3)
    assert count(log) == (0, 'AUTOVACUUM OK - started reading %s at its end; '
                          'cancellations count from the next run on|'
                          'autovacuum_cancels=0;1;10;0 autovacuum_lock_skips=0;;;0'
                          % log)
    logs.append(log, logs.cancel() + logs.cancel('abc-hans.public.blob_chunk',
                                                 'analyze'))
    assert count(log) == (1, 'AUTOVACUUM WARNING - 2 autovacuum runs cancelled '
                          'since the last check (object_state 1, blob_chunk 1)|'
                          'autovacuum_cancels=2;1;10;0 autovacuum_lock_skips=0;;;0')
    assert count(log) == (0, 'AUTOVACUUM OK - no autovacuum run cancelled since '
                          'the last check|autovacuum_cancels=0;1;10;0 '
                          'autovacuum_lock_skips=0;;;0')


def test_log_from_start_counts_what_is_there(count, log):
    logs.append(log, logs.cancel() * 11)
    code, line = count(log, '--log-from-start')
    assert code == 2 and cancels_in(line) == 11, line
    assert line.startswith('AUTOVACUUM CRITICAL - 11 autovacuum runs cancelled '
                           'since the last check (object_state 11)')


def test_quoted_words_are_not_a_cancellation(count, log):
    logs.append(log, logs.statement("SELECT 'ERROR:  canceling autovacuum task'"))
    logs.append(log, logs.statement('canceling autovacuum task'))
    logs.append(log, '2026-11-26 03:24:23.564 UTC [1] ERROR:  deadlock detected\n'
                '2026-11-26 03:24:23.564 UTC [1] DETAIL:  ERROR:  canceling '
                'autovacuum task\n')
    code, line = count(log, '--log-from-start')
    assert (code, cancels_in(line)) == (0, 0), line


def test_a_line_still_being_written_waits_for_the_next_run(count, log):
    count(log)
    whole = logs.cancel()
    first_line_end = whole.index('\n')
    logs.append(log, whole[:first_line_end - 4])
    assert cancels_in(count(log)[1]) == 0
    logs.append(log, whole[first_line_end - 4:])
    code, line = count(log)
    assert cancels_in(line) == 1 and '(object_state 1)' in line, line


def test_lock_not_available_is_counted_apart(count, log):
    count(log)
    logs.append(log, logs.skip() * 2 + logs.cancel())
    result = count(log)[1]
    assert result.endswith('autovacuum_cancels=1;1;10;0 autovacuum_lock_skips=2;;;0')


def test_verbose_names_tables_actions_and_times(plugin, count, log):
    count(log)
    logs.append(log, logs.cancel(second=1) + logs.cancel(second=9) +
                logs.cancel('abc-hans.public.blob_chunk', 'analyze', second=5) +
                logs.skip(second=7))
    result = plugin('--only', 'cancels', '--logfile', str(log), '--state-file',
                    count.state, '-v')
    assert result.stdout.splitlines()[1:4] == [
        'abc-hans.public.object_state: autovacuum cancelled 2 times (vacuum 2), '
        'first 2026-11-26 03:24:01.564, last 2026-11-26 03:24:09.564',
        'abc-hans.public.blob_chunk: autovacuum cancelled 1 time (analyze 1), '
        'at 2026-11-26 03:24:05.564',
        'object_state: autovacuum skipped 1 time, lock not available, at '
        '2026-11-26 03:24:07.564']


def test_rotation_by_rename_loses_nothing(count, log, tmpdir):
    pattern = str(tmpdir.join('postgresql.log*'))
    count(pattern)
    logs.append(log, logs.cancel())
    rotated = tmpdir.join('postgresql.log.1')
    log.rename(rotated)
    # The server still writes to the renamed file until it reopens its log.
    logs.append(rotated, logs.cancel())
    logs.append(log, logs.cancel() * 2)  # the new file, created by rotation
    assert cancels_in(count(pattern)[1]) == 4
    logs.append(log, logs.cancel())
    assert cancels_in(count(pattern)[1]) == 1


def test_two_rotations_and_compressed_ones_between_runs(count, tmpdir):
    pattern = str(tmpdir.join('postgresql-*.log*'))
    first = tmpdir.join('postgresql-0300.log')
    logs.append(first, logs.cancel())
    count(pattern)
    logs.append(first, logs.cancel())
    second, third = tmpdir.join('postgresql-0400.log'), tmpdir.join('postgresql-0500.log')
    logs.append(second, logs.cancel() * 2)
    os.utime(str(second), (os.path.getmtime(str(first)) + 10,) * 2)
    logs.append(third, logs.cancel() * 3)
    os.utime(str(third), (os.path.getmtime(str(first)) + 20,) * 2)
    tmpdir.join('postgresql-0200.log.gz').write_binary(b'\x1f\x8b\x08garbage')
    assert cancels_in(count(pattern)[1]) == 6
    assert cancels_in(count(pattern)[1]) == 0


def test_copytruncate_that_regrew_past_the_old_offset(count, log, tmpdir):
    pattern = str(tmpdir.join('postgresql.log*'))
    logs.append(log, logs.cancel() * 2)
    count(pattern)
    logs.append(log, logs.cancel())  # written before the copy
    shutil.copyfile(str(log), str(tmpdir.join('postgresql.log.1')))
    open(str(log), 'w').close()
    logs.append(log, logs.cancel('abc-hans.public.blob_chunk') * 4)
    assert cancels_in(count(pattern)[1]) == 5
    assert cancels_in(count(pattern)[1]) == 0


def test_truncated_in_place_without_a_copy_reads_the_new_content(count, log):
    logs.append(log, logs.cancel(second=1) * 2)
    count(log)
    open(str(log), 'w').close()
    logs.append(log, logs.cancel(second=2) * 3)
    assert cancels_in(count(log)[1]) == 3


def position(offset=0, mtime=0):
    return ('{"format": 1, "position": {"path": "x", "device": 1, "inode": 1, '
            '"offset": %s, "mtime": %s, "fingerprint": ""}}'
            % (offset, mtime)).encode('ascii')


@pytest.mark.parametrize('content', [
    b'', b'{"format": 1', b'[1, 2]', b'{"format": 1, "position": {"path": 1}}',
    b'\xff\xfe garbage', b'[' * 100000, position(mtime='NaN'),
    position(offset=1 << 64), b' ' * (1 << 20) + position()], ids=[
    'empty', 'cut short', 'a list', 'wrong types', 'not UTF-8', 'nested deep',
    'NaN mtime', 'offset past lseek', 'too big'])
def test_corrupt_state_file_is_reported_once_and_moved_aside(count, log, content):
    count(log)
    with open(count.state, 'wb') as state:
        state.write(content)
    logs.append(log, logs.cancel())
    assert count(log) == (3, 'AUTOVACUUM UNKNOWN - server log: state file %s was '
                          'corrupt; moved it to %s.corrupt and started afresh at '
                          'the end of the log' % (count.state, count.state))
    assert os.path.exists(count.state + '.corrupt')
    logs.append(log, logs.cancel())
    assert cancels_in(count(log)[1]) == 1
    with open(count.state) as state:
        assert json.load(state)['position']['offset'] == os.path.getsize(str(log))


def test_missing_log_and_a_glob_without_match_are_unknown(count, tmpdir):
    missing = str(tmpdir.join('nope.log'))
    assert count(missing) == (3, 'AUTOVACUUM UNKNOWN - server log: cannot read '
                              'log file %s: No such file or directory' % missing)
    pattern = str(tmpdir.join('nope-*.log'))
    assert count(pattern) == (3, 'AUTOVACUUM UNKNOWN - server log: no log file '
                              'matches %s: check the path, and that user %s may '
                              'list its directory' % (pattern, getpass.getuser()))


def test_a_directory_is_not_a_log(count, tmpdir):
    assert count(str(tmpdir)) == (3, 'AUTOVACUUM UNKNOWN - server log: cannot '
                                  'read log file %s: not a regular file' % tmpdir)


def test_binary_garbage_nul_bytes_and_long_lines_do_no_harm(count, log):
    count(log)
    logs.append(log, b'\xff\xfe\x00\x00 garbage \x00\n' + b'x' * (3 << 20) + b'\n')
    logs.append(log, logs.cancel())
    logs.append(log, 'ünïcode 🥐 canceling autovacuum task\n')
    assert cancels_in(count(log)[1]) == 1


@pytest.mark.slow
def test_a_100_mb_line_is_passed_not_held(count, log):
    count(log)
    with open(str(log), 'ab') as out:
        out.write(logs.cancel().encode('utf-8'))
        for _ in range(100):
            out.write(b"ERROR:  canceling autovacuum task " * ((1 << 20) // 34))
        out.write(b'\n')
        out.write(logs.cancel().encode('utf-8'))
    assert os.path.getsize(str(log)) > 100 * 10 ** 6
    # The cancellations on either side count; the words inside the line
    # are one line's, not a hundred thousand cancellations.
    assert cancels_in(count(log, '-t', '20')[1]) == 2


def test_csvlog_and_jsonlog(count, tmpdir):
    csv_log = tmpdir.join('postgresql.csv')
    logs.append(csv_log, logs.csv_cancel() * 2 + logs.csv_cancel(
        backend_type='client backend', message='canceling statement due to user request'))
    assert cancels_in(count(csv_log, '--log-from-start')[1]) == 2
    json_log = tmpdir.join('postgresql.json')
    logs.append(json_log, logs.json_cancel() * 3)
    code, line = count(json_log, '--log-from-start')
    assert cancels_in(line) == 3 and '(object_state 3)' in line, line


def test_localized_messages_match_by_sqlstate_and_backend_type(count, tmpdir, cluster):
    csv_log = tmpdir.join('german.csv')
    logs.append(csv_log, logs.csv_cancel(message='storniere Autovacuum-Aufgabe'))
    assert cancels_in(count(csv_log, '--log-from-start')[1]) == 1
    stderr_log = tmpdir.join('german.log')
    logs.append(stderr_log, '2026-11-26 03:24:23.564 UTC [9201] 57014 autovacuum '
                'worker: FEHLER:  storniere Autovacuum-Aufgabe\n')
    with server_settings(cluster, log_line_prefix="'%m [%p] %e %b: '"):
        code, line = count(stderr_log, '--log-from-start')
    assert cancels_in(line) == 1, line


def test_runs_at_the_same_time_count_each_line_once(plugin, count, log):
    count(log)
    # Enough to keep each run busy for a while, so that they overlap.
    logs.append(log, logs.cancel() * 20000)
    runs = [plugin.start('--only', 'cancels', '--logfile', str(log),
                         '--state-file', count.state) for _ in range(20)]
    outputs = [run.communicate()[0].decode('utf-8') for run in runs]
    assert all(run.returncode in (0, 2) for run in runs), outputs
    assert sum(cancels_in(output) for output in outputs) == 20000, outputs
    # Chunks end between entries: every cancellation kept its table.
    assert [output for output in outputs if cancels_in(output)][0].startswith(
        'AUTOVACUUM CRITICAL - 20000 autovacuum runs cancelled since the last '
        'check (object_state 20000)|')


@pytest.mark.slow
def test_killed_at_any_instant_the_state_is_old_or_new_never_half(plugin, count,
                                                                   log):
    entry = logs.cancel()
    count(log)
    offsets = [0]
    random.seed(4711)
    for _ in range(25):
        logs.append(log, entry * 50)
        run = plugin.start('--only', 'cancels', '--logfile', str(log),
                           '--state-file', count.state)
        time.sleep(random.uniform(0, 0.25))
        os.kill(run.pid, signal.SIGKILL)
        run.communicate()
        with open(count.state) as state:
            offset = json.load(state)['position']['offset']
        # Old or new, and always at the end of a whole entry.
        assert offset >= offsets[-1] and offset % len(entry.encode()) == 0
        offsets.append(offset)
    unread = (os.path.getsize(str(log)) - offsets[-1]) // len(entry.encode())
    assert cancels_in(count(log)[1]) == unread
    assert cancels_in(count(log)[1]) == 0


def test_a_stderr_line_with_commas_is_not_csv(count, log):
    logs.append(log, '2026-11-26 04:17:52.123 UTC [27000] LOG:  database system '
                'was shut down at 2026-11-26 04:17:50 UTC, or so\n')
    logs.append(log, logs.cancel())
    assert cancels_in(count(log, '--log-from-start')[1]) == 1


def test_state_file_is_private(count, log):
    count(log)
    assert os.stat(count.state).st_mode & 0o777 == 0o600


def test_a_read_only_state_directory_is_unknown_and_loses_nothing(count, log):
    count(log)
    logs.append(log, logs.cancel())
    with read_only(os.path.dirname(count.state)):
        status, line = count(log)
    assert status == 3
    assert re.match(r'AUTOVACUUM UNKNOWN - server log: cannot (open lock file|'
                    r'write state file) %s(\.lock)?: (Read-only file system|'
                    r'Permission denied) \(what to do: give --state-dir a '
                    r'directory that user %s may write\)$'
                    % (re.escape(count.state), getpass.getuser()), line), line
    # Not saved, so not counted: the next run counts it, once.
    assert cancels_in(count(log)[1]) == 1
    assert cancels_in(count(log)[1]) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason='only root can plant a link as '
                    'another user')
def test_a_state_file_linked_by_another_user_is_refused(count, log, tmpdir):
    target = tmpdir.join('elsewhere.json')
    target.write('{}')
    os.makedirs(os.path.dirname(count.state))
    os.symlink(str(target), count.state)
    os.lchown(count.state, 65534, 65534)  # nobody's
    assert count(log) == (3, 'AUTOVACUUM UNKNOWN - server log: refusing state file '
                          '%s: a symbolic link owned by another user' % count.state)
    assert target.read() == '{}'


def test_an_unreadable_log_is_named_next_to_a_critical_idle_session(
        plugin, cluster, log):
    """Debian's /var/log/postgresql/postgresql-15-main.log, checked by a
    user outside group adm, during the incident: CRITICAL stands."""
    wrapper = debian_log_closed_to_us(str(log))
    # Over TCP: the cluster's socket directory is closed to such a user too.
    env = {'PGHOST': '127.0.0.1'}
    glob = str(log.dirpath('postgresql*.log'))
    with idle_in_transaction(cluster, idle_for=2.1) as pid:
        idle_since = time.time() - 2.1
        result = plugin('--logfile', glob, '--idle-critical', '1', '-v',
                        env=env, wrapper=wrapper)
        idle_at_most = time.time() - idle_since
    assert result.returncode == 2, result
    assert result.stderr == '', result
    first = result.stdout.splitlines()[0].split('|')[0]
    idle = (r'1 session idle in transaction, longest (\d+)s '
            r'\(pid %d, db postgres\)' % pid)
    if os.geteuid() == 0:
        why = (r'Permission denied, user root is not in its group adm \(what '
               r'to do: adduser root adm, then restart the daemon that runs '
               r'the check; or --log-via-sql, which needs pg_monitor and '
               r'EXECUTE on pg_read_binary_file\)')
    else:
        why = r'Permission denied, mode 0000 \(what to do: have the server'
    match = re.match(r'AUTOVACUUM CRITICAL - %s / server log: cannot read log '
                     r'file %s: %s' % (idle, re.escape(str(log)), why), first)
    assert match, first
    # A loaded machine may take seconds to start the plugin.
    assert 2 <= int(match.group(1)) <= idle_at_most + 1, (idle_at_most, first)
    assert 'Traceback' not in result.stdout


def test_a_log_in_a_directory_closed_to_us_says_so(count, tmpdir):
    closed = tmpdir.mkdir('closed')
    closed.join('postgresql.log').write('')
    closed.chmod(0)
    try:
        status, line = count(closed.join('postgresql.log'),
                             env={'PGHOST': '127.0.0.1'},
                             wrapper=without_root_powers())
    finally:
        closed.chmod(0o700)
    assert (status, line.split('|')[0]) == (
        3, 'AUTOVACUUM UNKNOWN - server log: cannot read log file %s: '
        'Permission denied (what to do: let user %s enter %s, or --log-via-sql, '
        'which needs pg_monitor and EXECUTE on pg_read_binary_file)'
        % (closed.join('postgresql.log'), getpass.getuser(), closed))


def test_a_log_rotated_away_between_listing_and_reading_is_listed_again(
        tmpdir):
    """The server's log collector renames and creates files at any time."""
    live = tmpdir.join('postgresql-2.log')
    live.write('')
    first = files.LocalLogFiles(str(tmpdir.join('postgresql-*.log')))
    listed = first.list()
    live.remove()
    with pytest.raises(files.LogFileVanished):
        first.open(listed[-1])
    tmpdir.join('postgresql-3.log').write('a line\n')

    class ListedTooEarly(files.LocalLogFiles):
        """The listing a rotation overtakes: made before the rename."""
        stale = [listed]

        def list(self):
            return self.stale.pop() if self.stale else \
                super(ListedTooEarly, self).list()

    state = StateFile(str(tmpdir.join('position.json')), lambda state: None,
                      1 << 16)
    reading = LogTail(ListedTooEarly(first.pattern), state,
                      Deadline(10)).read_new()
    assert 'postgresql-3.log' in reading.headline
