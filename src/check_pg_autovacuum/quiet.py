"""Which databases a run may leave unread: those where nothing moved.

The table findings read every database's statistics, one connection each:
on a server of 300 databases, 300 backends started per check for the 30
that changed.  What PostgreSQL keeps cluster-wide tells the others apart
(database_activity.sql, read in our first session): a database is *quiet*,
and left unread, when our last visit there found nothing to report and
since then, by PostgreSQL's own bookkeeping, nothing can have put a table
of it past a trigger.  Each way a table gets there, and what shows it:

- rows inserted, updated or deleted (also aborted ones, also by a long
  transaction that commits late): the database's tup_* counters move in
  the same flush as the table's own (pgstat_relation_flush_cb(); the
  collector's pgstat_recv_tabstat() before 15);
- a reloption set, a table made, an index built, ANALYZE writing
  pg_statistic, temp tables made and dropped: catalog rows written, the
  same counters;
- a statistics reset, of the database or of one table: its stats_reset;
  a crash (statistics lost): the server's start time, for all; a standby
  promoted (its statistics are its own): its timeline, for all;
- a reload that changed an autovacuum setting: the settings, for all;
- VACUUM or ANALYZE that writes no catalog row yet moves reltuples or the
  dead rows (an ANALYZE finding no live row, a VACUUM that cannot remove
  what it counts): it needs a session in the database.  A client that
  connected since shows in the sessions counter (14+; we know our own),
  one connected now that did anything since our last run in its
  state_change, and an autovacuum worker there now in pg_stat_activity;
- autovacuum between two runs: it vacuums only tables past a trigger
  (there were none), or to prevent wraparound -- once the database's age
  reaches the least autovacuum_freeze_max_age of its tables (our visit
  reads it, reloptions included), or when such a vacuum advanced
  datfrozenxid or datminmxid.

A database is read whenever in doubt: the first run, a new database, no
memory we believe, a database where the last visit found something (every
row is news there), and every one at least every --revisit -- the bound on
what this reasoning missed, e.g. autovacuum's lower multixact age when
member space runs short (MultiXactMemberFreezeThreshold()), which no view
shows.  Before PostgreSQL 14 there is no sessions counter: every database
is read.
"""
from __future__ import unicode_literals

import collections
import hashlib
import numbers
import zlib

from . import queries, words
from .durations import format_duration
from .losses import first_use_stamps_reset
from .statefile import STRINGS

# The numbers of a database's record in the memory.
NUMBERS = ('sessions', 'own_sessions', 'found', 'least_xid_age',
           'least_mxid_age', 'looked')

# Why a database was read; in this order -v counts them.
REASONS = (
    ('first', 'read for the first time'),
    ('changed', 'read afresh: the server restarted or was promoted, or an '
     'autovacuum setting changed'),
    ('found', 'had something to report'),
    ('reset', 'statistics reset'),
    ('written', 'written to'),
    ('vacuumed', 'vacuumed (datfrozenxid moved)'),
    ('sessions', 'had other sessions'),
    ('wraparound', 'old enough for an anti-wraparound vacuum'),
    ('revisit', 'due for a revisit (--revisit)'),
    ('always', 'read every run (--revisit 0, or before PostgreSQL 14)'),
)
REASON_WORDS = dict(REASONS)


