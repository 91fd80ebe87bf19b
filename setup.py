import io
import os

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
    zip_safe=False,  # queries/ reads its SQL files beside it
    python_requires='>=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*',
    # The driver is an extra, as psycopg's own [binary] is: the metadata is
    # the same wherever the wheel is built.  [binary] brings psycopg2-binary
    # (prebuilt, its own libpq: no compiler, no pg_config); [psycopg2]
    # builds psycopg2 against the system's libpq; a distribution package
    # depends on its own psycopg2 and asks for neither.  Both install the
    # module psycopg2; without one the plugin says so in one UNKNOWN line.
    install_requires=[
        'nagiosplugin >= 1.2, < 1.5',
    ],
    extras_require={
        'binary': ['psycopg2-binary >= 2.8'],
        'psycopg2': ['psycopg2 >= 2.8'],
    },
    entry_points={
        'console_scripts': [
            'check_pg_autovacuum = check_pg_autovacuum.cli:main',
        ],
    },
    classifiers=[
        'Development Status :: 5 - Production/Stable',
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
