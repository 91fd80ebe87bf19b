"""Log formats -> the events we count: autovacuum cancelled, or never got its lock.

A cancellation is an ERROR entry of an autovacuum worker, not a substring:
a logged statement that quotes the words is not one.  Where the log carries
the SQLSTATE and the backend type (csvlog and jsonlog on 13+; stderr with
%e and %b in log_line_prefix) we match on 57014 + "autovacuum worker", which
no lc_messages translates; otherwise on the English text.  The table comes
from the entry's CONTEXT ("automatic vacuum of table "db.schema.table""),
which only English logs let us read.
"""
from __future__ import unicode_literals

import collections
import csv
import io
import json
import re
import sys

from .chunks import csv_record_boundary, line_boundary, stderr_entry_boundary

Event = collections.namedtuple('Event', 'kind action table time')
CANCEL, SKIP = 'cancel', 'skip'

QUERY_CANCELED, LOCK_NOT_AVAILABLE = '57014', '55P03'
AUTOVACUUM_WORKER = 'autovacuum worker'
CANCEL_MESSAGE = 'canceling autovacuum task'
SKIP_MESSAGE = re.compile(r'skipping (vacuum|analyze) of "(.*)" --- '
                          r'lock not available')
CONTEXT_TABLE = re.compile(r'automatic (vacuum|analyze) of table "(.*)"')

# Only lines holding one of these are parsed.  "utovacuum" is in the English
# and most translated messages ("Autovacuum-Aufgabe"), in CONTEXT lines, and
# in the backend type "autovacuum worker" that a locale-proof match needs
# anyway; the other is the end of the English "skipping vacuum" message.
# Two needles, because each bytes.find is a pass over the chunk.
MARKERS = (b'utovacuum', b'lock not available')
TIMESTAMP = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)')


def _lines_with_markers(chunk):
    """(start, end) of each line of CHUNK that holds a marker, in order.

    bytes.find runs at memory speed; only these lines are decoded and
    parsed, so the cost follows the hits, not the size of the log.
    """
    starts = {}
    for marker in MARKERS:
        found = chunk.find(marker)
        while found >= 0:
            start = chunk.rfind(b'\n', 0, found) + 1
            end = chunk.find(b'\n', found)
            end = len(chunk) if end < 0 else end
            starts[start] = end
            found = chunk.find(marker, end)
    return sorted(starts.items())


def _text(chunk):
    # Log files are bytes in whatever encoding the server wrote; nothing
    # in them may stop us.
    return chunk.replace(b'\x00', b'').decode('utf-8', 'replace')


def _event(severity, sqlstate, backend_type, message, context, time):
    """The event an entry stands for, or None.

    A cancellation: SQLSTATE 57014 from an autovacuum worker; or, where the
    backend type is not logged, 57014 with a message that names autovacuum
    (the English "canceling autovacuum task" and its translations: other
    57014s are a client's statement_timeout or cancel); or the English
    message at ERROR, which only autovacuum writes.  A lock skip counts only when
    autovacuum's: vacuum.c logs it at LOG for autovacuum (with
    log_autovacuum_min_duration >= 0) and at WARNING for a client's
    VACUUM (SKIP_LOCKED).
    """
    if backend_type is not None:
        autovacuum = backend_type == AUTOVACUUM_WORKER
    else:
        autovacuum = None  # not logged: judged by the entry itself
    message = message or ''
    if sqlstate == QUERY_CANCELED and autovacuum is not None:
        cancelled = autovacuum
    else:
        cancelled = (sqlstate == QUERY_CANCELED and 'utovacuum' in message) \
            or (severity == 'ERROR' and message == CANCEL_MESSAGE)
    if cancelled or (severity == 'ERROR' and message == CANCEL_MESSAGE):
        found = CONTEXT_TABLE.search(context or '')
        return Event(CANCEL, found.group(1) if found else None,
                     found.group(2) if found else None, time)
    if autovacuum is False or (autovacuum is None and severity != 'LOG'):
        return None
    skipped = SKIP_MESSAGE.match(message)
    if skipped:
        return Event(SKIP, skipped.group(1), skipped.group(2), time)
    if autovacuum and sqlstate == LOCK_NOT_AVAILABLE:
        return Event(SKIP, None, None, time)
    return None


# -- stderr ------------------------------------------------------------------

