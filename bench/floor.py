"""The least a Python plugin on psycopg2 does to visit every database.

Not a test, and not a plugin: bench/peers times it next to the contenders,
to show what no Python check that reads per-table counters can go below.
Per-table counters are only visible from a session in the table's own
database, so such a check starts an interpreter, imports psycopg2, and
opens a session in each database -- here as our check does, a few at a
time -- and asks it nothing but SELECT 1.

    python floor.py PSYCOPG2_DIR SESSIONS DATABASE [DATABASE ...]

Connection settings come from the PG* environment, as libpq's.
"""
import sys
import threading

sys.path.insert(0, sys.argv[1])

import psycopg2  # noqa: E402


def visit(pending):
    while pending:
        try:
            name = pending.pop()
        except IndexError:
            return
        connection = psycopg2.connect(dbname=name)
        connection.autocommit = True
        connection.cursor().execute('SELECT 1')
        connection.close()


def main():
    sessions = int(sys.argv[2])
    pending = sys.argv[3:]
    count = len(pending)
    threads = [threading.Thread(target=visit, args=(pending,))
               for _ in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print('floor: %d databases visited' % count)


if __name__ == '__main__':
    main()
