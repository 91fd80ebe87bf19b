"""Sessions idle in transaction: a connection held, often locks, and rows.

Vacuum may only remove a row version that no open transaction can still
see.  A session that went idle holding a transaction ID (it wrote) or a
snapshot (REPEATABLE READ, SERIALIZABLE, an open cursor) keeps every row
that died since, however often autovacuum runs.  One in READ COMMITTED
between statements, or whose transaction failed, keeps no rows: still
worth naming, for the connection and the locks it may hold, but the
horizon finding does not count it.
"""
from __future__ import unicode_literals

import nagiosplugin

from .. import queries, words
from ..durations import format_duration
from ..privileges import require_stats_privilege
from ..verdict import FindingContext

NAME = 'idle'
SUMMARY = """\
  idle     sessions that sit "idle in transaction", with what each holds: a
           transaction ID or snapshot keeps every row that died since
"""
PERFDATA = (
    ('idle_in_transaction', 'sessions idle in transaction'),
    ('idle_in_transaction_max', 'longest idle time among them (s)'),
)
PRIORITY = {'idle_in_transaction_max': 4}
DURATIONS = ('idle_warning', 'idle_critical')


def add_options(parser):
    idle = parser.add_argument_group('sessions idle in transaction')
    idle.add_argument('--idle-warning', default='15m',
                      metavar='DURATION',
                      help='longest idle time before WARNING '
                      '(default: %(default)s)')
    idle.add_argument('--idle-critical', default='1h',
                      metavar='DURATION',
                      help='longest idle time before CRITICAL '
                      '(default: %(default)s)')


def build(args, shared):
    return [IdleTransactions(shared.session),
            IdleTransactionsContext(args.idle_warning, args.idle_critical)]


class IdleTransactions(nagiosplugin.Resource):
    """Measures how many sessions sit idle in a transaction, and how long."""

    def __init__(self, session):
        self.session = session
        self.idle_sessions = []

    def probe(self):
        require_stats_privilege(self.session)
        self.idle_sessions = self.session.rows(
            queries.idle_in_transaction(self.session.server_version))
        longest = max([s.idle_seconds for s in self.idle_sessions] or [0])
        yield nagiosplugin.Metric('idle_in_transaction', len(self.idle_sessions),
                                  min=0, context='count')
        yield nagiosplugin.Metric('idle_in_transaction_max', longest, 's',
                                  min=0, context='idle_in_transaction_max')


def _plural(count, noun):
    return '%d %s%s' % (count, noun, '' if count == 1 else 's')


class IdleTransactionsContext(FindingContext):
    """Judges the longest idle time; words the finding for humans."""

    def __init__(self, warning, critical):
        super(IdleTransactionsContext, self).__init__(
            'idle_in_transaction_max', warning, critical)

    def describe(self, metric):
        idle = metric.resource.idle_sessions
        if not idle:
            return 'no session idle in transaction'
        longest = idle[0]
        return '%s idle in transaction, longest %s (pid %d, db %s)' % (
            _plural(len(idle), 'session'),
            format_duration(longest.idle_seconds), longest.pid, longest.database)

    def what_to_do(self, metric):
        idle = metric.resource.idle_sessions
        too_long = [s for s in idle
                    if not self.warning.match(s.idle_seconds)] or idle
        return ('what to do: end the session%s (%s) and fix the application '
                'that leaves transactions open; '
                'idle_in_transaction_session_timeout ends such sessions for '
                'you' % ('' if len(too_long) == 1 else 's',
                         words.terminate(s.pid for s in too_long)))

    def detail_lines(self, metric):
        """One line per session, for -v."""
        return [_session_line(s) for s in metric.resource.idle_sessions]


def _session_line(session):
    query = words.one_line(session.last_query)
    # An aborted transaction no longer reports when it started.
    if session.transaction_seconds is None:
        transaction = ''
    else:
        transaction = ', transaction open %s' % format_duration(
            session.transaction_seconds)
    return 'pid %d db %s user %s app %s client %s: %s for %s%s; %s; last ' \
        'query: %s' % (
            session.pid, session.database, session.user_name,
            session.application_name or '-', session.client, session.state,
            format_duration(session.idle_seconds), transaction,
            what_it_holds(session), query)


def what_it_holds(session):
    """'holds a transaction ID and 2 locks (the strongest ExclusiveLock on
    object_state): vacuum cannot remove rows that died since'."""
    locks = '%s (the strongest %s on %s)' % (
        words.plural(session.locks, 'lock'), session.strongest_mode,
        session.strongest_on) if session.locks else None
    if session.holds_xid or session.holds_snapshot:
        held = 'a transaction ID' if session.holds_xid else 'a snapshot'
        return 'holds %s%s: vacuum cannot remove rows that died since' % (
            held, ' and %s' % locks if locks else '')
    if locks:
        return 'holds %s, but no snapshot or transaction ID: it keeps no ' \
            'dead rows' % locks
    return 'holds no lock, snapshot or transaction ID: it keeps no dead rows'
