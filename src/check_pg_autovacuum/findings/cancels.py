"""Autovacuum runs cancelled: the trace an application's locks leave in the log.

Autovacuum yields to anyone who wants a conflicting lock: when the
application takes LOCK TABLE ... IN EXCLUSIVE MODE often enough, autovacuum
starts, gets cancelled, starts again, and never finishes.  The server says
so only in its log, as ERROR:  canceling autovacuum task; and, with
log_autovacuum_min_duration >= 0, "skipping vacuum ... lock not available"
when it could not even start.
"""
from __future__ import unicode_literals

import collections

import nagiosplugin

from .. import queries, words
from ..errors import CheckError
from ..options import UsageError
from ..serverlog.files import LocalLogFiles, ServerLogFiles
from ..serverlog.formats import CANCEL, SKIP
from ..serverlog.state import position_file
from ..serverlog.tail import LogTail
from ..verdict import FindingContext, NoteContext

NAME = 'cancels'
SUMMARY = """\
  cancels  autovacuum runs cancelled since the previous run, counted in the
           server log (--logfile): an application's locks at work
"""
PERFDATA = (
    ('autovacuum_cancels', 'autovacuum runs cancelled since the last run'),
    ('autovacuum_lock_skips', 'autovacuum runs that never got their lock'),
)
PRIORITY = {'autovacuum_cancels': 6, 'server_log_unread': 16,
            'server_log': 16}
COUNTS = ('cancel_warning', 'cancel_critical')


def add_options(parser):
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


def check_options(args):
    if args.logfile and args.log_via_sql:
        raise UsageError('--logfile and --log-via-sql: give one of them')


def build(args, shared):
    if not (args.logfile or args.log_via_sql):
        return [ServerLogContext(), NoServerLog(), NoServerLogContext()]
    return [ServerLogContext(),
            AutovacuumCancels(server_log(args, shared), shared.statistics),
            AutovacuumCancelsContext(args.cancel_warning, args.cancel_critical)]


def server_log(args, shared):
    """A LogTail for the log, parsing with the server's log_line_prefix."""
    session = shared.session
    prefix = session.rows(queries.log_line_prefix(session.server_version))[0]
    if args.log_via_sql:
        files = ServerLogFiles(session)
        name = 'via-sql-%s-%s-%s' % (shared.server_address() +
                                     (session.database,))
    else:
        files, name = LocalLogFiles(args.logfile), args.logfile
    state_file = position_file(args.state_file, args.state_dir, name)
    return LogTail(files, state_file, shared.deadline, args.log_from_start,
                   prefix.log_line_prefix)


class AutovacuumCancels(nagiosplugin.Resource):
    """Counts the cancellations written to the log since the previous run."""

    def __init__(self, log_tail, statistics=None):
        self.log_tail = log_tail
        self.statistics = statistics  # told the events, for the tables' -v
        self.cancels = []
        self.skips = []
        self.notes = []
        self.headline = None
        self.problem = None

    def probe(self):
        try:
            reading = self.log_tail.read_new()
        except CheckError as error:
            self.problem = '%s' % error
            return [nagiosplugin.Metric('server_log', self.problem,
                                        context='server_log')]
        self.cancels = [e for e in reading.events if e.kind == CANCEL]
        self.skips = [e for e in reading.events if e.kind == SKIP]
        self.notes = reading.notes
        self.headline = reading.headline
        if self.statistics is not None:
            self.statistics.note_log_events(self.cancels, self.skips)
        return [
            nagiosplugin.Metric('autovacuum_cancels', len(self.cancels), min=0,
                                context='autovacuum_cancels'),
            nagiosplugin.Metric('autovacuum_lock_skips', len(self.skips),
                                min=0, context='count'),
        ]


class ServerLogContext(NoteContext):
    """A log or state file we could not use: UNKNOWN, with the reason."""

    def __init__(self):
        super(ServerLogContext, self).__init__('server_log')

    def evaluate(self, metric, resource):
        return self.result_cls(nagiosplugin.Unknown, None, metric)

    def describe(self, metric):
        return 'server log: %s' % metric.value


def _by_table(events):
    """{table: [events]}, most events first; None for an unnamed table."""
    tables = collections.OrderedDict()
    for event in events:
        tables.setdefault(event.table, []).append(event)
    return sorted(tables.items(), key=lambda item: -len(item[1]))


def _short(table):
    return (table or 'unnamed table').split('.')[-1]


class AutovacuumCancelsContext(FindingContext):

    hint = ('what to do: find the LOCK TABLE (or DDL) in the application that '
            'keeps cancelling autovacuum, and take the lock less often or '
            'for shorter; VACUUM the tables by hand meanwhile')

    def __init__(self, warning, critical):
        super(AutovacuumCancelsContext, self).__init__(
            'autovacuum_cancels', warning, critical)

    def describe(self, metric):
        cancels = metric.resource.cancels
        if not cancels:
            return metric.resource.headline or \
                'no autovacuum run cancelled since the last check'
        tables = _by_table(cancels)
        named = ', '.join('%s %d' % (_short(table), len(events))
                          for table, events in tables[:3])
        more = ', ...' if len(tables) > 3 else ''
        return '%s cancelled since the last check (%s%s)' % (
            words.plural(len(cancels), 'autovacuum run'), named, more)

    def detail_lines(self, metric):
        resource = metric.resource
        lines = []
        for table, events in _by_table(resource.cancels):
            actions = collections.Counter(e.action or 'vacuum or analyze'
                                          for e in events)
            lines.append('%s: autovacuum cancelled %s (%s)%s' % (
                table or 'table not named in the log',
                words.plural(len(events), 'time'),
                ', '.join('%s %d' % item for item in sorted(actions.items())),
                _seen(events)))
        for table, events in _by_table(resource.skips):
            lines.append('%s: autovacuum skipped %s, lock not available%s' % (
                table or 'table not named in the log',
                words.plural(len(events), 'time'), _seen(events)))
        return words.capped(lines, 'tables') + [
            'server log: %s' % note for note in resource.notes]


def _seen(events):
    times = [e.time for e in events if e.time]
    if not times:
        return ''
    if len(times) == 1:
        return ', at %s' % times[0]
    return ', first %s, last %s' % (min(times), max(times))


class NoServerLog(nagiosplugin.Resource):
    """Without --logfile there is nothing to count; -v says so."""

    def probe(self):
        return nagiosplugin.Metric('server_log_unread', 0, context='no_log')


class NoServerLogContext(NoteContext):

    def __init__(self):
        super(NoServerLogContext, self).__init__('no_log')

    def detail_lines(self, metric):
        return ['server log: not read; give --logfile to count cancelled '
                'autovacuum runs']
