import io
import os
import subprocess

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read(*parts):
    with io.open(os.path.join(HERE, *parts), encoding='utf-8') as source:
        return source.read()


def version():
    """The version lives in one place: src/check_pg_autovacuum/version.py."""
    namespace = {}
    exec(read('src', 'check_pg_autovacuum', 'version.py'), namespace)
    return namespace['__version__']


def psycopg2_requirement():
    """psycopg2 where this machine can build it, else psycopg2-binary.

    Both install the same module, psycopg2.  Building it from source needs
    PostgreSQL's pg_config with the libpq headers, and a C compiler, which
    a monitoring host often lacks; psycopg2-binary is prebuilt (with a
    libpq of its own) for Python 2.7 and 3.6 to 3.13.  A packager decides
    with CHECK_PG_AUTOVACUUM_PSYCOPG2=psycopg2 (or =psycopg2-binary).
    """
    chosen = os.environ.get('CHECK_PG_AUTOVACUUM_PSYCOPG2')
    if chosen not in ('psycopg2', 'psycopg2-binary'):
        chosen = 'psycopg2' if can_build_psycopg2() else 'psycopg2-binary'
    return chosen + ' >= 2.8'


def can_build_psycopg2():
    if not (find_executable('cc') or find_executable('gcc')):
        return False
    pg_config = find_executable('pg_config')
    if not pg_config:
        return False
    try:
        includes = subprocess.check_output([pg_config, '--includedir'])
    except (OSError, subprocess.CalledProcessError):
        return False
    return os.path.exists(os.path.join(includes.decode().strip(),
                                       'libpq-fe.h'))


def find_executable(name):
    for directory in os.environ.get('PATH', '').split(os.pathsep):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


setup(
    name='check_pg_autovacuum',
    version=version(),
    description='Nagios/Icinga plugin: is PostgreSQL autovacuum doing its job, '
                'and if not, why?',
    long_description=read('README.md') + '\n\n' + read('CHANGES.txt'),
    long_description_content_type='text/markdown',
    license='BSD-3-Clause',
    package_dir={'': 'src'},
    packages=find_packages('src'),
    package_data={'check_pg_autovacuum.queries': ['*.sql']},
    python_requires='>=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*',
    install_requires=[
        'nagiosplugin >= 1.2, < 1.5',
        psycopg2_requirement(),
    ],
    entry_points={
        'console_scripts': [
            'check_pg_autovacuum = check_pg_autovacuum.cli:main',
        ],
    },
    classifiers=[
        'Development Status :: 3 - Alpha',
        'Environment :: Console',
        'Intended Audience :: System Administrators',
        'License :: OSI Approved :: BSD License',
        'Programming Language :: Python :: 2',
        'Programming Language :: Python :: 2.7',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.6',
        'Programming Language :: Python :: 3.7',
        'Programming Language :: Python :: 3.8',
        'Programming Language :: Python :: 3.9',
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Programming Language :: Python :: 3.13',
        'Topic :: Database',
        'Topic :: System :: Monitoring',
    ],
)
