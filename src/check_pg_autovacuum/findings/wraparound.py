"""Transaction ID wraparound: the one thing autovacuum must never fall behind on.

A database whose oldest unfrozen transaction ID (or multixact) is 2^31
behind the newest stops accepting writes.  Autovacuum freezes tables long
before that -- unless it cannot: an anti-wraparound autovacuum that waits
for a lock is the worst case, since nothing else will freeze that table.
"""
from __future__ import unicode_literals

import nagiosplugin

from .. import queries, words
from ..durations import format_duration
from ..verdict import AnyFoundContext, FindingContext

NAME = 'wraparound'
SUMMARY = """\
  wraparound  each database's distance to transaction ID and multixact
           wraparound; an anti-wraparound autovacuum blocked is CRITICAL
"""
PERFDATA = (
    ('wraparound_max', "closest database's way to wraparound (%)"),
    ('antiwraparound_blocked', 'anti-wraparound autovacuums waiting for a lock'),
)
PRIORITY = {'antiwraparound_blocked': 3, 'wraparound_max': 11}
COUNTS = ('wraparound_warning', 'wraparound_critical')


def add_options(parser):
    wraparound = parser.add_argument_group('wraparound')
    wraparound.add_argument('--wraparound-warning', default='50%',
                            metavar='PERCENT', help='share of the way to '
                            'wraparound before WARNING (default: %(default)s)')
    wraparound.add_argument('--wraparound-critical', default='75%',
                            metavar='PERCENT', help='... before CRITICAL '
                            '(default: %(default)s)')


def build(args, shared):
    return [Wraparound(shared.session, shared.databases),
            WraparoundContext(args.wraparound_warning, args.wraparound_critical),
            AntiWraparoundBlockedContext()]


class Wraparound(nagiosplugin.Resource):
    """Each database's distance to wraparound, the closest first.

    Every database counts, templates and those that refuse connections
    included, as the server takes the oldest of all; its own age is in
    pg_database, no connection needed.  --databases and
    --exclude-databases still choose which.
    """

    def __init__(self, session, databases):
        self.session = session
        self.databases = databases
        self.ages = []
        self.invalid = []
        self.blocked = []

    def probe(self):
        version = self.session.server_version
        rows = self.session.rows(queries.wraparound(version), {
            'include': self.databases.include,
            'exclude': self.databases.exclude})
        # An interrupted DROP DATABASE: the server leaves it out too.
        self.invalid = [age for age in rows if age.invalid]
        self.ages = [age for age in rows if not age.invalid]
        names = set(age.database for age in self.ages)
        # One row per blocked autovacuum and session that blocks it.
        self.blocked = [row for row in self.session.rows(
            queries.blocked_anti_wraparound(version)) if row.database in names]
        blocked_workers = len(set(row.worker_pid for row in self.blocked))
        worst = words.perfdata_number(self.ages[0].percent) if self.ages else 0
        return [
            nagiosplugin.Metric('wraparound_max', worst, '%', min=0, max=100,
                                context='wraparound_max'),
            nagiosplugin.Metric('antiwraparound_blocked', blocked_workers,
                                min=0, context='antiwraparound_blocked'),
        ]

    def oldest_tables_of(self, age):
        """The tables that hold a database's age, for -v (one query there).

        Never in a template (a session there makes CREATE DATABASE fail)
        or a database that refuses connections.
        """
        if age.database not in self.databases.names():
            return []
        return self.databases.query_each_of(
            [age.database], queries.oldest_tables,
            {'by_multixact': driven_by_multixacts(age)})


def driven_by_multixacts(age):
    return age.multixact_age > age.xid_age


def driving_ids(age):
    """'250M transaction IDs' or '80M multixacts': what the share is of."""
    if driven_by_multixacts(age):
        return words.counted(age.multixact_age, 'multixact')
    return words.counted(age.xid_age, 'transaction ID')


