"""Measuring tables with pgstattuple_approx (findings/bloat.py), cheaply.

pgstattuple_approx reads the pages of a table that are not all-visible and
takes the free space of the others from the free space map -- during an
incident that is the whole table.  So a run measures a few tables, a
database at a time (one session each), within half the time left (the
rest of the check keeps its time) and within --bloat-read-limit bytes; a
table it cannot measure says why (TableBloat.confirm_note).
"""
from __future__ import division, unicode_literals

import time

from . import queries, words
from .errors import CheckError

TOO_LITTLE_TIME_MS = 100  # a measurement given less would time out


class Measurer(object):
    """Measures tables (table_pages.TableBloat) for a run: READ_LIMIT bytes
    in all (None: no limit); REMEMBER(table) keeps each measurement."""

    def __init__(self, databases, deadline, read_limit, remember):
        self.databases = databases
        self.deadline = deadline
        self.read_limit = read_limit
        self.remember = remember
        self.bytes_read = 0

    def measure(self, tables):
        """Each of TABLES measured, or its confirm_note set."""
        budget_ends = time.time() + self.deadline.remaining() / 2
        by_database = {}
        for table in tables:
            by_database.setdefault(table.database, []).append(table)
        for database in sorted(by_database):
            in_database = by_database[database]
            try:
                self._measure_in(database, in_database, budget_ends)
            except CheckError as error:
                for table in in_database:
                    if not table.confirmed:
                        table.confirm_note = '%s' % error

    def _measure_in(self, database, tables, budget_ends):
        session = self.databases.open_session(database)
        try:
            found = session.rows(queries.pgstattuple_schema(
                session.server_version))
            if not found:
                raise CheckError('pgstattuple is not installed in %s'
                                 % database)
            if not found[0].allowed:
                raise CheckError(
                    'this role may not run pgstattuple_approx (GRANT '
                    'pg_stat_scan_tables TO it)')
            sql = queries.pgstattuple_approx(session.server_version,
                                             session.quote_ident(found[0].schema))
            for table in tables:
                self._measure(session, sql, table, budget_ends)
        finally:
            session.close()

    def _measure(self, session, sql, table, budget_ends):
        left_ms = int((budget_ends - time.time()) * 1000)
        if left_ms < TOO_LITTLE_TIME_MS:
            table.confirm_note = 'no time left to measure it'
            return
        if self.read_limit is not None and \
                self.bytes_read + table.would_read > self.read_limit:
            table.confirm_note = (
                'it would read ~%s (pages not all-visible), over '
                '--bloat-read-limit (%s a run%s)' % (
                    words.size(table.would_read), words.size(self.read_limit),
                    ', %s read already' % words.size(self.bytes_read)
                    if self.bytes_read else ''))
            return
        # The query's own limit: a measurement that overruns the budget is
        # cancelled by the server, and the table says so.
        session.rows(queries.statement_timeout(session.server_version),
                     {'ms': '%d' % left_ms})
        try:
            table.measured(session.rows(sql, {'oid': table.oid})[0])
        except CheckError as error:
            table.confirm_note = '%s' % error
            return
        self.bytes_read += table.bytes_read
        self.remember(table)
