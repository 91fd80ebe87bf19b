"""The shipped Icinga 2 and Nagios 4 configuration, unchanged, in real daemons.

Skipped where a daemon is not installed (.ci/run installs Debian's icinga2
and nagios4-core).  Each runs in the foreground with a private configuration
that includes our contrib/ file as shipped, with database hosts as an admin
adds them: one that takes every default, one that overrides where its server
is by host variables.  The test reads what the daemon recorded (Icinga's
state file, Nagios' status.dat).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from scenarios import idle_in_transaction, role

HERE = os.path.dirname(os.path.abspath(__file__))
CONTRIB = os.path.join(HERE, '..', 'contrib')
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
    """The bin/ of this build: bin/ or py27/bin/ next to the running test,
    or the bin/ of the virtualenv that runs it."""
    for here in (os.path.dirname(os.path.abspath(sys.argv[0])),
                 os.path.dirname(sys.executable)):
        if os.path.exists(os.path.join(here, 'check_pg_autovacuum')):
            return here
    raise AssertionError('no check_pg_autovacuum script beside %s' % sys.argv[0])


# Database hosts as an admin writes them: one that takes every shipped
# default, one that overrides socket, port, role and log by host variables.
SINGLE_NODE_HOSTS = """
object Host "db1" {
  check_command = "dummy"
  check_interval = 1h
  vars.postgresql = true
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
object Host "not-a-database" {
  check_command = "dummy"
}
object Host "opted-out" {
  check_command = "dummy"
  vars.postgresql = true
  vars.pg_autovacuum = false
}
"""

# A database host with an agent, in a zone below this node's: the check
# runs there (command_endpoint), the ITL way.
AGENT_HOST = """
object Endpoint NodeName { }
object Zone ZoneName {
  endpoints = [ NodeName ]
}
object Endpoint "db9" { }
object Zone "db9" {
  endpoints = [ "db9" ]
  parent = ZoneName
}
object Host "db9" {
  zone = ZoneName
  check_command = "dummy"
  vars.postgresql = true
  vars.agent_endpoint = name
}
"""

ICINGA_CONF = """
include <itl>
const PluginDir = "%(plugin_dir)s"
const NodeName = "localhost"
const ZoneName = "localhost"
include "%(contrib)s/icinga2/check_pg_autovacuum.conf"
object CheckerComponent "checker" { }
object PerfdataWriter "perfdata" {
  service_perfdata_path = "%(spool)s/service-perfdata"
  service_temp_path = "%(spool)s/service-perfdata.tmp"
  service_format_template = "HOSTNAME::$host.name$"
  rotation_interval = 1s
}
"""


def icinga_config(tmpdir, cluster, agent=False):
    """A private icinga2.conf that includes ours as shipped; its spool."""
    spool = tmpdir.mkdir('spool')
    tmpdir.join('postgresql-Sun.log').write('')
    config = tmpdir.join('icinga2.conf')
    config.write(
        ICINGA_CONF % {'plugin_dir': plugin_dir(), 'contrib': CONTRIB,
                       'spool': spool}
        + SINGLE_NODE_HOSTS % {'host': cluster.host, 'port': cluster.port,
                               'log_glob': tmpdir.join('postgresql-*.log')}
        + (AGENT_HOST if agent else ''))
    return config, spool


def daemon_arguments(tmpdir, config):
    defines = []
    for name in ('DataDir', 'LogDir', 'CacheDir', 'SpoolDir', 'InitRunDir'):
        defines += ['-D%s=%s' % (name, tmpdir.join(name.lower()).ensure(dir=True))]
    return [ICINGA2, 'daemon', '-c', str(config), '-DRunAsUser=root',
            '-DRunAsGroup=root'] + defines


@needs_icinga2
@pytest.mark.parametrize('agent', [False, True], ids=['single-node', 'agent'])
def test_icinga_validates_the_shipped_configuration(tmpdir, cluster, agent):
    config, _ = icinga_config(tmpdir, cluster, agent)
    validation = subprocess.Popen(daemon_arguments(tmpdir, config) + ['-C'],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = validation.communicate()[0].decode('utf-8', 'replace')
    assert validation.returncode == 0, output
    assert 'warning/' not in output, output
    # db1, db2 (and db9); neither the host without vars.postgresql nor the
    # one that opted out.
    assert 'Instantiated %d Services' % (3 if agent else 2) in output, output


@needs_icinga2
def test_icinga_runs_the_check_with_defaults_and_host_overrides(tmpdir,
                                                                 cluster):
    config, spool = icinga_config(tmpdir, cluster)
    with role(cluster, 'monitor', 'pg_monitor'):
        with idle_in_transaction(cluster, idle_for=1.1) as pid:
            daemon = subprocess.Popen(daemon_arguments(tmpdir, config),
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT)
            try:
                _wait_for_records(spool, {'db1', 'db2'}, timeout=60)
            finally:
                os.kill(daemon.pid, signal.SIGTERM)
                daemon.communicate()
    results = _last_check_results(tmpdir.join('datadir', 'icinga2.state'))
    state_dir = str(tmpdir.join('datadir', 'check_pg_autovacuum'))
    # db1: the shipped defaults, and no server there on a test machine.
    default = results['db1!pg-autovacuum']
    assert default['command'][1:] == [
        '--logfile', '/var/log/postgresql/postgresql-*.log',
        '--state-dir', state_dir, '-H', '/var/run/postgresql', '-U', 'nagios',
        '-t', '50', '-v'], default
    assert default['state'] == 3, default
    # db2: socket, port, role and log from the host, checked for real.
    overridden = results['db2!pg-autovacuum']
    assert overridden['command'][1:] == [
        '--idle-warning', '0', '--logfile', str(tmpdir.join('postgresql-*.log')),
        '--state-dir', state_dir, '-H', cluster.host, '-U', 'monitor',
        '-p', str(cluster.port), '-t', '50', '-v'], overridden
    assert overridden['state'] == 1, overridden
    first_line = overridden['output'].splitlines()[0]
    assert re.match(r'AUTOVACUUM WARNING - 1 session idle in transaction, '
                    r'longest \d+s \(pid %d, db postgres\)$' % pid,
                    first_line), overridden
    # The CheckCommand asks for -v: a line per session.
    assert re.search(r'\npid %d db postgres user postgres app zodb-app' % pid,
                     overridden['output']), overridden
    perfdata = dict(value.split('=', 1)
                    for value in overridden['performance_data'])
    assert perfdata['idle_in_transaction'] == '1;;;0', perfdata
    assert re.match(r'\d+s;0;3600;0$', perfdata['idle_in_transaction_max']), \
        perfdata
    assert any(name.startswith('memory-') for name in os.listdir(state_dir))


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
    """{service name: its last check result} from Icinga's state file: a
    sequence of netstrings, each a JSON object."""
    data = state_file.read()
    results = {}
    start = 0
    while start < len(data):
        colon = data.index(':', start)
        length = int(data[start:colon])
        record = json.loads(data[colon + 1:colon + 1 + length])
        start = colon + 1 + length + 1  # past the ","
        if record.get('type') == 'Service':
            results[record['name']] = record['update']['last_check_result']
    return results


# Database hosts as an admin adds them to Debian's sample configuration:
# db1 says where its server is by custom variables, db2 takes the defaults.
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
}
"""

# Only what must be private to the test: paths, user, and quick rounds.
NAGIOS_CFG = """
log_file=%(dir)s/nagios.log
%(stock_objects)s
cfg_file=%(contrib)s/nagios/check_pg_autovacuum.cfg
cfg_file=%(dir)s/hosts.cfg
resource_file=%(dir)s/resource.cfg
status_file=%(dir)s/status.dat
status_update_interval=1
object_cache_file=%(dir)s/objects.cache
precached_object_file=%(dir)s/objects.precache
temp_file=%(dir)s/nagios.tmp
temp_path=%(dir)s
lock_file=%(dir)s/nagios.lock
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
    """The object files and directories Debian's nagios.cfg loads."""
    with open(DEBIAN_NAGIOS_CFG) as stock:
        return '\n'.join(
            line.strip() for line in stock
            if line.startswith(('cfg_file=', 'cfg_dir='))
            and os.path.exists(line.strip().split('=', 1)[1]))


@needs_nagios4
def test_nagios_runs_the_shipped_service_on_its_hostgroup(tmpdir, cluster):
    directory = tmpdir.mkdir('nagios')
    directory.mkdir('checkresults')
    directory.join('postgresql-Sun.log').write('')
    directory.join('hosts.cfg').write(
        NAGIOS_HOSTS % {'host': cluster.host, 'port': cluster.port,
                        'log_glob': directory.join('postgresql-*.log')})
    directory.join('resource.cfg').write('$USER1$=%s\n' % plugin_dir())
    config = directory.join('nagios.cfg')
    config.write(NAGIOS_CFG % {'dir': directory, 'contrib': CONTRIB,
                               'stock_objects': stock_objects()})
    verified = subprocess.Popen([NAGIOS4, '-v', str(config)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = verified.communicate()[0].decode('utf-8', 'replace')
    assert verified.returncode == 0, output
    # Nothing from the environment: the port comes from the host's macro.
    env = dict((name, value) for name, value in os.environ.items()
               if not name.startswith('PG'))
    env['XDG_STATE_HOME'] = str(tmpdir.join('state'))
    with role(cluster, 'monitor', 'pg_monitor'):
        with idle_in_transaction(cluster, idle_for=1.1):
            daemon = subprocess.Popen([NAGIOS4, str(config)], env=env,
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT)
            try:
                status = _wait_for_status(directory.join('status.dat'),
                                          ['db1', 'db2'], 60)
            finally:
                os.kill(daemon.pid, signal.SIGTERM)
                daemon.communicate()
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
    # db2 set nothing: libpq's defaults, the local socket and port 5432,
    # where the test machine runs no server for the role root.
    assert status['db2']['current_state'] == '3', status['db2']
    assert status['db2']['plugin_output'].startswith('AUTOVACUUM UNKNOWN - '), \
        status['db2']


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
