"""Is autovacuum itself keeping up?  Seen live, without the log.

Three things make autovacuum fail before any log line or overdue table
tells:

- locks that keep it out: it takes SHARE UPDATE EXCLUSIVE, so it skips a
  table on which another session holds that or a stronger mode, and a
  request for one while it runs there cancels it (after deadlock_timeout).
  An application that holds such a lock on a table that needs vacuum --
  LOCK TABLE ... IN EXCLUSIVE MODE, left idle in its transaction -- keeps
  autovacuum out as long as it holds it;
- vacuums that never finish: throttled by the cost limits, or making
  several index passes because maintenance_work_mem (autovacuum_work_mem)
  holds too few dead row pointers for the table;
- workers that cannot keep up: all autovacuum_max_workers busy while tables
  wait past their trigger, for long (the memory between runs says since
  when).
"""
from __future__ import unicode_literals

import nagiosplugin

from .. import queries, words
from ..durations import format_duration
from ..table_statistics import qualified_name
from ..verdict import FindingContext
from ..waits import describe_running

NAME = 'workers'
SUMMARY = """\
  workers  autovacuum's own health, seen live: locks that keep it out of
           tables that need vacuum (and requests about to cancel it),
           vacuums that run too long and why, all workers busy for long
           while tables wait
"""
PERFDATA = (
    ('autovacuum_blocking_locks', 'locks that keep autovacuum out of a table '
     'that\nneeds vacuum, or are about to cancel it'),
    ('autovacuum_blocking_lock_age_max', 'longest held among them (s)'),
    ('vacuums_running', 'vacuums and analyzes running now, any kind'),
    ('vacuum_runtime_max', 'longest-running autovacuum on one table (s)'),
    ('autovacuum_workers_busy', 'autovacuum workers at work (max: all there are)'),
    ('autovacuum_workers_saturated', 'how long all have been busy while tables'
     '\nwait past their trigger (s)'),
)
PRIORITY = {'autovacuum_blocking_lock_age_max': 5,
            'autovacuum_workers_saturated': 9, 'vacuum_runtime_max': 10}
DURATIONS = ('lock_warning', 'lock_critical', 'vacuum_runtime_warning',
             'vacuum_runtime_critical', 'workers_warning')


def add_options(parser):
    workers = parser.add_argument_group("autovacuum's own health")
    workers.add_argument('--lock-warning', default='15m', metavar='DURATION',
                         help='how long a lock that keeps autovacuum out of a '
                         'table that needs vacuum may be held before WARNING, '
                         'counted from the holding transaction\'s start '
                         '(default: %(default)s, as --idle-warning)')
    workers.add_argument('--lock-critical', default='1h', metavar='DURATION',
                         help='... before CRITICAL (default: %(default)s)')
    workers.add_argument('--vacuum-runtime-warning', default='6h',
                         metavar='DURATION', help='how long an autovacuum may '
                         'run on one table before WARNING (default: '
                         '%(default)s: longer, and the dead rows it was started '
                         'for have doubled on a busy table)')
    workers.add_argument('--vacuum-runtime-critical', default='1d',
                         metavar='DURATION',
                         help='... before CRITICAL (default: %(default)s)')
    workers.add_argument('--workers-warning', default='1h', metavar='DURATION',
                         help='how long all autovacuum_max_workers may be busy '
                         'while tables wait past their trigger before WARNING '
                         '(default: %(default)s, sixty naptimes)')


def build(args, shared):
    return [AutovacuumHealth(shared.session, shared.statistics, shared.memory),
            LockAgeContext(args.lock_warning, args.lock_critical),
            VacuumRuntimeContext(args.vacuum_runtime_warning,
                                 args.vacuum_runtime_critical),
            WorkersSaturatedContext(args.workers_warning)]

MODES = {'ShareUpdateExclusiveLock': 'SHARE UPDATE EXCLUSIVE',
         'ShareLock': 'SHARE', 'ShareRowExclusiveLock': 'SHARE ROW EXCLUSIVE',
         'ExclusiveLock': 'EXCLUSIVE', 'AccessExclusiveLock': 'ACCESS EXCLUSIVE'}


class LockAgainstAutovacuum(object):
    """A lock held on a table that needs vacuum, or wanted on one that an
    autovacuum works on now."""

    def __init__(self, lock, table_name, needs_vacuum, worker=None):
        self.lock = lock
        self.table_name = table_name
        self.needs_vacuum = needs_vacuum
        self.worker = worker  # the autovacuum a waiter is about to cancel
        self.seconds = max(0, int(lock.now_epoch - lock.since_epoch)) \
            if lock.since_epoch is not None else 0


