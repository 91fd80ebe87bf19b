"""Tables autovacuum cannot see: their statistics were lost.

Autovacuum decides from the cumulative statistics (relation_needs_vacanalyze()
reads n_dead_tup and n_mod_since_analyze, from 13 on n_ins_since_vacuum).
A crash, an immediate stop, a promoted standby, a restored backup,
pg_upgrade, pg_stat_reset() or a table's own reset lose them: a table with
150,000 dead rows then looks clean, and waits until as many new ones accrue
-- for a big table that is mostly read, weeks.  pg_class survives all of
these: a table whose reltuples says it had rows, whose size says they are
still there, and whose counters say nothing ever happened to it, is blind.

WARNING while such tables (of at least --blind-min-size) exist; CRITICAL
where the memory between runs saw a table past its vacuum trigger before
its statistics were lost: those dead rows are there, unseen.  A database
that lost none (losses.py: made since a run looked, or nothing can have
lost them) is a copy: CREATE DATABASE copies its template's tables, not
their statistics; its tables are named at -v, not counted.  ANALYZE
gives autovacuum back its count of live and dead rows (analyze.c reports
both, pgstat_report_analyze()); the inserts since the last vacuum (13+)
start again from zero.
"""
from __future__ import unicode_literals

import collections

import nagiosplugin

from .. import losses, options, queries, words
from ..databases import TABLES_GROUP
from ..options import option_group
from ..table_statistics import qualified_name
from ..verdict import Explained
from ..waits import shared_catalogs_once

NAME = 'blind'
SUMMARY = """\
  blind    tables that hold rows while their statistics were lost (a
           crash, a promotion, a reset): autovacuum cannot see their dead
           rows; CRITICAL where they were past its trigger before
"""
PERFDATA = (
    ('tables_blind', 'tables holding rows whose statistics were lost'),
)
# Its OK words after the tables' waits; a blind table is never also past
# its trigger (its counters are zero), so as a problem it stands alone.
PRIORITY = {'tables_blind': 13.5}


def add_options(parser):
    tables = option_group(parser, TABLES_GROUP)
    # Below it, a table's lost dead rows hold less than its size, which a
    # vacuum of a few milliseconds gives back; the README's 26 MB table is
    # far above.
    tables.add_argument('--blind-min-size', default='1MB', metavar='SIZE',
                        help='the smallest table whose lost statistics count '
                        '(default: %(default)s)')


def check_options(args):
    args.blind_min_size = options.size('--blind-min-size', args.blind_min_size)


def build(args, shared):
    return [BlindTables(shared.databases, shared.statistics, shared.memory,
                        args.blind_min_size, args.exclude_tables),
            BlindTablesContext()]


class BlindTables(nagiosplugin.Resource):
    """The blind tables of every database, with what the memory knew of
    them and when their database's statistics were lost."""

    def __init__(self, databases, statistics, memory, min_size,
                 exclude_tables=None):
        self.databases = databases
        self.statistics = statistics
        self.memory = memory
        self.parameters = {'min_size': min_size,
                           'exclude_tables': exclude_tables}
        self.blind_tables = []
        self.copied_tables = []  # blind too, in copies: none were lost
        self.in_recovery = False
        self.losses = None  # database -> losses.Loss, once read
        # With the tables' own visit of every database: no connection more.
        # A copy's tables are no news: quiet.py may leave it unread.
        self.along = databases.read_along(
            self._read, news=lambda name: not self._is_copy(name))

    def _read(self, session):
        return session.rows(queries.blind_tables(session.server_version),
                            self.parameters)

    def probe(self):
        if self.memory is not None:
            # The tables past their trigger, for the memory: their visit of
            # every database takes our query along, if no finding's did.
            self.statistics.tables()
        rows = self.databases.rows_along(self.along)
        self._read_losses()
        # None in recovery: blind_tables.sql returns none on a standby.
        tables = [BlindTable(row) for row in shared_catalogs_once(rows)]
        self.blind_tables = [t for t in tables if not self._copied(t)]
        self.copied_tables = sorted((t for t in tables if self._copied(t)),
                                    key=lambda t: -t.size)
        if self.memory is not None:
            self._recall_past_triggers()
        self.blind_tables.sort(key=lambda t: (not t.was_past_trigger, -t.size,
                                              qualified_name(t.row)))
        return [nagiosplugin.Metric('tables_blind', len(self.blind_tables),
                                    min=0, context='tables_blind')]

    def _recall_past_triggers(self):
        """Each database's tables past the vacuum trigger, kept for the run
        after a loss; a blind table keeps what was known of it.  The scope
        survives a stats reset (the tables' own memory does not)."""
        blind = dict(((t.row.database, t.row.relid), t)
                     for t in self.blind_tables)
        scopes = {}
        for database, loss in self.losses.items():
            if database in self.databases.last_read:
                # Believed for the same database oid: a database dropped and
                # made again under its name has other tables.
                scopes[database] = self.memory.scope(
                    'before a loss %s' % database, '%s' % loss.database_oid,
                    loss.now_epoch)
                if scopes[database].previous_look is not None:
                    loss.seen_before = True
        for table in self.statistics.tables():
            scope = scopes.get(table.database)
            if scope is not None and table.dead_rows_past_trigger:
                scope.keep('%s' % table.relid,
                           [table.n_dead_tup, table.vacuum_trigger],
                           table.now_epoch)
        for (database, relid), table in blind.items():
            scope = scopes.get(database)
            if scope is None:
                continue
            known, since = scope.recall('%s' % relid)
            if isinstance(known, list) and len(known) == 2:
                table.dead_rows_before, table.trigger_before = known
                scope.keep('%s' % relid, known, since)

    def _read_losses(self):
        """Read once, in the first session (the tables' visit may ask
        first)."""
        if self.losses is None:
            self.losses = losses.read(self.databases.session, self.memory)
            self.in_recovery = any(loss.in_recovery
                                   for loss in self.losses.values())

    def _is_copy(self, database):
        """Whether DATABASE lost no statistics, its blind tables never had
        any (made since a run looked, or nothing can have lost them); not
        until probe() read the losses."""
        loss = (self.losses or {}).get(database)
        return loss is not None and (loss.made_after is not None
                                     or loss.never_gathered)

    def _copied(self, table):
        return not table.row.shared and self._is_copy(table.row.database)


