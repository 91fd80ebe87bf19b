"""What the packages promise: where the memory between runs goes, and the
Debian package as installed, run as the user that runs checks.

The tests marked needs_package run in tools/test-deb, after it installed
the package (CHECK_PG_AUTOVACUUM_INSTALLED=1); elsewhere they say skipped.
test_monitoring.py, in that same run, loads the installed command
definitions into real Nagios 4 and Icinga 2 daemons.
"""
import os
import pwd
import re
import subprocess

import pytest

from check_pg_autovacuum import __version__, statefile
from scenarios import idle_in_transaction, role

INSTALLED = os.environ.get('CHECK_PG_AUTOVACUUM_INSTALLED') == '1'
PLUGIN = '/usr/lib/nagios/plugins/check_pg_autovacuum'
STATE_DIR = '/var/lib/check-pg-autovacuum'
MAN_PAGE = '/usr/share/man/man1/check_pg_autovacuum.1.gz'
needs_package = pytest.mark.skipif(
    not INSTALLED, reason='the Debian package is not installed: '
    'tools/test-deb installs it and runs these')


HERE = os.path.dirname(os.path.abspath(__file__))


def test_the_debian_package_has_the_version_of_the_code():
    with open(os.path.join(HERE, os.pardir, 'debian', 'changelog')) as changelog:
        first = changelog.readline()
    assert re.match(r'check-pg-autovacuum \((?P<upstream>[^-)]+)-\d+\) ',
                    first).group('upstream') == __version__, first


def test_a_package_state_directory_serves_its_owner(tmpdir):
    owned = tmpdir.mkdir('owned')
    assert statefile.state_directory(None, str(owned)) == str(owned)
    assert statefile.state_directory('/given', str(owned)) == '/given'


def test_a_package_state_directory_of_another_user_is_left_alone(
        tmpdir, monkeypatch):
    """root trying the check by hand keeps a memory of its own, rather than
    leave files the daemon's user could not lock or replace."""
    monkeypatch.setenv('XDG_STATE_HOME', str(tmpdir.join('xdg')))
    someone_elses = '/' if os.geteuid() != 0 else str(_owned_by_nobody(tmpdir))
    assert statefile.state_directory(None, someone_elses) == str(
        tmpdir.join('xdg', 'check_pg_autovacuum'))
    assert statefile.state_directory(None, str(tmpdir.join('missing'))) == \
        str(tmpdir.join('xdg', 'check_pg_autovacuum'))


def _owned_by_nobody(tmpdir):
    directory = tmpdir.mkdir('nobodys')
    nobody = pwd.getpwnam('nobody')
    os.chown(str(directory), nobody.pw_uid, nobody.pw_gid)
    return directory


def run_as(user, command, env):
    process = subprocess.Popen(['/sbin/runuser', '-u', user, '--'] + command,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, cwd='/')
    stdout, stderr = process.communicate()
    return process.returncode, stdout.decode('utf-8'), stderr.decode('utf-8')


def debians_nagiosplugin():
    return subprocess.check_output(
        ['/usr/bin/python3', '-c', 'import nagiosplugin, psycopg2; '
         'print(nagiosplugin.__version__, psycopg2.__version__)']).decode()


@needs_package
def test_the_installed_plugin_checks_as_nagios_and_remembers_in_its_directory(
        cluster):
    nagios = pwd.getpwnam('nagios')
    assert os.stat(STATE_DIR).st_uid == nagios.pw_uid
    before = set(os.listdir(STATE_DIR))
    # Nagios runs its checks with next to no environment.
    env = {'PATH': '/usr/bin:/bin', 'HOME': nagios.pw_dir}
    command = [PLUGIN, '-H', '127.0.0.1', '-p', str(cluster.port), '-U',
               'nagios', '-d', 'postgres', '--logfile', '',
               '--idle-warning', '0', '--idle-critical', '0']
    with role(cluster, 'nagios', 'pg_monitor'):
        with idle_in_transaction(cluster, idle_for=1.1) as pid:
            status, stdout, stderr = run_as('nagios', command, env)
    libraries = debians_nagiosplugin()
    assert status == 2, (stdout, stderr, libraries)
    first_line = (stdout.splitlines() or [stderr])[0]
    assert re.match(
        r'AUTOVACUUM CRITICAL - 1 session idle in transaction, longest \d+s '
        r'\(pid %d, db postgres\)\|' % pid, first_line), (first_line, libraries)
    perfdata = dict(item.split('=', 1)
                    for item in stdout.split('|', 1)[1].split())
    assert perfdata["idle_in_transaction"] == '1;;;0', perfdata
    assert re.match(r'\d+s;0;0;0$', perfdata['idle_in_transaction_max'])
    assert perfdata['tables_need_vacuum'] == '0;;;0', perfdata
    assert stderr == ''
    written = set(os.listdir(STATE_DIR)) - before
    assert any(name.startswith('memory-127.0.0.1-') for name in written), \
        written
    for name in written:
        assert os.stat(os.path.join(STATE_DIR, name)).st_uid == nagios.pw_uid


@needs_package
def test_root_trying_the_installed_plugin_leaves_the_state_directory_alone(
        cluster, tmpdir):
    before = set(os.listdir(STATE_DIR))
    env = {'PATH': '/usr/bin:/bin', 'HOME': str(tmpdir),
           'PGHOST': cluster.host, 'PGPORT': str(cluster.port),
           'PGUSER': 'postgres'}
    process = subprocess.Popen([PLUGIN, '--only', 'vacuum', '--logfile', ''],
                               stdout=subprocess.PIPE, env=env)
    stdout = process.communicate()[0].decode('utf-8')
    assert process.returncode == 0, stdout
    assert set(os.listdir(STATE_DIR)) == before
    assert os.listdir(str(tmpdir.join('.local', 'state',
                                      'check_pg_autovacuum')))


@needs_package
def test_the_man_page_is_made_from_help():
    text = subprocess.check_output(['man', '-l', MAN_PAGE],
                                   env={'MANWIDTH': '200', 'PATH': '/usr/bin:/bin'})
    text = re.sub(r'\s+', ' ', text.decode('utf-8'))
    assert 'check_pg_autovacuum - is PostgreSQL autovacuum doing its job' in text
    assert '--state-dir DIR' in text
    assert '(default: %s for the user who owns it' % STATE_DIR in text
