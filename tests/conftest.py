"""Fixtures: one throwaway cluster for the whole run, and the plugin as a user runs it."""
import collections
import io
import os
import subprocess
import sys

import psycopg2.extensions
import pytest

from pgcluster import running

HERE = os.path.dirname(os.path.abspath(__file__))
# Where the run began (bin/test or py27/bin/test), for the workers that
# pytest -n starts: their sys.argv[0] says nothing, and buildout's script
# puts the eggs on sys.path, which pytest-xdist 1.x (Python 2.7) does not
# hand on to them.
os.environ.setdefault('CHECK_PG_AUTOVACUUM_TEST_BIN',
                      os.path.dirname(os.path.abspath(sys.argv[0])))
if sys.version_info[0] == 2:
    os.environ['PYTHONPATH'] = os.pathsep.join(
        [p for p in sys.path if p] +
        [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])
Completed = collections.namedtuple('Completed', 'returncode stdout stderr')
# The plugin's main() timed from within: python -c TIMED_MAIN FILE ARGS...
TIMED_MAIN = """
import sys, time
from check_pg_autovacuum import cli
timing = sys.argv.pop(1)
started = time.time()
try:
    cli.main()
finally:
    with open(timing, 'w') as took:
        took.write(repr(time.time() - started))
"""


@pytest.fixture(scope='session')
def cluster():
    with running() as server:
        yield server


@pytest.fixture(autouse=True)
def no_wait_callback_left_behind():
    """A test that opens a plugin Session in-process installs the plugin's
    deadline as psycopg2's process-wide wait callback; it must not outlive
    the test and time out the harness's own connections later."""
    yield
    psycopg2.extensions.set_wait_callback(None)


def clean_environment(tmpdir):
    """Our environment minus anything libpq would pick up by itself."""
    env = dict((name, value) for name, value in os.environ.items()
               if not name.startswith('PG') and name != 'PYTHONIOENCODING')
    # The plugin must find its imports exactly as this test run does.
    env['PYTHONPATH'] = os.pathsep.join(p for p in sys.path if p)
    env['PGPASSFILE'] = os.path.join(str(tmpdir), 'no-such-pgpass')
    # Each test's own memory between runs and log positions.
    env['XDG_STATE_HOME'] = os.path.join(str(tmpdir), 'state')
    return env


def _transcribe(args, completed):
    """With PLUGIN_TRANSCRIPT=file, what each test ran and what it was told:
    the record of what the plugin says to every fault we try."""
    path = os.environ.get('PLUGIN_TRANSCRIPT')
    if not path:
        return
    with io.open(path, 'a', encoding='utf-8') as transcript:
        transcript.write('## %s\n$ check_pg_autovacuum %s\n%s(exit %d)\n\n' % (
            os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0],
            ' '.join(arg.decode('utf-8', 'replace') if isinstance(arg, bytes)
                     else arg for arg in args),
            completed.stdout + completed.stderr,
            completed.returncode))


@pytest.fixture
def plugin(cluster, tmpdir):
    """Run check_pg_autovacuum in a subprocess, pointed at the test cluster.

    plugin('-v', env={'PGUSER': 'nagios'}) -> Completed(returncode, stdout,
    stderr), output decoded from UTF-8.  Pass env={'PGHOST': None} to unset,
    wrapper=[...] for a command that runs the plugin (e.g. setpriv).
    """
    def start(*args, **kwargs):
        """The plugin started, not waited for: a subprocess.Popen."""
        wrapper = kwargs.pop('wrapper', [])
        timing = kwargs.pop('timing', None)
        env = clean_environment(tmpdir)
        env.update(cluster.libpq_environment())
        for name, value in kwargs.pop('env', {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        program = ['-m', 'check_pg_autovacuum'] if timing is None else \
            ['-c', TIMED_MAIN, timing]
        return subprocess.Popen(
            wrapper + [sys.executable] + program + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **kwargs)

    def run(*args, **kwargs):
        process = start(*args, **kwargs)
        stdout, stderr = process.communicate()
        completed = Completed(process.returncode, stdout.decode('utf-8'),
                              stderr.decode('utf-8'))
        _transcribe(args, completed)
        return completed
    def timed(*args, **kwargs):
        """(Completed, seconds the plugin's main() took): what --timeout
        bounds, without the interpreter's start-up, which a machine loaded
        by the suite's other tests may stretch to seconds."""
        timing = str(tmpdir.join('main-seconds'))
        process = start(*args, timing=timing, **kwargs)
        stdout, stderr = process.communicate()
        with open(timing) as took:
            seconds = float(took.read())
        return Completed(process.returncode, stdout.decode('utf-8'),
                         stderr.decode('utf-8')), seconds

    run.start = start
    run.timed = timed
    return run


def pytest_collection_modifyitems(items):
    """The longest tests first: run side by side (make test), the whole run
    takes as long as its longest test only when that one starts at once."""
    items.sort(key=lambda item: (item.get_closest_marker('first') is None,
                                 item.get_closest_marker('slow') is None))