class AutovacuumHealth(nagiosplugin.Resource):
    """Locks against autovacuum, vacuums running, workers busy."""

    def __init__(self, session, statistics, memory=None):
        self.session = session
        self.statistics = statistics
        self.memory = memory
        self.locks = []
        self.vacuums = []
        self.workers = None
        self.saturated_seconds = 0
        self.tables_waiting = []

    def probe(self):
        version = self.session.server_version
        tables = self.statistics.tables()
        self.vacuums = sorted(self.statistics.running,
                              key=lambda v: v.started_epoch or v.now_epoch)
        self.locks = self._locks(tables, self.session.rows(
            queries.locks_against_autovacuum(version)))
        self.workers = self.session.rows(queries.autovacuum_workers(version))[0]
        # What the workers should be at: past the trigger, waiting, and
        # not disabled for autovacuum.
        self.tables_waiting = [t for t in tables if t.vacuum_wait
                               and not t.vacuum_wait.running
                               and t.vacuum_wait.seconds > 0
                               and t.autovacuum_enabled]
        self.saturated_seconds = self._saturated_for()
        autovacuums = [v for v in self.vacuums if v.by_autovacuum]
        return [
            nagiosplugin.Metric('autovacuum_blocking_locks', len(self.locks),
                                min=0, context='count'),
            nagiosplugin.Metric('autovacuum_blocking_lock_age_max',
                                max([l.seconds for l in self.locks
                                     if l.lock.granted] or [0]), 's', min=0,
                                context='autovacuum_blocking_lock_age_max'),
            nagiosplugin.Metric('vacuums_running', len(self.vacuums), min=0,
                                context='count'),
            nagiosplugin.Metric('vacuum_runtime_max',
                                max([_runtime(v) for v in autovacuums] or [0]),
                                's', min=0, context='vacuum_runtime_max'),
            nagiosplugin.Metric('autovacuum_workers_busy', self.workers.busy,
                                min=0, max=self.workers.max_workers,
                                context='count'),
            nagiosplugin.Metric('autovacuum_workers_saturated',
                                self.saturated_seconds, 's', min=0,
                                context='autovacuum_workers_saturated'),
        ]

    def _locks(self, tables, locks):
        needing = dict(((t.database_oid, t.relid), t) for t in tables
                       if t.vacuum_wait)
        working = dict(((v.database_oid, v.relid), v) for v in
                       self.statistics.running if v.by_autovacuum)
        found = []
        for lock in locks:
            key = (lock.database_oid, lock.relid)
            if lock.granted and key in needing:
                found.append(LockAgainstAutovacuum(
                    lock, qualified_name(needing[key]), True))
            elif not lock.granted and key in working:
                worker = working[key]
                name = qualified_name(needing[key]) if key in needing else \
                    '%s.%s' % (worker.database, worker.autovacuum_table or
                               lock.local_name or 'relation %s' % lock.relid)
                found.append(LockAgainstAutovacuum(lock, name, key in needing,
                                                   worker))
        return found

    def _saturated_for(self):
        """Since when all workers have been busy with tables waiting."""
        saturated = self.workers.busy >= self.workers.max_workers \
            and bool(self.tables_waiting)
        if self.memory is None:
            return 0
        scope = self.memory.scope('workers', '%s' % self.workers.started_epoch,
                                  self.workers.now_epoch)
        if not saturated:
            return 0
        since, _ = scope.since('saturated', True)
        return max(0, int(self.workers.now_epoch - since))


def _runtime(vacuum):
    if vacuum.started_epoch is None:
        return 0
    return max(0, int(vacuum.now_epoch - vacuum.started_epoch))


def describe_lock(found):
    """'pid 4711 (app zodb, idle in transaction 3m) holds EXCLUSIVE on
    abc-hans.public.object_state, which needs vacuum: autovacuum cannot run
    there'."""
    lock = found.lock
    if lock.pid is None:
        who = "prepared transaction '%s'" % (lock.gid or '?')
    else:
        who = 'pid %s (app %s, %s %s)' % (
            lock.pid, lock.application_name or '-', lock.state or 'active',
            format_duration(found.seconds))
    mode = MODES.get(lock.mode, lock.mode)
    if lock.granted:
        return '%s holds %s on %s, which needs vacuum: autovacuum cannot run ' \
            'there' % (who, mode, found.table_name)
    return '%s waits for %s on %s while autovacuum pid %s works there: it is ' \
        'about to cancel it' % (who, mode, found.table_name, found.worker.pid)


def diagnose(vacuum):
    """What makes a vacuum slow, where the server tells."""
    notes = []
    passes = index_passes(vacuum)
    if passes:
        notes.append('%s: its dead rows fill %s; raise it' % (
            passes, 'autovacuum_work_mem (maintenance_work_mem where that is '
            '-1)' if vacuum.by_autovacuum else 'maintenance_work_mem (SET in '
            'the session that runs the VACUUM)'))
    runtime = _runtime(vacuum)
    if vacuum.delay_ms is not None and runtime > 0:
        share = min(100, int(100 * vacuum.delay_ms / 1000.0 / runtime))
        notes.append('throttled %d%% of the time%s' % (
            share, '; raise autovacuum_vacuum_cost_limit' if share >= 50 else ''))
    return notes