class BlindTable(object):

    def __init__(self, row):
        self.row = row
        self.size = row.size
        self.dead_rows_before = None
        self.trigger_before = None

    @property
    def was_past_trigger(self):
        return self.dead_rows_before is not None and \
            self.dead_rows_before > self.trigger_before


def describe_table(table, loss):
    """'abc-hans.public.big (26 MB, 300k rows by pg_class): statistics lost
    at the server's start 3m ago ...; had 150,000 dead rows, past its
    trigger (60,050), before'."""
    row = table.row
    text = '%s (%s, %s rows by pg_class): statistics %s' % (
        qualified_name(row), words.size(table.size), words.count(int(row.reltuples)),
        loss.describe() if loss else 'lost')
    if table.dead_rows_before is not None:
        text += '; had %s dead rows, %s its trigger (%s), before' % (
            words.exact(table.dead_rows_before),
            'past' if table.was_past_trigger else 'below',
            words.exact(table.trigger_before))
    return text


def describe_copies(resource):
    """A line per database whose tables hold rows with no statistics
    while none were lost there: nothing to warn of."""
    copied = collections.OrderedDict()
    for table in resource.copied_tables:
        copied.setdefault(table.row.database, []).append(table)
    lines = []
    for database, tables in copied.items():
        loss = resource.losses[database]
        lines.append(
            '%s: %s rows with no statistics yet, not counted as blind: %s '
            '(CREATE DATABASE copies tables, not their statistics; ANALYZE in '
            'it counts the dead rows it copied), largest %s.%s (%s)' % (
                database, '1 table holds' if len(tables) == 1
                else '%d tables hold' % len(tables), loss.why_not_lost(),
                tables[0].row.schema, tables[0].row.table_name,
                words.size(tables[0].size)))
    return lines


class BlindTablesContext(Explained, nagiosplugin.Context):
    """WARNING while tables are blind; CRITICAL where the lost dead rows
    were past the trigger."""

    def __init__(self):
        super(BlindTablesContext, self).__init__('tables_blind')

    def evaluate(self, metric, resource):
        tables = resource.blind_tables
        if not tables:
            state = nagiosplugin.Ok
        elif any(t.was_past_trigger for t in tables):
            state = nagiosplugin.Critical
        else:
            state = nagiosplugin.Warn
        return self.result_cls(state, None, metric)

    def performance(self, metric, resource):
        return nagiosplugin.Performance('tables_blind', metric.value, min=0)

    def describe(self, metric):
        resource = metric.resource
        tables = resource.blind_tables
        if not tables:
            return 'no table blind to autovacuum%s' % (
                ' (a standby: autovacuum runs on its primary)'
                if resource.in_recovery else '')
        worst = tables[0]
        more = len(tables) - 1
        return 'autovacuum is blind to %s: statistics lost, worst %s%s' % (
            words.plural(len(tables), 'table'),
            describe_table(worst, resource.losses.get(worst.row.database)),
            ' (and %d more)' % more if more else '')

    def detail_lines(self, metric):
        resource = metric.resource
        lines = [describe_table(t, resource.losses.get(t.row.database))
                 for t in resource.blind_tables]
        lines += describe_copies(resource)
        return words.capped(lines, 'tables')

    def what_to_do(self, metric):
        tables = metric.resource.blind_tables
        if not tables:
            return None
        names = ', '.join(_sql_name(t.row) for t in tables[:5])
        return ('what to do: ANALYZE gives autovacuum back the dead and live '
                'rows it decides by: ANALYZE %s in its database (vacuumdb '
                '--all --analyze-only for the whole cluster)' % names)


def _sql_name(row):
    return '%s.%s' % (words.sql_identifier(row.schema),
                      words.sql_identifier(row.table_name))

