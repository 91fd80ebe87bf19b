"""What holds the xmin horizon: why autovacuum runs and achieves nothing.

Vacuum may remove a dead row only when nothing can still see it: no open
transaction or snapshot (sessions), no prepared transaction, no replication
slot, no standby with hot_standby_feedback.  The oldest of these holds the
horizon.  A table that needs vacuum although autovacuum went over it after
that holder began is autovacuum *ineffective*: it will keep bloating until
the holder lets go, however often autovacuum runs.

Which tables a holder keeps bloating: a snapshot (xmin) only its own
database's; a transaction ID also every other database whose sessions take
snapshots while it runs (they see it running), so tables of every database
are named behind it; slots and standbys every database; and every holder
the shared catalogs.

Holders are judged by age in time (--horizon-warning/-critical) and in
transactions (--horizon-xid-warning/-critical).  Slots and standbys keep no
time: their age is how long the memory between runs has seen them hold the
same xmin, older than anything running here.
"""
from __future__ import unicode_literals

import nagiosplugin

from .. import queries, words
from ..durations import format_duration
from ..privileges import require_stats_privilege
from ..table_statistics import qualified_name, ratio_text
from ..verdict import AnyFoundContext, FindingContext

NAME = 'horizon'
SUMMARY = """\
  horizon  what holds back vacuum: the oldest session, prepared transaction,
           replication slot or standby (in time and in transactions), and
           the tables bloating behind it
           (autovacuum ineffective: run since the holder began, in vain)
"""
PERFDATA = (
    ('horizon_age_max', 'oldest holder of the horizon (s): a session or\n'
     'prepared transaction since it holds what it\nholds, a slot or standby '
     'since it holds the\nsame xmin'),
    ('horizon_xid_age_max', 'transaction ID age of the oldest xmin held'),
    ('tables_vacuum_ineffective', 'tables autovacuumed in vain behind it'),
    ('replication_slots_stale', 'inactive replication slots holding xmin'),
)
PRIORITY = {'horizon_age_max': 1, 'horizon_xid_age_max': 2,
            'replication_slots_stale': 7}
DURATIONS = ('horizon_warning', 'horizon_critical')
COUNTS = ('horizon_xid_warning', 'horizon_xid_critical')


def add_options(parser):
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


def build(args, shared):
    return [HorizonHolders(shared.session, shared.statistics, shared.memory),
            HorizonContext(args.horizon_warning, args.horizon_critical,
                           args.horizon_xid_warning),
            HorizonXidContext(args.horizon_xid_warning,
                              args.horizon_xid_critical),
            StaleSlotsContext()]

CLUSTER_WIDE = ('replication slot', 'standby')


class Holder(object):
    """A row of horizon_holders.sql; for slots and standbys, seconds from
    the memory."""

    def __init__(self, row, seconds):
        self.row = row
        self.seconds = seconds

    def __getattr__(self, name):
        return getattr(self.row, name)


