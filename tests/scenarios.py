"""Ways to put the test cluster into the state a test wants, for real."""
import contextlib
import os
import re
import subprocess
import threading
import time

import psycopg2
import psycopg2.extensions
import pytest

# What the horizon finding says first on a server where nothing is held
# back: the test clusters' autovacuum (naptime 1s) may be in an ANALYZE,
# whose snapshot holds an xmin for a moment (only VACUUM sets
# PROC_IN_VACUUM), and the plugin names it as the oldest xmin then.
NOTHING_HOLDS_BACK = (r'(nothing holds back vacuum|oldest xmin: pid \d+ '
                      r'\([^)]+\) autovacuum worker \S+)')


class Stopwatch(object):
    """How long something has lasted: the bound of an age the plugin
    reports of it.  A loaded machine may take seconds to start the plugin,
    so an age is bounded by the time that passed, never by a guess.  AGO:
    the seconds it had lasted when the watch started."""

    def __init__(self, ago=0):
        self.started = time.time() - ago
        self.stopped = None

    def stop(self):
        """Once the plugin has run."""
        self.stopped = time.time()

    def assert_age(self, pattern, text, least=0):
        """The match of PATTERN in TEXT (re.search), whose first group is
        whole seconds: at least LEAST, at most what the watch saw pass."""
        match = re.search(pattern, text)
        assert match, text
        seconds = int(match.group(1))
        most = (self.stopped or time.time()) - self.started
        assert least <= seconds <= most + 1, (seconds, most, text)
        return match


@contextlib.contextmanager
def idle_in_transaction(cluster, dbname='postgres', application_name='zodb-app',
                        aborted=False, idle_for=0, last_query=None):
    """A second connection that opens a transaction and goes idle.

    Yields its backend pid; the transaction ends with the block.  With
    aborted, its last statement fails, leaving it "idle in transaction
    (aborted)".  idle_for: seconds to wait before yielding.
    """
    conn = cluster.connect(dbname, application_name=application_name)
    try:
        with conn.cursor() as cursor:
            cursor.execute('BEGIN')
            cursor.execute('SELECT txid_current()')
            if last_query:
                if isinstance(last_query, bytes):  # sent as it is
                    conn.set_client_encoding('SQL_ASCII')
                cursor.execute(last_query)
            if aborted:
                try:
                    cursor.execute('SELECT 1/0')
                except psycopg2.DataError:
                    pass
        time.sleep(idle_for)
        yield conn.get_backend_pid()
    finally:
        conn.close()


@contextlib.contextmanager
def query_running(cursor, sql, settle=0):
    """SQL runs on CURSOR (its connection busy, "active") during the block;
    the block waits SETTLE seconds first.  At its close a query still
    running is cancelled: give it time to spare (pg_sleep(60)), so that a
    slow start of the plugin on a loaded machine never finds it over."""
    def run():
        try:
            cursor.execute(sql)
        except psycopg2.extensions.QueryCanceledError:
            pass
    query = threading.Thread(target=run)
    query.start()
    try:
        time.sleep(settle)
        yield
    finally:
        cursor.connection.cancel()
        query.join()


@contextlib.contextmanager
def role(cluster, name, *grants, **options):
    """A login role that exists for the block; password=... makes it use one."""
    password = options.get('password')
    cluster.execute('CREATE ROLE "%s" LOGIN%s' % (
        name, " PASSWORD '%s'" % password if password else ''))
    try:
        for granted in grants:
            cluster.execute('GRANT %s TO "%s"' % (granted, name))
        yield name
    finally:
        cluster.execute('DROP ROLE "%s"' % name)


@contextlib.contextmanager
def database(cluster, name):
    """A database that exists for the block."""
    quoted = quote_ident(name)
    cluster.execute('CREATE DATABASE ' + quoted)
    try:
        yield name
    finally:
        cluster.execute('DROP DATABASE %s' % quoted)


def quote_ident(name):
    return '"%s"' % name.replace('"', '""')