SECONDARY = ('DETAIL', 'HINT', 'CONTEXT', 'STATEMENT', 'QUERY', 'LOCATION')
ENGLISH_SEVERITY = re.compile(
    r'\b(DEBUG[1-5]?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|'
    r'CONTEXT|STATEMENT|QUERY|LOCATION):  ')  # noqa: the same names, unbound

# log_line_prefix escapes -> what they print.
_PREFIX_PATTERNS = {
    'p': r'(?P<pid>\d+)', 'e': r'(?P<sqlstate>[0-9A-Z]{5})',
    # backend types hold spaces; the one we look for is tried first
    'b': r'(?P<backend_type>autovacuum worker|.*?)', 'l': r'\d+', 'x': r'\d+', 'Q': r'-?\d+',
    'n': r'\d+(?:\.\d+)?', 'c': r'[0-9a-f]+\.[0-9a-f]+',
    'm': r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ ?\S*',
    't': r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ?\S*',
    's': r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ?\S*',
}


SEVERITY_NAMES = (r'DEBUG[1-5]?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|'
                  r'HINT|CONTEXT|STATEMENT|QUERY|LOCATION')


def prefix_regex(log_line_prefix, severity=r'[^\s:]+'):
    """A regex for lines written with LOG_LINE_PREFIX, or None.

    %q ends the part that processes outside a session (autovacuum workers
    among them) print, so what follows it is optional.  SEVERITY says what
    a severity looks like: the English names first, where a prefix without
    a separator ("%m" alone) would otherwise let the zone swallow it.
    """
    if not log_line_prefix:
        return None
    parts, optional_from, named = [], None, set()
    for literal, escape in re.findall(r'([^%]*)(?:%-?\d*(.)|$)', log_line_prefix):
        parts.append(re.escape(literal))
        if escape == 'q':
            # the first %q ends what a process without a session prints
            if optional_from is None:
                optional_from = len(parts)
        elif escape == '%':
            parts.append('%')
        elif escape:
            pattern = _PREFIX_PATTERNS.get(escape, r'.*?')
            if escape in named:  # a group may be named once only
                pattern = re.sub(r'\?P<\w+>', '?:', pattern)
            named.add(escape)
            parts.append(r'\s*' + pattern + r'\s*')
    if optional_from is not None:
        parts = parts[:optional_from] + ['(?:'] + parts[optional_from:] + [')?']
    try:
        return re.compile('^' + ''.join(parts) +
                          r'(?P<severity>%s):  (?P<message>.*)$' % severity)
    except re.error:
        return None


# log_error_verbosity = verbose puts the SQLSTATE before the message
# (elog.c: "ERROR:  57014: canceling autovacuum task").  Every SQLSTATE has
# a digit; a message that merely starts with a capitalized word has none.
VERBOSE_SQLSTATE = re.compile(r'^(?=[A-Z]*[0-9])([0-9A-Z]{5}): ')


def _verbose(entry):
    """ENTRY with the SQLSTATE that verbose logs carry in the message."""
    severity, sqlstate, backend_type, message, time = entry
    found = VERBOSE_SQLSTATE.match(message)
    if found is None:
        return entry
    return (severity, sqlstate or found.group(1), backend_type,
            message[found.end():], time)


