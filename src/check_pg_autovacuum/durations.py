"""Durations ("90", "15m", "1h30m") and Nagios ranges with durations as bounds."""
from __future__ import unicode_literals

import re

import nagiosplugin

SECONDS_PER_UNIT = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
_PART = re.compile(r'(\d+(?:\.\d+)?)([smhdw]?)')


def parse_duration(text):
    """Return the seconds in TEXT: ``90``, ``90s``, ``15m``, ``1h30m``, ``1.5d``.

    A bare number is seconds.  The result is an int where it is whole, so
    that perfdata never shows ``900.0``.
    """
    compact = text.strip().lower()
    parts = _PART.findall(compact)
    if not compact or ''.join(n + u for n, u in parts) != compact:
        raise ValueError("not a duration: '%s' (use e.g. 90, 90s, 15m, 2h, 1d, 1w)"
                         % text)
    if len(parts) > 1 and not all(unit for _, unit in parts):
        raise ValueError("not a duration: '%s' (give each part a unit, as in 1h30m)"
                         % text)
    seconds = sum(float(number) * SECONDS_PER_UNIT[unit or 's']
                  for number, unit in parts)
    return int(seconds) if seconds == int(seconds) else seconds


def parse_range(text):
    """Return a nagiosplugin.Range whose bounds may be durations.

    ``15m`` is ``900``, ``@1h:2h`` is ``@3600:7200``; ``~`` and empty bounds
    keep their Nagios meaning.
    """
    spec = text.strip()
    invert = spec.startswith('@')
    if invert:
        spec = spec[1:]
    if spec in ('', ':'):
        raise ValueError("not a range: '%s'" % text)
    if ':' in spec:
        start, end = spec.split(':', 1)
        bounds = '%s:%s' % (_bound(start), _bound(end))
    else:
        bounds = _bound(spec)
    try:
        return nagiosplugin.Range(('@' if invert else '') + bounds)
    except ValueError as error:
        raise ValueError("not a range: '%s' (%s)" % (text, error))


def _bound(text):
    return text if text in ('', '~') else '%s' % parse_duration(text)


def format_duration(seconds):
    """Two units at most, as a human reads it: 45s, 5m3s, 11h46m, 3d4h."""
    seconds = int(seconds)
    if seconds < 60:
        return '%ds' % seconds
    for unit_seconds, unit, small_seconds, small in (
            (86400, 'd', 3600, 'h'), (3600, 'h', 60, 'm'), (60, 'm', 1, 's')):
        if seconds >= unit_seconds:
            big, rest = divmod(seconds, unit_seconds)
            rest //= small_seconds
            return '%d%s%s' % (big, unit, '%d%s' % (rest, small) if rest else '')
