# -*- coding: utf-8 -*-
"""Properties that hold for any input: durations, log lines, the state file.

Python 3 only (hypothesis); on 2.7 they say skipped.
"""
from __future__ import unicode_literals

import pytest

hypothesis = pytest.importorskip('hypothesis')
from hypothesis import given, settings, strategies as st  # noqa: E402

from check_pg_autovacuum.durations import (  # noqa: E402
    format_duration, parse_duration, parse_range)
from check_pg_autovacuum.serverlog.formats import (  # noqa: E402
    CsvFormat, JsonFormat, StderrFormat)
from check_pg_autovacuum.serverlog.state import position_file  # noqa: E402

UNIT = {'w': 604800, 'd': 86400, 'h': 3600, 'm': 60, 's': 1}


@given(st.lists(st.tuples(st.integers(0, 1000), st.sampled_from('wdhms')),
                min_size=1, max_size=5))
def test_a_duration_is_the_sum_of_its_parts(parts):
    text = ''.join('%d%s' % part for part in parts)
    assert parse_duration(text) == sum(n * UNIT[u] for n, u in parts)


@given(st.integers(0, 10 ** 8))
def test_formatted_durations_read_back_within_their_last_unit(seconds):
    shown = parse_duration(format_duration(seconds))
    granularity = 1 if seconds < 3600 else 60 if seconds < 86400 else 3600
    assert 0 <= seconds - shown < granularity


@given(st.integers(0, 10 ** 6), st.integers(0, 10 ** 6))
def test_a_range_of_durations_holds_its_bounds(low, high):
    low, high = min(low, high), max(low, high)
    judged = parse_range('%ds:%dm' % (low, high)) if high % 60 == 0 and False \
        else parse_range('%ds:%ds' % (low, high))
    assert judged.match(low) and judged.match(high)
    assert not judged.match(high + 1)
    assert low == 0 or not judged.match(low - 1)


ESCAPES = ['%m', '%t', '%p', '%u', '%d', '%a', '%e', '%b', '%l', '%c', '%q', '%%']
# Escapes run together ("%e%b%m") print something no parser can split;
# real prefixes separate them, and end in a separator.
SEPARATORS = [' ', ' [', '] ', '@', ': ', ' - ', ',']
NAMES = st.text('abcdefghijklmnopqrstuvwxyz0123456789_-', min_size=1, max_size=12)


def render(prefix, user, app, sqlstate, backend_type):
    """A line prefix as the server prints it for an autovacuum worker."""
    values = {'m': '2026-11-26 03:24:23.564 UTC', 't': '2026-11-26 03:24:23 UTC',
              'p': '9201', 'u': user, 'd': 'abc-hans', 'a': app, 'e': sqlstate,
              'b': backend_type, 'l': '7', 'c': '6745a1b0.23f1', '%': '%'}
    out, index = [], 0
    while index < len(prefix):
        if prefix[index] == '%':
            escape = prefix[index + 1]
            index += 2
            if escape == 'q':
                break  # an autovacuum worker has no session: nothing follows
            out.append(values[escape])
        else:
            out.append(prefix[index])
            index += 1
    return ''.join(out)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(ESCAPES), st.sampled_from(SEPARATORS)),
                max_size=8), NAMES, NAMES,
       st.sampled_from(['57014', 'XX000']),
       st.sampled_from(['autovacuum worker', 'client backend']),
       st.booleans())
def test_a_cancellation_counts_once_under_any_prefix(parts, user, app, sqlstate,
                                                     backend_type, english):
    prefix = ''.join(escape + separator for escape, separator in parts)
    prefix += '' if prefix.endswith(' ') else ' '
    head = render(prefix, user, app, sqlstate, backend_type)
    client = render(prefix, user, app, '00000', 'client backend')
    message = 'canceling autovacuum task' if english else 'storniere Autovacuum-Aufgabe'
    context = 'CONTEXT' if english else 'KONTEXT'
    log = ('%sERROR:  %s\n%s%s:  automatic vacuum of table "abc-hans.public.t"\n'
           '%sLOG:  statement: SELECT \'ERROR:  canceling autovacuum task\'\n'
           % (head, message, head, context, client)).encode('utf-8')
    events = StderrFormat(prefix).events(log)
    # English text always counts; a translated one only where the prefix
    # carries the SQLSTATE, and it is 57014, and the backend type, where the
    # prefix carries it, is autovacuum's.  (What follows %q autovacuum
    # workers do not print.)
    def printed(escape):
        return escape in prefix and '%q' not in prefix[:prefix.find(escape)]
    by_code = printed('%e') and sqlstate == '57014' and (
        backend_type == 'autovacuum worker' or not printed('%b'))
    expected = 1 if english or by_code else 0
    assert len(events) == expected, (prefix, head, events)


@settings(max_examples=300)
@given(st.binary(max_size=4096))
def test_no_bytes_break_a_parser(garbage):
    for log_format in (StderrFormat('%m [%p] %q%u@%d '), StderrFormat(None),
                       CsvFormat(), JsonFormat()):
        log_format.events(garbage)
        log_format.events(garbage + b'\nautovacuum canceling autovacuum task\n')


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=50), st.integers(0, 2 ** 62), st.integers(0, 2 ** 62),
       st.integers(0, 2 ** 62), st.floats(0, 2e9), st.text(max_size=60))
def test_the_state_file_gives_back_what_it_was_given(path, device, inode, offset,
                                                     mtime, fingerprint):
    import tempfile
    directory = tempfile.mkdtemp()
    state_file = position_file(directory + '/state.json', None, None)
    position = {'path': path, 'device': device, 'inode': inode, 'offset': offset,
                'mtime': mtime, 'fingerprint': fingerprint}
    state_file.save({'position': position})
    assert state_file.load()['position'] == position


OPTIONS = ['-H', '-p', '-U', '-d', '--dsn', '-t', '-v', '--only', '--skip',
           '--idle-warning', '--idle-critical', '--vacuum-warning',
           '--analyze-critical', '--horizon-warning', '--wraparound-warning',
           '--cancel-critical', '--databases', '--exclude-tables',
           '--max-connections', '--logfile', '--log-via-sql', '--state-file',
           '--log-from-start']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(OPTIONS), st.text(max_size=12),
                          st.from_regex(r'\A[@~]?-?\d{0,12}[smhdw%]?(:\d*)?\Z')),
                max_size=8))
def test_any_command_line_is_parsed_or_a_usage_error(argv):
    # Whatever the words, the outcome is parsed options or one UsageError,
    # which the plugin prints as one UNKNOWN line; never another exception.
    from check_pg_autovacuum.cli import UsageError, parse_args, unknown_line
    try:
        parse_args(argv)
    except UsageError as error:
        line = unknown_line(error)
        assert '\n' not in line and '|' not in line, line
    except SystemExit:  # --help and --version, which print and exit 0
        assert '-h' in argv or '--help' in argv or '-V' in argv or any(
            arg.startswith('--h') or arg.startswith('--vers') for arg in argv)