class StderrFormat(object):
    """Plain text, one or more lines per entry, each behind log_line_prefix."""

    name = 'stderr'
    boundary = staticmethod(line_boundary)
    entry_boundary = staticmethod(stderr_entry_boundary)

    def __init__(self, log_line_prefix=None):
        self.prefixes = [regex for regex in (
            prefix_regex(log_line_prefix, SEVERITY_NAMES),
            prefix_regex(log_line_prefix)) if regex]

    def _split(self, line):
        """(severity, sqlstate, backend_type, message, time) or None."""
        known = self._match(line)
        if known:
            fields = known.groupdict()
            time = TIMESTAMP.match(line)
            return _verbose((fields['severity'], fields.get('sqlstate'),
                             fields.get('backend_type'), fields['message'],
                             time.group(1) if time else None))
        english = ENGLISH_SEVERITY.search(line)
        if english:
            time = TIMESTAMP.match(line)
            return _verbose((english.group(1), None, None, line[english.end():],
                             time.group(1) if time else None))
        return None

    def _match(self, line):
        for prefix in self.prefixes:
            known = prefix.match(line)
            if known:
                return known
        return None

    def _continues_an_entry(self, chunk, start, line):
        """Whether LINE repeats the prefix of the line before it.

        Every line of an entry (its DETAIL, CONTEXT, ... in whatever
        language) carries the same prefix, SQLSTATE and backend type
        included; only its first line is the entry.
        """
        if start == 0:
            return False
        previous_start = chunk.rfind(b'\n', 0, start - 1) + 1
        known = self._match(line)
        if not known:
            return False
        prefix = line[:known.start('severity')]
        return bool(prefix) and _text(chunk[previous_start:start - 1]).startswith(prefix)

    def events(self, chunk):
        found = []
        for start, end in _lines_with_markers(chunk):
            if chunk.startswith(b'\t', start):
                continue  # a continuation line; its entry began earlier
            line = _text(chunk[start:end])
            entry = self._split(line)
            if entry is None or entry[0] in SECONDARY:
                continue
            if entry[1] and self._continues_an_entry(chunk, start, line):
                continue
            severity, sqlstate, backend_type, message, time = entry
            event = _event(severity, sqlstate, backend_type, message,
                           self._context(chunk, end + 1), time)
            if event:
                found.append(event)
        return found

    def _context(self, chunk, start):
        """The CONTEXT of the entry whose first line ends before START."""
        context = []
        for _ in range(20):
            end = chunk.find(b'\n', start)
            if start >= len(chunk) or end < 0:
                break
            line = _text(chunk[start:end])
            start = end + 1
            if line.startswith('\t'):
                context.append(line[1:])
                continue
            entry = self._split(line)
            if entry is None or entry[0] not in SECONDARY:
                break
            if entry[0] == 'CONTEXT':
                context.append(entry[3])
        return '\n'.join(context)


# -- csvlog ------------------------------------------------------------------

class CsvFormat(object):
    """csvlog: one CSV record per entry; a field may hold newlines."""

    name = 'csvlog'
    boundary = entry_boundary = staticmethod(csv_record_boundary)
    SEVERITY, SQLSTATE, MESSAGE, CONTEXT, BACKEND_TYPE = 11, 12, 13, 18, 23

    def events(self, chunk):
        if not _lines_with_markers(chunk):
            return []
        found = []
        for record in self._records(chunk.replace(b'\x00', b'')):
            if len(record) <= self.CONTEXT:
                continue
            backend_type = record[self.BACKEND_TYPE] \
                if len(record) > self.BACKEND_TYPE else None
            event = _event(record[self.SEVERITY], record[self.SQLSTATE],
                           backend_type, record[self.MESSAGE],
                           record[self.CONTEXT], record[0][:23] or None)
            if event:
                found.append(event)
        return found

    @staticmethod
    def _records(chunk):
        try:
            if sys.version_info[0] == 2:  # csv wants bytes there
                for record in csv.reader(io.BytesIO(chunk)):
                    yield [field.decode('utf-8', 'replace') for field in record]
            else:
                for record in csv.reader(io.StringIO(
                        chunk.decode('utf-8', 'replace'), newline='')):
                    yield record
        except csv.Error:
            return  # not CSV after all: nothing to count in it


# -- jsonlog (15+) -----------------------------------------------------------

class JsonFormat(object):
    """jsonlog: one JSON object per line."""

    name = 'jsonlog'
    boundary = entry_boundary = staticmethod(line_boundary)

    def events(self, chunk):
        found = []
        for start, end in _lines_with_markers(chunk):
            line = _text(chunk[start:end])
            if not line.startswith('{'):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            event = _event(entry.get('error_severity'), entry.get('state_code'),
                           entry.get('backend_type'), entry.get('message'),
                           entry.get('context'),
                           (entry.get('timestamp') or '')[:23] or None)
            if event:
                found.append(event)
        return found


# csvlog's first field is the timestamp, its zone right before the comma.
CSV_START = re.compile(br'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [A-Za-z0-9+-]*,')


def detect(path, head, log_line_prefix=None):
    """The format of a log file, from its name or its first bytes."""
    if path.endswith('.json'):
        return JsonFormat()
    if path.endswith('.csv') or CSV_START.match(head):
        return CsvFormat()
    if head.startswith(b'{'):
        return JsonFormat()
    return StderrFormat(log_line_prefix)