class HorizonHolders(nagiosplugin.Resource):
    """The holders of the horizon, oldest first, and the tables behind them."""

    def __init__(self, session, statistics=None, memory=None):
        self.session = session
        self.statistics = statistics
        self.memory = memory
        self.holders = []
        self.oldest = None  # by time
        self.most_transactions = None  # by transaction ID age
        self.tables_behind = []
        self.ineffective = []
        self.stale_slots = []

    def probe(self):
        require_stats_privilege(self.session)
        rows = self.session.rows(
            queries.horizon_holders(self.session.server_version))
        self.stale_slots = [h for h in rows if h.kind == 'replication slot'
                            and h.state == 'inactive']
        self._look_at_slots_and_standbys()
        self.holders = [Holder(row, self._seconds(row))
                        for row in rows if row.holding]
        if self.holders:
            # Of two holders as old, a transaction ID is the cause: a snapshot
            # taken while it runs has that ID as its xmin.
            self.oldest = max(self.holders,
                              key=lambda h: (h.seconds, h.holds_xid))
            self.most_transactions = max(
                self.holders, key=lambda h: (h.xid_age or 0, h.holds_xid))
        if self.oldest is not None and self.statistics is not None:
            self._tables_behind(self.oldest)
        return [
            nagiosplugin.Metric('horizon_age_max',
                                self.oldest.seconds if self.oldest else 0, 's',
                                min=0, context='horizon_age_max'),
            nagiosplugin.Metric('horizon_xid_age_max',
                                self.most_transactions.xid_age or 0
                                if self.most_transactions else 0,
                                min=0, context='horizon_xid_age_max'),
            nagiosplugin.Metric('tables_vacuum_ineffective',
                                len(self.ineffective), min=0, context='count'),
            nagiosplugin.Metric('replication_slots_stale', len(self.stale_slots),
                                min=0, context='replication_slots_stale'),
        ]

    def _look_at_slots_and_standbys(self):
        """Every run looks, also when none holds: the next run then knows
        that none did.  A restart starts afresh."""
        self._scope = None
        if self.memory is not None:
            identity = self.session.rows(queries.server_identity(
                self.session.server_version))[0]
            self._scope = self.memory.scope(
                'slots and standbys', '%s' % identity.started_epoch,
                identity.now_epoch)

    def _seconds(self, row):
        """A session's or prepared transaction's age; for a slot or standby
        since when the memory has seen it hold the same xmin."""
        if row.kind not in CLUSTER_WIDE:
            return row.seconds
        if self._scope is None:
            return 0
        since, _ = self._scope.since('%s %s' % (row.kind, row.holder),
                                     row.xmin_held)
        return max(0, int(self._scope.now - since))

    def _tables_behind(self, holder):
        """Tables with dead rows past the trigger that HOLDER keeps."""
        self.tables_behind = sorted(
            [t for t in self.statistics.tables() if t.dead_rows_past_trigger
             and _keeps(holder, t)],
            key=lambda t: -t.n_dead_tup)
        # Autovacuum went over these after the holder began: in vain.
        self.ineffective = [t for t in self.tables_behind
                            if t.last_autovacuum_seconds is not None
                            and t.last_autovacuum_seconds < holder.seconds]


def _keeps(holder, table):
    """Whether HOLDER can keep TABLE's dead rows (see the module's doc)."""
    return (holder.kind in CLUSTER_WIDE or holder.holds_xid or table.shared
            or table.database == holder.database)


def describe_holder(holder):
    """'pid 18915 (abc-hans, app zodb-app) idle in transaction 11h46m'."""
    if holder.kind == 'session':
        where = ', '.join(part for part in (
            holder.database, holder.application_name and
            'app %s' % holder.application_name) if part)
        doing = holder.state or holder.backend_type or 'session'
        if holder.backend_type and holder.backend_type != 'client backend':
            doing = holder.backend_type
        return 'pid %s (%s) %s %s' % (holder.holder, where, doing,
                                     format_duration(holder.seconds))
    if holder.kind == 'prepared transaction':
        return "prepared transaction '%s' (%s) open %s" % (
            holder.holder, holder.database, format_duration(holder.seconds))
    return '%s %s (%s old, the same xmin for %s)' % (
        holder.kind, holder.holder,
        words.counted(holder.xid_age or 0, 'transaction'),
        format_duration(holder.seconds))


def what_to_do_with(holder):
    """How to end HOLDER, in the statement a DBA types."""
    if holder is None:
        return None
    if holder.kind == 'session' and holder.state == 'active':
        # Cancelled, its transaction aborts and lets go of what it holds.
        end = 'cancel its query: SELECT pg_cancel_backend(%d)' % int(
            holder.holder)
    elif holder.kind == 'session':
        end = 'end it: %s' % words.terminate([int(holder.holder)])
    elif holder.kind == 'prepared transaction':
        end = 'end it in database %s: ROLLBACK PREPARED %s, or COMMIT ' \
            'PREPARED if it must be kept' % (holder.database,
                                             words.sql_literal(holder.holder))
    elif holder.kind == 'replication slot':
        end = 'drop the slot if nobody consumes it any more: SELECT ' \
            'pg_drop_replication_slot(%s)' % words.sql_literal(holder.holder)
    else:
        end = 'end the long query on standby %s, or turn off ' \
            'hot_standby_feedback there' % holder.holder
    return ('what to do: %s; then fix the application; '
            'idle_in_transaction_session_timeout ends idle sessions for you'
            % end)


