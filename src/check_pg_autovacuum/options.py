"""Options: the groups findings share, and how values are checked.

Values are converted after argparse, not by its type functions: Python 2's
argparse replaces a non-ASCII message of a type function by a generic one.
Every bad value is a UsageError: one line, UNKNOWN, never argparse's exit 2
(which Nagios reads as CRITICAL).
"""
from __future__ import unicode_literals

import re

import nagiosplugin

from .durations import parse_duration, parse_range
from .errors import CheckError

SIZE_UNITS = {'': 1, 'b': 1, 'kb': 1 << 10, 'mb': 1 << 20, 'gb': 1 << 30,
              'tb': 1 << 40}


class UsageError(CheckError):
    pass


def option_group(parser, title):
    """PARSER's argument group TITLE, made on first use: the vacuum and
    analyze findings and the databases' options share one."""
    for group in parser._action_groups:
        if group.title == title:
            return group
    return parser.add_argument_group(title)


def convert(args, dest, parse):
    """ARGS.DEST through PARSE; a ValueError names the option."""
    try:
        setattr(args, dest, parse(getattr(args, dest)))
    except ValueError as error:
        raise UsageError('argument --%s: %s (see --help)'
                         % (dest.replace('_', '-'), error))


def durations(args, dests):
    """Thresholds given as durations or ranges of them (15m, @1h:2h)."""
    for dest in dests:
        convert(args, dest, parse_range)


def counts(args, dests):
    """Thresholds given as numbers or Nagios ranges (50%, 10:20)."""
    for dest in dests:
        convert(args, dest, count_range)


def duration(args, dest):
    convert(args, dest, parse_duration)


def count_range(text):
    try:
        # 50% means 50: the percent sign is welcome, not required.
        return nagiosplugin.Range(text.replace('%', ''))
    except ValueError:
        raise ValueError("not a number or range of numbers: '%s'" % text)


def whole_number(option, text, least, most, unit=''):
    if not re.match(r'^\d+$', text) or not least <= int(text) <= most:
        raise UsageError("argument %s: not a whole number %sfrom %d to %d: "
                         "'%s' (see --help)" % (option, unit, least, most, text))
    return int(text)


def size(option, text):
    """'100MB' -> 104857600: PostgreSQL's units, 1 kB = 1024 bytes."""
    match = re.match(r'^(\d{1,15})\s*([a-zA-Z]*)$', text.strip())
    if not match or match.group(2).lower() not in SIZE_UNITS:
        raise UsageError("argument %s: not a size (bytes, or with kB, MB, GB, "
                         "TB): '%s' (see --help)" % (option, text))
    return int(match.group(1)) * SIZE_UNITS[match.group(2).lower()]
