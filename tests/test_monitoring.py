"""The shipped Icinga 2 and Nagios 4 configuration, unchanged, in real daemons.

Skipped where a daemon is not installed (.ci/run installs Debian's icinga2
and nagios4-core).  Each runs in the foreground with a private configuration
that includes our contrib/ file as shipped and schedules the check against
the test cluster every few seconds; the test reads what the daemon recorded
(Icinga's perfdata file, Nagios' status.dat).
"""
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
CHECK_DUMMY = '/usr/lib/nagios/plugins/check_dummy'

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


# A database host with an agent, so that the shipped apply rule has a match.
AGENT_HOST = '''
object Endpoint "db2" { }
object Zone "db2" {
  endpoints = [ "db2" ]
  parent = ZoneName
}
object Zone ZoneName {
  endpoints = [ NodeName ]
}
object Endpoint NodeName { }
object Host "db2" {
  check_command = "dummy"
  zone = ZoneName
  vars.postgresql = true
}
'''


def icinga_config(tmpdir, cluster, agent=False):
    spool = tmpdir.mkdir('spool')
    config = tmpdir.join('icinga2.conf')
    config.write('''
include <itl>
const PluginDir = "%(plugin_dir)s"
const NodeName = "localhost"
const ZoneName = "localhost"
include "%(contrib)s/icinga2/check_pg_autovacuum.conf"
%(agent)s
object CheckerComponent "checker" { }
object PerfdataWriter "perfdata" {
  service_perfdata_path = "%(spool)s/service-perfdata"
  service_temp_path = "%(spool)s/service-perfdata.tmp"
  service_format_template = "SERVICESTATE::$service.state$\\tOUTPUT::$service.output$\\tPERFDATA::$service.perfdata$"
  rotation_interval = 1s
}
object Host "db1" {
  check_command = "dummy"
  check_interval = 1h
}
object Service "autovacuum" {
  host_name = "db1"
  check_command = "pg_autovacuum"
  check_interval = 2s
  retry_interval = 2s
  vars.pg_autovacuum_host = "%(host)s"
  vars.pg_autovacuum_port = %(port)d
  vars.pg_autovacuum_user = "postgres"
  vars.pg_autovacuum_dbname = "postgres"
  vars.pg_autovacuum_only = "idle"
  vars.pg_autovacuum_idle_warning = "0"
  vars.pg_autovacuum_idle_critical = "1h"
}
''' % {'plugin_dir': plugin_dir(), 'contrib': CONTRIB, 'spool': spool,
       'host': cluster.host, 'port': cluster.port,
       'agent': AGENT_HOST if agent else ''})
    return config, spool


def daemon_arguments(tmpdir, config):
    defines = []
    for name in ('DataDir', 'LogDir', 'CacheDir', 'SpoolDir', 'InitRunDir'):
        defines += ['-D%s=%s' % (name, tmpdir.mkdir(name.lower()))]
    return [ICINGA2, 'daemon', '-c', str(config), '-DRunAsUser=root',
            '-DRunAsGroup=root'] + defines


