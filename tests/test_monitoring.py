"""The shipped Icinga 2 and Nagios 4 configuration, unchanged, in real daemons.

Skipped where a daemon is not installed (.ci/run installs Debian's icinga2
and nagios4-core).  Each runs in the foreground with a private configuration
that includes our contrib/ files as shipped, with database hosts as an admin
adds them: one that takes every default, one that overrides where its server
is by host variables.  The test reads what the daemon recorded (Icinga's
state file, Nagios' status.dat).

With CHECK_PG_AUTOVACUUM_INSTALLED=1 (tools/test-deb, after installing the
Debian package) the daemons read the installed command definitions where
the package puts them -- Icinga 2 through include <plugins-contrib>, Nagios
from Debian's cfg_dir /etc/nagios-plugins/config -- and run the installed
plugin; contrib/ then gives only the services, as an admin copies them.
"""
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from check_pg_autovacuum import cli, icinga2
from pgcluster import running
from scenarios import NOTHING_HOLDS_BACK, idle_in_transaction, role

HERE = os.path.dirname(os.path.abspath(__file__))
CONTRIB = os.path.join(HERE, '..', 'contrib')
INSTALLED = os.environ.get('CHECK_PG_AUTOVACUUM_INSTALLED') == '1'
INSTALLED_PLUGIN_DIR = '/usr/lib/nagios/plugins'
NAGIOS_COMMANDS_DIR = '/etc/nagios-plugins/config'
ICINGA2 = '/usr/sbin/icinga2'
NAGIOS4 = '/usr/sbin/nagios4'

pytestmark = pytest.mark.integration
needs_icinga2 = pytest.mark.skipif(
    not os.path.exists(ICINGA2), reason='icinga2 is not installed (apt-get '
    'install --no-install-recommends icinga2)')
needs_nagios4 = pytest.mark.skipif(
    not os.path.exists(NAGIOS4), reason='nagios4 is not installed (apt-get '
    'install --no-install-recommends nagios4-core)')


def plugin_dir():
    """The bin/ of this build: bin/ or py27/bin/ beside the test script that
    started the run (conftest.py notes it for the workers of pytest -n), or
    the bin/ of the virtualenv that runs it; the package's directory when
    testing what it installed."""
    if INSTALLED:
        return INSTALLED_PLUGIN_DIR
    for here in (os.environ.get('CHECK_PG_AUTOVACUUM_TEST_BIN', ''),
                 os.path.dirname(os.path.abspath(sys.argv[0])),
                 os.path.dirname(sys.executable)):
        if os.path.exists(os.path.join(here, 'check_pg_autovacuum')):
            return here
    raise AssertionError('no check_pg_autovacuum script beside %s' % sys.argv[0])


# Database hosts as an admin writes them, taking the shipped defaults: this
# node's own (NodeName), a remote host by its address, one by its name, one
# through an agent, one that turns the log off, and two without the check.
DEFAULT_HOSTS = """
object Endpoint NodeName { }
object Zone ZoneName {
  endpoints = [ NodeName ]
}
object Host NodeName {
  check_command = "dummy"
  address = "127.0.0.1"
  vars.postgresql = true
}
object Host "remote" {
  check_command = "dummy"
  address = "192.0.2.10"
  vars.postgresql = true
}
object Host "db.example.org" {
  check_command = "dummy"
  vars.postgresql = true
}
object Host "remote-with-log" {
  check_command = "dummy"
  address = "192.0.2.11"
  vars.postgresql = true
  vars.pg_autovacuum_log_via_sql = true
}
object Endpoint "db9" { }
object Zone "db9" {
  endpoints = [ "db9" ]
  parent = ZoneName
}
object Host "db9" {
  zone = ZoneName
  check_command = "dummy"
  address = "192.0.2.9"
  vars.postgresql = true
  vars.agent_endpoint = name
}
object Host "db9-no-log" {
  zone = ZoneName
  check_command = "dummy"
  vars.postgresql = true
  vars.agent_endpoint = "db9"
  vars.pg_autovacuum_logfile = false
}
object Host "not-a-database" {
  check_command = "dummy"
}
object Host "opted-out" {
  check_command = "dummy"
  vars.postgresql = true
  vars.pg_autovacuum = false
}
"""

