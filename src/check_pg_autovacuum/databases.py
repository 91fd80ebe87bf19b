"""Every database of the cluster, a few harmless sessions at a time.

pg_stat_user_tables only shows the database we are connected to, so the
table findings visit each database that accepts connections.  Databases are
independent, so a small pool of threads visits them side by side -- but
never with more than --max-connections connections open at once, our first
one included, so that a check cannot exhaust a busy server's
max_connections.  A database that refuses us is remembered with the
reason: it must show up as UNKNOWN, never disappear behind another one's
OK.  One that was dropped while we ran is simply gone.
"""
from __future__ import unicode_literals

import collections
import logging
import threading

from . import queries
from .connection import Session, SessionLost
from .errors import CheckError
from .options import duration, option_group, whole_number

# The option group the vacuum and analyze findings share with these options.
TABLES_GROUP = 'tables needing vacuum or analyze (every database)'

try:
    import queue
except ImportError:  # Python 2
    import Queue as queue

_log = logging.getLogger('nagiosplugin.check_pg_autovacuum')


NAME_NOT_UTF8 = ('its name is not UTF-8, and libpq takes a database name '
                 'as UTF-8; leave it out with --exclude-databases')


def _is_utf8(data):
    try:
        data.decode('utf-8')
        return True
    except UnicodeDecodeError:
        return False


