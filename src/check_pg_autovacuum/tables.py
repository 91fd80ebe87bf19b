"""Tables that need autovacuum or autoanalyze and don't get it.

We look at need, not at timestamps: a table is reported only when it has
passed autovacuum's own trigger (dead rows, on 13+ also inserted rows; for
analyze, changed rows), and then judged by how long it has been waiting
since its last vacuum or analyze -- or, never vacuumed, since statistics
began.  A quiet table vacuumed a year ago is fine; a busy one that never
was is not, whatever its neighbours' timestamps say.
"""
from __future__ import unicode_literals

import nagiosplugin

from . import queries, words
from .durations import format_duration
from .verdict import AnyFoundContext, FindingContext


class TableStatistics(object):
    """Reads, once per run, every database's tables that need autovacuum."""

    def __init__(self, databases, exclude_tables=None):
        self.databases = databases
        self.exclude_tables = exclude_tables
        self._tables = None

    def tables(self):
        if self._tables is None:
            self._tables = self.databases.query_each(
                queries.tables_needing_autovacuum,
                {'exclude_tables': self.exclude_tables})
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
            [t for t in tables
             if t.dead_rows_past_trigger or t.inserts_past_trigger],
            key=lambda t: -t.vacuum_waiting_seconds)
        needing = self.tables_needing_vacuum
        longest = max([t.vacuum_waiting_seconds for t in needing] or [0])
        worst_ratio = max([dead_ratio(t) for t in needing
                           if t.dead_rows_past_trigger] or [0])
        return [
            nagiosplugin.Metric('tables_need_vacuum', len(needing), min=0,
                                context='count'),
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
            [t for t in self.statistics.tables() if t.needs_analyze],
            key=lambda t: -t.analyze_waiting_seconds)
        needing = self.tables_needing_analyze
        longest = max([t.analyze_waiting_seconds for t in needing] or [0])
        return [
            nagiosplugin.Metric('tables_need_analyze', len(needing), min=0,
                                context='count'),
            nagiosplugin.Metric('analyze_overdue_max', longest, 's', min=0,
                                context='analyze_overdue_max'),
        ]


class VacuumOverdueContext(FindingContext):
    """Judges the longest wait for vacuum; names the worst table."""

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
        return words.capped(
            [_vacuum_detail(t) for t in metric.resource.tables_needing_vacuum],
            'tables need vacuum')


class AnalyzeOverdueContext(FindingContext):
    """Judges the longest wait for analyze; names the worst table."""

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
        return '%s analyze%s, worst %s (%s rows changed, %s)' % (
            _needs(len(tables)), ' and never got it' if never else '',
            qualified_name(worst), words.count(worst.n_mod_since_analyze),
            _waiting(worst.never_analyzed, worst.analyze_waiting_seconds,
                     'analyzed'))

    def detail_lines(self, metric):
        return words.capped(
            [_analyze_detail(t) for t in metric.resource.tables_needing_analyze],
            'tables need analyze')


def _needs(number):
    return '%s need%s' % (words.plural(number, 'table'), 's' if number == 1 else '')


def _waiting(never, seconds, done):
    if never:
        return 'never %s in %s' % (done, format_duration(seconds))
    return 'last %s %s ago' % (done, format_duration(seconds))


def _since_statistics(never, seconds):
    """For a table never vacuumed: how long statistics have been kept."""
    return '; statistics began %s ago' % format_duration(seconds) if never else ''


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
    return '%s, %s%s' % (what, _waiting(table.never_vacuumed,
                                        table.vacuum_waiting_seconds,
                                        'vacuumed'), disabled)


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
    return '%s needs vacuum: %s; last autovacuum %s, last vacuum %s%s%s' % (
        qualified_name(table), ', '.join(reasons),
        words.ago(table.last_autovacuum_seconds),
        words.ago(table.last_vacuum_seconds),
        _since_statistics(table.never_vacuumed, table.vacuum_waiting_seconds),
        '' if table.autovacuum_enabled else
        '; autovacuum disabled for this table')


def _analyze_detail(table):
    return '%s needs analyze: %s rows changed (trigger %s); last autoanalyze %s, ' \
        'last analyze %s%s' % (
            qualified_name(table), words.exact(table.n_mod_since_analyze),
            words.exact(table.analyze_trigger),
            words.ago(table.last_autoanalyze_seconds),
            words.ago(table.last_analyze_seconds),
            _since_statistics(table.never_analyzed, table.analyze_waiting_seconds))


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
