"""Bloat: the space a table holds that is neither live rows nor their room.

VACUUM makes the space of dead rows reusable, but gives back to the file
system only empty pages at the end of the table.  After an incident -- an
old transaction that kept autovacuum from removing anything -- autovacuum
catches up, n_dead_tup is small again and every other finding is OK, while
the table stays several times its size, and scans read all of it.  Only a
rewrite returns the space: VACUUM FULL or CLUSTER (which lock the table
against reads and writes while they run) or pg_repack (which does not).

Two witnesses:

- an estimate for every table of at least --bloat-min-size: its rows
  (pg_class.reltuples) at their average width (pg_stats: avg_width and
  null_frac of each column, the row header and null bitmap, alignment),
  packed into pages as a rewrite would (fillfactor), against the pages it
  has.  Cheap, and only as good as the statistics: it is "not known" rather
  than a number when there are none (never for a TOAST table), when
  pg_stats does not show them to our role (it shows only columns the role
  may SELECT, which pg_monitor does not grant), or when more rows changed
  since the last analyze than the table holds;
- pgstattuple_approx, where the pgstattuple extension is installed and we
  may call it (pg_stat_scan_tables, a member of pg_monitor): it reads the
  pages that are not all-visible and takes the free space of the others
  from the free space map.  It confirms the worst few tables, or measures
  those the estimate could not, within half the time left.

A measurement reads pages, through a small ring of buffers (BAS_BULKREAD,
so the server's cache keeps what it holds), but during an incident that
is the whole table.  So it is remembered (the memory between runs) and
made again only when the table can have changed much: a new file (a
rewrite), its size or its estimate moved (table_pages.MEASURE_AGAIN_*),
or older than --bloat-measure-every.  And a run reads at most --bloat-read-limit bytes:
a table whose pages not all-visible would take more waits until VACUUM has
made them all-visible (then little is read), or for a limit given by hand.

And, beside them, what the memory between runs saw: a table's size per row
(pg_class: pages over rows, as the last VACUUM or ANALYZE counted both) now
against the least seen for the same file.  Not a share of anything -- rows
may have grown wider -- so it judges nothing, but tells a table that grew
while its rows did not from one that was always this size, also where
neither witness above can tell.
"""
from __future__ import division, unicode_literals

import nagiosplugin

from .. import options, queries, words
from ..pgstattuple import Measurer
from ..table_pages import estimate
from ..verdict import FindingContext

NAME = 'bloat'
SUMMARY = """\
  bloat    tables of at least --bloat-min-size whose space is mostly free
           or dead: VACUUM cannot give it back.  Estimated from pg_stats
           (never a number where the statistics are missing, stale or not
           visible to the role); the worst measured by pgstattuple_approx
           where the extension is installed
"""
PERFDATA = (
    ('tables_bloated', 'tables of at least --bloat-min-size past\n'
     '--bloat-warning'),
    ('bloat_max', 'largest share of them free or dead (%)'),
    ('bloat_bytes_total', 'their space a rewrite would give back (B)'),
)
PRIORITY = {'bloat_max': 14}
COUNTS = ('bloat_warning', 'bloat_critical')


def add_options(parser):
    bloat = parser.add_argument_group('bloat')
    bloat.add_argument('--bloat-warning', default='50%', metavar='PERCENT',
                       help='share of a table that is free or dead space '
                       'before WARNING (default: %(default)s: twice the size '
                       'a rewrite would leave)')
    bloat.add_argument('--bloat-critical', default='80%', metavar='PERCENT',
                       help='... before CRITICAL (default: %(default)s: five '
                       'times that size)')
    bloat.add_argument('--bloat-min-size', default='100MB', metavar='SIZE',
                       help='tables smaller than this are never reported '
                       '(bytes, or with kB, MB, GB, TB; default: '
                       '%(default)s)')
    bloat.add_argument('--bloat-read-limit', default='256MB', metavar='SIZE',
                       help='pgstattuple_approx reads at most this much of '
                       'the tables in one run; a table that would take more '
                       'is measured once VACUUM has made most of its pages '
                       'all-visible, or by hand with a higher limit (0: '
                       'measure none; default: %(default)s, about a second '
                       'of reading, through a ring that leaves the server\'s '
                       'cache alone)')
    bloat.add_argument('--bloat-measure-every', default='1d',
                       metavar='DURATION', help='a measurement is remembered '
                       'and made again after this long, or sooner when the '
                       'table\'s size moved by a tenth or its estimate by ten '
                       'points (0: every run; default: %(default)s: bloat '
                       'grows over days, and only a rewrite undoes it)')


