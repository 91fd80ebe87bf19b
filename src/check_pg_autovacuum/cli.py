"""Check that PostgreSQL autovacuum does its job, and say why when it doesn't.

Finds sessions that sit "idle in transaction": while one does, vacuum cannot
remove any row that died after its transaction began, and tables bloat
however often autovacuum runs.

Connection options follow libpq: anything not given falls back to PGHOST,
PGPORT, PGUSER, PGDATABASE, PGSERVICE, and the password comes from
~/.pgpass or PGPASSFILE (never from the command line).

Durations are seconds or take a unit: 90, 90s, 15m, 2h, 1d, 1w, 1h30m.
A threshold may also be a Nagios range with durations as bounds (@1h:2h).
Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
"""
from __future__ import print_function, unicode_literals

import argparse
import codecs
import io
import sys

import nagiosplugin

from .connection import Deadline, Session, conninfo
from .durations import parse_range
from .errors import CheckError
from .sessions import IdleTransactions, IdleTransactionsContext
from .verdict import AutovacuumSummary
from .version import __version__

CHECK_NAME = 'AUTOVACUUM'


class UsageError(CheckError):
    pass


def duration_range(text):
    """argparse type: a duration or a Nagios range of durations."""
    try:
        return parse_range(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


class ArgumentParser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, which Nagios reads as CRITICAL."""

    def error(self, message):
        raise UsageError('%s (see --help)' % message)


def parse_args(argv=None):
    parser = ArgumentParser(
        prog='check_pg_autovacuum', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    connection = parser.add_argument_group('connection (libpq defaults apply)')
    connection.add_argument('-H', '--host', help='server host name or '
                            'unix socket directory (default: $PGHOST)')
    connection.add_argument('-p', '--port', help='server port '
                            '(default: $PGPORT or 5432)')
    connection.add_argument('-U', '--user', help='role to connect as '
                            '(default: $PGUSER or the OS user)')
    connection.add_argument('-d', '--dbname', help='database to connect to '
                            '(default: $PGDATABASE or the role name)')
    connection.add_argument('--dsn', default='', metavar='CONNINFO',
                            help='libpq conninfo string or URI; -H/-p/-U/-d '
                            'override its parts')
    idle = parser.add_argument_group('sessions idle in transaction')
    idle.add_argument('--idle-warning', default='15m', type=duration_range,
                      metavar='DURATION',
                      help='longest idle time before WARNING '
                      '(default: %(default)s)')
    idle.add_argument('--idle-critical', default='1h', type=duration_range,
                      metavar='DURATION',
                      help='longest idle time before CRITICAL '
                      '(default: %(default)s)')
    general = parser.add_argument_group('general')
    general.add_argument('-t', '--timeout', default=30, type=int,
                         metavar='SECONDS', help='give up and say UNKNOWN '
                         'after this long (default: %(default)s)')
    general.add_argument('-v', '--verbose', action='count', default=0,
                         help='one line per problem (repeat for more)')
    general.add_argument('-V', '--version', action='version',
                         version='%(prog)s ' + __version__)
    args = parser.parse_args(argv)
    if args.timeout < 1:
        raise UsageError('--timeout must be at least 1 second')
    return args


def build_check(args, session):
    return nagiosplugin.Check(
        IdleTransactions(session),
        nagiosplugin.ScalarContext('idle_in_transaction', fmt_metric=None),
        IdleTransactionsContext(args.idle_warning, args.idle_critical),
        AutovacuumSummary(),
        name=CHECK_NAME)


def utf8_stdout():
    """Print UTF-8 whatever the locale: Nagios runs us with none set.

    Python 2 writing unicode into a pipe would raise UnicodeEncodeError,
    and Python 3 under LANG=C would use ASCII.
    """
    if sys.version_info[0] == 2:
        sys.stdout = codecs.getwriter('utf-8')(sys.stdout, 'replace')
    elif (sys.stdout.encoding or '').lower().replace('-', '') != 'utf8':
        sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding='utf-8',
                                      errors='replace', line_buffering=True)


def unknown(reason):
    """End the run the Nagios way: one line, exit 3."""
    print(u'%s UNKNOWN - %s' % (CHECK_NAME, reason))
    sys.exit(nagiosplugin.Unknown.code)


@nagiosplugin.guarded(verbose=0)
def main(argv=None):
    utf8_stdout()
    session = None
    try:
        args = parse_args(argv)
        # SIGALRM (nagiosplugin's timeout) is the backstop for what the
        # deadline does not cover.
        deadline = Deadline(args.timeout)
        settings = conninfo(args.dsn, host=args.host, port=args.port,
                            user=args.user, dbname=args.dbname)
        session = Session(settings, deadline)
        check = build_check(args, session)
        check.main(verbose=args.verbose, timeout=args.timeout)
    except CheckError as error:
        unknown(error)
    except nagiosplugin.Timeout:
        unknown('no result within the timeout (%ss)' % args.timeout)
    finally:
        if session is not None:
            session.close()
