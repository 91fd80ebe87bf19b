"""The shipped Icinga 2 configuration, unchanged, in a real Icinga 2 daemon.

Skipped where icinga2 is not installed (.ci/run installs Debian's).  The
daemon runs in the foreground with a private configuration that includes
contrib/icinga2/check_pg_autovacuum.conf as shipped, schedules the check
against the test cluster every 2 seconds, and writes what it recorded to a
perfdata file, which the test reads.
"""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from scenarios import idle_in_transaction

HERE = os.path.dirname(os.path.abspath(__file__))
CONTRIB = os.path.join(HERE, '..', 'contrib')
ICINGA2 = '/usr/sbin/icinga2'

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.exists(ICINGA2),
                       reason='icinga2 is not installed (apt-get install '
                       '--no-install-recommends icinga2)')]


def plugin_dir():
    """The bin/ of this build: bin/ or py27/bin/, next to the running test."""
    here = os.path.dirname(os.path.abspath(sys.argv[0]))
    assert os.path.exists(os.path.join(here, 'check_pg_autovacuum')), here
    return here


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


def test_icinga_validates_the_shipped_configuration(tmpdir, cluster):
    config, _ = icinga_config(tmpdir, cluster, agent=True)
    validation = subprocess.Popen(daemon_arguments(tmpdir, config) + ['-C'],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = validation.communicate()[0].decode('utf-8', 'replace')
    assert validation.returncode == 0, output
    assert 'warning/' not in output, output
    assert 'Instantiated 2 Services' in output, output


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
                    r'\d+s \(pid %d, db postgres\)$' % pid, first_line), recorded
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
