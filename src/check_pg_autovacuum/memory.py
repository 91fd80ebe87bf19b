"""What earlier runs saw: since when something has held, run after run.

Some findings cannot be judged from one look: a table is overdue when it has
waited long *past its trigger*, a standby when it has held the same xmin for
long, the workers when they have been saturated for long.  Each run tells
the memory what holds now, as facts -- a key (a table's oid) and a value
(its last vacuum): a fact that held with the same value at the previous run
keeps the time it began; a new fact, or one whose value changed, begins
now, or at the estimate its finding gives.  Facts a run no longer reports
are forgotten, so the file holds only what is wrong, and stays small.
Other facts are the least value seen (a big table's size per row, the bloat
finding's second witness): kept while the table is big enough to judge; or
a measurement and when it was made (pgstattuple_approx's figure, repeated
only when the table changed much or the figure is old).

Facts live in scopes -- a database, the shared catalogs, the cluster --
and a run replaces only the scopes it looked at: a check of one database
leaves another check's databases alone.  A scope is believed only while
its identity (a database's oid and stats_reset, say) is unchanged, and the
whole memory only for the cluster that wrote it (its system identifier):
a server rebuilt at the same address starts afresh.

The file is a StateFile (statefile.py): replaced atomically, 0600, locked
while a run merges its scopes into it; a corrupt one is moved aside, said
once, and the memory starts afresh.  It is not fsync'd (see there).
"""
from __future__ import unicode_literals

import numbers

import nagiosplugin

from . import queries
from .errors import CheckError
from .statefile import (STRINGS, StateFile, StateFileCorrupt, default_path,
                        state_directory)
from .verdict import NoteContext

# Where its words go among the findings' (verdict.ranked()).
PRIORITY = {'memory': 17}

MAX_SIZE = 8 << 20
MAX_FACTS = 50000  # some 60 bytes each: 3 MB at the most
FORGET_SCOPES_AFTER = 30 * 86400  # unseen that long: nobody checks it any more
FINITE = (-1e12, 1e12)  # epoch seconds; NaN and infinities are out too


def memory_file(state_file_option, state_dir_option, host, port):
    """Beside --state-file when given; else one file per server address."""
    if state_file_option:
        path = state_file_option + '.memory'
    else:
        path = default_path(state_directory(state_dir_option),
                            'memory-%s-%s' % (host, port),
                            'memory %s %s' % (host, port))
    # Not fsync'd: a memory lost in a crash of the machine costs one run of
    # estimates, an fsync tens of milliseconds every run on a slow disk.
    return StateFile(path, _check_shape, MAX_SIZE, durable=False)


class Scope(object):
    """What this run saw of one part of the server.

    previous_look: when a run last looked at this scope (same identity),
    in the server's clock; None when no run we believe did.
    """

    def __init__(self, identity, saved, now):
        self.identity = identity
        self.now = now
        believed = saved is not None and saved['identity'] == identity
        # Saved under another identity: what it kept no longer holds.
        self.superseded = saved is not None and not believed
        self.previous_look = saved['looked'] if believed else None
        self._previous = saved['facts'] if believed else {}
        self.facts = {}

    def since(self, key, value, estimate=None):
        """Since when KEY has held VALUE, and how we know: 'remembered',
        'estimated' or 'seen' (first seen now).  Records it as holding.

        A fact the previous run did not see (or saw with another value)
        began after it looked, whatever the estimate says.
        """
        previous = self._previous.get(key)
        if previous is not None and previous[0] == value:
            since, how = previous[1], 'remembered'
        elif estimate is not None and estimate < self.now:
            since, how = estimate, 'estimated'
        else:
            since, how = self.now, 'seen'
        if how != 'remembered' and self.previous_look is not None \
                and since < self.previous_look:
            since, how = self.previous_look, 'seen'
        self.facts[key] = [value, since]
        return since, how

    def least(self, key, value):
        """The least value KEY has had, VALUE included, and since when it
        has been the least.  Records it."""
        previous = self._previous.get(key)
        if previous is not None and _is_number(previous[0]) \
                and previous[0] <= value:
            least, since = previous
        else:
            least, since = value, self.now
        self.facts[key] = [least, since]
        return least, since


    def recall(self, key):
        """The value KEY was last kept with, and since when: (None, None)
        for a fact no run we believe kept.  Not kept again by itself."""
        previous = self._previous.get(key)
        return (previous[0], previous[1]) if previous else (None, None)

    def keep(self, key, value, since):
        """Keep VALUE for KEY as of SINCE, for the next run."""
        self.facts[key] = [value, since]


