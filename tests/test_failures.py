# -*- coding: utf-8 -*-
"""Whatever goes wrong: one line, exit 3 (UNKNOWN), no traceback, no password."""
from __future__ import unicode_literals

import os
import re
import signal
import sys

import pytest

from check_pg_autovacuum.connection import (
    Deadline, Session, conninfo, server_version_text)
from check_pg_autovacuum.errors import CheckError
from pgcluster import free_port
from scenarios import role

SECRET = 'right-secret-4711'


def assert_unknown(result, line_pattern):
    assert result.returncode == 3, result
    assert re.match(line_pattern + '\n$', result.stdout), result.stdout
    assert result.stderr == '', result.stderr


def test_unknown_option_is_unknown_not_critical(plugin):
    assert_unknown(plugin('--no-such-option'),
                   r'AUTOVACUUM UNKNOWN - unrecognized arguments: '
                   r'--no-such-option \(see --help\)')


def test_an_echoed_argument_cannot_break_the_line(plugin):
    assert_unknown(plugin('--idle-warning', 'x|y\nz'),
                   "AUTOVACUUM UNKNOWN - argument --idle-warning: not a duration: "
                   r"'x\u00a6y z' \(use e.g. 90, 90s, 15m, 2h, 1d, 1w\) \(see --help\)")


@pytest.mark.parametrize('option, value', [
    ('--idle-warning', '15 minutes'), ('--idle-critical', '1h:30m'),
    ('--idle-warning', '-5'), ('--idle-critical', ':')])
def test_bad_threshold_is_unknown(plugin, option, value):
    assert_unknown(plugin(option, value),
                   r'AUTOVACUUM UNKNOWN - argument %s: not a (duration|range): '
                   r'.*%s.* \(see --help\)' % (option, re.escape(value)))


def test_non_ascii_in_a_bad_argument_is_echoed_not_crashed_on(plugin):
    assert_unknown(plugin('--idle-warning', 'fünf Minuten'),
                   "AUTOVACUUM UNKNOWN - argument --idle-warning: not a "
                   r"duration: 'fünf Minuten' \(use e.g. 90, 90s, 15m, 2h, 1d, "
                   r"1w\) \(see --help\)")


def test_bad_timeout_is_unknown(plugin):
    assert_unknown(plugin('-t', '0'), r"AUTOVACUUM UNKNOWN - argument "
                   r"-t/--timeout: not a whole number of seconds from 1 to 2147483: "
                   r"'0' \(see --help\)")
    assert_unknown(plugin('-t', 'soon'), r"AUTOVACUUM UNKNOWN - argument "
                   r"-t/--timeout: not a whole number of seconds from 1 to 2147483: "
                   r"'soon' \(see --help\)")


@pytest.mark.parametrize('option, value, wanted', [
    ('-t', '2147484', 'of seconds from 1 to 2147483'),
    ('-t', '1' + '0' * 30, 'of seconds from 1 to 2147483'),
    ('--max-connections', '1', 'from 2 to 10000')])
def test_whole_numbers_out_of_range_are_unknown(plugin, option, value, wanted):
    result = plugin(option, value)
    assert result.returncode == 3, result
    assert result.stdout.startswith('AUTOVACUUM UNKNOWN - argument ')
    assert "not a whole number %s: '%s' (see --help)\n" % (
        wanted, value) in result.stdout, result.stdout


@pytest.mark.parametrize('option', ['-H', '-U', '--databases', '--logfile'])
def test_an_argument_that_is_not_utf8_is_unknown(plugin, option):
    assert_unknown(plugin(option.encode('ascii'), b'caf\xe9'),
                   r"AUTOVACUUM UNKNOWN - argument not UTF-8: 'caf\ufffd' "
                   r"\(see --help\)")


def test_connection_refused(plugin):
    port = free_port()
    assert_unknown(plugin('-H', '127.0.0.1', '-p', str(port)),
                   r'AUTOVACUUM UNKNOWN - cannot connect to 127.0.0.1 port %d: '
                   r'Connection refused' % port)


def test_unknown_host(plugin):
    assert_unknown(plugin('-H', 'no-such-host.invalid'),
                   r'AUTOVACUUM UNKNOWN - cannot connect to no-such-host.invalid '
                   r'port \d+: could not translate host name '
                   r'"no-such-host.invalid" to address: .+')


def test_unknown_database(plugin, cluster):
    assert_unknown(plugin('-d', 'no-such-db'),
                   r'AUTOVACUUM UNKNOWN - cannot connect to %s port %d: '
                   r'database "no-such-db" does not exist'
                   % (re.escape(cluster.host), cluster.port))


@pytest.fixture
def password_role(cluster):
    with role(cluster, 'pwuser', 'pg_monitor', password=SECRET) as name:
        yield name


def write_pgpass(tmpdir, cluster, password):
    path = tmpdir.join('pgpass')
    path.write('127.0.0.1:%d:*:pwuser:%s\n' % (cluster.port, password))
    path.chmod(0o600)
    return str(path)


def test_password_from_pgpassfile_over_tcp(plugin, cluster, password_role, tmpdir):
    result = plugin('-H', '127.0.0.1', '-U', password_role,
                    env={'PGPASSFILE': write_pgpass(tmpdir, cluster, SECRET)})
    assert result.returncode == 0, result
    assert result.stdout.startswith('AUTOVACUUM OK - ')


