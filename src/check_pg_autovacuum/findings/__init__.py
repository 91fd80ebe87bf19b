"""The findings, one module each, named as --only names it.

Each module declares everything about its finding, and imports no other:

  NAME         as --only and --skip name it
  SUMMARY      its lines in --help's list of findings
  PERFDATA     ((label, meaning), ...) for --help's table of perfdata
  PRIORITY     {metric: rank}: where its words go on the first line and in
               the long output among findings of the same state (causes
               first, see verdict.ranked())
  DURATIONS, COUNTS  (optional) the options that are thresholds: durations
               or Nagios ranges of them, numbers or Nagios ranges
  add_options(parser)     its options, with help and visible defaults
  check_options(args)     (optional) converts and checks the rest of them
  build(args, shared)     its Resource and Contexts, from the parsed
               options and what findings share (cli.Shared)

What findings share lives beside this package: the table statistics
(table_statistics.py, waits.py), the memory between runs, the server log
(serverlog/), connections, privileges, queries/.
"""
from __future__ import unicode_literals

from . import (
    analyze, blind, bloat, cancels, horizon, idle, vacuum, workers, wraparound)

# In this order --help lists them, --only names them and the check adds them.
# blind after vacuum and analyze: it reads along with their visit of every
# database.
REGISTRY = (idle, vacuum, analyze, blind, cancels, horizon, wraparound,
            workers, bloat)
NAMES = tuple(finding.NAME for finding in REGISTRY)
# Those that read the tables of every database.
READ_TABLES = ('vacuum', 'analyze', 'blind', 'horizon', 'wraparound', 'workers',
               'bloat')
