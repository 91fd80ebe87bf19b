# -*- coding: utf-8 -*-
"""Sessions idle in transaction, found on a real server, judged, and worded."""
from __future__ import unicode_literals

import re

from scenarios import database, idle_in_transaction, role

# Both tests and plugin round idle times to whole seconds; the exact value
# of a live idle time is not knowable in advance, so these patterns pin
# everything else.
IDLE_LINE = ('AUTOVACUUM {state} - {count} idle in transaction, longest '
             '(?P<longest>\\d+)s \\(pid {pid}, db {db}\\)\\|'
             'idle_in_transaction={n};;;0 '
             'idle_in_transaction_max=(?P<perf>\\d+)s;{warning};{critical};0\n$')


def idle_check(plugin, *args, **kwargs):
    """The idle finding alone, so that other findings don't enter the line."""
    return plugin('--only', 'idle', *args, **kwargs)


def assert_idle_line(output, state, pid, count='1 session', n=1,
                     db='postgres', warning='900', critical='3600'):
    pattern = IDLE_LINE.format(state=state, count=count, pid=pid, db=db, n=n,
                               warning=warning, critical=critical)
    match = re.match(pattern, output)
    assert match, output
    assert match.group('longest') == match.group('perf')
    return int(match.group('longest'))


def test_no_session_idle_in_transaction_is_ok(plugin):
    result = idle_check(plugin)
    assert result.returncode == 0, result
    assert result.stdout == (
        'AUTOVACUUM OK - no session idle in transaction|'
        'idle_in_transaction=0;;;0 idle_in_transaction_max=0s;900;3600;0\n')


def test_idle_below_warning_is_ok_but_counted(plugin, cluster):
    with idle_in_transaction(cluster) as pid:
        result = idle_check(plugin)
    assert result.returncode == 0, result
    assert assert_idle_line(result.stdout, 'OK', pid) < 900


def test_idle_past_warning_is_warning(plugin, cluster):
    with idle_in_transaction(cluster, idle_for=1.1) as pid:
        result = idle_check(plugin, '--idle-warning', '0', '--idle-critical', '1h')
    assert result.returncode == 1, result
    assert assert_idle_line(result.stdout, 'WARNING', pid,
                            warning='0', critical='3600') >= 1


def test_idle_past_critical_is_critical(plugin, cluster):
    with idle_in_transaction(cluster, idle_for=1.1) as pid:
        result = idle_check(plugin, '--idle-warning', '0', '--idle-critical', '0s')
    assert result.returncode == 2, result
    assert_idle_line(result.stdout, 'CRITICAL', pid, warning='0', critical='0')


def test_aborted_transaction_counts_and_longest_is_named(plugin, cluster):
    with idle_in_transaction(cluster, aborted=True, idle_for=1.1) as oldest:
        with idle_in_transaction(cluster):
            result = idle_check(plugin, '--idle-warning', '1m', '--idle-critical', '0')
    assert result.returncode == 2, result
    assert_idle_line(result.stdout, 'CRITICAL', oldest, count='2 sessions',
                     n=2, warning='60', critical='0')


def test_range_thresholds_with_durations(plugin, cluster):
    # Inside @1:1h is CRITICAL: a range, not just an upper bound.
    with idle_in_transaction(cluster, idle_for=1.1) as pid:
        result = idle_check(plugin, '--idle-warning', '~:0', '--idle-critical', '@1:1h')
    assert result.returncode == 2, result
    assert_idle_line(result.stdout, 'CRITICAL', pid, warning='~:0',
                     critical='@1:3600')


