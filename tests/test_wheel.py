"""The wheel installs on a monitoring host: no compiler, no pg_config.

The wheel is built as a user builds it (tools/dist: `python -m build`) and
installed into a fresh virtualenv of the interpreter running this test, by
a pip that may not build either driver from source (--only-binary; pure
Python sdists, such as nagiosplugin's for 2.7, are fine) and with a PATH
that holds no compiler and no pg_config: a wheel whose metadata asked for
psycopg2 itself (an sdist, built with pg_config and a compiler) fails to
install here.  Each interpreter of make test runs it
for itself: Python 3, and 2.7 where there is one.
"""
import glob
import os
import re
import subprocess
import sys

import pytest

from conftest import clean_environment
from check_pg_autovacuum import __version__
from scenarios import idle_in_transaction

pytestmark = pytest.mark.slow

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS_DIST = os.path.join(HERE, os.pardir, 'tools', 'dist')


def run(command, **kwargs):
    """COMMAND's exit status and output (both streams, decoded)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, **kwargs)
    output = process.communicate()[0].decode('utf-8', 'replace')
    return process.returncode, output


def tools_environment():
    """Ours without PYTHONPATH, which a Python 2.7 run exports: the build
    tools and virtualenv are Python 3."""
    return dict((name, value) for name, value in os.environ.items()
                if name not in ('PYTHONPATH', 'PYTHONHOME'))


@pytest.fixture
def wheel(tmpdir):
    """The wheel, built as a user builds it."""
    directory = str(tmpdir.join('dist'))
    status, output = run([TOOLS_DIST, directory], env=tools_environment())
    assert status == 0, output
    wheels = glob.glob(os.path.join(directory, '*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


def bare_environment(tmpdir):
    """PATH has the venv's bin and nothing else: no cc, gcc, pg_config."""
    env = clean_environment(tmpdir)
    env.pop('PYTHONPATH')  # the venv's own site-packages, not ours
    env['PATH'] = str(tmpdir.join('venv', 'bin'))
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    return env


def make_venv(tmpdir):
    status, output = run([TOOLS_DIST, '--venv'], env=tools_environment())
    assert status == 0, output
    tools = output.strip().splitlines()[-1]
    venv = str(tmpdir.join('venv'))
    status, output = run([os.path.join(tools, 'bin', 'python'), '-m',
                          'virtualenv', '-q', '-p', sys.executable, venv],
                         env=tools_environment())
    assert status == 0, output
    return venv


def pip_install(venv, env, requirement):
    return run([os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install',
                '-q', '--only-binary', 'psycopg2,psycopg2-binary', requirement],
               env=env)


def test_the_wheel_installs_and_checks_without_compiler_or_pg_config(
        wheel, tmpdir, cluster):
    # One build for both parts: each test of pytest -n may run elsewhere.
    assert_universal_and_asks_for_no_compiler(wheel)
    venv = make_venv(tmpdir)
    env = bare_environment(tmpdir)
    plugin = os.path.join(venv, 'bin', 'check_pg_autovacuum')
    for program in ('cc', 'gcc', 'pg_config'):
        assert run(['/bin/sh', '-c', 'command -v ' + program],
                   env=env)[0] != 0, program

    # Without an extra there is no driver: one line saying which to add.
    status, output = pip_install(venv, env, wheel)
    assert status == 0, output
    status, output = run([plugin], env=env)
    assert status == 3, output
    assert output.startswith('AUTOVACUUM UNKNOWN - psycopg2 is not installed '
                             'for %s' % os.path.join(venv, 'bin', 'python')), output
    assert 'pip install "check_pg_autovacuum[binary]"' in output
    assert len(output.splitlines()) == 1, output

    status, output = pip_install(venv, env, wheel + '[binary]')
    assert status == 0, output
    assert run([plugin, '--version'], env=env) == (
        0, 'check_pg_autovacuum %s\n' % __version__)
    env.update(cluster.libpq_environment())
    with idle_in_transaction(cluster, idle_for=1.1) as pid:
        status, output = run([plugin, '--only', 'idle', '--idle-warning', '0',
                              '--idle-critical', '0'], env=env)
    assert status == 2, output
    assert re.match(
        r'AUTOVACUUM CRITICAL - 1 session idle in transaction, longest \d+s '
        r'\(pid %d, db postgres\)\|idle_in_transaction=1;;;0 '
        r'idle_in_transaction_max=\d+s;0;0;0\n$' % pid, output), output


def assert_universal_and_asks_for_no_compiler(wheel):
    assert os.path.basename(wheel).endswith('-py2.py3-none-any.whl')
    status, metadata = run(['unzip', '-p', wheel, '*.dist-info/METADATA'])
    assert status == 0, metadata
    requires = sorted(line for line in metadata.splitlines()
                      if line.startswith('Requires-Dist:'))
    assert requires == [
        'Requires-Dist: nagiosplugin<1.5,>=1.2',
        'Requires-Dist: psycopg2-binary>=2.8; extra == "binary"',
        'Requires-Dist: psycopg2>=2.8; extra == "psycopg2"',
    ]
