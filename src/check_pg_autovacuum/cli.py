"""Check that PostgreSQL autovacuum does its job, and say why when it doesn't.

Findings (all run unless --only/--skip say otherwise):
  idle     sessions that sit "idle in transaction", with what each holds: a
           transaction ID or snapshot keeps every row that died since
  vacuum   tables, in every database and catalogs included, that have
           waited long past autovacuum's own trigger (dead or inserted
           rows); autovacuum or track_counts switched off is CRITICAL
  analyze  the same for autoanalyze (rows changed since the last analyze)
  cancels  autovacuum runs cancelled since the previous run, counted in the
           server log (--logfile): an application's locks at work
  horizon  what holds back vacuum: the oldest session, prepared transaction,
           replication slot or standby (in time and in transactions), and
           the tables bloating behind it
           (autovacuum ineffective: run since the holder began, in vain)
  wraparound  each database's distance to transaction ID and multixact
           wraparound; an anti-wraparound autovacuum blocked is CRITICAL
  workers  autovacuum's own health, seen live: locks that keep it out of
           tables that need vacuum (and requests about to cancel it),
           vacuums that run too long and why, all workers busy for long
           while tables wait
  bloat    tables of at least --bloat-min-size whose space is mostly free
           or dead: VACUUM cannot give it back.  Estimated from pg_stats
           (never a number where the statistics are missing, stale or not
           visible to the role); the worst measured by pgstattuple_approx
           where the extension is installed
A table below the trigger is never reported, however old its last vacuum.
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
import re
import sys

import nagiosplugin

from . import queries
from .bloat import Bloat, BloatContext
from .cancels import (
    AutovacuumCancels, AutovacuumCancelsContext, NoServerLog,
    NoServerLogContext, ServerLogContext)
from .connection import Deadline, Session, conninfo
from .databases import Databases
from .durations import parse_duration, parse_range
from .errors import CheckError
from .horizon import (
    HorizonContext, HorizonHolders, HorizonXidContext, StaleSlotsContext)
from .memory import Memory, MemoryContext, RememberedRuns, memory_file
from .output import PerfdataFirst
from .serverlog.state import position_file
from .serverlog.files import LocalLogFiles, ServerLogFiles
from .serverlog.tail import LogTail
from .sessions import IdleTransactions, IdleTransactionsContext
from .tables import (
    AnalyzeOverdueContext, AutovacuumSwitches, AutovacuumSwitchesContext,
    TableStatistics, TablesNeedingAnalyze, TablesNeedingVacuum,
    UnreadableDatabases, UnreadableDatabasesContext, VacuumOverdueContext)
from .verdict import AutovacuumCheck, AutovacuumSummary, plugin_text
from .version import __version__
from .workers import (
    AutovacuumHealth, LockAgeContext, VacuumRuntimeContext,
    WorkersSaturatedContext)
from .wraparound import (
    AntiWraparoundBlockedContext, Wraparound, WraparoundContext)

CHECK_NAME = 'AUTOVACUUM'
FINDINGS = ('idle', 'vacuum', 'analyze', 'cancels', 'horizon', 'wraparound',
            'workers', 'bloat')
DEFAULT_FINDINGS = FINDINGS
DURATION_THRESHOLDS = ('idle_warning', 'idle_critical', 'vacuum_warning',
                       'vacuum_critical', 'analyze_warning', 'analyze_critical',
                       'horizon_warning', 'horizon_critical', 'lock_warning',
                       'lock_critical', 'vacuum_runtime_warning',
                       'vacuum_runtime_critical', 'workers_warning')
COUNT_THRESHOLDS = ('cancel_warning', 'cancel_critical', 'wraparound_warning',
                    'wraparound_critical', 'horizon_xid_warning',
                    'horizon_xid_critical', 'bloat_warning', 'bloat_critical')


class UsageError(CheckError):
    pass


class ArgumentParser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, which Nagios reads as CRITICAL."""

    def error(self, message):
        raise UsageError('%s (see --help)' % message)