@needs_icinga2
def test_icinga_validates_the_shipped_configuration(tmpdir, cluster):
    config, _ = icinga_config(tmpdir, cluster, agent=True)
    validation = subprocess.Popen(daemon_arguments(tmpdir, config) + ['-C'],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = validation.communicate()[0].decode('utf-8', 'replace')
    assert validation.returncode == 0, output
    assert 'warning/' not in output, output
    assert 'Instantiated 2 Services' in output, output


@needs_icinga2
def test_icinga_runs_the_check_and_records_state_output_and_perfdata(tmpdir,
                                                                      cluster):
    config, spool = icinga_config(tmpdir, cluster)
    with idle_in_transaction(cluster, idle_for=1.1) as pid:
        daemon = subprocess.Popen(daemon_arguments(tmpdir, config),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            recorded = _wait_for_records(spool, timeout=60)
        finally:
            os.kill(daemon.pid, signal.SIGTERM)
            daemon.communicate()
    state, output, perfdata = recorded[0]
    assert state == 'WARNING', recorded
    # The CheckCommand asks for -v: the output has a line per session.
    first_line, session_line = output.splitlines()[:2]
    assert re.match(r'AUTOVACUUM WARNING - 1 session idle in transaction, longest '
                    r'\d+s \(pid %d, db postgres\) ?$' % pid, first_line), recorded
    assert session_line.startswith('pid %d db postgres user postgres app zodb-app'
                                   % pid), recorded
    assert re.match(r'idle_in_transaction=1;;;0 idle_in_transaction_max=\d+s;0;3600;0$',
                    perfdata), recorded


RECORD = re.compile(r'SERVICESTATE::(\w+)\tOUTPUT::(.*?)\tPERFDATA::([^\n]*)', re.S)


def _wait_for_records(spool, timeout):
    """(state, output, perfdata) of each check result Icinga wrote."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for name in os.listdir(str(spool)):
            if name.startswith('service-perfdata') and not name.endswith('.tmp'):
                with open(os.path.join(str(spool), name)) as written:
                    records = RECORD.findall(written.read())
                if records:
                    return records
        time.sleep(0.5)
    raise AssertionError('Icinga recorded no check result within %ds' % timeout)


NAGIOS_OBJECTS = """
define timeperiod {
    timeperiod_name 24x7
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define command {
    command_name    host-up
    command_line    %(check_dummy)s 0
}
define command {
    command_name    notify-nobody
    command_line    /bin/true
}
define contact {
    contact_name                    nobody
    host_notifications_enabled      0
    service_notifications_enabled   0
    host_notification_period        24x7
    service_notification_period     24x7
    host_notification_options       n
    service_notification_options    n
    host_notification_commands      notify-nobody
    service_notification_commands   notify-nobody
}
define host {
    host_name           db1
    address             %(host)s
    check_command       host-up
    max_check_attempts  1
    check_period        24x7
    contacts            nobody
    notification_period 24x7
}
define service {
    name                    generic-service
    register                0
    check_period            24x7
    max_check_attempts      1
    notifications_enabled   0
    contacts                nobody
    notification_period     24x7
}
"""

NAGIOS_CFG = """
log_file=%(dir)s/nagios.log
cfg_file=%(dir)s/objects.cfg
cfg_file=%(contrib)s/nagios/check_pg_autovacuum.cfg
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
max_service_check_spread=1
max_host_check_spread=1
illegal_macro_output_chars=`~$&|'"<>
"""


@needs_nagios4
def test_nagios_runs_the_shipped_command_and_service(tmpdir, cluster):
    directory = tmpdir.mkdir('nagios')
    directory.mkdir('checkresults')
    values = {'dir': directory, 'contrib': CONTRIB, 'host': cluster.host,
              'check_dummy': CHECK_DUMMY}
    directory.join('objects.cfg').write(NAGIOS_OBJECTS % values)
    directory.join('resource.cfg').write('$USER1$=%s\n' % plugin_dir())
    config = directory.join('nagios.cfg')
    config.write(NAGIOS_CFG % values)
    verified = subprocess.Popen([NAGIOS4, '-v', str(config)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = verified.communicate()[0].decode('utf-8', 'replace')
    assert verified.returncode == 0, output
    # The shipped service connects as the role "nagios"; the port comes from
    # the environment, which Nagios hands down to its checks.
    env = dict(os.environ, PGPORT=str(cluster.port))
    with role(cluster, 'nagios', 'pg_monitor'):
        with idle_in_transaction(cluster, idle_for=1.1):
            daemon = subprocess.Popen([NAGIOS4, str(config)], env=env,
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT)
            try:
                status = _wait_for_status(directory.join('status.dat'), 60)
            finally:
                os.kill(daemon.pid, signal.SIGTERM)
                daemon.communicate()
    assert status['current_state'] == '0', status
    # Nagios writes ";" as ":" into status.dat, where ";" starts a comment.
    assert re.match(r'AUTOVACUUM OK - pid \d+ \(postgres, app zodb-app\) idle in '
                    r'transaction \d+s holds back vacuum: 1 session idle in '
                    r'transaction, longest \d+s \(pid \d+, db postgres\):',
                    status['plugin_output']), status
    assert re.search(r'(^|\\n)pid \d+ db postgres user postgres app zodb-app',
                     status['long_plugin_output']), status
    assert re.search(r'idle_in_transaction=1;;;0 idle_in_transaction_max=\d+s;'
                     r'900;3600;0', status['performance_data']), status


def _wait_for_status(path, timeout):
    """The servicestatus block of our service once it has been checked."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.check():
            for block in path.read().split('servicestatus {')[1:]:
                fields = dict(line.strip().split('=', 1) for line in
                              block.split('}')[0].strip().splitlines()
                              if '=' in line)
                if fields.get('service_description') == 'PostgreSQL autovacuum' \
                        and fields.get('has_been_checked') == '1':
                    return fields
        time.sleep(0.5)
    raise AssertionError('Nagios checked nothing within %ds' % timeout)