class QuietDatabases(object):
    """The plan of one run: which databases to read, which to leave, why.

    READERS_KEY: what the run's findings read in each database (their names
    and the options that shape their rows): a record made by other
    findings tells nothing of these, and lives in a scope of its own.
    """

    def __init__(self, session, memory, revisit, readers_key):
        self.session = session
        self.memory = memory
        self.revisit = revisit  # seconds; 0: every database every run
        self.readers_key = readers_key
        self.why_read = collections.OrderedDict()  # name -> reason
        self.quiet = []  # names left unread
        self.quiet_since = {}  # name -> when last read (server clock)
        self._activity = {}  # name -> its database_activity row
        self._scope = None
        self._least_ages = None  # the Along reading least_freeze_ages
        self.now = None

    def plan(self, names, databases):
        """NAMES to read now, of NAMES (in order); DATABASES lets us ride
        along with the visit."""
        sql = queries.database_activity(self.session.server_version)
        rows = [] if sql is None or not self.revisit else \
            self.session.rows(sql)
        if not rows:
            self.why_read = collections.OrderedDict(
                (name, 'always') for name in names)
            return list(names)
        self.now = rows[0].now_epoch
        self._scope = self.memory.scope(
            'quiet databases %s' % self.readers_key,
            '%s %s %s' % (rows[0].started_epoch, rows[0].role,
                          _digest(rows[0].settings)),
            self.now)
        self._activity = dict((row.database, row) for row in rows)
        self._least_ages = databases.read_along(query_least_ages, news=False)
        for name in names:
            reason = self._why_read(name)
            if reason is None:
                self.quiet.append(name)
            else:
                self.why_read[name] = reason
        return list(self.why_read)

    def _why_read(self, name):
        """None when NAME is quiet, else why it must be read."""
        activity = self._activity.get(name)
        if activity is None:
            return 'first'  # made after the activity was read
        before, last_read = self._scope.recall(str(activity.database_oid))
        if not _believable(before) or before['name'] != name:
            return 'changed' if self._scope.superseded else 'first'
        if self.now - last_read >= self._revisit_after(activity):
            return 'revisit'
        self.quiet_since[name] = last_read
        return _what_moved(before, activity, first_use_stamps_reset(
            self.session.server_version))

    def _revisit_after(self, activity):
        """Each database's own interval in [revisit/2, revisit]: databases
        first read together are not all read again in one run."""
        spread = zlib.crc32(str(activity.database_oid).encode('ascii')) % 1000
        return self.revisit * (0.5 + spread / 2000.0)

    def remember(self, databases):
        """Record, for the next run, what this one saw of each database.

        DATABASES: what the visit found and how many sessions it opened.
        A database that could not be read keeps no record: read next time.
        """
        if self._scope is None:
            return
        least = {}
        if self._least_ages is not None and self._least_ages.rows is not None:
            least = dict((row.database, row) for row in self._least_ages.rows)
        for name, activity in self._activity.items():
            key = str(activity.database_oid)
            before, last_read = self._scope.recall(key)
            if name in self.quiet:
                record = dict(before, **_counters(activity))
                record.update(sessions=_expected_sessions(before),
                              own_sessions=databases.sessions_opened[name],
                              looked=self.now)
                self._scope.keep(key, record, last_read)
            elif name in databases.read_this_run and name in least:
                record = _counters(activity)
                record.update(
                    name=name, found=databases.found_in(name),
                    own_sessions=databases.sessions_opened[name],
                    least_xid_age=least[name].xid,
                    least_mxid_age=least[name].mxid, looked=self.now)
                self._scope.keep(key, record, self.now)
            elif name not in self.why_read and before is not None:
                # Not ours to check this run (--databases): another check's.
                self._scope.keep(key, before, last_read)

    def detail_lines(self, verbosity):
        """-v: how many databases were read and why; -vv: each one."""
        read = list(self.why_read)
        if not read and not self.quiet:
            return []
        counts = collections.Counter(self.why_read.values())
        reasons = ', '.join('%d %s' % (counts[reason], text)
                            for reason, text in REASONS if counts[reason])
        line = 'databases: read %d of %d (%s)' % (
            len(read), len(read) + len(self.quiet), reasons) if read else \
            'databases: read none of %d' % len(self.quiet)
        if self.quiet:
            oldest = min(self.quiet_since[name] for name in self.quiet)
            line += '; %s left unread: nothing moved in %s since we read %s ' \
                '(the oldest %s ago; --revisit %s)' % (
                    words.plural(len(self.quiet), 'quiet database'),
                    'it' if len(self.quiet) == 1 else 'them',
                    'it' if len(self.quiet) == 1 else 'them',
                    format_duration(max(0, self.now - oldest)),
                    format_duration(self.revisit))
        lines = [line]
        if verbosity >= 2:
            lines += ['database %s: %s' % (name, REASON_WORDS[reason])
                      for name, reason in self.why_read.items()]
            for name in self.quiet:
                ago = max(0, self.now - self.quiet_since[name])
                lines.append('database %s: left unread, quiet since read %s '
                             'ago' % (name, format_duration(ago)))
        return lines


def _believable(record):
    """Whether RECORD has the shape remember() gives it (the memory file
    checks only its own frame): else the database is read."""
    if not isinstance(record, dict) or not isinstance(record.get('name'),
                                                      STRINGS):
        return False
    numbers_in = [record.get(name) for name in NUMBERS] + \
        list(record.get('tuples') or [None])
    return all(_is_number(value) for value in numbers_in) and \
        len(record['tuples']) == 3


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _counters(activity):
    """What the next run compares: the counters as this run read them."""
    return {'tuples': [activity.tup_inserted, activity.tup_updated,
                       activity.tup_deleted],
            'sessions': activity.sessions,
            'stats_reset': activity.stats_reset,
            'frozen': [activity.datfrozenxid, activity.datminmxid]}


def _what_moved(before, activity, first_use_stamps):
    """Why a database read before must be read again; None if quiet.

    FIRST_USE_STAMPS (losses.first_use_stamps_reset): our first read of a
    database stamped its stats_reset (its counters were zero then, and
    anything since shows in them): no reset.
    """
    now = _counters(activity)
    looked = before['looked']  # the last run that planned it
    if before['found']:
        return 'found'
    # A reset zeroes the write counters too: said as what it is.
    stamped = first_use_stamps and before.get('stats_reset') is None
    if before.get('stats_reset') != now['stats_reset'] and not stamped:
        return 'reset'
    if before['tuples'] != now['tuples']:
        return 'written'
    if before.get('frozen') != now['frozen']:
        return 'vacuumed'
    # No session but ours may have come since (see _expected_sessions());
    # none there now may be busy, or have done anything since we looked.
    if activity.sessions > _expected_sessions(before) or activity.busy or (
            activity.last_change_epoch is not None and
            activity.last_change_epoch >= looked):
        return 'sessions'
    if activity.xid_age >= before['least_xid_age'] or \
            activity.mxid_age >= before['least_mxid_age']:
        return 'wraparound'
    return None


def _expected_sessions(record):
    """The sessions counter once our sessions of the last run are counted.

    A backend counts its session when it exits, after our next run may have
    read the counter: seen short by ours, the counter is not taken as it
    is, or our late session would look like a stranger's next time.  A
    stranger that came while ours was still uncounted is caught one run
    later, when ours is.
    """
    return record['sessions'] + record['own_sessions']


def _digest(text):
    return hashlib.sha1((text or '').encode('utf-8')).hexdigest()[:16]


def query_least_ages(session):
    """The least anti-wraparound ages of the database SESSION is in."""
    return session.rows(queries.least_freeze_ages(session.server_version))


def readers_key(findings, options):
    """What shapes the rows a run reads in each database: its findings
    that read tables, and OPTIONS (values that filter or size them)."""
    text = ' '.join(sorted(findings)) + ' ' + repr(options)
    return _digest(text)