class Databases(object):
    """The databases to check, and a way to run one query in each."""

    @staticmethod
    def add_options(parser):
        """Which databases and tables, and how many connections at once."""
        tables = option_group(parser, TABLES_GROUP)
        tables.add_argument('--databases', default='', metavar='REGEX',
                            help='check only databases whose name matches '
                            '(PostgreSQL regular expression, unanchored)')
        tables.add_argument('--exclude-databases', metavar='REGEX',
                            help='skip databases whose name matches')
        tables.add_argument('--exclude-tables', metavar='REGEX',
                            help='skip tables whose database.schema.table '
                            'matches')
        tables.add_argument('--max-connections', default='4', metavar='N',
                            help='connections open at once at most, while '
                            'visiting the databases; at least 2, as the first '
                            'one stays open (default: %(default)s)')

        tables.add_argument('--revisit', default='1h', metavar='DURATION',
                            help='read a database where nothing moved since '
                            'the last run (no write, no session, no reset) '
                            'again after this long at the most, each after '
                            'between half of it and all of it; 0 reads every '
                            'database every run (default: %(default)s, well '
                            'inside --vacuum-warning)')

    @staticmethod
    def check_options(args):
        # Our first connection stays open while another visits the databases.
        args.max_connections = whole_number('--max-connections',
                                            args.max_connections, 2, 10000)
        duration(args, 'revisit')

    def __init__(self, session, settings, deadline, include='', exclude=None,
                 max_connections=4):
        self.session = session
        self.settings = settings
        self.deadline = deadline
        self.include = include
        self.exclude = exclude
        self.max_connections = max_connections
        self._names = None
        self.unreadable = []  # (database name, reason), in name order
        self.last_read = []  # the databases the last query_each could read
        self._along = []  # Along: readers to run with the next query_each
        self.quiet = None  # a QuietDatabases: those the visits may leave out
        self._to_visit = None
        # Per database: rows of its own (not the shared catalogs') the
        # readers found, and the sessions we opened there, for self.quiet.
        self.found = collections.Counter()
        # Per database: (Along, rows) whose finding tells later if news.
        self._found_later = collections.defaultdict(list)
        self.sessions_opened = collections.Counter()
        self.read_this_run = set()  # every database some visit could read
        self.sessions_opened[session.database] += 1  # the first one

    def names(self):
        if self._names is None:
            self._names = []
            for row in self.session.rows(
                    queries.databases(self.session.server_version),
                    {'include': self.include, 'exclude': self.exclude}):
                if _is_utf8(bytes(row.name_bytes)):
                    self._names.append(row.name)
                else:
                    self.unreadable.append((row.name, NAME_NOT_UTF8))
        return self._names

    def query_each(self, sql_for_version, parameters=None):
        """Rows of one query run in every database, in database name order.

        sql_for_version(server_version) gives the SQL.  A database that
        fails goes to self.unreadable instead.  What read_along() asked for
        is read too, in the same sessions.
        """
        return self.read_each(query_reader(sql_for_version, parameters))

    def read_each(self, reader):
        """query_each for a READER: reader(session) -> rows."""
        names = self.to_visit()
        along, self._along = self._along, []
        return self.read_each_of(names, reader, along)

    def to_visit(self):
        """The databases a visit of them all reads: all but the quiet ones
        (quiet.py), decided once per run."""
        if self._to_visit is None:
            self._to_visit = self.names() if self.quiet is None else \
                self.quiet.plan(self.names(), self)
        return self._to_visit

    def left_unread(self):
        """The quiet databases the visits left out."""
        return list(self.quiet.quiet) if self.quiet is not None else []

    def query_each_of(self, names, sql_for_version, parameters=None):
        """query_each, for the databases NAMES only."""
        return self.read_each_of(names, query_reader(sql_for_version,
                                                     parameters))

    def read_along(self, reader, news=True):
        """READER to run in every database the next time query_each visits
        them all, in the same session: a finding that needs more questions
        per database then costs no connections of its own.  Returns the
        Along whose rows that visit fills in (None before).  NEWS: whether
        its rows are something to report (quiet.py reads a database again
        while any are), not bookkeeping; or a function of the database's
        name that tells, asked once every finding has read (found_in())."""
        along = Along(reader, news)
        self._along.append(along)
        return along

    def found_in(self, name):
        """How many rows to report the visits of NAME found (a failure
        counts one): once every finding has read."""
        return self.found[name] + sum(
            _own_rows(rows) for along, rows in self._found_later[name]
            if along.is_news(name, rows))

    def not_along(self, along):
        """ALONG is not to ride along after all: its finding reads itself."""
        if along in self._along:
            self._along.remove(along)

    def rows_along(self, along):
        """ALONG's rows where another finding's visit took it along, else
        those of a visit of its own; a database it alone could not read
        is unreadable either way."""
        if along.rows is None:  # no other finding visited them all
            self.not_along(along)
            return self.read_each(along.reader)
        self.unreadable.extend(along.failures)
        return along.rows

    def read_each_of(self, names, reader, along=()):
        """Rows READER gives in each of the databases NAMES."""
        pending = queue.Queue()
        for name in names:
            pending.put(name)
        outcomes = {}  # name -> its rows, or the reason it could not be read

        def visit_databases():
            while True:
                try:
                    name = pending.get_nowait()
                except queue.Empty:
                    return
                outcomes[name] = self._read_one(name, reader, along)

        # Our first session stays open: it counts against the limit.
        workers = [threading.Thread(target=visit_databases)
                   for _ in range(max(1, min(self.max_connections - 1,
                                             len(names))))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        failed = [name for name in names if not isinstance(outcomes[name], list)]
        dropped = self._dropped(failed)
        rows = []
        self.last_read = [name for name in names
                          if name not in failed and name not in dropped]
        self.read_this_run.update(self.last_read)
        for name in failed:
            self.found[name] += 1  # to be looked at again
        for rider in along:
            rider.visited(self.last_read)
        for name in names:
            if name in dropped:
                _log.info('database %s was dropped while we checked it', name)
            elif name in failed:
                self.unreadable.append((name, outcomes[name]))
            else:
                rows.extend(outcomes[name])
        return rows

    def _dropped(self, names):
        """Those of NAMES that no longer exist; none when we cannot tell."""
        if not names:
            return set()
        try:
            existing = self.session.rows(
                queries.databases_still_there(self.session.server_version),
                {'names': list(names)})
        except CheckError:
            return set()
        return set(names) - set(row.name for row in existing)

    def _read_one(self, name, reader, along):
        """The rows, or the reason as text."""
        try:
            if name == self.session.database:
                return self._read_in(self.session, name, reader, along)
            try:
                return self._read_in_new_session(name, reader, along)
            except SessionLost:
                # Once more: after a mere pg_terminate_backend() this just
                # works; after DROP DATABASE ... WITH (FORCE) the new session
                # waits until the drop is over and then finds no database,
                # which _dropped() can tell -- the old one was terminated
                # before the drop committed.
                return self._read_in_new_session(name, reader, along)
        except CheckError as error:
            return '%s' % error

    def open_session(self, name):
        """A session of our own in database NAME; the caller closes it."""
        session = Session(self.settings, self.deadline, dbname=name)
        self.sessions_opened[name] += 1  # its server counts it too
        return session

    def _read_in_new_session(self, name, reader, along):
        """What READER reads in one connection, closed at once."""
        session = self.open_session(name)
        try:
            return self._read_in(session, name, reader, along)
        finally:
            session.close()

    def _read_in(self, session, name, reader, along):
        rows = reader(session)
        found = _own_rows(rows)
        for rider in along:
            rows_along = rider.read_in(session, name)
            if callable(rider.news):
                self._found_later[name].append((rider, rows_along))
            elif rider.is_news(name, rows_along):
                found += _own_rows(rows_along)
        self.found[name] += found
        return rows


def _own_rows(rows):
    """How many of ROWS (a list, or a reason it failed) are of the
    database's own tables: a shared catalog shows in each database."""
    if not isinstance(rows, list):
        return 1  # a failure is something to look at again
    return sum(1 for row in rows if not getattr(row, 'shared', False))


def query_reader(sql_for_version, parameters=None):
    """A reader (session -> rows) that runs one query."""
    def read(session):
        return session.rows(sql_for_version(session.server_version), parameters)
    return read


class Along(object):
    """A reader that rides along with another in every database (see
    Databases.read_along): .rows once visited, in database name order,
    and .failures, (database name, reason) where it alone failed."""

    def __init__(self, reader, news=True):
        self.reader = reader
        self.news = news
        self.rows = None
        self.failures = []
        self._by_database = {}

    def is_news(self, name, rows):
        """Whether ROWS, read in NAME, are something to report (a failure
        always is)."""
        if not isinstance(rows, list):
            return True
        return self.news(name) if callable(self.news) else self.news

    def read_in(self, session, name):
        """Read NAME; its rows, or the reason it failed."""
        try:
            self._by_database[name] = self.reader(session)
        except SessionLost:
            raise  # the visit tries the database once more
        except CheckError as error:
            self._by_database[name] = '%s' % error
        return self._by_database[name]

    def visited(self, names):
        """The visit is over; NAMES are the databases it could read."""
        self.rows = []
        for name in names:
            outcome = self._by_database.get(name, [])
            if isinstance(outcome, list):
                self.rows.extend(outcome)
            else:
                self.failures.append((name, outcome))