def check_options(args):
    args.bloat_min_size = options.size('--bloat-min-size', args.bloat_min_size)
    args.bloat_read_limit = options.size('--bloat-read-limit',
                                         args.bloat_read_limit)
    options.duration(args, 'bloat_measure_every')


def build(args, shared):
    return [Bloat(shared.databases, shared.deadline, args.bloat_min_size,
                  args.bloat_warning, shared.memory, args.bloat_read_limit,
                  args.bloat_measure_every),
            BloatContext(args.bloat_warning, args.bloat_critical)]

MAX_CONFIRMED = 5  # tables measured by pgstattuple_approx in one run
MAX_REMEMBERED = 10000  # tables whose size per row the memory keeps, biggest
WITNESS_FROM = 1.1  # a size per row within a tenth of the least says nothing
# pgstattuple_approx refuses a TOAST table before 14 ("is not a table or
# materialized view"), tried on 10 to 13.
TOAST_MEASURED_FROM = 140000


class Bloat(nagiosplugin.Resource):
    """Tables of at least MIN_SIZE bytes and the share of them wasted;
    BLOATED (a Range) is what the count of bloated tables counts."""

    def __init__(self, databases, deadline, min_size, bloated, memory=None,
                 read_limit=None, measure_every=None):
        self.databases = databases
        self.deadline = deadline
        self.min_size = min_size
        self.bloated = bloated
        self.memory = memory
        self.read_limit = read_limit  # bytes a run may read; None: no limit
        self.measure_every = measure_every  # seconds; None: every run
        self.tables = []
        self._measurements = {}  # database -> its memory scope
        # With the tables' own visit of every database when there is one:
        # no connection more.
        self.estimates = databases.read_along(self._read_estimates)

    def _read_estimates(self, session):
        """The statistics of this database's big tables, and the names of
        its big TOAST tables; one cheap query where there are none."""
        big = session.rows(queries.big_tables(session.server_version),
                           {'min_size': self.min_size})
        rows = []
        for is_toast, query in ((False, queries.bloat_estimates),
                                (True, queries.toast_tables)):
            oids = [table.oid for table in big if table.is_toast == is_toast]
            if oids:
                rows += session.rows(query(session.server_version),
                                     {'oids': oids})
        return rows

    def probe(self):
        rows = self.databases.rows_along(self.estimates)
        self.tables = [estimate(row) for row in rows]
        if self.memory is not None:
            self._remember_sizes_per_row(rows)
            self._recall_measurements(rows)
        Measurer(self.databases, self.deadline, self.read_limit,
                 self._remember).measure(self._candidates())
        self.tables.sort(key=lambda t: (t.share is None, -t.wasted, t.name))
        bloated = self.worst()
        return [
            nagiosplugin.Metric('bloat_max', words.perfdata_number(
                max([t.percent for t in bloated] or [0])),
                '%', min=0, max=100, context='bloat_max'),
            nagiosplugin.Metric('tables_bloated', len(bloated), min=0,
                                context='count'),
            nagiosplugin.Metric('bloat_bytes_total',
                                sum(t.wasted for t in bloated), 'B', min=0,
                                context='count'),
        ]

    def worst(self):
        """The bloated tables, most space wasted first."""
        return [t for t in self.tables
                if t.percent is not None and not self.bloated.match(t.percent)]

    def not_known(self):
        return [t for t in self.tables if t.share is None]

    def _candidates(self):
        """Worth measuring: the bloated by estimate, most wasted first,
        then those not known, biggest first."""
        bloated = sorted([t for t in self.worst() if not t.confirmed],
                         key=lambda t: -t.wasted)
        unknown = sorted(self.not_known(), key=lambda t: -t.size)
        if self.databases.session.server_version < TOAST_MEASURED_FROM:
            for table in unknown:
                if table.is_toast:
                    table.confirm_note = ('pgstattuple_approx measures TOAST '
                                          'tables from PostgreSQL 14 on')
            unknown = [table for table in unknown if not table.is_toast]
        return (bloated + unknown)[:MAX_CONFIRMED]

    def _remember_sizes_per_row(self, rows):
        """Each table's size per row against the least seen: the same file
        only (a rewrite begins afresh), in the same database."""
        pairs = sorted(zip(self.tables, rows), key=lambda pair: -pair[0].size)
        for table, row in pairs[:MAX_REMEMBERED]:
            if table.per_row is None:
                continue
            scope = self.memory.scope('sizes per row %s' % row.database,
                                      '%s' % row.database_oid, row.now_epoch)
            least, since = scope.least('%s %s' % (row.oid, row.file_node),
                                       round(table.per_row, 1))
            if since < scope.now and least > 0:
                table.growth = table.per_row / least
                table.least_seconds = int(scope.now - since)

    def _recall_measurements(self, rows):
        """Measurements of earlier runs that still stand, applied, and kept
        for the next run; the others are forgotten and measured anew."""
        for table, row in zip(self.tables, rows):
            scope = self._measurements.setdefault(row.database, self.memory.scope(
                'bloat measured %s' % row.database, '%s' % row.database_oid,
                row.now_epoch))
            measurement, since = scope.recall(table.key)
            if measurement is None or not _is_measurement(measurement):
                continue
            age = scope.now - since
            if table.changed_much_since(measurement) or (
                    self.measure_every is not None and age >= self.measure_every):
                continue
            table.remembered(measurement[0], measurement[1], max(0, int(age)))
            scope.keep(table.key, measurement, since)

    def _remember(self, table):
        scope = self._measurements.get(table.database)
        if scope is not None:
            scope.keep(table.key, table.measurement(), scope.now)

