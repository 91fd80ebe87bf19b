"""Connecting the libpq way, harmlessly, within a deadline.

Everything libpq users expect keeps working: PGHOST, PGPORT, PGUSER,
PGDATABASE, PGSERVICE, ~/.pgpass and PGPASSFILE, a conninfo string or URI.
On top of what the user gives we only add what makes the plugin harmless:
autocommit (never an idle transaction of ours), read-only transactions, a
statement_timeout, and our application_name unless the user set one.
"""
from __future__ import unicode_literals

import collections
import logging
import os
import select
import sys
import time

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:  # the wheel's driver is an extra: see require_driver()
    psycopg2 = None

from .errors import CheckError

APPLICATION_NAME = 'check_pg_autovacuum'
_log = logging.getLogger('nagiosplugin.check_pg_autovacuum')
# Every query as sent, for -vvv: on standard error, apart from the plugin
# output, whose "|" would start perfdata (see cli.log_queries_to_stderr).
_sql_log = logging.getLogger('check_pg_autovacuum.sql')
_sql_log.propagate = False
OLDEST_SUPPORTED_SERVER = 100000
# What we send to a SQL_ASCII database (see Session) goes as UTF-8, which it
# stores as given, rather than failing to encode as ASCII.
for _name in ('SQL_ASCII', 'SQLASCII'):
    if psycopg2 is not None:
        psycopg2.extensions.encodings[_name] = 'utf_8'
MISSING_DRIVER = (
    'psycopg2 is not installed for %s (what to do: pip install '
    '"check_pg_autovacuum[binary]" for a prebuilt one, or install your '
    'distribution\'s, such as apt install python3-psycopg2)')


def require_driver():
    """A wheel installed without an extra has no psycopg2: say which to add
    rather than end in an ImportError."""
    if psycopg2 is None:
        raise CheckError(MISSING_DRIVER % sys.executable)


class Deadline(object):
    """The moment by which every server round trip must have answered.

    It falls half a second before --timeout runs out, which leaves the time
    to say what we were waiting for.
    """
    MARGIN = 0.5

    def __init__(self, timeout):
        self.timeout = timeout
        self.expires = time.time() + max(timeout - self.MARGIN, self.MARGIN)

    def remaining(self):
        return self.expires - time.time()


class ServerTimeout(CheckError):
    pass


class SessionLost(CheckError):
    """The server ended our session in mid-query: pg_terminate_backend(), a
    shutdown, or DROP DATABASE ... WITH (FORCE) of the database we read."""


def _wait_within(deadline):
    """A psycopg2 wait callback that gives up when DEADLINE passes.

    libpq's blocking calls cannot be interrupted by SIGALRM (it retries
    poll() on EINTR), so a hung server would hang the plugin past
    --timeout.  With a wait callback psycopg2 drives libpq's non-blocking
    API and we do the waiting ourselves, with a timeout.
    """
    def wait(conn):
        while True:
            state = conn.poll()
            if state == psycopg2.extensions.POLL_OK:
                return
            remaining = deadline.remaining()
            if remaining > 0:
                if state == psycopg2.extensions.POLL_READ:
                    ready = select.select([conn.fileno()], [], [], remaining)[0]
                else:
                    ready = select.select([], [conn.fileno()], [], remaining)[1]
                if ready:
                    continue
            raise ServerTimeout('no answer from the server within the '
                                'timeout (%ss)' % deadline.timeout)
    return wait


