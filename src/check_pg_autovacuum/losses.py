"""When each database's statistics can have been lost, and which
databases were made since a run looked.

Only a clean shutdown keeps the cumulative statistics: a crash, an
immediate stop, a restored backup or pg_upgrade lose them, at the server's
start, where they begin anew (pg_stat_archiver's stats_reset tells when);
a promoted standby has only its own; pg_stat_reset() and a table's own
reset set the database's stats_reset.  A database made by CREATE DATABASE
never had statistics for the tables it copied (they are kept per database
oid): nothing was lost there.  It is told apart two ways: nothing can have
lost its statistics (they began before the server's last start, were never
reset there, and the server was never promoted), or it was not there when
a run looked.  The memory keeps the databases each run saw, in a scope of
the statistics' life (when they began, the timeline).
"""
from __future__ import unicode_literals

import numbers

from . import queries, words

STATISTICS_IN_SHARED_MEMORY = 150000  # no collector process from 15 on


def first_use_stamps_reset(server_version):
    """Whether a database's first use stamps its stats_reset as a reset
    does: before 15 the statistics collector began a database's statistics
    anew, stats_reset set, at its first use after they were lost (or ever);
    from 15 on stats_reset stays NULL then, and only a reset sets it."""
    return server_version < STATISTICS_IN_SHARED_MEMORY


def read(session, memory):
    """{database name: Loss}, from the first SESSION; MEMORY (or None)
    tells which databases were made since a run looked."""
    lost = session.rows(queries.statistics_lost(session.server_version))
    losses = dict((row.database, Loss(row, session.server_version))
                  for row in lost)
    if memory is not None:
        _recall_databases_made(memory, losses, lost, session.server_version)
    return losses


def _recall_databases_made(memory, losses, lost, server_version):
    """Which databases were made since a run we believe looked: in the
    same life of the statistics (when they began, the timeline), so that
    none were lost since, and unreset.  Every database is kept, as 'made'
    (with its stats_reset then) or 'there' (seen by a run that had no
    earlier look to compare with)."""
    if not lost:
        return
    first = lost[0]
    scope = memory.scope('databases made', '%.3f %s' % (
        first.statistics_began_epoch or first.started_epoch, first.timeline),
        first.now_epoch)
    for row in lost:
        key = '%s' % row.database_oid
        loss = losses[row.database]
        record, since = scope.recall(key)
        if _is_made_record(record):
            loss.seen_before = True
        elif scope.previous_look is None or record is not None:
            record, since = ['there', None], row.now_epoch
        else:  # not there when the previous run looked
            record, since = ['made', row.stats_reset_epoch], \
                scope.previous_look
        made, stats_reset = record
        if made == 'made' and stats_reset is None \
                and first_use_stamps_reset(server_version):
            stats_reset = row.stats_reset_epoch
        scope.keep(key, [made, stats_reset], since)
        if made == 'made' and stats_reset == row.stats_reset_epoch:
            loss.made_after = since


def _is_made_record(value):
    return isinstance(value, list) and len(value) == 2 and \
        value[0] in ('made', 'there') and \
        (value[1] is None or isinstance(value[1], numbers.Real))


class Loss(object):
    """When and how a database's statistics can have been lost."""

    def __init__(self, row, server_version):
        self.database_oid = row.database_oid
        self.stats_reset_epoch = row.stats_reset_epoch
        self.started_epoch = row.started_epoch
        self.timeline = row.timeline
        self.now_epoch = row.now_epoch
        self.in_recovery = row.in_recovery
        self.first_use_stamps = first_use_stamps_reset(server_version)
        # Made after a run looked at this time: nothing lost, never had any.
        self.made_after = None
        # Seen by an earlier run: not a copy made since.
        self.seen_before = False
        # The statistics began before the server's last start: it kept them
        # (a clean restart), and lost none then.
        began = row.statistics_began_epoch
        self.kept_over_start = began is not None and began < row.started_epoch
        self.began_epoch = began
        # A first use since the start stamped stats_reset, as a reset does.
        self.reset_looks_like_start = self.first_use_stamps and \
            not self.kept_over_start and row.stats_reset_epoch is not None \
            and row.stats_reset_epoch >= row.started_epoch

    @property
    def never_gathered(self):
        """Nothing can have lost this database's statistics: kept over the
        last start, never reset, never promoted.  Its blind tables never
        had any: a copy (CREATE DATABASE), or written with track_counts
        off."""
        return self.stats_reset_epoch is None and self.kept_over_start \
            and self.timeline == 1

    def _ago(self, epoch):
        return words.ago(max(0, self.now_epoch - epoch))

    def describe(self):
        started = self._ago(self.started_epoch)
        if self.reset_looks_like_start:
            return 'begun anew %s: reset (pg_stat_reset(), or the table\'s ' \
                'own counters), or lost at the server\'s start %s (a crash, ' \
                'an immediate stop, a promotion, a restored backup or ' \
                'pg_upgrade); before PostgreSQL 15 the two look alike%s' % (
                    self._ago(self.stats_reset_epoch), started,
                    self._never_gathered())
        if self.stats_reset_epoch is not None:
            # Before 15 a database's first use sets it too.
            return 'reset %s (pg_stat_reset(), or the table\'s own counters)' \
                '%s' % (self._ago(self.stats_reset_epoch),
                        self._never_gathered() if self.first_use_stamps
                        else '')
        if self.timeline is not None and self.timeline > 1:
            return 'lost %swhen it was promoted (timeline %d)%s' % (
                '' if self.kept_over_start
                else 'at the server\'s start %s or ' % started,
                self.timeline, self._never_gathered())
        return 'lost at the server\'s start %s: only a clean shutdown keeps ' \
            'them (a crash, an immediate stop, a restored backup or ' \
            'pg_upgrade do not)%s' % (started, self._never_gathered())

    def _never_gathered(self):
        """Unless a run saw the database before, it may be a copy made
        since, whose tables never had statistics."""
        return '' if self.seen_before else \
            '; or never gathered, if its database was made since ' \
            '(CREATE DATABASE copies tables, not their statistics)'

    def why_not_lost(self):
        """For a copy: how we know nothing was lost."""
        if self.made_after is not None:
            return 'made after the check %s' % self._ago(self.made_after)
        return 'none were lost there since the statistics began %s (a clean ' \
            'restart keeps them)' % self._ago(self.began_epoch)
