"""One state from all findings; the summary line and the long output.

nagiosplugin ranks UNKNOWN above CRITICAL.  We rank as the Monitoring
Plugins do (CRITICAL > WARNING > UNKNOWN > OK): a table that is bloating is
more urgent than a database we could not read, but the unreadable database
is still named on the first line next to it.
"""
from __future__ import unicode_literals

import re

import nagiosplugin

# "|" starts the perfdata in plugin output; nagiosplugin would drop it from
# names and print a warning line.  A name keeps its look with a broken bar.
PIPE_STAND_IN = '\u00a6'


def plugin_text(text):
    """TEXT fit for a line of plugin output: no "|", no line break."""
    return ' '.join(text.replace('|', PIPE_STAND_IN).splitlines())


class Explained(object):
    """What every context of ours says beyond its result, for the long
    output: detail_lines() with -v, what_to_do() with -vv (by default its
    fixed hint, where it has one)."""

    hint = None

    def detail_lines(self, metric):
        """One line per problem (or per holder, table, session ...)."""
        return []

    def what_to_do(self, metric):
        """The advice, in the statements a DBA types; None for none."""
        return self.hint


class NoteContext(Explained, nagiosplugin.Context):
    """A plain context that judges its metric itself (evaluate())."""


class CountContext(Explained, nagiosplugin.ScalarContext):
    """Counts that go into perfdata without thresholds of their own."""

    def __init__(self):
        super(CountContext, self).__init__('count', fmt_metric=None)


class FindingContext(Explained, nagiosplugin.ScalarContext):
    """A ScalarContext whose result its describe() words.

    The range a value violated ("outside range 0:900") says less than the
    finding's own description, so it is left out.
    """

    def evaluate(self, metric, resource):
        result = super(FindingContext, self).evaluate(metric, resource)
        return self.result_cls(result.state, None, metric)


class AnyFoundContext(Explained, nagiosplugin.ScalarContext):
    """A count where one is already too many: OK at 0, else STATE_WHEN_ANY.

    No threshold to set: a blocked anti-wraparound autovacuum, an inactive
    replication slot or an unreadable database is never fine.
    """
    state_when_any = nagiosplugin.Warn

    def evaluate(self, metric, resource):
        state = self.state_when_any if metric.value else nagiosplugin.Ok
        return self.result_cls(state, None, metric)


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


def ranked(priorities):
    """The metric names of PRIORITIES ({name: rank}, from every finding)
    in the order findings of the same state are named: causes first."""
    return tuple(sorted(priorities, key=lambda name: priorities[name]))


# Not "; ": Nagios shows a ";" of the first line as ":", which would make
# the next finding read as the explanation of the one before.
BETWEEN_FINDINGS = ' / '
ADVICE = re.compile(r' \(what to do: [^()]*\)$')


def _advice_once(texts):
    """TEXTS with a repeated "(what to do: ...)" kept on the last only: the
    log's position and the memory, in one unwritable directory, fail alike."""
    said = []
    for index in reversed(range(len(texts))):
        advice = ADVICE.search(texts[index])
        if advice and advice.group() in said:
            texts[index] = texts[index][:advice.start()]
        elif advice:
            said.append(advice.group())
    return texts


class AutovacuumSummary(nagiosplugin.Summary):
    """The first line names the worst findings, causes first.

    -v adds one line per problem, -vv a line on what to do about each kind
    of problem.
    """

    def __init__(self, verbosity=0, priority=()):
        self.verbosity = verbosity
        self.priority = priority  # metric names, causes first (ranked())

    def _rank(self, result):
        name = result.metric.name if result.metric else ''
        return self.priority.index(name) if name in self.priority \
            else len(self.priority)

    def ok(self, results):
        return self.problem(results)

    def problem(self, results):
        worst = worst_state(results)
        shown = sorted([r for r in results if r.state == worst], key=self._rank)
        if worst != nagiosplugin.Unknown:
            shown += sorted([r for r in results if r.state == nagiosplugin.Unknown],
                            key=self._rank)
        # Not str(result): on Python 2 that raises UnicodeEncodeError for
        # non-ASCII text.
        worded = ['{0}'.format(result) for result in shown]
        return plugin_text(BETWEEN_FINDINGS.join(_advice_once(
            [text for text in worded if text])))

    def verbose(self, results):
        # nagiosplugin's own results (none came) have no context.
        ordered = sorted([r for r in results if r.context is not None],
                         key=self._rank)
        lines = []
        for result in ordered:
            lines.extend(result.context.detail_lines(result.metric))
        if self.verbosity >= 2:
            hints = [result.context.what_to_do(result.metric)
                     for result in ordered if result.state != nagiosplugin.Ok]
            hints = [hint for hint in hints if hint]
            lines.extend(sorted(set(hints), key=hints.index))
        # One line each: a newline inside a name must not start a new one.
        return [plugin_text(line) for line in lines]