class Memory(object):
    """The memory of one server, loaded at first use, saved at the end."""

    def __init__(self, state_file, session, deadline):
        self.state_file = state_file
        self.session = session
        self.deadline = deadline
        self.server = None
        self.problem = None  # what went wrong with the file, said once
        self.notes = []
        self._saved = None
        self._scopes = {}
        self._before_save = []

    def before_save(self, callback):
        """CALLBACK() records its facts just before the memory is saved:
        for what is known only once every finding has read."""
        self._before_save.append(callback)

    def open(self):
        """Load what earlier runs saw of this cluster; once."""
        if self._saved is not None:
            return
        identity = self.session.rows(
            queries.server_identity(self.session.server_version))[0]
        server = self.server = identity.system_identifier or \
            'started %s' % identity.started_epoch
        try:
            saved = self.state_file.load()
        except StateFileCorrupt as corrupt:
            self.problem = 'memory: %s and started afresh' % corrupt
            saved = None
        except CheckError as error:
            self.problem = 'memory: %s' % error
            saved = None
        if saved is not None and saved['server'] != server:
            self.notes.append('memory: %s was written for another cluster at '
                              'this address; started afresh'
                              % self.state_file.path)
            saved = None
        self._saved = saved['scopes'] if saved else {}

    def scope(self, name, identity, now):
        """The scope NAME for this run; looked at now (server clock)."""
        self.open()
        if name not in self._scopes:
            self._scopes[name] = Scope(identity, self._saved.get(name), now)
        return self._scopes[name]

    def save(self):
        """Merge the scopes this run looked at into the file, under its lock.

        Another run may have saved since we loaded: its other scopes stay.
        """
        for callback in self._before_save:
            callback()
        if not self._scopes:
            return
        try:
            self.state_file.lock(self.deadline)
            try:
                self.state_file.save(self._merged(self._latest()))
            finally:
                self.state_file.unlock()
        except CheckError as error:
            self.problem = self.problem or 'memory: %s' % error

    def _latest(self):
        try:
            latest = self.state_file.load()
        except StateFileCorrupt:
            return {}  # moved aside by now; said at open() if it was then
        if latest is None or latest['server'] != self.server:
            return {}
        return latest['scopes']

    def _merged(self, scopes):
        newest_look = max(scope.now for scope in self._scopes.values())
        merged = dict((name, scope) for name, scope in scopes.items()
                      if name not in self._scopes
                      and scope['looked'] > newest_look - FORGET_SCOPES_AFTER)
        room = MAX_FACTS
        for name, scope in sorted(self._scopes.items()):
            facts = dict(sorted(scope.facts.items())[:max(room, 0)])
            room -= len(facts)
            merged[name] = {'identity': scope.identity, 'looked': scope.now,
                            'facts': facts}
        return {'server': self.server, 'scopes': merged}


def _check_shape(state):
    """Raise KeyError, TypeError or ValueError unless STATE is a memory."""
    if not isinstance(state['server'], STRINGS):
        raise TypeError('server')
    if not isinstance(state['scopes'], dict):
        raise TypeError('scopes')
    for scope in state['scopes'].values():
        if not isinstance(scope['identity'], STRINGS):
            raise TypeError('identity')
        _require_time(scope['looked'])
        if not isinstance(scope['facts'], dict):
            raise TypeError('facts')
        for fact in scope['facts'].values():
            if not isinstance(fact, list) or len(fact) != 2:
                raise TypeError('fact')
            _require_time(fact[1])


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _require_time(value):
    if not _is_number(value):
        raise TypeError('time')
    if not FINITE[0] < value < FINITE[1]:
        raise ValueError('time out of range')



class RememberedRuns(nagiosplugin.Resource):
    """Saves what this run saw.  Added last, so that every finding has looked."""

    def __init__(self, memory):
        self.memory = memory

    def probe(self):
        self.memory.save()
        return nagiosplugin.Metric('memory', self.memory.problem or '',
                                   context='memory')


class MemoryContext(NoteContext):
    """A memory we could not read or write: UNKNOWN, named; the findings
    still judge, from estimates where the memory would have known."""

    hint = ('what to do: give --state-dir a directory that the user who '
            'runs the check may write')

    def __init__(self):
        super(MemoryContext, self).__init__('memory')

    def evaluate(self, metric, resource):
        state = nagiosplugin.Unknown if metric.value else nagiosplugin.Ok
        return self.result_cls(state, None, metric)

    def describe(self, metric):
        return metric.value or None

    def detail_lines(self, metric):
        return metric.resource.memory.notes