def _is_measurement(value):
    """A fact of ours: [size, free or dead bytes, estimated percent]."""
    return isinstance(value, list) and len(value) == 3 and all(
        isinstance(number, (int, float)) and not isinstance(number, bool)
        for number in value[:2]) and value[0] > 0 and \
        (value[2] is None or isinstance(value[2], (int, float)))


def _witness(table):
    """'; size per row 3.0x the least seen (5d ago)', or ''."""
    if table.growth is None or table.growth < WITNESS_FROM:
        return ''
    return '; size per row %.1fx the least seen (%s)' % (
        table.growth, words.ago(table.least_seconds))


def _confirmation(table):
    """'confirmed by pgstattuple_approx now (read 1.1 GB)', '... 3h ago'."""
    if table.measured_seconds is not None:
        return 'confirmed by pgstattuple_approx %s' % words.ago(
            table.measured_seconds)
    return 'confirmed by pgstattuple_approx now (read %s)' % words.size(
        table.bytes_read or 0)


def _figure(table):
    """'1.2 GB, 83% wasted, confirmed'."""
    return '%s, %s%% wasted, %s' % (
        words.size(table.size), words.perfdata_number(table.percent),
        'confirmed' if table.confirmed else 'estimated')


class BloatContext(FindingContext):
    """Judges the largest share wasted; names the worst table."""

    hint = ('what to do: VACUUM cannot give the space back; a rewrite can: '
            'pg_repack (no long lock), or VACUUM FULL / CLUSTER, which lock '
            'the table against reads and writes while they run')

    def __init__(self, warning, critical):
        super(BloatContext, self).__init__('bloat_max', warning, critical)

    def describe(self, metric):
        resource = metric.resource
        worst = resource.worst()
        if worst:
            return '%s bloated, worst %s (%s)' % (
                words.plural(len(worst), 'table'), worst[0].name,
                _figure(worst[0]))
        not_known = resource.not_known()
        if not_known:
            return 'no table known to be bloated (%s not known, -v says why)' \
                % words.plural(len(not_known), 'table')
        return 'no table bloated'

    def detail_lines(self, metric):
        resource = metric.resource
        lines = ['%s %s, %s%% free or dead (would be ~%s after a rewrite), %s%s'
                 % (t.name, words.size(t.size),
                    words.perfdata_number(t.percent), words.size(t.compact),
                    _confirmation(t) if t.confirmed
                    else 'estimated from statistics%s' % (
                        ', not confirmed: %s' % t.confirm_note
                        if t.confirm_note else ''), _witness(t))
                 for t in resource.worst()]
        lines += ['%s %s: bloat not known: %s%s%s' % (
            t.name, words.size(t.size), t.reason,
            '; not measured either: %s' % t.confirm_note
            if t.confirm_note else '', _witness(t))
            for t in resource.not_known()]
        return words.capped(lines, 'tables')