PERFDATA = """\
performance data (fixed labels; s = seconds):
  idle_in_transaction         sessions idle in transaction
  idle_in_transaction_max     longest idle time among them (s)
  tables_need_vacuum          tables past the vacuum trigger
  tables_being_vacuumed       of those, being vacuumed now
  tables_never_autovacuumed   of those, never vacuumed since statistics began
  vacuum_overdue_max          longest time past the vacuum trigger among
                              them, a running vacuum not counted (s)
  dead_tuples_max_ratio       largest dead/live rows ratio among them
  tables_autovacuum_disabled  tables with autovacuum_enabled = false
  tables_need_analyze         tables past the analyze trigger
  analyze_overdue_max         longest time past the analyze trigger (s)
  databases_unreadable        databases that could not be read
  autovacuum_cancels          autovacuum runs cancelled since the last run
  autovacuum_lock_skips       autovacuum runs that never got their lock
  horizon_age_max             oldest holder of the horizon (s): a session or
                              prepared transaction since it holds what it
                              holds, a slot or standby since it holds the
                              same xmin
  horizon_xid_age_max         transaction ID age of the oldest xmin held
  tables_vacuum_ineffective   tables autovacuumed in vain behind it
  replication_slots_stale     inactive replication slots holding xmin
  wraparound_max              closest database's way to wraparound (%)
  antiwraparound_blocked      anti-wraparound autovacuums waiting for a lock
  autovacuum_blocking_locks   locks that keep autovacuum out of a table that
                              needs vacuum, or are about to cancel it
  autovacuum_blocking_lock_age_max  longest held among them (s)
  vacuums_running             vacuums and analyzes running now, any kind
  vacuum_runtime_max          longest-running autovacuum on one table (s)
  autovacuum_workers_busy     autovacuum workers at work (max: all there are)
  autovacuum_workers_saturated  how long all have been busy while tables
                              wait past their trigger (s)
"""


