"""A throwaway PostgreSQL cluster for the tests and the demo.

Binaries come from $PG_BINDIR, else ``pg_config --bindir``, else PATH, else
the newest /usr/lib/postgresql/*/bin (Debian and Ubuntu packages).  initdb
refuses to run as root, and CI runs as root: then the server runs as the
``postgres`` OS user, or ``nobody`` where that does not exist.
"""
from __future__ import print_function

import collections
import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile

import psycopg2

SUPERUSER = 'postgres'


def _which(program):
    for directory in os.environ.get('PATH', '').split(os.pathsep):
        candidate = os.path.join(directory, program)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _version_key(path):
    return [int(n) for n in re.findall(r'\d+', path)]


def find_bindir():
    """Where initdb, pg_ctl and postgres are."""
    if os.environ.get('PG_BINDIR'):
        return os.environ['PG_BINDIR']
    if _which('pg_config'):
        bindir = subprocess.check_output(['pg_config', '--bindir']).decode().strip()
        if os.path.exists(os.path.join(bindir, 'initdb')):
            return bindir
    initdb = _which('initdb')
    if initdb:
        return os.path.dirname(os.path.realpath(initdb))
    candidates = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'),
                        key=_version_key)
    if candidates:
        return os.path.dirname(candidates[-1])
    return embedded_bindir()


def embedded_bindir():
    """No PostgreSQL installed: the embedded one (tools/embedded-postgres
    fetches it once into .cache/)."""
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                        'tools', 'embedded-postgres')
    # Python 3, whatever runs the tests: none of this interpreter's paths.
    env = dict((name, value) for name, value in os.environ.items()
               if name not in ('PYTHONPATH', 'PYTHONHOME'))
    try:
        return subprocess.check_output(['python3', tool], env=env).decode().strip()
    except (OSError, subprocess.CalledProcessError) as error:
        raise RuntimeError('no PostgreSQL server binaries found (set '
                           'PG_BINDIR, or put pg_config or initdb on PATH), '
                           'and the embedded one could not be fetched: %s'
                           % error)


def find_client(program):
    """A client program such as pgbench: beside the server binaries, else
    from the installed PostgreSQL (the npm binaries have no pgbench, and
    any recent client talks to any server from 10 on); None if none."""
    candidates = [os.path.join(find_bindir(), program)]
    if _which('pg_config'):
        candidates.append(os.path.join(subprocess.check_output(
            ['pg_config', '--bindir']).decode().strip(), program))
    candidates.append(_which(program))
    candidates += sorted(glob.glob('/usr/lib/postgresql/*/bin/' + program),
                         key=_version_key, reverse=True)
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port():
    probe = socket.socket()
    try:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]
    finally:
        probe.close()


