"""Check that PostgreSQL autovacuum does its job, and say why when it doesn't.

Findings (all run unless --only/--skip say otherwise):
{summaries}A table below the trigger is never reported, however old its last vacuum.
A table's wait runs from when it crossed the trigger, which the check
remembers between runs (a file beside --state-file, else one per server
in --state-dir); with no earlier run it is
estimated from how fast the rows accrued since the last vacuum (-v says
so).  The time a vacuum has been running on the table does not count.

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
import logging
import sys

import nagiosplugin

from . import memory, options, queries, table_statistics
from .connection import Deadline, Session, conninfo, require_driver
from .databases import Databases
from .errors import CheckError
from .findings import NAMES, READ_TABLES, REGISTRY
from .memory import Memory, MemoryContext, RememberedRuns, memory_file
from .options import UsageError
from .quiet import QuietDatabases, readers_key
from .output import PerfdataFirst
from .statefile import state_directory
from .table_statistics import (
    AutovacuumSwitches, AutovacuumSwitchesContext, TableStatistics,
    UnreadableDatabases, UnreadableDatabasesContext)
from .verdict import (
    AutovacuumCheck, AutovacuumSummary, CountContext, plugin_text, ranked)
from .version import __version__

CHECK_NAME = 'AUTOVACUUM'
__doc__ = __doc__.format(summaries=''.join(f.SUMMARY for f in REGISTRY))
PRIORITY = ranked(dict(
    [item for finding in REGISTRY for item in finding.PRIORITY.items()] +
    list(table_statistics.PRIORITY.items()) + list(memory.PRIORITY.items())))


class ArgumentParser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, which Nagios reads as CRITICAL."""

    def error(self, message):
        raise UsageError('%s (see --help)' % message)


def perfdata_help():
    """--help's table of the perfdata labels, from the findings' own."""
    labels = [label for finding in REGISTRY for label in finding.PERFDATA]
    labels += table_statistics.PERFDATA
    lines = ['performance data (fixed labels; s = seconds):']
    for label, meaning in labels:
        first, rest = meaning.split('\n')[0], meaning.split('\n')[1:]
        lines.append('  %s  %s' % (label.ljust(26), first))
        lines.extend(' ' * 30 + line for line in rest)
    return '\n'.join(lines) + '\n'


