"""Tables that need autoanalyze and don't get it.

As for vacuum (vacuum.py), by need: a table past autoanalyze's trigger (rows
changed since the last analyze), judged by how long it has waited past it.
Stale statistics give the planner "interesting" plans.
"""
from __future__ import unicode_literals

import nagiosplugin

from .. import words
from ..durations import format_duration
from ..databases import TABLES_GROUP
from ..options import option_group
from ..table_statistics import qualified_name
from ..verdict import FindingContext
from ..waits import (
    being, describe_wait, how_known, needs, running_detail, since_statistics)

NAME = 'analyze'
SUMMARY = """\
  analyze  the same for autoanalyze (rows changed since the last analyze)
"""
PERFDATA = (
    ('tables_need_analyze', 'tables past the analyze trigger'),
    ('analyze_overdue_max', 'longest time past the analyze trigger (s)'),
)
PRIORITY = {'analyze_overdue_max': 13}
DURATIONS = ('analyze_warning', 'analyze_critical')


def add_options(parser):
    tables = option_group(parser, TABLES_GROUP)
    tables.add_argument('--analyze-warning', default='1d',
                        metavar='DURATION', help='longest time a table may '
                        'wait past its analyze trigger before WARNING '
                        '(default: %(default)s)')
    tables.add_argument('--analyze-critical', default='7d',
                        metavar='DURATION',
                        help='... before CRITICAL (default: %(default)s)')


def build(args, shared):
    return shared.autovacuum_switches() + [
        TablesNeedingAnalyze(shared.statistics),
        AnalyzeOverdueContext(args.analyze_warning, args.analyze_critical)]


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
            needs(len(tables)), ' and never got it' if never else '',
            qualified_name(worst), words.count(worst.n_mod_since_analyze),
            describe_wait(worst, 'analyze'), being(worst.analyze_wait))

    def detail_lines(self, metric):
        return words.capped(
            [_analyze_detail(t) for t in metric.resource.tables_needing_analyze],
            'tables need analyze')


def _analyze_detail(table):
    wait = table.analyze_wait
    return '%s needs analyze: %s rows changed (trigger %s); past its trigger ' \
        'for %s%s; last autoanalyze %s, last analyze %s%s%s' % (
            qualified_name(table), words.exact(table.n_mod_since_analyze),
            words.exact(table.analyze_trigger),
            format_duration(wait.seconds), how_known(wait),
            words.ago(table.last_autoanalyze_seconds),
            words.ago(table.last_analyze_seconds),
            since_statistics(table, table.never_analyzed),
            running_detail(wait))