class HorizonContext(FindingContext):
    """Judges the oldest holder's age; names it and the tables behind it.

    Every open transaction holds the horizon a little: a holder below both
    warning thresholds (time, and transactions with XID_WARNING), other
    than an inactive replication slot, is named as what it is, the oldest
    xmin, not as holding back vacuum.
    """

    def __init__(self, warning, critical, xid_warning=None):
        super(HorizonContext, self).__init__('horizon_age_max', warning, critical)
        self.xid_warning = xid_warning

    def holds_back(self, holder):
        if holder.kind == 'replication slot' and holder.state == 'inactive':
            return True  # for ever: StaleSlotsContext warns of it
        return not self.warning.match(holder.seconds) or (
            self.xid_warning is not None
            and not self.xid_warning.match(holder.xid_age or 0))

    def describe(self, metric):
        resource = metric.resource
        if resource.oldest is None:
            return 'nothing holds back vacuum'
        if not self.holds_back(resource.oldest):
            return 'oldest xmin: %s' % describe_holder(resource.oldest)
        text = '%s holds back vacuum' % describe_holder(resource.oldest)
        behind = resource.tables_behind
        if behind:
            worst = behind[0]
            databases = len(set(t.database for t in behind if not t.shared))
            text += ': %s bloating behind it (%s %s dead rows, %s%s)' % (
                words.plural(len(behind), 'table'), worst.table_name,
                words.count(worst.n_dead_tup), ratio_text(worst),
                '; in %d databases' % databases if databases > 1 else '')
        return text

    def detail_lines(self, metric):
        resource = metric.resource
        lines = ['%s: %s, xmin %s old%s' % (
            'holds back vacuum' if self.holds_back(h) else
            'xmin below the thresholds',
            describe_holder(h),
            words.counted(h.xid_age or 0, 'transaction', words.exact),
            '; last query: %s' % words.one_line(h.last_query)
            if h.last_query else '') for h in resource.holders]
        lines += ['autovacuum ineffective: %s still has %s dead rows although '
                  'autovacuumed %s; cause: %s' % (
                      qualified_name(t), words.exact(t.n_dead_tup),
                      words.ago(t.last_autovacuum_seconds),
                      describe_holder(resource.oldest))
                  for t in resource.ineffective]
        return words.capped(lines, 'holders and tables')

    def what_to_do(self, metric):
        return what_to_do_with(metric.resource.oldest)


class HorizonXidContext(FindingContext):
    """Judges the holder with the oldest xmin, in transactions: a slot or
    standby has no time of its own, and on a busy server a young holder
    already keeps much."""

    def __init__(self, warning, critical):
        super(HorizonXidContext, self).__init__(
            'horizon_xid_age_max', warning, critical)

    def describe(self, metric):
        holder = metric.resource.most_transactions
        within = self.warning.match(metric.value) and \
            self.critical.match(metric.value)
        if holder is None or within:
            return None  # the time finding words the holders
        return '%s holds back vacuum by %s' % (
            describe_holder(holder),
            words.counted(holder.xid_age or 0, 'transaction'))

    def what_to_do(self, metric):
        return what_to_do_with(metric.resource.most_transactions)


class StaleSlotsContext(AnyFoundContext):
    """An inactive replication slot keeps its xmin forever: WARNING."""

    state_when_any = nagiosplugin.Warn

    def __init__(self):
        super(StaleSlotsContext, self).__init__('replication_slots_stale')

    def describe(self, metric):
        slots = metric.resource.stale_slots
        if not slots:
            return None
        return '%s hold%s back vacuum (%s)' % (
            words.plural(len(slots), 'inactive replication slot'),
            's' if len(slots) == 1 else '',
            ', '.join('%s, %s' % (s.holder,
                                  words.counted(s.xid_age or 0, 'transaction'))
                      for s in slots[:3]))

    hint = ('what to do: drop a replication slot nobody uses any more: '
            'SELECT pg_drop_replication_slot(name)')