def make_parser():
    parser = ArgumentParser(
        prog='check_pg_autovacuum', description=__doc__, epilog=PERFDATA,
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
    idle = parser.add_argument_group('sessions idle in transaction')
    idle.add_argument('--idle-warning', default='15m',
                      metavar='DURATION',
                      help='longest idle time before WARNING '
                      '(default: %(default)s)')
    idle.add_argument('--idle-critical', default='1h',
                      metavar='DURATION',
                      help='longest idle time before CRITICAL '
                      '(default: %(default)s)')
    tables = parser.add_argument_group(
        'tables needing vacuum or analyze (every database)')
    tables.add_argument('--vacuum-warning', default='1d',
                        metavar='DURATION', help='longest time a table may '
                        'wait past its vacuum trigger before WARNING '
                        '(default: %(default)s)')
    tables.add_argument('--vacuum-critical', default='7d',
                        metavar='DURATION', help='... before CRITICAL '
                        '(default: %(default)s)')
    tables.add_argument('--analyze-warning', default='1d',
                        metavar='DURATION', help='longest time a table may '
                        'wait past its analyze trigger before WARNING '
                        '(default: %(default)s)')
    tables.add_argument('--analyze-critical', default='7d',
                        metavar='DURATION',
                        help='... before CRITICAL (default: %(default)s)')
    tables.add_argument('--databases', default='', metavar='REGEX',
                        help='check only databases whose name matches '
                        '(PostgreSQL regular expression, unanchored)')
    tables.add_argument('--exclude-databases', metavar='REGEX',
                        help='skip databases whose name matches')
    tables.add_argument('--exclude-tables', metavar='REGEX',
                        help='skip tables whose database.schema.table matches')
    tables.add_argument('--max-connections', default='4', metavar='N',
                        help='connections open at once at most, while '
                        'visiting the databases; at least 2, as the first '
                        'one stays open (default: %(default)s)')
    log = parser.add_argument_group('autovacuum cancelled (server log)')
    log.add_argument('--logfile', metavar='PATH', help='the server log: a file, '
                     'or a glob whose newest match is the live file and the '
                     'others its rotations (e.g. '
                     "'/var/log/postgresql/postgresql-*.log*')")
    log.add_argument('--log-via-sql', action='store_true',
                     help="read the server's log files through the connection "
                     '(logging_collector; needs pg_monitor and EXECUTE on '
                     'pg_read_binary_file), for a monitoring host that cannot '
                     'read them')
    log.add_argument('--state-file', metavar='PATH', help='where to keep the '
                     'position in the log between runs, and beside it, in '
                     'PATH.memory, what the runs saw of the tables (default: '
                     'a file per log and one per server in --state-dir)')
    log.add_argument('--cancel-warning', default='1', metavar='RANGE',
                     help='WARNING when more cancellations than this since the '
                     'previous run (Nagios range; default: %(default)s)')
    log.add_argument('--cancel-critical', default='10', metavar='RANGE',
                     help='CRITICAL when more than this (default: %(default)s)')
    log.add_argument('--log-from-start', action='store_true',
                     help='on the first run, count what the log already holds '
                     'instead of starting at its end')
    horizon = parser.add_argument_group('what holds back vacuum')
    horizon.add_argument('--horizon-warning', default='1h', metavar='DURATION',
                         help='age of the oldest session or prepared '
                         'transaction holding back vacuum before WARNING '
                         '(default: %(default)s)')
    horizon.add_argument('--horizon-critical', default='6h', metavar='DURATION',
                         help='... before CRITICAL (default: %(default)s)')
    horizon.add_argument('--horizon-xid-warning', default='10000000',
                         metavar='RANGE', help='age in transactions of the '
                         'oldest xmin held back, by any holder, before WARNING '
                         '(default: %(default)s, 5%% of the default '
                         'autovacuum_freeze_max_age)')
    horizon.add_argument('--horizon-xid-critical', default='100000000',
                         metavar='RANGE', help='... before CRITICAL (default: '
                         '%(default)s: half-way to anti-wraparound vacuums, '
                         'which could not freeze past it)')
    workers = parser.add_argument_group("autovacuum's own health")
    workers.add_argument('--lock-warning', default='15m', metavar='DURATION',
                         help='how long a lock that keeps autovacuum out of a '
                         'table that needs vacuum may be held before WARNING, '
                         'counted from the holding transaction\'s start '
                         '(default: %(default)s, as --idle-warning)')
    workers.add_argument('--lock-critical', default='1h', metavar='DURATION',
                         help='... before CRITICAL (default: %(default)s)')
    workers.add_argument('--vacuum-runtime-warning', default='6h',
                         metavar='DURATION', help='how long an autovacuum may '
                         'run on one table before WARNING (default: '
                         '%(default)s: longer, and the dead rows it was started '
                         'for have doubled on a busy table)')
    workers.add_argument('--vacuum-runtime-critical', default='1d',
                         metavar='DURATION',
                         help='... before CRITICAL (default: %(default)s)')
    workers.add_argument('--workers-warning', default='1h', metavar='DURATION',
                         help='how long all autovacuum_max_workers may be busy '
                         'while tables wait past their trigger before WARNING '
                         '(default: %(default)s, sixty naptimes)')
    wraparound = parser.add_argument_group('wraparound')
    wraparound.add_argument('--wraparound-warning', default='50%',
                            metavar='PERCENT', help='share of the way to '
                            'wraparound before WARNING (default: %(default)s)')
    wraparound.add_argument('--wraparound-critical', default='75%',
                            metavar='PERCENT', help='... before CRITICAL '
                            '(default: %(default)s)')
    bloat = parser.add_argument_group('bloat')
    bloat.add_argument('--bloat-warning', default='50%', metavar='PERCENT',
                       help='share of a table that is free or dead space '
                       'before WARNING (default: %(default)s: twice the size '
                       'a rewrite would leave)')
    bloat.add_argument('--bloat-critical', default='80%', metavar='PERCENT',
                       help='... before CRITICAL (default: %(default)s: five '
                       'times that size)')
    bloat.add_argument('--bloat-min-size', default='100MB', metavar='SIZE',
                       help='tables smaller than this are never reported '
                       '(bytes, or with kB, MB, GB, TB; default: '
                       '%(default)s)')
    bloat.add_argument('--bloat-read-limit', default='256MB', metavar='SIZE',
                       help='pgstattuple_approx reads at most this much of '
                       'the tables in one run; a table that would take more '
                       'is measured once VACUUM has made most of its pages '
                       'all-visible, or by hand with a higher limit (0: '
                       'measure none; default: %(default)s, about a second '
                       'of reading, through a ring that leaves the server\'s '
                       'cache alone)')
    bloat.add_argument('--bloat-measure-every', default='1d',
                       metavar='DURATION', help='a measurement is remembered '
                       'and made again after this long, or sooner when the '
                       'table\'s size moved by a tenth or its estimate by ten '
                       'points (0: every run; default: %(default)s: bloat '
                       'grows over days, and only a rewrite undoes it)')
    general = parser.add_argument_group('general')
    general.add_argument('--only', metavar='LIST',
                         help='run only these findings (comma-separated: %s)'
                         % ', '.join(FINDINGS))
    general.add_argument('--skip', metavar='LIST',
                         help='run all findings but these')
    general.add_argument('--state-dir', metavar='DIR', help='where the '
                         'check keeps what it remembers between runs: its '
                         'position in each log, and per server what the runs '
                         'saw (default: $XDG_STATE_HOME/check_pg_autovacuum, '
                         'else ~/.local/state/check_pg_autovacuum; the '
                         'shipped Icinga 2 configuration gives '
                         'DataDir/check_pg_autovacuum)')
    general.add_argument('-t', '--timeout', default='30',
                         metavar='SECONDS', help='give up and say UNKNOWN '
                         'after this long (default: %(default)s)')
    general.add_argument('-v', '--verbose', action='count', default=0,
                         help='one line per problem (repeat for more)')
    general.add_argument('-V', '--version', action='version',
                         version='%(prog)s ' + __version__)
    return parser


def parse_args(argv=None):
    args = make_parser().parse_args(
        _utf8_arguments(sys.argv[1:] if argv is None else argv))
    # Values are converted here, not by argparse types: Python 2's argparse
    # replaces a non-ASCII message of a type function by a generic one.
    for dest in DURATION_THRESHOLDS + COUNT_THRESHOLDS:
        parse = parse_range if dest in DURATION_THRESHOLDS else _count_range
        try:
            setattr(args, dest, parse(getattr(args, dest)))
        except ValueError as error:
            raise UsageError('argument --%s: %s (see --help)'
                             % (dest.replace('_', '-'), error))
    # PostgreSQL's timeouts (milliseconds in an int) end at 24 days.
    args.timeout = _whole_number('-t/--timeout', args.timeout, 1, 2147483,
                                 'of seconds ')
    # Our first connection stays open while another visits the databases.
    args.max_connections = _whole_number('--max-connections',
                                         args.max_connections, 2, 10000)
    args.bloat_min_size = _size('--bloat-min-size', args.bloat_min_size)
    args.bloat_read_limit = _size('--bloat-read-limit', args.bloat_read_limit)
    try:
        args.bloat_measure_every = parse_duration(args.bloat_measure_every)
    except ValueError as error:
        raise UsageError('argument --bloat-measure-every: %s (see --help)'
                         % error)
    args.findings = [name for name in _finding_names('--only', args.only,
                                                     DEFAULT_FINDINGS)
                     if name not in _finding_names('--skip', args.skip, ())]
    if not args.findings:
        raise UsageError('--only and --skip leave no finding to run')
    if args.logfile and args.log_via_sql:
        raise UsageError('--logfile and --log-via-sql: give one of them')
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


def _whole_number(option, text, least, most, unit=''):
    if not re.match(r'^\d+$', text) or not least <= int(text) <= most:
        raise UsageError("argument %s: not a whole number %sfrom %d to %d: "
                         "'%s' (see --help)" % (option, unit, least, most, text))
    return int(text)


SIZE_UNITS = {'': 1, 'b': 1, 'kb': 1 << 10, 'mb': 1 << 20, 'gb': 1 << 30,
              'tb': 1 << 40}


def _size(option, text):
    """'100MB' -> 104857600: PostgreSQL's units, 1 kB = 1024 bytes."""
    match = re.match(r'^(\d{1,15})\s*([a-zA-Z]*)$', text.strip())
    if not match or match.group(2).lower() not in SIZE_UNITS:
        raise UsageError("argument %s: not a size (bytes, or with kB, MB, GB, "
                         "TB): '%s' (see --help)" % (option, text))
    return int(match.group(1)) * SIZE_UNITS[match.group(2).lower()]


def _count_range(text):
    try:
        # 50% means 50: the percent sign is welcome, not required.
        return nagiosplugin.Range(text.replace('%', ''))
    except ValueError:
        raise ValueError("not a number or range of numbers: '%s'" % text)


def _finding_names(option, text, default=FINDINGS):
    if text is None:
        return default
    names = [name.strip() for name in text.split(',') if name.strip()]
    unknown_names = [name for name in names if name not in FINDINGS]
    if unknown_names or not names:
        raise UsageError("argument %s: unknown finding '%s' (choose from %s) "
                         "(see --help)" % (option, ','.join(unknown_names) or text,
                                           ', '.join(FINDINGS)))
    return names


def build_check(args, session, databases, deadline):
    findings = args.findings
    check = AutovacuumCheck(
        AutovacuumSummary(args.verbose),
        # Counts that go into perfdata without thresholds of their own.
        nagiosplugin.ScalarContext('count', fmt_metric=None),
        name=CHECK_NAME)
    if 'idle' in findings:
        check.add(IdleTransactions(session),
                  IdleTransactionsContext(args.idle_warning, args.idle_critical))
    memory = Memory(memory_file(args.state_file, args.state_dir,
                                *server_address(session)),
                    session, deadline)
    statistics = TableStatistics(databases, memory, args.exclude_tables)
    if 'horizon' in findings:
        check.add(HorizonHolders(session, statistics, memory),
                  HorizonContext(args.horizon_warning, args.horizon_critical,
                                 args.horizon_xid_warning),
                  HorizonXidContext(args.horizon_xid_warning,
                                    args.horizon_xid_critical),
                  StaleSlotsContext())
    if 'vacuum' in findings or 'analyze' in findings:
        check.add(AutovacuumSwitches(session), AutovacuumSwitchesContext())
        if 'vacuum' in findings:
            check.add(TablesNeedingVacuum(statistics), VacuumOverdueContext(
                args.vacuum_warning, args.vacuum_critical))
        if 'analyze' in findings:
            check.add(TablesNeedingAnalyze(statistics), AnalyzeOverdueContext(
                args.analyze_warning, args.analyze_critical))
    if 'wraparound' in findings:
        check.add(Wraparound(session, databases),
                  WraparoundContext(args.wraparound_warning,
                                    args.wraparound_critical),
                  AntiWraparoundBlockedContext())
    if 'workers' in findings:
        check.add(AutovacuumHealth(session, statistics, memory),
                  LockAgeContext(args.lock_warning, args.lock_critical),
                  VacuumRuntimeContext(args.vacuum_runtime_warning,
                                       args.vacuum_runtime_critical),
                  WorkersSaturatedContext(args.workers_warning))
    if 'bloat' in findings:
        check.add(Bloat(databases, deadline, args.bloat_min_size,
                        args.bloat_warning, memory, args.bloat_read_limit,
                        args.bloat_measure_every),
                  BloatContext(args.bloat_warning, args.bloat_critical))
    if {'vacuum', 'analyze', 'horizon', 'wraparound', 'workers',
            'bloat'} & set(findings):
        check.add(UnreadableDatabases(databases), UnreadableDatabasesContext())
    if 'cancels' in findings:
        check.add(ServerLogContext())
        if args.logfile or args.log_via_sql:
            check.add(AutovacuumCancels(server_log(args, session, deadline),
                                        statistics),
                      AutovacuumCancelsContext(args.cancel_warning,
                                               args.cancel_critical))
        else:
            check.add(NoServerLog(), NoServerLogContext())
    # Last: it saves what the findings above saw.
    check.add(RememberedRuns(memory), MemoryContext())
    return check


def server_address(session):
    """Host (or socket directory) and port, as libpq resolved them."""
    parameters = session.conn.get_dsn_parameters()
    return parameters.get('host'), parameters.get('port')


def server_log(args, session, deadline):
    """A LogTail for the log, parsing with the server's log_line_prefix."""
    prefix = session.rows(queries.log_line_prefix(session.server_version))[0]
    if args.log_via_sql:
        files = ServerLogFiles(session)
        name = 'via-sql-%s-%s-%s' % (server_address(session) +
                                     (session.database,))
    else:
        files, name = LocalLogFiles(args.logfile), args.logfile
    state_file = position_file(args.state_file, args.state_dir, name)
    return LogTail(files, state_file, deadline, args.log_from_start,
                   prefix.log_line_prefix)


def require_valid_regexes(session, args):
    """Say which option holds a bad regex, before any database is read."""
    for option in ('databases', 'exclude_databases', 'exclude_tables'):
        regex = getattr(args, option)
        if regex:
            try:
                session.rows("SELECT '' ~ %(regex)s AS valid", {'regex': regex})
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
def main(argv=None):
    utf8_stdout()
    session = None
    try:
        args = parse_args(argv)
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
        check = build_check(args, session, databases, deadline)
        runtime = nagiosplugin.Runtime()
        runtime.output = PerfdataFirst(runtime.logchan)
        check.main(verbose=args.verbose, timeout=args.timeout)
    except CheckError as error:
        unknown(error)
    except nagiosplugin.Timeout:
        unknown('no result within the timeout (%ss)' % args.timeout)
    finally:
        if session is not None:
            session.close()