# What the run test checks for real: this node's own PostgreSQL (the test
# cluster, by host variables, with a session idle in transaction), a remote
# host whose address and port are another server, and a host that overrides
# socket, port, role and log.
RUN_HOSTS = """
object Host NodeName {
  check_command = "dummy"
  check_interval = 1h
  vars.postgresql = true
  vars.pg_autovacuum_host = "%(host)s"
  vars.pg_autovacuum_port = %(port)d
  vars.pg_autovacuum_idle_warning = "0"
  vars.pg_autovacuum_check_interval = 2s
}
object Host "remote" {
  check_command = "dummy"
  check_interval = 1h
  address = "127.0.0.1"
  vars.postgresql = true
  vars.postgres_port = %(remote_port)d
  vars.pg_autovacuum_idle_warning = "0"
  vars.pg_autovacuum_check_interval = 2s
}
object Host "db2" {
  check_command = "dummy"
  check_interval = 1h
  vars.postgresql = true
  vars.pg_autovacuum_host = "%(host)s"
  vars.pg_autovacuum_port = %(port)d
  vars.pg_autovacuum_user = "monitor"
  vars.pg_autovacuum_logfile = "%(log_glob)s"
  vars.pg_autovacuum_check_interval = 2s
  vars.pg_autovacuum_idle_warning = "0"
}
"""

ICINGA_CONF = """
include <itl>
const PluginDir = "%(plugin_dir)s"
const NodeName = "localhost"
const ZoneName = "localhost"
%(checkcommand)s
include "%(contrib)s/icinga2/services.conf"
object CheckerComponent "checker" { }
object PerfdataWriter "perfdata" {
  service_perfdata_path = "%(spool)s/service-perfdata"
  service_temp_path = "%(spool)s/service-perfdata.tmp"
  service_format_template = "HOSTNAME::$host.name$"
  rotation_interval = 1s
}
"""


def icinga_config(tmpdir, hosts):
    """A private icinga2.conf that includes ours as shipped; its spool."""
    spool = tmpdir.mkdir('spool')
    config = tmpdir.join('icinga2.conf')
    if INSTALLED:  # as Debian's icinga2.conf and constants.conf have it
        checkcommand = ('const PluginContribDir = "%s"\n'
                        'include <plugins>\n'
                        'include <plugins-contrib>' % INSTALLED_PLUGIN_DIR)
    else:
        checkcommand = 'include "%s/icinga2/pg_autovacuum.conf"' % CONTRIB
    config.write(ICINGA_CONF % {'plugin_dir': plugin_dir(), 'contrib': CONTRIB,
                                'checkcommand': checkcommand,
                                'spool': spool} + hosts)
    return config, spool


def start_daemon(arguments, env):
    """A monitoring daemon in the foreground, in a process group of its own:
    its workers share its output pipe, and stop_daemon() may have to end
    them all."""
    return subprocess.Popen(arguments, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=os.setsid)


def stop_daemon(daemon, grace=10):
    """SIGTERM, as an init system stops it; whatever is left of its group
    after GRACE seconds, or once it is gone, is killed.  Nagios 4.4 can
    deadlock in its own SIGTERM handler (a fresh-clone CI saw it wait on a
    futex with every signal blocked, and the test waited for its pipe
    forever)."""
    daemon.send_signal(signal.SIGTERM)
    deadline = time.time() + grace
    while daemon.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    try:
        os.killpg(daemon.pid, signal.SIGKILL)
    except OSError:  # the group is gone already
        pass
    return daemon.communicate()[0]


def test_a_daemon_that_ignores_sigterm_is_stopped_all_the_same():
    # As the deadlocked Nagios: SIGTERM does nothing, and a child of its
    # holds the output pipe.
    daemon = start_daemon(['sh', '-c', 'trap "" TERM; sleep 60 & sleep 60'],
                          dict(os.environ))
    time.sleep(0.2)  # the trap is set
    started = time.time()
    stop_daemon(daemon, grace=1)  # returns once nobody holds the pipe
    assert time.time() - started < 10
    assert daemon.returncode == -signal.SIGKILL


def daemon_arguments(tmpdir, config):
    defines = []
    for name in ('DataDir', 'LogDir', 'CacheDir', 'SpoolDir', 'InitRunDir'):
        defines += ['-D%s=%s' % (name, tmpdir.join(name.lower()).ensure(dir=True))]
    return [ICINGA2, 'daemon', '-c', str(config), '-DRunAsUser=root',
            '-DRunAsGroup=root'] + defines


