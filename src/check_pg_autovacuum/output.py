"""The plugin output: status line with its perfdata first, long output after.

nagiosplugin moves the perfdata behind the long output with -v.  NRPE v2
keeps only the first 1 KB of a plugin's output, so we keep the guidelines'
other form -- "TEXT|PERFDATA" on the first line, the long output below --
and shorten an OK status text, finding by finding, so that the first line
with its perfdata fits into that kilobyte.  A problem's status is never
shortened: what is wrong, and what could not be read, matters more than the
last perfdata labels, which NRPE v2 may then cut (NRPE 3 and later,
Icinga 2's agent and Nagios itself keep far more).
"""
from __future__ import unicode_literals

import nagiosplugin
from nagiosplugin.output import Output

from .verdict import BETWEEN_FINDINGS

FIRST_LINE_BYTES = 1000  # of NRPE v2's 1024, with room for the newline


class PerfdataFirst(Output):

    def add(self, check):
        perfdata = self.format_perfdata(check)
        self.status = self.format_status(check)
        if check.state == nagiosplugin.Ok:
            self.status = _fit(self.status, perfdata)
        if perfdata:
            # "TEXT|PERFDATA", no blanks: Icinga 2 keeps everything before
            # the "|" as the output, a trailing blank included.
            self.status += '|' + perfdata[len('| '):]
        if self.verbose > 0:
            self.add_longoutput(check.verbose_str)


def _fit(status, perfdata):
    """STATUS cut at a finding boundary so that it fits with PERFDATA."""
    room = FIRST_LINE_BYTES - len(perfdata.encode('utf-8')) + 1
    if len(status.encode('utf-8')) <= room:
        return status
    findings = status.split(BETWEEN_FINDINGS)
    while len(findings) > 1 and len(
            (BETWEEN_FINDINGS.join(findings + ['...'])).encode('utf-8')) > room:
        findings.pop()
    shortened = BETWEEN_FINDINGS.join(findings + ['...'])
    while len(shortened.encode('utf-8')) > room and len(shortened) > 40:
        shortened = shortened[:-10] + '...'
    return shortened