class WraparoundContext(FindingContext):

    def __init__(self, warning, critical):
        super(WraparoundContext, self).__init__('wraparound_max', warning, critical)

    def describe(self, metric):
        if not metric.resource.ages:
            return None
        worst = metric.resource.ages[0]
        return 'database %s is %s%% of the way to wraparound (%s)' % (
            worst.database, words.perfdata_number(worst.percent),
            driving_ids(worst))

    def detail_lines(self, metric):
        resource = metric.resource
        lines = []
        for age in resource.ages:
            if not self.warning.match(age.percent) or \
                    not self.critical.match(age.percent):
                lines.append('%s: %s%% to wraparound, by %s (xid age %s, '
                             'multixact age %s)' % (
                                 age.database, words.perfdata_number(age.percent),
                                 'multixacts' if driven_by_multixacts(age)
                                 else 'transaction IDs',
                                 words.exact(age.xid_age),
                                 words.exact(age.multixact_age)))
                lines.extend(self._oldest_tables(resource, age))
        lines.extend('database %s is invalid (an interrupted DROP DATABASE): '
                     'the server leaves it out of wraparound, and so do we; '
                     'DROP DATABASE it' % age.database
                     for age in resource.invalid)
        return lines

    @staticmethod
    def _oldest_tables(resource, age):
        tables = resource.oldest_tables_of(age)
        if not tables:
            return ['  (%s is a template or refuses connections: the check '
                    'does not connect there, so its tables are not listed)'
                    % age.database] if age.database not in \
                resource.databases.names() else []
        if driven_by_multixacts(age):
            return ['  %s.%s.%s: relminmxid %s old' % (
                t.database, t.schema, t.table_name,
                words.counted(t.multixact_age, 'multixact', words.exact))
                for t in tables]
        return ['  %s.%s.%s: relfrozenxid %s old' % (
            t.database, t.schema, t.table_name,
            words.counted(t.xid_age, 'transaction', words.exact))
            for t in tables]

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
        return ['autovacuum pid %d, waiting for a %s on %s.%s for %s, blocked '
                'by %s' % (row.worker_pid, 'buffer cleanup lock'
                           if row.waits_for == 'BufferPin' else 'lock',
                           row.database, row.table_name,
                           format_duration(row.running_seconds), _blocker(row))
                for row in metric.resource.blocked]

    def what_to_do(self, metric):
        blocked = metric.resource.blocked
        ends = []
        pids = [row.blocker_pid for row in blocked
                if row.waits_for != 'BufferPin' and row.blocker_pid]
        if pids:
            ends.append('end the blocking session%s: %s' % (
                '' if len(set(pids)) == 1 else 's', words.terminate(pids)))
        ends += ['ROLLBACK PREPARED %s in database %s, or COMMIT PREPARED'
                 % (words.sql_literal(row.blocker_gid), row.database)
                 for row in blocked if row.waits_for != 'BufferPin'
                 and row.blocker_pid == 0 and row.blocker_gid]
        if any(row.waits_for == 'BufferPin' for row in blocked):
            ends.append('close the cursor or end the query that pins the table')
        return 'what to do: let the anti-wraparound autovacuum finish: %s' % \
            '; '.join(ends or ['end what blocks it'])


def _blocker(row):
    """Who keeps it waiting, as the DBA would look it up."""
    if row.waits_for == 'BufferPin':
        return ('a buffer pin: an open cursor or a long query holds a page of '
                'the table, which no view names')
    if row.blocker_pid == 0:
        return ("prepared transaction '%s' (COMMIT PREPARED or ROLLBACK "
                "PREPARED releases it)" % (row.blocker_gid or '?'))
    if row.blocker_state is None:  # gone by now
        return 'pid %s' % row.blocker_pid
    return 'pid %d (%s: %s, %s)' % (
        row.blocker_pid, row.blocker_application or '-', row.blocker_state,
        words.one_line(row.blocker_query, 60))