def make_parser(system_state_dir=None):
    """The options; SYSTEM_STATE_DIR is a package's state directory (see
    statefile.state_directory), named in --state-dir's default."""
    parser = ArgumentParser(
        prog='check_pg_autovacuum', description=__doc__, epilog=perfdata_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    connection = parser.add_argument_group('connection (libpq defaults apply)')
    connection.add_argument('-H', '--host', help='server host name or '
                            'unix socket directory (default: $PGHOST)')
    connection.add_argument('-p', '--port', help='server port '
                            '(default: $PGPORT or 5432)')
    connection.add_argument('-U', '--user', help='role to connect as '
                            '(default: $PGUSER or the OS user)')
    connection.add_argument('-d', '--dbname', help='database to connect to '
                            'first; the table findings visit all of them '
                            '(default: $PGDATABASE, else postgres)')
    connection.add_argument('--dsn', default='', metavar='CONNINFO',
                            help='libpq conninfo string or URI; -H/-p/-U/-d '
                            'override its parts')
    for finding in REGISTRY:
        finding.add_options(parser)
    # Into the group of the vacuum and analyze findings, after theirs.
    Databases.add_options(parser)
    general = parser.add_argument_group('general')
    general.add_argument('--only', metavar='LIST',
                         help='run only these findings (comma-separated: %s)'
                         % ', '.join(NAMES))
    general.add_argument('--skip', metavar='LIST',
                         help='run all findings but these')
    general.add_argument('--state-dir', metavar='DIR', help='where the '
                         'check keeps what it remembers between runs: its '
                         'position in each log, and per server what the runs '
                         'saw (default: %s$XDG_STATE_HOME/check_pg_autovacuum, '
                         'else ~/.local/state/check_pg_autovacuum; the '
                         'shipped Icinga 2 configuration gives '
                         'DataDir/check_pg_autovacuum)' % (
                             '%s for the user who owns it, for others '
                             % system_state_dir if system_state_dir else ''))
    general.add_argument('-t', '--timeout', default='30',
                         metavar='SECONDS', help='give up and say UNKNOWN '
                         'after this long (default: %(default)s)')
    general.add_argument('-v', '--verbose', action='count', default=0,
                         help='one line per problem (repeat for more)')
    general.add_argument('-V', '--version', action='version',
                         version='%(prog)s ' + __version__)
    return parser


def parse_args(argv=None, system_state_dir=None):
    args = make_parser(system_state_dir).parse_args(
        _utf8_arguments(sys.argv[1:] if argv is None else argv))
    args.state_dir = state_directory(args.state_dir, system_state_dir)
    for finding in REGISTRY:
        options.durations(args, getattr(finding, 'DURATIONS', ()))
        options.counts(args, getattr(finding, 'COUNTS', ()))
        if hasattr(finding, 'check_options'):
            finding.check_options(args)
    # PostgreSQL's timeouts (milliseconds in an int) end at 24 days.
    args.timeout = options.whole_number('-t/--timeout', args.timeout, 1,
                                        2147483, 'of seconds ')
    Databases.check_options(args)
    args.findings = [name for name in _finding_names('--only', args.only,
                                                     NAMES)
                     if name not in _finding_names('--skip', args.skip, ())]
    if not args.findings:
        raise UsageError('--only and --skip leave no finding to run')
    return args


def _utf8_arguments(argv):
    """ARGV as text; an argument that is not UTF-8 is a usage error.

    Names, regexes and conninfo go to libpq and the server as UTF-8, and a
    path we could not print is no use in a message.  Python 2 hands us
    bytes, Python 3 text with undecodable bytes as lone surrogates.
    """
    arguments = []
    for arg in argv:
        try:
            arguments.append(arg.decode('utf-8') if isinstance(arg, bytes)
                             else arg.encode('utf-8').decode('utf-8'))
        except UnicodeError:
            raw = (arg if isinstance(arg, bytes)
                   else arg.encode('utf-8', 'surrogateescape'))
            raise UsageError("argument not UTF-8: '%s' (see --help)"
                             % raw.decode('utf-8', 'replace'))
    return arguments


def _finding_names(option, text, default):
    if text is None:
        return default
    names = [name.strip() for name in text.split(',') if name.strip()]
    unknown_names = [name for name in names if name not in NAMES]
    if unknown_names or not names:
        raise UsageError("argument %s: unknown finding '%s' (choose from %s) "
                         "(see --help)" % (option, ','.join(unknown_names) or text,
                                           ', '.join(NAMES)))
    return names


def table_readers(args):
    """The findings of this run that visit the databases' tables."""
    return set(READ_TABLES) & set(args.findings)


class Shared(object):
    """What the findings share: the first session, the databases, the
    deadline, the memory between runs, the table statistics."""

    def __init__(self, args, session, databases, deadline):
        self.session = session
        self.databases = databases
        self.deadline = deadline
        self.memory = Memory(memory_file(args.state_file, args.state_dir,
                                         *server_address(session)),
                             session, deadline)
        self.statistics = TableStatistics(databases, self.memory,
                                          args.exclude_tables)
        readers = table_readers(args)
        if readers:
            databases.quiet = QuietDatabases(
                session, self.memory, args.revisit, readers_key(
                    readers, [args.exclude_tables, args.blind_min_size,
                              args.bloat_min_size]))
            self.memory.before_save(
                lambda: databases.quiet.remember(databases))
        self._switches_added = False

    def server_address(self):
        return server_address(self.session)

    def autovacuum_switches(self):
        """Whether autovacuum is on at all: for vacuum or analyze, once."""
        if self._switches_added:
            return []
        self._switches_added = True
        return [AutovacuumSwitches(self.session), AutovacuumSwitchesContext()]


def build_check(args, shared):
    check = AutovacuumCheck(AutovacuumSummary(args.verbose, PRIORITY),
                            CountContext())
    # An attribute, not Check(name=...): that keyword came with nagiosplugin
    # 1.4, and Debian 12 has 1.3.2.  Every release from 1.2 on keeps a name
    # set before the first resource is added.
    check.name = CHECK_NAME
    for finding in REGISTRY:
        if finding.NAME in args.findings:
            check.add(*finding.build(args, shared))
    if table_readers(args):
        check.add(UnreadableDatabases(shared.databases, args.verbose),
                  UnreadableDatabasesContext())
    # Last: it saves what the findings above saw.
    check.add(RememberedRuns(shared.memory), MemoryContext())
    return check


def server_address(session):
    """Host (or socket directory) and port, as libpq resolved them."""
    parameters = session.conn.get_dsn_parameters()
    return parameters.get('host'), parameters.get('port')


def require_valid_regexes(session, args):
    """Say which option holds a bad regex, before any database is read."""
    for option in ('databases', 'exclude_databases', 'exclude_tables'):
        regex = getattr(args, option)
        if regex:
            try:
                session.rows(queries.valid_regex(session.server_version),
                             {'regex': regex})
            except CheckError as error:
                reason = ('%s' % error).replace('query failed: ', '')
                raise UsageError('--%s: %s' % (option.replace('_', '-'), reason))


def utf8_stdout():
    """Print UTF-8 whatever the locale: Nagios runs us with none set.

    Python 2 writing unicode into a pipe would raise UnicodeEncodeError,
    and Python 3 under LANG=C would use ASCII.  Text from the environment
    or the file system may hold bytes that are not UTF-8 (surrogates on
    Python 3): they are printed as U+FFFD, never as themselves.
    """
    if sys.version_info[0] == 2:
        sys.stdout = codecs.getwriter('utf-8')(sys.stdout, 'replace')
    else:
        sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding='utf-8',
                                      errors='replace', line_buffering=True)


