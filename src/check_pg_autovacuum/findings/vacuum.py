"""Tables that need autovacuum and don't get it.

We look at need, not at timestamps: a table is reported only when it has
passed autovacuum's own trigger (dead rows, on 13+ also inserted rows), and
then judged by how long it has waited *past that trigger* (waits.py), not
counting a vacuum that is running on it.  A quiet table vacuumed a year ago
is fine; a busy one that never was is not, whatever its neighbours'
timestamps say.  Catalogs count: autovacuum vacuums them like any other
table.  Autovacuum or track_counts switched off is CRITICAL.
"""
from __future__ import unicode_literals

import nagiosplugin

from .. import words
from ..durations import format_duration
from ..databases import TABLES_GROUP
from ..options import option_group
from ..table_statistics import dead_ratio, qualified_name, ratio_text
from ..verdict import FindingContext
from ..waits import (
    being, describe_wait, how_known, needs, running_detail, since_statistics)

NAME = 'vacuum'
SUMMARY = """\
  vacuum   tables, in every database and catalogs included, that have
           waited long past autovacuum's own trigger (dead or inserted
           rows); autovacuum or track_counts switched off is CRITICAL
"""
PERFDATA = (
    ('tables_need_vacuum', 'tables past the vacuum trigger'),
    ('tables_being_vacuumed', 'of those, being vacuumed now'),
    ('tables_never_autovacuumed', 'of those, never vacuumed since statistics began'),
    ('vacuum_overdue_max', 'longest time past the vacuum trigger among\n'
     'them, a running vacuum not counted (s)'),
    ('dead_tuples_max_ratio', 'largest dead/live rows ratio among them'),
    ('tables_autovacuum_disabled', 'tables with autovacuum_enabled = false'),
)
PRIORITY = {'vacuum_overdue_max': 12}
DURATIONS = ('vacuum_warning', 'vacuum_critical')


def add_options(parser):
    tables = option_group(parser, TABLES_GROUP)
    tables.add_argument('--vacuum-warning', default='1d',
                        metavar='DURATION', help='longest time a table may '
                        'wait past its vacuum trigger before WARNING '
                        '(default: %(default)s)')
    tables.add_argument('--vacuum-critical', default='7d',
                        metavar='DURATION', help='... before CRITICAL '
                        '(default: %(default)s)')


def build(args, shared):
    return shared.autovacuum_switches() + [
        TablesNeedingVacuum(shared.statistics),
        VacuumOverdueContext(args.vacuum_warning, args.vacuum_critical)]


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
            needs(len(tables)), ' and never got it' if never else '',
            qualified_name(tables[0]), _vacuum_summary(tables[0]))

    def detail_lines(self, metric):
        statistics = metric.resource.statistics
        return words.capped(
            [_vacuum_detail(t) + _attempts(t, statistics)
             for t in metric.resource.tables_needing_vacuum],
            'tables need vacuum')


def _vacuum_summary(table):
    if table.dead_rows_past_trigger:
        what = '%s dead rows, %s' % (words.count(table.n_dead_tup),
                                     ratio_text(table))
    else:
        what = '%s rows inserted' % words.count(table.n_ins_since_vacuum)
    disabled = '' if table.autovacuum_enabled else ', autovacuum disabled'
    return '%s, %s%s%s' % (what, describe_wait(table, 'vacuum'),
                           being(table.vacuum_wait), disabled)


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
            format_duration(wait.seconds), how_known(wait),
            words.ago(table.last_autovacuum_seconds),
            words.ago(table.last_vacuum_seconds),
            since_statistics(table, table.never_vacuumed),
            running_detail(wait),
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
