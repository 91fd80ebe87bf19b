"""Ways to put the test cluster into the state a test wants, for real."""
import contextlib
import time

import psycopg2


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
    quoted = '"%s"' % name.replace('"', '""')
    cluster.execute('CREATE DATABASE ' + quoted)
    try:
        yield name
    finally:
        cluster.execute('DROP DATABASE %s' % quoted)
