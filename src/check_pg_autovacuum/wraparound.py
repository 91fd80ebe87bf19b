"""Transaction ID wraparound: the one thing autovacuum must never fall behind on.

A database whose oldest unfrozen transaction ID (or multixact) is 2^31
behind the newest stops accepting writes.  Autovacuum freezes tables long
before that -- unless it cannot: an anti-wraparound autovacuum that waits
for a lock is the worst case, since nothing else will freeze that table.
"""
from __future__ import unicode_literals

import nagiosplugin

from . import queries, words
from .durations import format_duration
from .verdict import AnyFoundContext, FindingContext


class Wraparound(nagiosplugin.Resource):
    """Each database's distance to wraparound, the closest first."""

    def __init__(self, session, databases):
        self.session = session
        self.databases = databases
        self.ages = []
        self.blocked = []
        self.oldest_tables = []

    def probe(self):
        checked = set(self.databases.names())  # --databases, no templates
        version = self.session.server_version
        self.ages = [age for age in self.session.rows(queries.wraparound(version))
                     if age.database in checked]
        # One row per blocked autovacuum and session that blocks it.
        self.blocked = [row for row in self.session.rows(
            queries.blocked_anti_wraparound(version)) if row.database in checked]
        blocked_workers = len(set(row.worker_pid for row in self.blocked))
        worst = words.perfdata_number(self.ages[0].percent) if self.ages else 0
        return [
            nagiosplugin.Metric('wraparound_max', worst, '%', min=0, max=100,
                                context='wraparound_max'),
            nagiosplugin.Metric('antiwraparound_blocked', blocked_workers,
                                min=0, context='antiwraparound_blocked'),
        ]

    def oldest_tables_of(self, database):
        """The tables that hold DATABASE's age, for -v (one query there)."""
        if database not in self.databases.names():
            return []  # template0, or filtered out by --databases
        return self.databases.query_each_of([database], queries.oldest_tables)


class WraparoundContext(FindingContext):

    def __init__(self, warning, critical):
        super(WraparoundContext, self).__init__('wraparound_max', warning, critical)

    def describe(self, metric):
        if not metric.resource.ages:
            return None
        worst = metric.resource.ages[0]
        return 'database %s is %s%% of the way to wraparound (%s transactions)' % (
            worst.database, words.perfdata_number(worst.percent),
            words.count(max(worst.xid_age, worst.multixact_age)))

    def detail_lines(self, metric):
        resource = metric.resource
        lines = []
        for age in resource.ages:
            if not self.warning.match(age.percent) or \
                    not self.critical.match(age.percent):
                lines.append('%s: %s%% to wraparound (xid age %s, multixact '
                             'age %s)' % (age.database,
                                          words.perfdata_number(age.percent),
                                          words.exact(age.xid_age),
                                          words.exact(age.multixact_age)))
                for table in resource.oldest_tables_of(age.database):
                    lines.append('  %s.%s.%s: relfrozenxid %s transactions old'
                                 % (table.database, table.schema,
                                    table.table_name, words.exact(table.xid_age)))
        return lines

    hint = ('what to do: VACUUM (FREEZE, VERBOSE) the oldest tables of that '
            'database; make sure nothing blocks or cancels autovacuum there')


class AntiWraparoundBlockedContext(AnyFoundContext):

    state_when_any = nagiosplugin.Critical

    def __init__(self):
        super(AntiWraparoundBlockedContext, self).__init__('antiwraparound_blocked')

    def describe(self, metric):
        blocked = metric.resource.blocked
        if not blocked:
            return None
        first = blocked[0]
        others = len(set(row.worker_pid for row in blocked)) - 1
        return 'anti-wraparound autovacuum of %s.%s blocked by %s%s' % (
            first.database, first.table_name, _blocker(first),
            ' (and %d more blocked)' % others if others else '')

    def detail_lines(self, metric):
        return ['autovacuum pid %d, waiting for a lock on %s.%s for %s, blocked '
                'by %s' % (row.worker_pid, row.database, row.table_name,
                           format_duration(row.running_seconds), _blocker(row))
                for row in metric.resource.blocked]

    hint = ('what to do: end the session that blocks the anti-wraparound '
            'autovacuum (pg_terminate_backend); it must finish')


def _blocker(row):
    """The session that holds the lock, as the DBA would look it up."""
    if row.blocker_state is None:  # a prepared transaction, or gone by now
        return 'pid %s' % row.blocker_pid
    return 'pid %d (%s: %s, %s)' % (
        row.blocker_pid, row.blocker_application or '-', row.blocker_state,
        words.one_line(row.blocker_query, 60))
