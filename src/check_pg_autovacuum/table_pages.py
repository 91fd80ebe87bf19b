"""What a big table's pages hold: the estimate of what a rewrite would leave,
from its statistics, and what a measurement found (findings/bloat.py).

The estimate: the table's rows (pg_class.reltuples) at their average width
(pg_stats: avg_width and null_frac of each column, the row header and null
bitmap, alignment), packed into pages as a rewrite would (fillfactor),
against the pages it has; "not known" rather than a number where the
statistics cannot be trusted.  The page arithmetic is PostgreSQL's own
(bufpage.h, htup_details.h).
"""
from __future__ import division, unicode_literals

import math

from . import words
from .table_statistics import qualified_name

PAGE_HEADER = 24  # SizeOfPageHeaderData
ITEM_POINTER = 4  # sizeof(ItemIdData), one per row
ROW_HEADER = 23  # offsetof(HeapTupleHeaderData, t_bits)
MAXALIGN = 8
# A remembered measurement stands while the table's size stays within a
# tenth of what was measured and its estimate within ten points of what
# it was: a change that moves the share wasted by less reads as little.
MEASURE_AGAIN_SIZE = 0.1
MEASURE_AGAIN_POINTS = 10
class TableBloat(object):
    """What one table wastes: SHARE of SIZE (0..1) and the COMPACT size a
    rewrite would leave, or None for both and the REASON why not known."""

    shared = False  # shared catalogs are left out: each database lists them

    def __init__(self, row, size, share=None, compact=None, reason=None):
        self.database = row.database
        self.schema = row.schema
        self.table_name = row.table_name
        self.oid = row.oid
        self.is_toast = row.is_toast
        self.size = size
        self.share = share
        self.compact = compact
        self.reason = reason
        self.confirmed = False
        self.confirm_note = None  # why pgstattuple_approx could not tell
        self.measured_seconds = None  # how long ago, when remembered
        self.bytes_read = None  # what measuring it read, in this run
        self.estimated_percent = self.percent_of(share)
        self.size_now = getattr(row, 'size_now', size)
        self.key = '%s %s' % (row.oid, row.file_node)
        self.would_read = _would_read(row, self.size_now)
        self.per_row = row.pages * row.block_size / row.live_rows \
            if row.live_rows > 0 and row.pages > 0 else None
        self.growth = None  # per_row over the least the memory saw
        self.least_seconds = None  # how long ago it saw the least

    @property
    def name(self):
        return qualified_name(self)

    @property
    def percent(self):
        return self.percent_of(self.share)

    @staticmethod
    def percent_of(share):
        return None if share is None else round(share * 100, 1)

    @property
    def wasted(self):
        return 0 if self.share is None else self.size - self.compact

    def measured(self, measure):
        """Replace the estimate by what pgstattuple_approx measured."""
        self.bytes_read = int(measure.table_len * measure.scanned_percent / 100)
        self._confirmed_as(measure.table_len, measure.dead_tuple_len +
                           measure.approx_free_space)

    def remembered(self, size, free_or_dead, seconds):
        """Replace the estimate by a measurement SECONDS old."""
        self._confirmed_as(size, free_or_dead)
        self.measured_seconds = seconds

    def _confirmed_as(self, size, free_or_dead):
        self.size = size
        self.share = free_or_dead / size if size else 0.0
        self.compact = size - free_or_dead
        self.reason = None
        self.confirmed = True

    def measurement(self):
        """What the memory keeps of a measurement: enough to reuse it, and
        to tell whether the table has changed much since."""
        return [self.size, self.size - self.compact, self.estimated_percent]

    def changed_much_since(self, measurement):
        size, _, estimated_percent = measurement
        if abs(self.size_now - size) > MEASURE_AGAIN_SIZE * size:
            return True
        return None not in (estimated_percent, self.estimated_percent) and \
            abs(self.estimated_percent - estimated_percent) > MEASURE_AGAIN_POINTS


def _would_read(row, size_now):
    """Bytes pgstattuple_approx would read of ROW's table: its pages that
    were not all-visible at the last VACUUM, or are new since, and one
    more page for each row changed since (it may have cleared a bit)."""
    if not hasattr(row, 'all_visible_pages'):
        return size_now
    pages_now = size_now // row.block_size
    not_all_visible = max(0, pages_now - row.all_visible_pages) + \
        max(0, row.changed_since_vacuum)
    return min(pages_now, not_all_visible) * row.block_size


def _aligned(length):
    return int(math.ceil(length / MAXALIGN) * MAXALIGN)


def untrusted(row):
    """Why the statistics of ROW cannot give its rows' width, or None."""
    if row.is_toast:
        return 'a TOAST table, of which ANALYZE keeps no statistics'
    if row.columns_visible < row.columns:
        return 'its statistics are not visible to this role (pg_stats ' \
            'shows only columns it may SELECT)'
    if row.with_statistics == 0 or row.live_rows < 0:
        return 'never analyzed'
    if row.with_statistics < row.columns:
        return 'some columns have no statistics (added since the last analyze)'
    if row.changed_since_analyze > max(row.live_rows, 1):
        return 'statistics older than the data (%s rows changed since the ' \
            'last analyze)' % words.count(row.changed_since_analyze)
    return None


def estimate(row):
    """A TableBloat from pg_class and pg_stats, or one that says why not."""
    size = row.pages * row.block_size
    reason = untrusted(row)
    if reason:
        return TableBloat(row, size, reason=reason)
    header = ROW_HEADER + ((row.columns + 7) // 8 if row.any_nulls else 0)
    row_bytes = _aligned(_aligned(header) + row.data_width)
    usable = (row.block_size - PAGE_HEADER) * row.fillfactor / 100
    most_rows = (row.block_size - PAGE_HEADER) // (_aligned(ROW_HEADER) +
                                                    ITEM_POINTER)
    per_page = max(1, min(int(usable // (row_bytes + ITEM_POINTER)), most_rows))
    compact = min(size, int(math.ceil(row.live_rows / per_page)) * row.block_size)
    return TableBloat(row, size, share=1 - compact / size if size else 0.0,
                      compact=compact)
