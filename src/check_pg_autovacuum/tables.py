"""Tables that need autovacuum or autoanalyze and don't get it.

We look at need, not at timestamps: a table is reported only when it has
passed autovacuum's own trigger (dead rows, on 13+ also inserted rows; for
analyze, changed rows), and then judged by how long it has waited *past
that trigger* (overdue.py), not counting a vacuum that is running on it.
A quiet table vacuumed a year ago is fine; a busy one that never was is
not, whatever its neighbours' timestamps say.  Catalogs count: autovacuum
vacuums them like any other table.
"""
from __future__ import unicode_literals

import collections

import nagiosplugin

from . import queries, words
from .durations import format_duration
from .overdue import (
    describe_running, describe_wait, judge_waits, table_scopes)
from .verdict import AnyFoundContext, FindingContext


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
                scopes = table_scopes(self.memory, [
                    d for d in statistics_since
                    if d.database in self.databases.last_read])
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


class AutovacuumSwitchesContext(nagiosplugin.Context):

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


class TablesNeedingVacuum(nagiosplugin.Resource):
    """Tables past the vacuum trigger, longest waiting first."""

    def __init__(self, statistics):
        self.statistics = statistics
        self.tables_needing_vacuum = []

    def probe(self):
        tables = self.statistics.tables()
        self.tables_needing_vacuum = sorted(
            [t for t in tables if t.vacuum_wait],
            key=lambda t: -t.vacuum_wait.seconds)
        needing = self.tables_needing_vacuum
        longest = max([t.vacuum_wait.seconds for t in needing] or [0])
        worst_ratio = max([dead_ratio(t) for t in needing
                           if t.dead_rows_past_trigger] or [0])
        return [
            nagiosplugin.Metric('tables_need_vacuum', len(needing), min=0,
                                context='count'),
            nagiosplugin.Metric('tables_being_vacuumed',
                                len([t for t in needing if t.vacuum_wait.running]),
                                min=0, context='count'),
            nagiosplugin.Metric('tables_never_autovacuumed',
                                len([t for t in needing if t.never_vacuumed]),
                                min=0, context='count'),
            nagiosplugin.Metric('tables_autovacuum_disabled',
                                len([t for t in tables if not t.autovacuum_enabled]),
                                min=0, context='count'),
            nagiosplugin.Metric('dead_tuples_max_ratio',
                                words.perfdata_number(worst_ratio),
                                min=0, context='count'),
            nagiosplugin.Metric('vacuum_overdue_max', longest, 's', min=0,
                                context='vacuum_overdue_max'),
        ]


class TablesNeedingAnalyze(nagiosplugin.Resource):
    """Tables past the analyze trigger, longest waiting first."""

    def __init__(self, statistics):
        self.statistics = statistics
        self.tables_needing_analyze = []

    def probe(self):
        self.tables_needing_analyze = sorted(
            [t for t in self.statistics.tables() if t.analyze_wait],
            key=lambda t: -t.analyze_wait.seconds)
        needing = self.tables_needing_analyze
        longest = max([t.analyze_wait.seconds for t in needing] or [0])
        return [
            nagiosplugin.Metric('tables_need_analyze', len(needing), min=0,
                                context='count'),
            nagiosplugin.Metric('analyze_overdue_max', longest, 's', min=0,
                                context='analyze_overdue_max'),
        ]


class VacuumOverdueContext(FindingContext):
    """Judges the longest wait past the vacuum trigger; names the worst table."""

    hint = ('what to do: find what keeps autovacuum from these tables (the '
            'other findings: old transactions, cancellations); VACUUM them by '
            'hand meanwhile; re-enable autovacuum where it was disabled')

    def __init__(self, warning, critical):
        super(VacuumOverdueContext, self).__init__(
            'vacuum_overdue_max', warning, critical)

    def describe(self, metric):
        tables = metric.resource.tables_needing_vacuum
        if not tables:
            return 'no table needs vacuum'
        never = all(t.never_vacuumed for t in tables)
        return '%s vacuum%s, worst %s (%s)' % (
            _needs(len(tables)), ' and never got it' if never else '',
            qualified_name(tables[0]), _vacuum_summary(tables[0]))

    def detail_lines(self, metric):
        statistics = metric.resource.statistics
        return words.capped(
            [_vacuum_detail(t) + _attempts(t, statistics)
             for t in metric.resource.tables_needing_vacuum],
            'tables need vacuum')