@needs_icinga2
def test_icinga_checks_each_host_where_its_server_is(tmpdir):
    config, _ = icinga_config(tmpdir, DEFAULT_HOSTS)
    validation = subprocess.Popen(daemon_arguments(tmpdir, config) + ['-C'],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = validation.communicate()[0].decode('utf-8', 'replace')
    assert validation.returncode == 0, output
    assert 'warning/' not in output, output
    # Not the host without vars.postgresql, nor the one that opted out.
    assert 'Instantiated 6 Services' in output, output
    services = _netstring_records(tmpdir.join('cachedir', 'icinga2.debug'),
                                  'Service')
    shown = dict((name.split('!')[0], (
        service['properties'].get('command_endpoint') or 'here',
        service['properties']['vars']['pg_autovacuum_host'],
        service['properties']['vars']['pg_autovacuum_logfile']))
        for name, service in services.items())
    debian_log = '/var/log/postgresql/postgresql-*.log*'
    assert shown == {
        # This node's own server: its socket, and its log.
        'localhost': ('here', '/var/run/postgresql', debian_log),
        # A remote server: its address, and no log, which is not here.
        'remote': ('here', '192.0.2.10', ''),
        'db.example.org': ('here', 'db.example.org', ''),
        'remote-with-log': ('here', '192.0.2.11', ''),
        # Through the agent on the database host: its socket and its log.
        'db9': ('db9', '/var/run/postgresql', debian_log),
        'db9-no-log': ('db9', '/var/run/postgresql', ''),
    }, shown
    # The log over the connection, where the host asks for it.
    assert services['remote-with-log!pg-autovacuum']['properties']['vars'].get(
        'pg_autovacuum_log_via_sql', True)


def _netstring_records(path, record_type):
    """{name: record} of RECORD_TYPE from one of Icinga's files: a sequence
    of netstrings, each a JSON object."""
    data = path.read()
    records = {}
    start = 0
    while start < len(data):
        colon = data.index(':', start)
        length = int(data[start:colon])
        record = json.loads(data[colon + 1:colon + 1 + length])
        start = colon + 1 + length + 1  # past the ","
        if record.get('type') == record_type:
            # The objects file names a service by its short name alone.
            name = record.get('properties', {}).get('__name', record['name'])
            records[name] = record
    return records


@needs_icinga2
def test_icinga_reports_each_hosts_own_server(tmpdir, cluster):
    log = tmpdir.join('postgresql-Sun.log')
    log.write('')
    with running() as remote:
        config, spool = icinga_config(tmpdir, RUN_HOSTS % {
            'host': cluster.host, 'port': cluster.port,
            'remote_port': remote.port,
            'log_glob': tmpdir.join('postgresql-*.log')})
        remote.execute('CREATE ROLE nagios LOGIN IN ROLE pg_monitor')
        # A check that connected to "this node's" server by libpq's defaults
        # would find the idle session there.
        env = dict(os.environ, PGHOST=cluster.host, PGPORT=str(cluster.port))
        with role(cluster, 'monitor', 'pg_monitor'), \
                role(cluster, 'nagios', 'pg_monitor'):
            with idle_in_transaction(cluster, idle_for=1.1) as pid:
                daemon = start_daemon(daemon_arguments(tmpdir, config), env)
                try:
                    _wait_for_records(spool, {'localhost', 'remote', 'db2'},
                                      timeout=60)
                finally:
                    stop_daemon(daemon)
    results = _last_check_results(tmpdir.join('datadir', 'icinga2.state'))
    state_dir = str(tmpdir.join('datadir', 'check_pg_autovacuum'))
    idle_line = (r'AUTOVACUUM WARNING - 1 session idle in transaction, longest '
                 r'\d+s \(pid %d, db postgres\)' % pid)
    # This node's own server, with Debian's log: whether that log is there
    # and readable on a test machine or not, the idle session's WARNING
    # stands.
    node = results['localhost!pg-autovacuum']
    assert node['command'][1:] == [
        '--idle-warning', '0', '--logfile', '/var/log/postgresql/postgresql-*.log*',
        '--state-dir', state_dir, '-H', cluster.host, '-U', 'nagios',
        '-p', str(cluster.port), '-t', '50', '-v'], node
    assert node['state'] == 1, node
    assert re.match(idle_line + '( / server log: .*)?$',
                    node['output'].splitlines()[0]), node
    # The remote host: its address and port, its own server (no session
    # idle there), and no log.
    remote_result = results['remote!pg-autovacuum']
    assert remote_result['command'][1:] == [
        '--idle-warning', '0', '--logfile', '', '--state-dir', state_dir,
        '-H', '127.0.0.1', '-U', 'nagios', '-p', str(remote.port), '-t', '50',
        '-v'], remote_result
    assert remote_result['state'] == 0, remote_result
    assert re.match(r'AUTOVACUUM OK - %s / no session idle in transaction / '
                    % NOTHING_HOLDS_BACK, remote_result['output']), remote_result
    assert '\nserver log: not read; give --logfile' in remote_result['output']
    # db2: socket, port, role and log from the host, checked for real.
    overridden = results['db2!pg-autovacuum']
    assert overridden['command'][1:] == [
        '--idle-warning', '0', '--logfile', str(tmpdir.join('postgresql-*.log')),
        '--state-dir', state_dir, '-H', cluster.host, '-U', 'monitor',
        '-p', str(cluster.port), '-t', '50', '-v'], overridden
    assert overridden['state'] == 1, overridden
    first_line = overridden['output'].splitlines()[0]
    assert re.match(idle_line + '$', first_line), overridden
    # The CheckCommand asks for -v: a line per session.
    assert re.search(r'\npid %d db postgres user postgres app zodb-app' % pid,
                     overridden['output']), overridden
    perfdata = dict(value.split('=', 1)
                    for value in overridden['performance_data'])
    assert perfdata['idle_in_transaction'] == '1;;;0', perfdata
    assert re.match(r'\d+s;0;3600;0$', perfdata['idle_in_transaction_max']), \
        perfdata
    assert any(name.startswith('memory-') for name in os.listdir(state_dir))


def test_the_checkcommand_has_every_option_as_help_words_it():
    """make contrib writes the arguments; this fails when someone forgot."""
    with io.open(os.path.join(CONTRIB, 'icinga2', 'pg_autovacuum.conf'),
                 encoding='utf-8') as shipped:
        config = shipped.read()
    assert icinga2.with_arguments(config, cli.make_parser()) == config, \
        'contrib/icinga2/pg_autovacuum.conf is out of date: make contrib'
    for action in cli.make_parser()._actions:
        if action.dest not in ('help', 'version'):
            assert '$pg_autovacuum_%s$' % action.dest in config, action.dest


def test_the_nagios_examples_use_options_the_plugin_has():
    known = set(option for action in cli.make_parser()._actions
                for option in action.option_strings)
    for name in ('pg_autovacuum.cfg', 'nrpe.cfg'):
        with open(os.path.join(CONTRIB, 'nagios', name)) as shipped:
            lines = [line for line in shipped if 'check_pg_autovacuum ' in line
                     and not line.startswith('#')]
        assert lines, name
        for line in lines:
            used = set(re.findall(r' (--?[A-Za-z][\w-]*)', line))
            assert used <= known, (name, used - known)


def _wait_for_records(spool, hosts, timeout):
    """Until Icinga has written a check result of each of HOSTS."""
    deadline = time.time() + timeout
    seen = set()
    while time.time() < deadline:
        for name in os.listdir(str(spool)):
            if name.startswith('service-perfdata') and not name.endswith('.tmp'):
                with open(os.path.join(str(spool), name)) as written:
                    seen.update(re.findall(r'HOSTNAME::(\S+)', written.read()))
        if hosts <= seen:
            return
        time.sleep(0.5)
    raise AssertionError('Icinga recorded no check result of %s within %ds'
                         % (', '.join(sorted(hosts - seen)), timeout))


def _last_check_results(state_file):
    """{service name: its last check result} from Icinga's state file."""
    return dict((name, record['update']['last_check_result']) for name, record
                in _netstring_records(state_file, 'Service').items())


# Database hosts as an admin adds them to Debian's sample configuration:
# db1 says where its server is by custom variables, db2 is a remote server
# known by its address (and, the test's servers being on other ports than
# 5432, its port), db3 takes every default.
NAGIOS_HOSTS = """
define host {
    use             postgresql-server,linux-server
    host_name       db1
    address         127.0.0.1
    _PGHOST         %(host)s
    _PGPORT         %(port)d
    _PGUSER         monitor
    _PGLOGFILE      %(log_glob)s
}
define host {
    use             postgresql-server,linux-server
    host_name       db2
    address         127.0.0.1
    _PGPORT         %(remote_port)d
}
define host {
    use             postgresql-server,linux-server
    host_name       db3
    address         127.0.0.1
}
"""

# Only what must be private to the test: paths, user, and quick rounds.
NAGIOS_CFG = """
log_file=%(dir)s/nagios.log
%(stock_objects)s
%(commands)s
cfg_file=%(contrib)s/nagios/services.cfg
cfg_file=%(dir)s/hosts.cfg
resource_file=%(dir)s/resource.cfg
status_file=%(dir)s/status.dat
status_update_interval=1
object_cache_file=%(dir)s/objects.cache
precached_object_file=%(dir)s/objects.precache
temp_file=%(dir)s/nagios.tmp
temp_path=%(dir)s
lock_file=%(dir)s/nagios.lock
query_socket=%(dir)s/nagios.qh
command_file=%(dir)s/nagios.cmd
check_result_path=%(dir)s/checkresults
check_result_reaper_frequency=1
state_retention_file=%(dir)s/retention.dat
nagios_user=root
nagios_group=root
interval_length=1
check_external_commands=0
enable_notifications=0
execute_host_checks=0
max_service_check_spread=1
illegal_macro_output_chars=`~$&|'"<>
"""
DEBIAN_NAGIOS_CFG = '/etc/nagios4/nagios.cfg'


def stock_objects():
    """The object files and directories Debian's nagios.cfg loads.  Unless
    testing the installed package, the Monitoring Plugins' commands come
    file by file, without the package's pg_autovacuum.cfg, should it be
    installed on this machine: contrib's gives the commands then."""
    lines = []
    with open(DEBIAN_NAGIOS_CFG) as stock:
        for line in stock:
            kind, _, path = line.strip().partition('=')
            if kind not in ('cfg_file', 'cfg_dir') or not os.path.exists(path):
                continue
            if path == NAGIOS_COMMANDS_DIR and not INSTALLED:
                lines += ['cfg_file=%s' % os.path.join(path, name)
                          for name in sorted(os.listdir(path))
                          if name.endswith('.cfg')
                          and name != 'pg_autovacuum.cfg']
            else:
                lines.append(line.strip())
    return '\n'.join(lines)


def nagios_commands():
    if INSTALLED:
        assert os.path.exists(os.path.join(NAGIOS_COMMANDS_DIR,
                                           'pg_autovacuum.cfg'))
        return ''  # in the stock objects
    return 'cfg_file=%s/nagios/pg_autovacuum.cfg' % CONTRIB


@needs_nagios4
def test_nagios_runs_the_shipped_service_on_its_hostgroup(tmpdir, cluster):
    directory = tmpdir.mkdir('nagios')
    directory.mkdir('checkresults')
    directory.join('postgresql-Sun.log').write('')
    directory.join('resource.cfg').write('$USER1$=%s\n' % plugin_dir())
    config = directory.join('nagios.cfg')
    config.write(NAGIOS_CFG % {'dir': directory, 'contrib': CONTRIB,
                               'stock_objects': stock_objects(),
                               'commands': nagios_commands()})
    # The port comes from the host's macro; PGHOST is "this host's" server,
    # which a check that ignored the host's address would read.
    env = dict((name, value) for name, value in os.environ.items()
               if not name.startswith('PG'))
    env.update(PGHOST=cluster.host, XDG_STATE_HOME=str(tmpdir.join('state')))
    with running() as remote:
        directory.join('hosts.cfg').write(NAGIOS_HOSTS % {
            'host': cluster.host, 'port': cluster.port,
            'remote_port': remote.port,
            'log_glob': directory.join('postgresql-*.log')})
        verified = subprocess.Popen([NAGIOS4, '-v', str(config)],
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        output = verified.communicate()[0].decode('utf-8', 'replace')
        assert verified.returncode == 0, output
        remote.execute('CREATE ROLE nagios LOGIN IN ROLE pg_monitor')
        with role(cluster, 'monitor', 'pg_monitor'), \
                role(cluster, 'nagios', 'pg_monitor'):
            with idle_in_transaction(cluster, idle_for=1.1):
                daemon = start_daemon([NAGIOS4, str(config)], env)
                try:
                    status = _wait_for_status(directory.join('status.dat'),
                                              ['db1', 'db2', 'db3'], 60)
                finally:
                    stop_daemon(daemon)
    checked = status['db1']
    assert checked['current_state'] == '0', checked['plugin_output']
    # Findings split by " / ", which Nagios leaves alone (a ";" would show
    # as ":"); the OK line is cut to fit 1,000 bytes with its perfdata.
    assert re.match(r'AUTOVACUUM OK - oldest xmin: pid \d+ \(postgres, app '
                    r'zodb-app\) idle in transaction \d+s / ',
                    checked['plugin_output']), checked['plugin_output']
    assert re.search(r'(^|\\n)pid \d+ db postgres user postgres app zodb-app',
                     checked['long_plugin_output']), checked
    assert re.search(r'idle_in_transaction=1;;;0 idle_in_transaction_max=\d+s;'
                     r'900;3600;0', checked['performance_data']), checked
    # The log its _PGLOGFILE names was read (a first run starts at its end).
    assert re.search(r'autovacuum_cancels=0;1;10;0', checked['performance_data']), \
        checked
    # db2: its own server, by its address and port, not "this host's" with
    # the idle session; no log.
    remote_checked = status['db2']
    assert remote_checked['current_state'] == '0', remote_checked
    assert re.match(r'AUTOVACUUM OK - %s / no session idle in transaction / '
                    % NOTHING_HOLDS_BACK, remote_checked['plugin_output']), \
        remote_checked
    assert 'server log: not read' in remote_checked['long_plugin_output']
    # db3 set nothing: its address and port 5432, where the test machine
    # runs no server for the role nagios.
    assert status['db3']['current_state'] == '3', status['db3']
    assert status['db3']['plugin_output'].startswith('AUTOVACUUM UNKNOWN - '), \
        status['db3']


def test_nrpes_command_takes_a_glob_that_matches_two_files(plugin, cluster,
                                                            tmpdir):
    """NRPE runs the line through /bin/sh, as this test does, with this
    machine's paths for the plugin, the socket and the log."""
    with open(os.path.join(CONTRIB, 'nagios', 'nrpe.cfg')) as shipped:
        line = [l for l in shipped if l.startswith('command[')][0]
    command = line.split('=', 1)[1].strip() \
        .replace('/usr/lib/nagios/plugins/', plugin_dir() + '/') \
        .replace('/var/run/postgresql', cluster.host) \
        .replace('/var/log/postgresql/', str(tmpdir) + '/')
    # The log of the cluster pg_upgradecluster left behind, logrotate's
    # copy, the live log: oldest first.
    for age, name in ((30, 'postgresql-14-main.log'),
                      (20, 'postgresql-15-main.log.1'),
                      (10, 'postgresql-15-main.log')):
        tmpdir.join(name).write('line\n')
        os.utime(str(tmpdir.join(name)), (time.time() - age, time.time() - age))
    env = dict((name, value) for name, value in os.environ.items()
               if not name.startswith('PG'))
    env.update(PGPORT=str(cluster.port), XDG_STATE_HOME=str(tmpdir))
    with role(cluster, 'nagios', 'pg_monitor'):
        nrpe = subprocess.Popen(['/bin/sh', '-c', command], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = [out.decode('utf-8') for out in nrpe.communicate()]
    assert (nrpe.returncode, stderr) == (0, ''), (stdout, stderr)
    assert stdout.startswith('AUTOVACUUM OK - '), stdout
    assert 'autovacuum_cancels=0;1;10;0' in stdout, stdout


def _wait_for_status(path, hosts, timeout):
    """{host: the servicestatus block of our service} once each is checked."""
    deadline = time.time() + timeout
    checked = {}
    while time.time() < deadline:
        if path.check():
            for block in path.read().split('servicestatus {')[1:]:
                fields = dict(line.strip().split('=', 1) for line in
                              block.split('}')[0].strip().splitlines()
                              if '=' in line)
                if fields.get('service_description') == 'PostgreSQL autovacuum' \
                        and fields.get('has_been_checked') == '1':
                    checked[fields['host_name']] = fields
        if set(hosts) <= set(checked):
            return checked
        time.sleep(0.5)
    raise AssertionError('Nagios did not check %s within %ds'
                         % (', '.join(sorted(set(hosts) - set(checked))), timeout))