def wait_for_statistics(cluster, dbname, table, dead=None, modified=None,
                        live=None, timeout=15):
    """Wait until the statistics system shows what the writers did.

    Counters reach pg_stat_user_tables with a delay (the stats collector
    before 15, a backend's pending flush since), so a test that asserts on
    them first waits until they are there.
    """
    deadline = time.time() + timeout
    while True:
        row = cluster.execute(
            'SELECT n_dead_tup, n_mod_since_analyze, n_live_tup '
            'FROM pg_stat_user_tables WHERE relname = %s', (table,), dbname=dbname)
        if row and all(wanted is None or found == wanted for found, wanted in
                       zip(row[0], (dead, modified, live))):
            return
        if time.time() > deadline:
            raise AssertionError('statistics for %s never showed dead=%s '
                                 'modified=%s live=%s: %r'
                                 % (table, dead, modified, live, row))
        time.sleep(0.1)


def table_with_dead_rows(cluster, dbname, table, live, dead,
                         autovacuum_enabled=False, vacuum_first=False,
                         analyze_first=False):
    """A table with LIVE live rows and DEAD dead ones, as a writer leaves it.

    Autovacuum is disabled for the table unless asked, so that the state
    stays put while the test looks at it.
    """
    quoted = quote_ident(table)
    cluster.execute('CREATE TABLE %s (id int) WITH (autovacuum_enabled = %s)'
                    % (quoted, 'true' if autovacuum_enabled else 'false'),
                    dbname=dbname)
    if vacuum_first:
        cluster.execute('VACUUM %s' % quoted, dbname=dbname)
    if analyze_first:
        cluster.execute('ANALYZE %s' % quoted, dbname=dbname)
    cluster.execute('INSERT INTO %s SELECT generate_series(1, %d)'
                    % (quoted, live + dead), dbname=dbname)
    # Each session's counters arrive as it exits.  Should the deleting
    # session's arrive first, 0 - DEAD live rows is clamped to 0 and the
    # inserts then count every row as live (seen on a loaded machine): the
    # inserts must be counted before the delete.
    wait_for_statistics(cluster, dbname, table, live=live + dead)
    cluster.execute('DELETE FROM %s WHERE id <= %d' % (quoted, dead),
                    dbname=dbname)
    wait_for_statistics(cluster, dbname, table, dead=dead, live=live)


@contextlib.contextmanager
def server_settings(cluster, **settings):
    """ALTER SYSTEM for the block, reloaded, then reset and reloaded."""
    for name, value in settings.items():
        cluster.execute('ALTER SYSTEM SET %s = %s' % (name, value))
    try:
        cluster.execute('SELECT pg_reload_conf()')
        _wait_for_settings(cluster, settings)
        yield
    finally:
        for name in settings:
            cluster.execute('ALTER SYSTEM RESET %s' % name)
        cluster.execute('SELECT pg_reload_conf()')