def _server_account():
    """The OS user the server runs as: ourselves, unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ('postgres', 'nobody'):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError('running as root, and neither a postgres nor a nobody '
                       'OS user exists to run the server')


# The server writes and rotates its own log, and autovacuum is quick to
# start and quick to be cancelled: what the log tests and the demo need.
LOGGING_COLLECTOR = {
    'logging_collector': 'on', 'log_directory': "'log'",
    'log_filename': "'postgresql-%Y-%m-%d_%H%M%S.log'",
    'log_rotation_age': '0', 'log_rotation_size': '0',
    'deadlock_timeout': "'100ms'", 'autovacuum_naptime': '1',
    'log_autovacuum_min_duration': '0'}

HBA = """\
local   all  all                          trust
local   replication  all                  trust
host    all  pwuser    127.0.0.1/32       scram-sha-256
host    all  all       127.0.0.1/32       trust
"""


class Cluster(object):
    """initdb, start, connect, stop.  ``host`` is the private socket dir."""

    def __init__(self, bindir=None, settings=None):
        self.bindir = bindir or find_bindir()
        self.account = _server_account()
        self.base = tempfile.mkdtemp(prefix='cpa-')
        self.datadir = os.path.join(self.base, 'data')
        self.logdir = os.path.join(self.base, 'log')
        self.logfile = os.path.join(self.logdir, 'server.log')
        self.host = self.base
        self.port = free_port()
        self.user = SUPERUSER
        self.settings = dict(settings or {})
        # Connections made per database (the server's sessions counter
        # counts them too: tests of quiet databases wait for it).
        self.connections = collections.Counter()
        os.mkdir(self.logdir)
        if self.account:
            for path in (self.base, self.logdir):
                os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def _as_server_account(self):
        account = self.account
        if account is None:
            return None

        def drop_privileges():
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
        return drop_privileges

    def _run(self, program, *args):
        with open(os.devnull, 'w') as quiet:
            subprocess.check_call(
                [os.path.join(self.bindir, program)] + list(args),
                stdout=quiet, preexec_fn=self._as_server_account(),
                cwd=self.base)

    def server_version_num(self):
        output = subprocess.check_output(
            [os.path.join(self.bindir, 'postgres'), '--version']).decode()
        numbers = [int(n) for n in re.findall(r'\d+', output)[:2]]
        major = numbers[0]
        return major * 10000 if major >= 10 else major * 10000 + numbers[1] * 100

    def start(self, standby_of=None):
        """initdb and start; or, with STANDBY_OF, a hot standby of that cluster."""
        if standby_of is None:
            self._run('initdb', '-D', self.datadir, '-U', SUPERUSER, '-A',
                      'trust', '-E', 'UTF8', '--no-locale')
        else:
            # A fast checkpoint: the default spreads it over 0.9 of
            # checkpoint_timeout, minutes where the primary wrote much.
            self._run('pg_basebackup', '-D', self.datadir, '-R', '-X', 'stream',
                      '-c', 'fast', '-h', standby_of.host,
                      '-p', str(standby_of.port), '-U', SUPERUSER)
        with open(os.path.join(self.datadir, 'pg_hba.conf'), 'w') as hba:
            hba.write(HBA)
        settings = {
            'port': self.port,
            'listen_addresses': "'127.0.0.1'",
            'unix_socket_directories': "'%s'" % self.host,
            'fsync': 'off',
            'synchronous_commit': 'off',
            'full_page_writes': 'off',
            'autovacuum_naptime': '1',
            # What autovacuum did, in the log a failing test shows.
            'log_autovacuum_min_duration': '0',
            'max_prepared_transactions': '10',
            'wal_level': 'logical',  # logical slots hold catalog_xmin
            'password_encryption': "'scram-sha-256'",
            'lc_messages': "'C'",
            'log_line_prefix': "'%m [%p] %q%u@%d '",
        }
        settings.update(self.settings)
        with open(os.path.join(self.datadir, 'postgresql.conf'), 'a') as conf:
            for name, value in sorted(settings.items()):
                conf.write('%s = %s\n' % (name, value))
        self._start_on_a_free_port()
        return self

    def _start_on_a_free_port(self):
        """pg_ctl start; on another port if a cluster of a concurrent test
        run took this one between free_port() and the server's bind()."""
        for _ in range(5):
            try:
                self._run('pg_ctl', 'start', '-w', '-t', '60', '-D',
                          self.datadir, '-l', self.logfile)
                return
            except subprocess.CalledProcessError:
                with open(self.logfile, 'rb') as log:
                    if b'Address already in use' not in log.read():
                        raise
            self.port = free_port()
            with open(os.path.join(self.datadir, 'postgresql.auto.conf'),
                      'a') as conf:
                conf.write('port = %d\n' % self.port)
        raise RuntimeError('no free port for the test cluster')

    def log_tail(self, lines=30):
        """The server log's last LINES, for a test's failure message."""
        try:
            with open(self.logfile, 'rb') as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 200 * lines))
                text = log.read().decode('utf-8', 'replace')
        except (IOError, OSError) as error:
            return '(no server log: %s)' % error
        return '\n'.join(text.splitlines()[-lines:])

    def postmaster_pid(self):
        with open(os.path.join(self.datadir, 'postmaster.pid')) as pidfile:
            return int(pidfile.readline())

    def restart(self, mode):
        """pg_ctl stop -m MODE, then start: 'fast' shuts down cleanly,
        'immediate' leaves a crash recovery to the start."""
        self._run('pg_ctl', 'stop', '-w', '-m', mode, '-D', self.datadir)
        self._run('pg_ctl', 'start', '-w', '-t', '60', '-D', self.datadir,
                  '-l', self.logfile)

    def stop(self):
        if os.path.exists(os.path.join(self.datadir, 'postmaster.pid')):
            self._run('pg_ctl', 'stop', '-w', '-m', 'immediate', '-D',
                      self.datadir)
        shutil.rmtree(self.base, ignore_errors=True)

    def connect(self, dbname='postgres', user=SUPERUSER, **settings):
        """A psycopg2 connection in autocommit, for setting up scenarios."""
        counted_as = dbname
        if sys.version_info[0] == 2:  # psycopg2 2.8 str()s each parameter
            settings = dict((k, v.encode('utf-8') if isinstance(v, unicode) else v)  # noqa: F821
                            for k, v in settings.items())
            dbname = dbname.encode('utf-8')
        conn = psycopg2.connect(host=self.host, port=self.port, user=user,
                                dbname=dbname, **settings)
        self.connections[counted_as] += 1
        conn.autocommit = True
        return conn

    def execute(self, sql, parameters=None, dbname='postgres'):
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, parameters)
                if cursor.description:
                    return cursor.fetchall()
        finally:
            conn.close()

    def libpq_environment(self):
        """What a user would export to reach this cluster."""
        return {'PGHOST': self.host, 'PGPORT': str(self.port),
                'PGUSER': SUPERUSER, 'PGDATABASE': 'postgres'}


@contextlib.contextmanager
def running(**settings):
    """A started Cluster for the block, stopped and removed after it."""
    server = Cluster(settings=settings)
    try:
        server.start()
        yield server
    finally:
        server.stop()