def index_passes(vacuum):
    """'2nd index pass' once the dead row pointers have filled the memory:
    a pass done (index_vacuum_count) and the heap scan not, or a pass
    beyond the first; None while one pass may do."""
    done = vacuum.index_vacuum_count or 0
    if vacuum.phase == 'vacuuming indexes':
        return words.ordinal(done + 1) + ' index pass' if done else None
    if done > 1 or (done == 1 and vacuum.phase == 'scanning heap'):
        return '%d index passes so far' % done
    return None


class LockAgeContext(FindingContext):
    """Judges how long the oldest lock against autovacuum has been held."""

    def what_to_do(self, metric):
        pids = [l.lock.pid for l in metric.resource.locks
                if l.lock.granted and l.lock.pid]
        end = ', or %s' % words.terminate(pids) if pids else ''
        return ('what to do: end the transaction that holds the lock (COMMIT '
                'or ROLLBACK in the application%s), and fix the application '
                'that takes LOCK TABLE or DDL and then waits' % end)

    def __init__(self, warning, critical):
        super(LockAgeContext, self).__init__(
            'autovacuum_blocking_lock_age_max', warning, critical)

    def describe(self, metric):
        held = [l for l in metric.resource.locks if l.lock.granted]
        if not held:
            return None if metric.resource.locks else \
                'no lock keeps autovacuum out'
        oldest = max(held, key=lambda l: l.seconds)
        more = len(metric.resource.locks) - 1
        return '%s%s' % (describe_lock(oldest), ' (and %d more)' % more
                         if more else '')

    def detail_lines(self, metric):
        return words.capped([describe_lock(l) for l in metric.resource.locks],
                            'locks')


class VacuumRuntimeContext(FindingContext):
    """Judges the longest-running autovacuum; says what slows it."""

    hint = ('what to do: a vacuum that takes this long is throttled '
            '(autovacuum_vacuum_cost_limit, cost_delay) or short of memory '
            '(autovacuum_work_mem): raise them for this table')

    def __init__(self, warning, critical):
        super(VacuumRuntimeContext, self).__init__(
            'vacuum_runtime_max', warning, critical)

    def describe(self, metric):
        if self.warning.match(metric.value) and self.critical.match(metric.value):
            return None
        longest = max([v for v in metric.resource.vacuums if v.by_autovacuum],
                      key=_runtime)
        return 'autovacuum of %s runs for %s%s' % (
            _vacuum_table(longest), format_duration(_runtime(longest)),
            ''.join('; %s' % note for note in diagnose(longest)))

    def detail_lines(self, metric):
        lines = []
        for vacuum in metric.resource.vacuums:
            notes = diagnose(vacuum)
            if vacuum.delay_ms is None and vacuum.command == 'vacuum':
                notes.append('how long it slept is not known (PostgreSQL 18 '
                             'tells, with track_cost_delay_timing = on)')
            lines.append('%s: %s%s' % (
                _vacuum_table(vacuum), describe_running(vacuum),
                ''.join('; %s' % note for note in notes)))
        return words.capped(lines, 'vacuums')


def _vacuum_table(vacuum):
    if vacuum.autovacuum_table:
        return '%s.%s' % (vacuum.database, vacuum.autovacuum_table)
    if vacuum.statement:
        return '%s, relation %s (%s)' % (vacuum.database, vacuum.relid,
                                         vacuum.statement)
    return '%s, relation %s' % (vacuum.database, vacuum.relid)


class WorkersSaturatedContext(FindingContext):
    """All workers busy with tables waiting, for long: WARNING only."""

    hint = ('what to do: autovacuum falls behind: raise autovacuum_max_workers '
            'and the cost limit (autovacuum_vacuum_cost_limit is shared by the '
            'workers), or vacuum the waiting tables by hand')

    def __init__(self, warning):
        super(WorkersSaturatedContext, self).__init__(
            'autovacuum_workers_saturated', warning)

    def describe(self, metric):
        resource = metric.resource
        if not resource.saturated_seconds:
            return '%d of %d autovacuum workers busy' % (
                resource.workers.busy, resource.workers.max_workers)
        return 'all %d autovacuum workers busy for %s while %s past the ' \
            'trigger' % (resource.workers.max_workers,
                         format_duration(resource.saturated_seconds),
                         words.plural(len(resource.tables_waiting), 'table')
                         + (' waits' if len(resource.tables_waiting) == 1
                            else ' wait'))

    def detail_lines(self, metric):
        resource = metric.resource
        if resource.workers is None:
            return []
        return ['autovacuum workers: %d of %d busy%s' % (
            resource.workers.busy, resource.workers.max_workers,
            '; %s waiting past the trigger' % words.plural(
                len(resource.tables_waiting), 'table')
            if resource.tables_waiting else '')]