class AnalyzeOverdueContext(FindingContext):
    """Judges the longest wait past the analyze trigger; names the worst table."""

    hint = 'what to do: ANALYZE these tables; then find why autoanalyze did not'

    def __init__(self, warning, critical):
        super(AnalyzeOverdueContext, self).__init__(
            'analyze_overdue_max', warning, critical)

    def describe(self, metric):
        tables = metric.resource.tables_needing_analyze
        if not tables:
            return 'no table needs analyze'
        never = all(t.never_analyzed for t in tables)
        worst = tables[0]
        return '%s analyze%s, worst %s (%s rows changed, %s%s)' % (
            _needs(len(tables)), ' and never got it' if never else '',
            qualified_name(worst), words.count(worst.n_mod_since_analyze),
            describe_wait(worst, 'analyze'), _being(worst.analyze_wait))

    def detail_lines(self, metric):
        return words.capped(
            [_analyze_detail(t) for t in metric.resource.tables_needing_analyze],
            'tables need analyze')


def _needs(number):
    return '%s need%s' % (words.plural(number, 'table'), 's' if number == 1 else '')


def _being(wait):
    return ', being %s' % ('analyzed' if wait.running.command == 'analyze'
                           else 'vacuumed') if wait.running else ''


def _since_statistics(table, never):
    """For a table never vacuumed: how long statistics have been kept."""
    return '; statistics began %s ago' % format_duration(
        max(0, table.now_epoch - table.stats_since_epoch)) if never else ''


def ratio_text(table, of='live'):
    """'10x live', '3.7x live', '50% of live'."""
    ratio = dead_ratio(table)
    if ratio >= 10:
        return '%dx %s' % (ratio, of)
    if ratio >= 1:
        return '%.1fx %s' % (ratio, of)
    return '%d%% of %s' % (ratio * 100, of)


def _vacuum_summary(table):
    if table.dead_rows_past_trigger:
        what = '%s dead rows, %s' % (words.count(table.n_dead_tup),
                                     ratio_text(table))
    else:
        what = '%s rows inserted' % words.count(table.n_ins_since_vacuum)
    disabled = '' if table.autovacuum_enabled else ', autovacuum disabled'
    return '%s, %s%s%s' % (what, describe_wait(table, 'vacuum'),
                           _being(table.vacuum_wait), disabled)


def _running_detail(wait):
    return '; %s' % describe_running(wait.running) if wait.running else ''


def _vacuum_detail(table):
    reasons = []
    if table.dead_rows_past_trigger:
        reasons.append('%s dead rows (trigger %s), %s live' % (
            words.exact(table.n_dead_tup), words.exact(table.vacuum_trigger),
            words.exact(table.n_live_tup)))
    if table.inserts_past_trigger:
        reasons.append('%s rows inserted (trigger %s)' % (
            words.exact(table.n_ins_since_vacuum),
            words.exact(table.insert_trigger)))
    wait = table.vacuum_wait
    return '%s needs vacuum: %s; past its trigger for %s%s; last autovacuum ' \
        '%s, last vacuum %s%s%s%s' % (
            qualified_name(table), ', '.join(reasons),
            format_duration(wait.seconds), _how(wait),
            words.ago(table.last_autovacuum_seconds),
            words.ago(table.last_vacuum_seconds),
            _since_statistics(table, table.never_vacuumed),
            _running_detail(wait),
            '' if table.autovacuum_enabled else
            '; autovacuum disabled for this table')


def _attempts(table, statistics):
    """'; autovacuum cancelled 14 times, skipped 3 times since the last
    check': the attempts next to the wait, where the log was read."""
    if not statistics.log_read:
        return ''
    cancelled = statistics.cancelled[qualified_name(table)]
    skipped = statistics.skipped[table.table_name]
    return '; in the log since the last check: autovacuum cancelled %s, ' \
        'skipped %s (lock not available)' % (
            words.plural(cancelled, 'time'), words.plural(skipped, 'time'))


def _how(wait):
    if wait.how == 'estimated':
        return ' (estimated from the pace the rows accrued at)'
    return ''


def _analyze_detail(table):
    wait = table.analyze_wait
    return '%s needs analyze: %s rows changed (trigger %s); past its trigger ' \
        'for %s%s; last autoanalyze %s, last analyze %s%s%s' % (
            qualified_name(table), words.exact(table.n_mod_since_analyze),
            words.exact(table.analyze_trigger),
            format_duration(wait.seconds), _how(wait),
            words.ago(table.last_autoanalyze_seconds),
            words.ago(table.last_analyze_seconds),
            _since_statistics(table, table.never_analyzed),
            _running_detail(wait))


class UnreadableDatabases(nagiosplugin.Resource):
    """Databases we could not read: UNKNOWN, named, never hidden."""

    def __init__(self, databases):
        self.databases = databases

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
        return ['cannot read database %s: %s' % (name, reason)
                for name, reason in metric.resource.databases.unreadable]
