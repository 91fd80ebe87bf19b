"""Every database's tables that need autovacuum, read once per run.

The vacuum, analyze, horizon, workers and bloat findings share them: which
tables are past autovacuum's own trigger, how long each has waited (waits.py),
what runs now.  Beside them what those findings share too: whether
autovacuum is on at all, the databases that could not be read, and how a
table is named.
"""
from __future__ import unicode_literals

import collections

import nagiosplugin

from . import queries
from .verdict import AnyFoundContext, NoteContext
from .waits import judge_waits, table_scopes

PERFDATA = (
    ('databases_unreadable', 'databases that could not be read'),
)
# Where their words go among the findings' (verdict.ranked()).
PRIORITY = {'autovacuum_switches': 8, 'databases_unreadable': 15}


class TableStatistics(object):
    """Reads, once per run, every database's tables that need autovacuum,
    and the vacuums running now; works out how long each has waited."""

    def __init__(self, databases, memory=None, exclude_tables=None):
        self.databases = databases
        self.memory = memory
        self.exclude_tables = exclude_tables
        self.running = []  # vacuums running now, cluster-wide
        self.log_read = False
        self.cancelled = collections.Counter()  # by database.schema.table
        self.skipped = collections.Counter()  # by table name: all the log says
        self._tables = None

    def note_log_events(self, cancels, skips):
        """What the server log said since the last check, for -v."""
        self.log_read = True
        self.cancelled.update(e.table for e in cancels if e.table)
        self.skipped.update(e.table for e in skips if e.table)

    def tables(self):
        if self._tables is None:
            # The first session's queries come first: a database that
            # hangs may use up the deadline, and with it that session.
            session = self.databases.session
            running = self.running = session.rows(queries.running_vacuums(
                session.server_version))
            statistics_since = session.rows(queries.statistics_since(
                session.server_version))
            if self.memory is not None:
                self.memory.open()
            rows = self.databases.query_each(
                queries.tables_needing_autovacuum,
                {'exclude_tables': self.exclude_tables})
            scopes = None
            if self.memory is not None:
                # A quiet database was left unread because nothing in it
                # moved: as good as looked at now, with nothing past a trigger.
                known = set(self.databases.last_read +
                            self.databases.left_unread())
                scopes = table_scopes(self.memory, [
                    d for d in statistics_since if d.database in known])
            self._tables = judge_waits(rows, running, scopes)
        return self._tables


class AutovacuumSwitches(nagiosplugin.Resource):
    """Is autovacuum on at all?  Without it and track_counts, nothing else works."""

    def __init__(self, session):
        self.session = session

    def probe(self):
        switches = self.session.rows(
            queries.autovacuum_switches(self.session.server_version))[0]
        return nagiosplugin.Metric('autovacuum_switches', switches,
                                   context='autovacuum_switches')


class AutovacuumSwitchesContext(NoteContext):

    hint = ('what to do: set autovacuum = on and track_counts = on in '
            'postgresql.conf, then SELECT pg_reload_conf()')

    def __init__(self):
        super(AutovacuumSwitchesContext, self).__init__('autovacuum_switches')

    def evaluate(self, metric, resource):
        switches = metric.value
        if not switches.track_counts:
            return self.result_cls(
                nagiosplugin.Critical, 'statistics are off (track_counts = off): '
                'autovacuum cannot tell which tables need it', metric)
        if not switches.autovacuum:
            return self.result_cls(
                nagiosplugin.Critical, 'autovacuum is off for the whole server '
                '(autovacuum = off): tables get vacuumed only to prevent '
                'wraparound', metric)
        return self.result_cls(nagiosplugin.Ok, None, metric)


def qualified_name(table):
    if table.shared:
        return '%s.%s (shared)' % (table.schema, table.table_name)
    return '%s.%s.%s' % (table.database, table.schema, table.table_name)


def dead_ratio(table):
    return float(table.n_dead_tup) / max(table.n_live_tup, 1)


def ratio_text(table, of='live'):
    """'10x live', '3.7x live', '50% of live'."""
    ratio = dead_ratio(table)
    if ratio >= 10:
        return '%dx %s' % (ratio, of)
    if ratio >= 1:
        return '%.1fx %s' % (ratio, of)
    return '%d%% of %s' % (ratio * 100, of)



class UnreadableDatabases(nagiosplugin.Resource):
    """Databases we could not read: UNKNOWN, named, never hidden."""

    def __init__(self, databases, verbosity=0):
        self.databases = databases
        self.verbosity = verbosity  # -vv names each database read or not

    def probe(self):
        return nagiosplugin.Metric('databases_unreadable',
                                   len(self.databases.unreadable), min=0,
                                   context='databases_unreadable')


class UnreadableDatabasesContext(AnyFoundContext):

    # The reasons differ (no CONNECT, a lock, no free connection slot): the
    # lines above name each; this only says what cures the usual one.
    hint = ('what to do: the reason is given for each database; a missing '
            'CONNECT privilege is cured by GRANT CONNECT ON DATABASE ... TO the '
            'monitoring role; --exclude-databases leaves a database out')

    state_when_any = nagiosplugin.Unknown

    def __init__(self):
        super(UnreadableDatabasesContext, self).__init__('databases_unreadable')

    def describe(self, metric):
        unreadable = metric.resource.databases.unreadable
        if not unreadable:
            return None
        name, reason = unreadable[0]
        more = len(unreadable) - 1
        return 'cannot read database %s: %s%s' % (
            name, reason, ' (and %d more)' % more if more else '')

    def detail_lines(self, metric):
        databases = metric.resource.databases
        lines = ['cannot read database %s: %s' % (name, reason)
                 for name, reason in databases.unreadable]
        if databases.quiet is not None:
            lines += databases.quiet.detail_lines(metric.resource.verbosity)
        return lines
