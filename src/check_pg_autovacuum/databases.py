"""Every database of the cluster, one harmless session each.

pg_stat_user_tables only shows the database we are connected to, so the
table findings visit each database that accepts connections.  A database
that refuses us, or vanishes while we run, is remembered with the reason:
it must show up as UNKNOWN, never disappear behind another one's OK.
"""
from __future__ import unicode_literals

from . import queries
from .connection import Session
from .errors import CheckError


class Databases(object):
    """Opens a session per database, lazily, and closes them all at the end."""

    def __init__(self, session, settings, deadline, include='', exclude=None):
        self.session = session
        self.settings = settings
        self.deadline = deadline
        self.include = include
        self.exclude = exclude
        self._names = None
        self._sessions = {}
        self.unreadable = []  # (database name, reason)

    def names(self):
        if self._names is None:
            self._names = [row.name for row in self.session.rows(
                queries.databases(self.session.server_version),
                {'include': self.include, 'exclude': self.exclude})]
        return self._names

    def sessions(self):
        """Yield (name, session) for each database we can read."""
        for name in self.names():
            session = self._open(name)
            if session is not None:
                yield name, session

    def _open(self, name):
        if name not in self._sessions:
            try:
                if name == self.session.database:
                    self._sessions[name] = self.session
                else:
                    self._sessions[name] = Session(self.settings, self.deadline,
                                                   dbname=name)
            except CheckError as error:
                self.unreadable.append((name, '%s' % error))
                self._sessions[name] = None
        return self._sessions[name]

    def rows(self, name, session, sql, parameters=None):
        """Run SQL in one database; a failure there marks it unreadable."""
        try:
            return session.rows(sql, parameters)
        except CheckError as error:
            self.unreadable.append((name, '%s' % error))
            return []

    def close(self):
        for session in self._sessions.values():
            if session is not None and session is not self.session:
                session.close()
