"""One state from all findings; the summary line and the long output.

nagiosplugin ranks UNKNOWN above CRITICAL.  We rank as the Monitoring
Plugins do (CRITICAL > WARNING > UNKNOWN > OK): a table that is bloating is
more urgent than a database we could not read, but the unreadable database
is still named on the first line next to it.
"""
from __future__ import unicode_literals

import nagiosplugin

SEVERITY = [nagiosplugin.Ok, nagiosplugin.Unknown, nagiosplugin.Warn,
            nagiosplugin.Critical]


def worst_state(results):
    return max([result.state for result in results] or [nagiosplugin.Unknown],
               key=SEVERITY.index)


class AutovacuumCheck(nagiosplugin.Check):

    @property
    def state(self):
        return worst_state(self.results)

    @property
    def exitcode(self):
        return self.state.code


class AutovacuumSummary(nagiosplugin.Summary):
    """The first line names the worst finding; -v adds one line per problem."""

    def ok(self, results):
        return self.problem(results)

    def problem(self, results):
        worst = worst_state(results)
        shown = [r for r in results if r.state == worst]
        if worst != nagiosplugin.Unknown:
            shown += [r for r in results if r.state == nagiosplugin.Unknown]
        # Not str(result): on Python 2 that raises UnicodeEncodeError for
        # non-ASCII text.
        worded = ['{0}'.format(result) for result in shown]
        return '; '.join(text for text in worded if text)

    def verbose(self, results):
        lines = []
        for result in results:
            detail_lines = getattr(result.context, 'detail_lines', None)
            if detail_lines:
                lines.extend(detail_lines(result.metric))
        return lines