def test_verbose_names_every_session(plugin, cluster):
    with idle_in_transaction(cluster, application_name='zodb-app',
                             last_query="SELECT 'x' AS " + 'a' * 100,
                             idle_for=1.1) as first:
        with idle_in_transaction(cluster, application_name='',
                                 aborted=True) as second:
            result = idle_check(plugin, '-v', '--idle-warning', '0')
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    status, perfdata = lines[0].split('|')
    assert status == ('AUTOVACUUM WARNING - 2 sessions idle in transaction, '
                      'longest %s (pid %d, db postgres)'
                      % (re.search(r'longest (\S+) ', status).group(1), first))
    assert re.match(
        r"pid %d db postgres user postgres app zodb-app client local: "
        r"idle in transaction for \d+s, transaction open \d+s; holds a "
        r"transaction ID: vacuum cannot remove rows that died since; "
        r"last query: SELECT 'x' AS a{63}\.\.\.$" % first, lines[1]), lines[1]
    # A failed transaction has let go of its transaction ID, snapshot, locks.
    assert re.match(
        r"pid %d db postgres user postgres app - client local: "
        r"idle in transaction \(aborted\) for \d+s; holds no lock, snapshot "
        r"or transaction ID: it keeps no dead rows; last query: SELECT 1/0$"
        % second,
        lines[2]), lines[2]
    assert re.match(r'idle_in_transaction=2;;;0 '
                    r'idle_in_transaction_max=\d+s;0;3600;0$', perfdata), perfdata
    assert len(lines) == 3


def test_non_ascii_names_print_into_a_pipe_without_locale(plugin, cluster):
    name = 'bäckerei-ünïcode 🥐'
    with database(cluster, name):
        with idle_in_transaction(cluster, dbname=name,
                                 last_query="SELECT 'Grüße 🥐'") as pid:
            result = plugin('-v', '--only', 'idle', env={'LANG': 'C', 'LC_ALL': 'C'})
    assert result.returncode == 0, result
    assert '(pid %d, db %s)' % (pid, name) in result.stdout.splitlines()[0]
    assert "last query: SELECT 'Grüße 🥐'" in result.stdout
    assert result.stderr == ''


def test_a_role_with_pg_monitor_sees_other_roles_sessions(plugin, cluster):
    with role(cluster, 'nagios', 'pg_monitor'):
        with idle_in_transaction(cluster, idle_for=1.1) as pid:
            result = idle_check(plugin, '-U', 'nagios', '--idle-warning', '0')
    assert result.returncode == 1, result
    assert_idle_line(result.stdout, 'WARNING', pid, warning='0')


def test_a_role_without_pg_monitor_gets_unknown_and_the_grant(plugin, cluster):
    with role(cluster, 'nagios-nopriv'):
        with idle_in_transaction(cluster):
            result = idle_check(plugin, '-U', 'nagios-nopriv')
    assert result.returncode == 3, result
    assert result.stdout == (
        'AUTOVACUUM UNKNOWN - role "nagios-nopriv" cannot see other roles\' '
        'sessions; run: GRANT pg_monitor TO "nagios-nopriv"\n')


def test_each_idle_session_says_what_it_holds(plugin, cluster):
    # READ COMMITTED between statements: no snapshot, no transaction ID,
    # but the lock it took stays until the end of the transaction.
    cluster.execute('CREATE TABLE IF NOT EXISTS object_state (id int)')
    conn = cluster.connect(application_name='locker')
    pid = conn.get_backend_pid()
    try:
        with conn.cursor() as cursor:
            cursor.execute('BEGIN')
            cursor.execute('LOCK TABLE object_state IN EXCLUSIVE MODE')
        result = idle_check(plugin, '-v', '--idle-warning', '1h')
    finally:
        conn.close()
    assert re.search(r"^pid %d db postgres .*: idle in transaction for \d+s, "
                     r"transaction open \d+s; holds 1 lock \(the strongest "
                     r"ExclusiveLock on object_state\), but no snapshot or "
                     r"transaction ID: it keeps no dead rows; last query: LOCK "
                     r"TABLE object_state IN "
                     r"EXCLUSIVE MODE$" % pid, result.stdout, re.M), result.stdout


def test_what_to_do_names_the_sessions_past_the_threshold(plugin, cluster):
    # Four seconds apart: the young one stays below --idle-warning while
    # the plugin starts, also on a machine the other tests load.
    with idle_in_transaction(cluster, idle_for=5.1) as old:
        with idle_in_transaction(cluster, application_name='young') as young:
            result = idle_check(plugin, '--idle-warning', '4', '-vv')
    assert result.returncode == 1, result
    # The one past --idle-warning, ready to paste; not the young one.
    assert result.stdout.splitlines()[-1] == (
        'what to do: end the session (SELECT pg_terminate_backend(%d)) and '
        'fix the application that leaves transactions open; '
        'idle_in_transaction_session_timeout ends such sessions for you' % old)
    assert str(young) in result.stdout  # listed by -v all the same
