"""One state from all findings; the summary line and the long output."""
from __future__ import unicode_literals

import nagiosplugin


class AutovacuumSummary(nagiosplugin.Summary):
    """The first line names the worst finding; -v adds one line per problem."""

    def ok(self, results):
        return self.problem(results)

    def problem(self, results):
        # Not str(result): on Python 2 that raises UnicodeEncodeError for
        # non-ASCII text.
        worded = ['{0}'.format(result) for result in results.most_significant]
        return '; '.join(text for text in worded if text)

    def verbose(self, results):
        lines = []
        for result in results:
            detail_lines = getattr(result.context, 'detail_lines', None)
            if detail_lines:
                lines.extend(detail_lines(result.metric))
        return lines