def _wait_for_settings(cluster, settings, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = dict(cluster.execute(
            'SELECT name, setting FROM pg_settings WHERE name = ANY(%s)',
            (list(settings),)))
        if all(current[name] == str(value).strip("'")
               for name, value in settings.items()):
            return
        time.sleep(0.05)
    raise AssertionError('settings %r never took effect' % settings)


def table_autovacuum_crawls_through(cluster, dbname, table, rows=300000):
    """A table full of dead rows whose autovacuum crawls: easy to cancel.

    Per-table cost settings make the worker sleep most of the time, so it
    is still busy when somebody wants a conflicting lock.  No autoanalyze:
    one that a worker picks between the INSERT and the DELETE (the
    statistics arrive late before 15) would crawl for minutes instead.
    """
    quoted = quote_ident(table)
    cluster.execute('CREATE TABLE %s (id int, payload text) WITH '
                    '(autovacuum_vacuum_cost_delay = 100, '
                    'autovacuum_vacuum_cost_limit = 1, '
                    'autovacuum_analyze_threshold = 2000000000)' % quoted,
                    dbname=dbname)
    cluster.execute("INSERT INTO %s SELECT g, repeat('x', 20) "
                    "FROM generate_series(1, %d) g" % (quoted, rows), dbname=dbname)
    cluster.execute('DELETE FROM %s' % quoted, dbname=dbname)


def lock_table_repeatedly(cluster, dbname, table, seconds, pause=0.3,
                          stop=None):
    """What the application did: LOCK TABLE ... IN EXCLUSIVE MODE, again and again,
    for SECONDS or until STOP (a threading.Event) is set.

    Each time autovacuum holds the table, the lock request waits
    deadlock_timeout and then has the autovacuum cancelled.
    """
    conn = cluster.connect(dbname, application_name='locker')
    try:
        deadline = time.time() + seconds
        with conn.cursor() as cursor:
            while time.time() < deadline and not (stop and stop.is_set()):
                cursor.execute('BEGIN')
                cursor.execute('LOCK TABLE %s IN EXCLUSIVE MODE'
                               % quote_ident(table))
                time.sleep(0.05)
                cursor.execute('COMMIT')
                time.sleep(pause)
    finally:
        conn.close()


def vacuum_scanning(cluster, dbname, table, autovacuum=False, timeout=30):
    """The pid of the vacuum (with AUTOVACUUM, the autovacuum worker)
    scanning TABLE's heap, once one does."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = cluster.execute(
            "SELECT p.pid FROM pg_stat_progress_vacuum p JOIN pg_stat_activity "
            "a USING (pid) WHERE p.relid = %s::regclass AND p.phase = "
            "'scanning heap' AND (NOT %s OR a.backend_type = 'autovacuum worker')",
            (quote_ident(table), autovacuum), dbname=dbname)
        if rows:
            return rows[0][0]
        time.sleep(0.1)
    raise AssertionError('no %svacuum of %s began; %s'
                         % ('auto' if autovacuum else '', table,
                            _what_autovacuum_does(cluster, dbname, table)))


def _what_autovacuum_does(cluster, dbname, table):
    """What a test that waited in vain for a vacuum needs to know: whether
    autovacuum runs at all, what the table's statistics say, where the
    workers are."""
    settings = cluster.execute(
        "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM "
        "pg_settings WHERE name IN ('autovacuum', 'track_counts', "
        "'autovacuum_max_workers', 'autovacuum_naptime')")[0][0]
    statistics = cluster.execute(
        'SELECT n_live_tup, n_dead_tup, autovacuum_count, last_autovacuum, '
        'vacuum_count FROM pg_stat_user_tables WHERE relid = %s::regclass',
        (quote_ident(table),), dbname=dbname)
    processes = cluster.execute(
        "SELECT pid, backend_type, datname, state, wait_event_type, "
        "wait_event, now() - backend_start, left(query, 80) FROM "
        "pg_stat_activity WHERE backend_type LIKE 'autovacuum%%' OR "
        "datname = %s", (dbname,))
    progress = cluster.execute('SELECT pid, datname, relid, phase FROM '
                               'pg_stat_progress_vacuum')
    return ('settings: %s; %s statistics (live, dead, autovacuums, last, '
            'vacuums): %r; autovacuum and %s processes: %r; vacuums: %r; '
            'the server log ends:\n%s'
            % (settings, table, statistics, dbname, processes, progress,
               cluster.log_tail()))


@contextlib.contextmanager
def in_background(cluster, dbname, statements, application_name='vacuumdb'):
    """A session of its own runs STATEMENTS, the last one in a thread: a
    VACUUM that crawls, a lock request that waits.  Yields its pid; after
    the block the last statement is cancelled, if still running, and the
    session closed."""
    conn = cluster.connect(dbname, application_name=application_name)
    with conn.cursor() as cursor:
        for statement in statements[:-1]:
            cursor.execute(statement)

    def run_until_cancelled():
        try:
            conn.cursor().execute(statements[-1])
        except psycopg2.extensions.QueryCanceledError:
            pass
    thread = threading.Thread(target=run_until_cancelled)
    thread.start()
    try:
        yield conn.get_backend_pid()
    finally:
        cluster.execute('SELECT pg_cancel_backend(%s)', (conn.get_backend_pid(),))
        thread.join()
        conn.close()


@contextlib.contextmanager
def read_only(directory):
    """DIRECTORY read-only for the block: by its mode, or, since root writes
    regardless of modes, by a read-only bind mount of it onto itself."""
    if os.geteuid() != 0:
        os.chmod(directory, 0o555)
        try:
            yield
        finally:
            os.chmod(directory, 0o700)
        return
    try:
        subprocess.check_call(['mount', '--bind', directory, directory])
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip('root, and cannot bind-mount %s: %s' % (directory, error))
    try:
        subprocess.check_call(['mount', '-o', 'remount,bind,ro', directory])
        yield
    finally:
        subprocess.check_call(['umount', directory])


def debian_log_closed_to_us(path):
    """Make PATH a log as Debian's server packages leave it: postgres:adm,
    mode 0640, to a user outside adm.  Returns the wrapper that runs the
    plugin as such a user (see plugin(..., wrapper=)).

    As root, the plugin keeps uid 0 but loses the capabilities that let root
    read any file: file modes then hold for it as for user nagios, whose
    own account could not run this test's interpreter (pyenv lives in
    /root, closed to others).  Not root: a file of mode 0000 is closed to
    its owner too.
    """
    if os.geteuid() != 0:
        os.chmod(path, 0)
        return without_root_powers()
    try:
        import grp
        import pwd
        os.chown(path, pwd.getpwnam('postgres').pw_uid,
                 grp.getgrnam('adm').gr_gid)
    except KeyError as error:
        pytest.skip('no postgres user or adm group: %s' % error)
    os.chmod(path, 0o640)
    return without_root_powers()


def without_root_powers():
    """A wrapper for plugin(..., wrapper=) under which file modes hold even
    for root: it drops the capabilities to read and enter anything."""
    if os.geteuid() != 0:
        return []
    return ['setpriv', '--inh-caps=-all',
            '--bounding-set=-dac_override,-dac_read_search', '--']


def heap_blocks_touched(cluster, dbname, tables, quiet=1.0, timeout=15):
    """Heap blocks of TABLES (a name or a list) read or found in the cache
    so far, in all, once the statistics have settled: no check_pg_autovacuum
    session is left, and the count has not moved for QUIET seconds (a
    backend flushes its counters as it exits, the stats collector before 15
    a little later, and a reader's snapshot of them may be half a second
    old)."""
    names = list(tables) if isinstance(tables, (list, tuple)) else [tables]
    deadline = time.time() + timeout
    last, since = None, time.time()
    while True:
        touched, ours = cluster.execute(
            "SELECT (SELECT sum(coalesce(heap_blks_read, 0) + "
            "coalesce(heap_blks_hit, 0)) FROM pg_statio_user_tables "
            "WHERE relname = ANY (%s)), (SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'check_pg_autovacuum')", (names,),
            dbname=dbname)[0]
        if touched != last or ours:
            last, since = touched, time.time()
        elif time.time() - since >= quiet:
            return int(touched)
        if time.time() > deadline:
            raise AssertionError('the heap counters of %s never settled: %s'
                                 % (', '.join(names), last))
        time.sleep(0.1)


def table_no_page_all_visible(cluster, dbname, table, rows=60000, updates=2):
    """A bloated table as the incident leaves it: every row updated while an
    old transaction was open, so that VACUUM could remove nothing and mark no
    page all-visible; analyzed.  Returns its size in blocks."""
    cluster.execute('CREATE TABLE %s (id int, v int, t text) WITH '
                    '(autovacuum_enabled = false)' % table, dbname=dbname)
    cluster.execute("INSERT INTO %s SELECT g, g, 'row ' || g FROM "
                    "generate_series(1, %d) g" % (table, rows), dbname=dbname)
    with idle_in_transaction(cluster, dbname=dbname):
        for _ in range(updates):
            cluster.execute('UPDATE %s SET v = v + 1' % table, dbname=dbname)
        cluster.execute('VACUUM ANALYZE %s' % table, dbname=dbname)
    wait_for_statistics(cluster, dbname, table, modified=0)
    blocks, all_visible = cluster.execute(
        "SELECT pg_relation_size(%s) / current_setting('block_size')::int, "
        "relallvisible FROM pg_class WHERE relname = %s", (table, table),
        dbname=dbname)[0]
    assert all_visible == 0, '%d of %d pages all-visible' % (all_visible, blocks)
    return blocks


# Shared catalogs show in every database, and the other tests' CREATE
# DATABASE and CREATE ROLE keep passing their triggers until autovacuum
# catches up: they are not this test's tables.
SHARED_CATALOGS = (r'\.pg_catalog\.(pg_auth\w*|pg_database|pg_db_role_setting'
                   r'|pg_sh\w+|pg_tablespace|pg_replication_origin'
                   r'|pg_subscription|pg_parameter_acl)$')


def only(name, *excluded_tables):
    """Arguments to check database NAME alone, and only its own tables."""
    return ('--databases', '^%s$' % re.escape(name),
            '--exclude-tables', '|'.join((SHARED_CATALOGS,) + excluded_tables))


def age_past_zero():
    """Let a table of a new database wait past its trigger for a second.

    Its statistics begin when the database is created, and with no earlier
    run the crossing is estimated from the pace: 100 dead rows against a
    trigger of 50 crossed halfway, so a wait of a whole second -- what
    thresholds of 0 fire at -- takes two.
    """
    time.sleep(2.1)
