# -*- coding: utf-8 -*-
"""Tables that need autoanalyze and don't get it, for real."""
from __future__ import unicode_literals

import itertools
import re
import time

import pytest

from scenarios import database, only, table_with_dead_rows

_numbers = itertools.count(1)


@pytest.fixture
def db(cluster):
    """A database of this test's own, so that no other test's tables count."""
    with database(cluster, 'analyze-%d' % next(_numbers)) as name:
        yield name


def test_the_analyze_wait_is_estimated_from_the_pace_of_changes(
        plugin, cluster, db):
    table_with_dead_rows(cluster, db, 'stale', live=1000, dead=500,
                         analyze_first=True)
    time.sleep(2)
    result = plugin('--only', 'analyze', '-v', *only(db) + (
        '--analyze-warning', '0', '--analyze-critical', '1'))
    assert result.returncode == 2, result
    lines = result.stdout.splitlines()
    assert re.match(
        r'AUTOVACUUM CRITICAL - 1 table needs analyze, worst %s.public.stale '
        r'\(2.0k rows changed, past its trigger for \ds \(estimated\), last '
        r'analyzed \ds ago\)$' % db, lines[0].split('|')[0]), lines
    assert re.match(
        r'%s.public.stale needs analyze: 2,000 rows changed \(trigger 50\); '
        r'past its trigger for \ds \(estimated from the pace the rows accrued '
        r'at\); last autoanalyze never, last analyze '
        r'\d+s ago$' % db, lines[1]), lines
