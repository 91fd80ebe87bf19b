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

import logging
import threading

from . import queries
from .connection import Session, SessionLost
from .errors import CheckError

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
        fails goes to self.unreadable instead.
        """
        return self.query_each_of(self.names(), sql_for_version, parameters)

    def query_each_of(self, names, sql_for_version, parameters=None):
        """query_each, for the databases NAMES only."""
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
                outcomes[name] = self._query_one(name, sql_for_version,
                                                 parameters)

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

    def _query_one(self, name, sql_for_version, parameters):
        """The rows, or the reason as text."""
        try:
            if name == self.session.database:
                return self.session.rows(
                    sql_for_version(self.session.server_version), parameters)
            try:
                return self._query_in_new_session(name, sql_for_version,
                                                  parameters)
            except SessionLost:
                # Once more: after a mere pg_terminate_backend() this just
                # works; after DROP DATABASE ... WITH (FORCE) the new session
                # waits until the drop is over and then finds no database,
                # which _dropped() can tell -- the old one was terminated
                # before the drop committed.
                return self._query_in_new_session(name, sql_for_version,
                                                  parameters)
        except CheckError as error:
            return '%s' % error

    def open_session(self, name):
        """A session of our own in database NAME; the caller closes it."""
        return Session(self.settings, self.deadline, dbname=name)

    def _query_in_new_session(self, name, sql_for_version, parameters):
        """The rows of one query in one connection, closed at once."""
        session = self.open_session(name)
        try:
            return session.rows(sql_for_version(session.server_version),
                                parameters)
        finally:
            session.close()