def log_queries_to_stderr():
    """-vvv: every query on standard error, UTF-8 whatever the locale, as a
    DBA pastes it into psql; the plugin output stays as Nagios reads it."""
    if sys.version_info[0] == 2:
        stream = codecs.getwriter('utf-8')(sys.stderr, 'replace')
    else:
        stream = io.TextIOWrapper(sys.stderr.buffer, encoding='utf-8',
                                  errors='replace', line_buffering=True)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter('%(message)s'))
    sql_log = logging.getLogger('check_pg_autovacuum.sql')
    sql_log.addHandler(handler)
    sql_log.setLevel(logging.DEBUG)


def unknown_line(reason):
    """The one line of an UNKNOWN: REASON may echo an argument or a name,
    which must neither start a second line nor the perfdata."""
    return u'%s UNKNOWN - %s' % (CHECK_NAME, plugin_text('%s' % reason))


def unknown(reason):
    """End the run the Nagios way: one line, exit 3."""
    print(unknown_line(reason))
    sys.exit(nagiosplugin.Unknown.code)


@nagiosplugin.guarded(verbose=0)
def main(argv=None, system_state_dir=None):
    """The plugin.  A distribution's package passes the state directory it
    made for the user that runs checks as SYSTEM_STATE_DIR."""
    utf8_stdout()
    session = None
    try:
        args = parse_args(argv, system_state_dir)
        require_driver()
        if args.verbose >= 3:
            log_queries_to_stderr()
        # SIGALRM (nagiosplugin's timeout) is the backstop for what the
        # deadline does not cover.
        deadline = Deadline(args.timeout)
        settings = conninfo(args.dsn, host=args.host, port=args.port,
                            user=args.user, dbname=args.dbname)
        session = Session(settings, deadline)
        require_valid_regexes(session, args)
        databases = Databases(session, settings, deadline, args.databases,
                              args.exclude_databases, args.max_connections)
        check = build_check(args, Shared(args, session, databases, deadline))
        runtime = nagiosplugin.Runtime()
        runtime.output = PerfdataFirst(runtime.logchan)
        # nagiosplugin before 1.4 kept the sys.stdout of its import, which
        # utf8_stdout() has replaced since: what it printed there was lost.
        runtime.stdout = sys.stdout
        check.main(verbose=args.verbose, timeout=args.timeout)
    except CheckError as error:
        unknown(error)
    except nagiosplugin.Timeout:
        unknown('no result within the timeout (%ss)' % args.timeout)
    finally:
        if session is not None:
            session.close()