def _options(user_options, deadline):
    """Append our settings to the user's own ``options``.

    A lock we would wait for (someone holds pg_class exclusively, say) fails
    after a quarter of the budget: that database is UNKNOWN, and the others
    are still read in time.
    """
    statement_ms = max(int(deadline.remaining() * 1000), 1)
    ours = ('-c default_transaction_read_only=on '
            '-c statement_timeout=%d -c lock_timeout=%d '
            '-c idle_in_transaction_session_timeout=%d'
            % (statement_ms, max(statement_ms // 4, 1), statement_ms))
    return (user_options + ' ' + ours).strip()


def conninfo(dsn='', **parameters):
    """Merge --dsn with -H/-p/-U/-d; the options given explicitly win."""
    try:
        user_settings = psycopg2.extensions.parse_dsn(dsn or '')
    except psycopg2.ProgrammingError:
        # libpq's message quotes the string, which may hold a password.
        raise CheckError('--dsn is neither a conninfo string nor a URI '
                         '(not shown: it may hold a password)')
    # An empty value counts as not given: a Nagios host that sets no
    # $_HOSTPGPORT$ passes -p ''.
    explicit = dict((k, v) for k, v in parameters.items() if v)
    settings = dict(user_settings, **explicit)
    # libpq would pick a database named like the role, which a monitoring
    # role rarely has; every cluster has "postgres".
    if not (settings.get('dbname') or settings.get('service') or
            os.environ.get('PGDATABASE') or os.environ.get('PGSERVICE')):
        settings['dbname'] = 'postgres'
    return settings


def _as_libpq_wants(settings):
    """psycopg2 2.8 on Python 2 joins str()s of names and values: bytes only."""
    if sys.version_info[0] > 2:
        return settings
    return dict((str(name), value.encode('utf-8')
                 if isinstance(value, type('')) else value)
                for name, value in settings.items())


def text(value):
    """VALUE as text, bytes that are not UTF-8 as U+FFFD.

    Python 2's psycopg2 and os.environ give bytes where Python 3's give
    text, whose os.environ keeps such bytes as lone surrogates."""
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    if sys.version_info[0] > 2 and isinstance(value, str):
        return value.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')
    return value


def lenient_text(value):
    """Text columns (bytes, see Session) and arrays of them as text; any
    other value as it is."""
    if isinstance(value, list):
        return [lenient_text(item) for item in value]
    return text(value)


def libpq_message(error):
    """libpq's error text as one line, without the FATAL: noise."""
    message = text(error.args[0] if error.args else '')
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:  # older psycopg2 drops a message it cannot decode
        return 'no readable message from libpq (%s)' % error.__class__.__name__
    first = lines[0].replace('FATAL:  ', '')
    # libpq before 14 (psycopg2-binary 2.8 brings one) prefixes the reason
    # with what our own message already says.
    return first.replace('could not connect to server: ', '', 1)


class Session(object):
    """One harmless connection to one database."""

    def __init__(self, settings, deadline, dbname=None):
        settings = dict(settings)
        if dbname is not None:
            settings['dbname'] = dbname
        # An "options" of ours would hide PGOPTIONS from libpq: we add to it.
        settings['options'] = _options(
            settings.get('options') or os.environ.get('PGOPTIONS', ''), deadline)
        settings['fallback_application_name'] = APPLICATION_NAME
        settings['client_encoding'] = 'UTF8'
        psycopg2.extensions.set_wait_callback(_wait_within(deadline))
        try:
            self.conn = psycopg2.connect(**_as_libpq_wants(settings))
        except psycopg2.Error as error:
            raise CheckError('cannot connect to %s: %s' % (
                describe_server(settings), libpq_message(error)))
        except UnicodeError:
            # libpq's message quotes a PG* variable that is not UTF-8.
            raise CheckError('cannot connect to %s: libpq failed with a '
                             'message that is not UTF-8' % describe_server(settings))
        self.conn.autocommit = True
        self._take_text_as_it_comes(settings)
        self.server_version = self.conn.server_version
        self.database = text(self.conn.get_dsn_parameters()['dbname'])
        if self.server_version < OLDEST_SUPPORTED_SERVER:
            self.close()
            raise CheckError('PostgreSQL %s is not supported (10 or newer)'
                             % server_version_text(self.server_version))

    def _take_text_as_it_comes(self, settings):
        """A SQL_ASCII database holds names and query texts in whatever bytes
        it was given.  Sent to a UTF8 client, the server refuses those that
        are not UTF-8, and psycopg2 would fail to decode them.  So such a
        database talks SQL_ASCII to us (bytes as they are), text arrives as
        bytes, and rows() decodes it, undecodable bytes as U+FFFD."""
        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, self.conn)
        psycopg2.extensions.register_type(psycopg2.extensions.BYTESARRAY,
                                          self.conn)
        if self.conn.get_parameter_status('server_encoding') == 'SQL_ASCII':
            try:
                self.conn.set_client_encoding('SQL_ASCII')
            except psycopg2.Error as error:
                self.close()
                raise CheckError('cannot connect to %s: %s' % (
                    describe_server(settings), libpq_message(error)))

    def rows(self, sql, parameters=None):
        """Run SQL, return its rows as named tuples."""
        try:
            with self.conn.cursor() as cursor:
                if _sql_log.isEnabledFor(logging.DEBUG):
                    # As the server gets it, parameters bound: psql takes it.
                    _sql_log.debug('-- SQL in database %s:\n%s;', self.database,
                                   cursor.mogrify(sql, parameters).decode(
                                       'utf-8', 'replace').strip())
                cursor.execute(sql, parameters)
                Row = collections.namedtuple(
                    'Row', [column[0] for column in cursor.description])
                return [Row(*[lenient_text(value) for value in values])
                        for values in cursor.fetchall()]
        except psycopg2.extensions.QueryCanceledError:
            raise ServerTimeout('the server did not answer within the '
                                'timeout (statement_timeout)')
        except psycopg2.Error as error:
            # Not error.pgcode: psycopg2 rarely has one for a lost session.
            failure = SessionLost if self.conn.closed else CheckError
            raise failure('query failed: %s' % libpq_message(error))

    def quote_ident(self, name):
        return psycopg2.extensions.quote_ident(name, self.conn)

    def close(self):
        if not self.conn.closed:
            self.conn.close()


def describe_server(settings):
    """Where we tried to connect, as libpq would have resolved it."""
    if settings.get('service') or os.environ.get('PGSERVICE'):
        return 'service %s' % text(settings.get('service') or os.environ['PGSERVICE'])
    host = settings.get('host') or os.environ.get('PGHOST') or 'local socket'
    port = settings.get('port') or os.environ.get('PGPORT') or '5432'
    return '%s port %s' % (text(host), text(port))


def server_version_text(version_num):
    """90624 -> '9.6', 150004 -> '15'."""
    if version_num >= 100000:
        return str(version_num // 10000)
    return '%d.%d' % (version_num // 10000, version_num // 100 % 100)
