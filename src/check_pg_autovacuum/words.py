"""Small helpers that word numbers for humans, the same on Python 2 and 3."""
from __future__ import unicode_literals

import re

from .durations import format_duration

MAX_DETAIL_LINES = 20


def plural(count, noun):
    return '%d %s%s' % (count, noun, '' if count == 1 else 's')


def count(number):
    """2100000 -> '2.1M', 12345 -> '12k', 999 -> '999'."""
    number = int(number)
    for limit, suffix in ((10 ** 9, 'G'), (10 ** 6, 'M'), (10 ** 3, 'k')):
        if abs(number) >= limit:
            scaled = float(number) / limit
            return ('%.1f%s' if scaled < 10 else '%.0f%s') % (scaled, suffix)
    return '%d' % number


def counted(number, noun, figure=count):
    """NUMBER as FIGURE writes it, with NOUN: 1 -> '1 transaction',
    12345 -> '12k transactions'."""
    return '%s %s%s' % (figure(number), noun, '' if int(number) == 1 else 's')


def perfdata_number(number):
    """Two decimals at most, and no '.0': Python 2 and 3 print it alike."""
    rounded = round(float(number), 2)
    return int(rounded) if rounded == int(rounded) else rounded


def size(number):
    """Bytes as PostgreSQL's pg_size_pretty counts them (1 kB = 1024 B):
    16384 -> '16 kB', 1288490189 -> '1.2 GB'."""
    number = int(number)
    for limit, unit in ((1 << 40, 'TB'), (1 << 30, 'GB'), (1 << 20, 'MB'),
                        (1 << 10, 'kB')):
        if abs(number) >= limit:
            scaled = float(number) / limit
            return ('%.1f %s' if scaled < 10 else '%.0f %s') % (scaled, unit)
    return '%d bytes' % number


def exact(number):
    """12345 -> '12,345'."""
    return '{0:,}'.format(int(number))


def ago(seconds):
    """None -> 'never', 300 -> '5m ago'."""
    return 'never' if seconds is None else '%s ago' % format_duration(seconds)


def one_line(text, width=80):
    """TEXT on one line, cut to WIDTH characters."""
    flat = ' '.join((text or '').split())
    return flat if len(flat) <= width else flat[:width - 3] + '...'


def capped(lines, what):
    """At most MAX_DETAIL_LINES lines; say how many more there were."""
    if len(lines) <= MAX_DETAIL_LINES:
        return lines
    rest = len(lines) - MAX_DETAIL_LINES
    return lines[:MAX_DETAIL_LINES] + ['... and %d more %s' % (rest, what)]


def sql_literal(text):
    """TEXT as a SQL string literal a DBA can paste: 'it''s'."""
    return "'%s'" % text.replace("'", "''")


def sql_identifier(name):
    """NAME as a DBA types it: bare where PostgreSQL keeps it as it is,
    else double-quoted (keywords are not known here: quoted is safe)."""
    if re.match(r'^[a-z_][a-z0-9_]*$', name):
        return name
    return '"%s"' % name.replace('"', '""')


def terminate(pids, most=5):
    """The statement that ends these backends, to paste as it is:
    'SELECT pg_terminate_backend(2037), pg_terminate_backend(2040)'."""
    pids = sorted(set(pids))
    statement = 'SELECT %s' % ', '.join(
        'pg_terminate_backend(%d)' % pid for pid in pids[:most])
    if len(pids) > most:
        statement += ' (and %d more pids, listed with -v)' % (len(pids) - most)
    return statement


def ordinal(number):
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th, 21st."""
    if number % 100 in (11, 12, 13):
        return '%dth' % number
    return '%d%s' % (number, {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th'))