def test_wrong_password_is_unknown_and_not_shown(plugin, cluster, password_role,
                                                 tmpdir):
    wrong = 'wrong-secret-0815'
    result = plugin('-H', '127.0.0.1', '-U', password_role, '-v',
                    env={'PGPASSFILE': write_pgpass(tmpdir, cluster, wrong)})
    assert_unknown(result, r'AUTOVACUUM UNKNOWN - cannot connect to 127.0.0.1 '
                   r'port %d: password authentication failed for user "pwuser"'
                   % cluster.port)
    assert wrong not in result.stdout


def test_missing_password_is_unknown(plugin, password_role):
    assert_unknown(plugin('-H', '127.0.0.1', '-U', password_role),
                   r'AUTOVACUUM UNKNOWN - cannot connect to 127.0.0.1 port \d+: '
                   r'fe_sendauth: no password supplied')


def test_password_in_dsn_is_never_echoed(plugin, cluster, password_role):
    dsn = 'host=127.0.0.1 port=%d user=pwuser password=%s' % (cluster.port,
                                                               'wrong-' + SECRET)
    result = plugin('--dsn', dsn, '-vvv')
    assert result.returncode == 3 and SECRET not in result.stdout, result
    # A malformed conninfo: libpq's message would quote a piece of it.
    result = plugin('--dsn', 'host=127.0.0.1 password %s' % SECRET, '-vvv')
    assert_unknown(result, r'AUTOVACUUM UNKNOWN - --dsn is neither a conninfo '
                   r'string nor a URI \(not shown: it may hold a password\)')


def test_right_password_in_dsn_stays_out_of_the_sql_log(plugin, cluster,
                                                        password_role):
    dsn = 'host=127.0.0.1 port=%d user=pwuser password=%s' % (cluster.port, SECRET)
    result = plugin('--dsn', dsn, '-vvv')
    assert result.returncode == 0, result
    assert 'SQL in database postgres:' in result.stderr  # -vvv logged each
    assert SECRET not in result.stdout + result.stderr


def test_dsn_as_uri_and_options_override_it(plugin, cluster):
    uri = 'postgresql://postgres@127.0.0.1:%d/no-such-db' % cluster.port
    result = plugin('--dsn', uri, '-d', 'postgres', env={'PGHOST': None})
    assert result.returncode == 0, result


def test_an_empty_connection_option_counts_as_not_given(plugin):
    # Nagios passes -H '' for a host whose $_HOSTPGHOST$ is empty: the
    # environment's PGHOST and PGPORT (the test cluster's) still apply.
    result = plugin('-H', '', '-p', '', '-U', '', '-d', '', '--only', 'idle')
    assert result.returncode == 0, result
    assert result.stdout.startswith('AUTOVACUUM OK - no session idle'), result


def test_hung_server_gives_unknown_within_the_timeout(plugin, cluster):
    postmaster = cluster.postmaster_pid()
    os.kill(postmaster, signal.SIGSTOP)
    try:
        result, seconds = plugin.timed('-t', '2')
    finally:
        os.kill(postmaster, signal.SIGCONT)
    assert_unknown(result, r'AUTOVACUUM UNKNOWN - no answer from the server '
                   r'within the timeout \(2s\)')
    assert seconds < 2, seconds


def test_plugin_session_is_harmless(cluster):
    settings = conninfo(host=cluster.host, port=cluster.port,
                        user='postgres', dbname='postgres')
    session = Session(settings, Deadline(30))
    try:
        assert session.rows('SELECT 1 AS one')[0].one == 1
        activity = cluster.execute(
            'SELECT state, application_name FROM pg_stat_activity '
            'WHERE pid = %s', (session.conn.get_backend_pid(),))
        # Autocommit: between queries we sit "idle", never "idle in
        # transaction", and we say who we are.
        assert activity == [('idle', 'check_pg_autovacuum')]
        assert session.rows('SHOW default_transaction_read_only')[0][0] == 'on'
        assert session.rows('SHOW statement_timeout')[0][0] != '0'
        with pytest.raises(CheckError) as raised:
            session.rows('CREATE TABLE written_by_the_plugin ()')
        assert 'read-only transaction' in '%s' % raised.value
    finally:
        session.close()


def test_pgoptions_is_kept_and_ours_still_win(cluster, monkeypatch):
    # str(): the native string type, which Python 2's os.environ wants.
    monkeypatch.setenv(str('PGOPTIONS'), str('-c work_mem=1234kB '
                                             '-c default_transaction_read_only=off'))
    settings = conninfo(host=cluster.host, port=cluster.port,
                        user='postgres', dbname='postgres')
    session = Session(settings, Deadline(30))
    try:
        assert session.rows('SHOW work_mem')[0][0] == '1234kB'
        assert session.rows('SHOW default_transaction_read_only')[0][0] == 'on'
    finally:
        session.close()


def test_a_pg_variable_that_is_not_utf8_is_unknown(plugin):
    host = b'\xff'  # as Python 3 has it in os.environ:
    if sys.version_info[0] > 2:
        host = host.decode('utf-8', 'surrogateescape')
    assert_unknown(plugin(env={'PGHOST': host}),
                   r'AUTOVACUUM UNKNOWN - cannot connect to \ufffd port \d+: '
                   # psycopg2 and Python versions word it their ways
                   r'(libpq failed with a message that is not UTF-8|could not '
                   r'translate host name "\ufffd" to address: .+|no readable '
                   r'message from libpq \(OperationalError\))')


def test_server_version_text():
    assert server_version_text(90624) == '9.6'
    assert server_version_text(100023) == '10'
    assert server_version_text(150018) == '15'
