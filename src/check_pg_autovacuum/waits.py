"""How long a table has waited past autovacuum's trigger.

A table vacuumed three days ago that crossed its trigger a minute ago has
waited a minute: autovacuum will be there within autovacuum_naptime.  So
the wait runs from the crossing, which the memory between runs (memory.py)
keeps for each table past a trigger:

- seen past its trigger by an earlier run, with the same last vacuum
  (analyze): the wait began when that run first saw it, or at the estimate
  it made;
- not past it at the previous run: it crossed since, so the wait began no
  earlier than that run;
- no run looked before (the first run, a new memory): the crossing is
  estimated.  Dead rows (inserted, changed rows) accrue from the last
  vacuum (analyze), or, for a table never vacuumed, from when statistics
  began; at an even pace they crossed the trigger at
  ``start + (now - start) * trigger / count``.  A table never vacuumed
  whose rows were only ever inserted may have been loaded a second ago:
  nothing in the statistics tells, so its wait begins when it is first
  seen;
- being vacuumed (analyzed) now: the wait ended when that vacuum began
  (a vacuum takes each table in a transaction of its own); with no run
  that saw the crossing, it is taken to be when that vacuum began.  The
  memory keeps the crossing until a vacuum completes, and a vacuum that
  keeps being cancelled begins anew each time: the wait shows again.
"""
from __future__ import unicode_literals

import collections

from . import words
from .durations import format_duration

# seconds: past the trigger; since: the crossing (server clock); how:
# 'remembered', 'estimated' or 'seen'; running: the vacuum running now.
Wait = collections.namedtuple('Wait', 'seconds since how running')

# What ends a table's wait, for vacuum and for analyze.  A vacuum also
# holds off analyze: it holds the lock autovacuum would need, and an
# autovacuum worker analyzes a table it vacuums right after, if due.
ACTIVITIES = {'vacuum': ('vacuum', 'vacuum full'),
              'analyze': ('analyze', 'vacuum', 'vacuum full')}
SHARED = None  # the scope key of the shared catalogs


class Table(object):
    """A row of tables_needing_autovacuum, with its waits worked out."""

    def __init__(self, row):
        self.row = row
        self.vacuum_wait = None  # a Wait while past the vacuum trigger
        self.analyze_wait = None

    def __getattr__(self, name):
        return getattr(self.row, name)


def judge_waits(rows, running_vacuums, scopes=None):
    """Tables from ROWS (shared catalogs once), their waits worked out.

    SCOPES: from table_scopes(), or None to judge from estimates alone.
    """
    running = dict(((r.database_oid, r.relid, r.command), r)
                   for r in running_vacuums)
    tables = [Table(row) for row in shared_catalogs_once(rows)]
    for table in tables:
        scope = None if scopes is None else \
            scopes.get(SHARED if table.shared else table.database)
        if table.dead_rows_past_trigger or table.inserts_past_trigger:
            table.vacuum_wait = _wait(table, 'vacuum', scope, running)
        if table.needs_analyze:
            table.analyze_wait = _wait(table, 'analyze', scope, running)
    return tables


def table_scopes(memory, databases):
    """{database name: its Scope, SHARED: the shared catalogs' Scope} for
    DATABASES, rows of statistics_since.sql for the databases read.

    Every database read is looked at, also one with no table past a
    trigger: the next run then knows that none was.  A scope is believed
    for the same database oid with no stats reset since.
    """
    scopes = dict((d.database, memory.scope(
        'database %s' % d.database, '%s %s' % (d.database_oid, d.stats_reset),
        d.now_epoch)) for d in databases)
    if databases:
        scopes[SHARED] = memory.scope('shared catalogs', '',
                                      databases[0].now_epoch)
    return scopes


def shared_catalogs_once(rows):
    """Each database shows the shared catalogs (pg_database, pg_authid ...),
    with the same counters: keep the first."""
    seen, kept = set(), []
    for row in rows:
        if row.shared:
            if row.relid in seen:
                continue
            seen.add(row.relid)
        kept.append(row)
    return kept


def _wait(table, activity, scope, running):
    done = table.last_vacuum_epoch if activity == 'vacuum' else \
        table.last_analyze_epoch
    vacuum = _running(table, activity, running)
    # A vacuum running now proves nothing about the time before it began:
    # one that LOCK TABLE cancels again and again always looks a second
    # old.  The wait runs from the crossing (remembered, else estimated)
    # up to that vacuum's start; only a vacuum that completes ends it.
    estimate = _estimated_crossing(table, activity, done)
    if scope is None:
        since, how = (estimate, 'estimated') if estimate is not None else \
            (table.now_epoch, 'seen')
    else:
        since, how = scope.since('%s %s' % (table.relid, activity), done,
                                 estimate)
    until = table.now_epoch
    if vacuum is not None and vacuum.started_epoch is not None:
        until = min(until, vacuum.started_epoch)
    return Wait(max(0, int(until - since)), since, how, vacuum)


def _estimated_crossing(table, activity, done):
    """When the counts crossed the trigger, if they accrued evenly since the
    last vacuum (analyze); None when that cannot be told."""
    if done is None and not table.updated_or_deleted:
        return None  # only inserts, never vacuumed: perhaps loaded just now
    start = done if done is not None else table.stats_since_epoch
    if activity == 'vacuum':
        counts = [(table.n_dead_tup, table.vacuum_trigger)]
        if table.inserts_past_trigger:
            counts.append((table.n_ins_since_vacuum, table.insert_trigger))
    else:
        counts = [(table.n_mod_since_analyze, table.analyze_trigger)]
    shares = [float(trigger) / count for count, trigger in counts
              if count > trigger]
    return start + (table.now_epoch - start) * min(shares) if shares else None


def _running(table, activity, running):
    for command in ACTIVITIES[activity]:
        vacuum = running.get((table.database_oid, table.relid, command))
        if vacuum is not None:
            return vacuum
    return None


def describe_wait(table, activity):
    """'past its trigger for 3m (estimated), last vacuumed 2d ago'."""
    wait = table.vacuum_wait if activity == 'vacuum' else table.analyze_wait
    done = table.last_vacuum_epoch if activity == 'vacuum' else \
        table.last_analyze_epoch
    past = {'vacuum': 'vacuumed', 'analyze': 'analyzed'}[activity]
    return 'past its trigger for %s%s, %s' % (
        format_duration(wait.seconds),
        ' (estimated)' if wait.how == 'estimated' else '',
        'never %s' % past if done is None else 'last %s %s' % (
            past, words.ago(max(0, table.now_epoch - done))))


def describe_running(vacuum):
    """'being vacuumed by pid 4711 (autovacuum) for 2h10m, phase scanning
    heap, 41% scanned'."""
    doing = {'vacuum': 'vacuumed', 'vacuum full': 'rewritten by VACUUM FULL',
             'analyze': 'analyzed'}[vacuum.command]
    text = 'being %s by pid %s (%s)' % (
        doing, vacuum.pid, 'autovacuum' if vacuum.by_autovacuum else 'manual')
    if vacuum.started_epoch is not None:
        text += ' for %s' % format_duration(
            max(0, vacuum.now_epoch - vacuum.started_epoch))
    text += ', phase %s' % vacuum.phase
    if vacuum.blocks_total:
        text += ', %d%% %s' % (
            100 * vacuum.blocks_done // vacuum.blocks_total,
            'sampled' if vacuum.command == 'analyze' else 'scanned')
    return text


def needs(number):
    return '%s need%s' % (words.plural(number, 'table'), 's' if number == 1 else '')


def being(wait):
    return ', being %s' % ('analyzed' if wait.running.command == 'analyze'
                           else 'vacuumed') if wait.running else ''


def since_statistics(table, never):
    """For a table never vacuumed: how long statistics have been kept."""
    return '; statistics began %s ago' % format_duration(
        max(0, table.now_epoch - table.stats_since_epoch)) if never else ''


def running_detail(wait):
    return '; %s' % describe_running(wait.running) if wait.running else ''


def how_known(wait):
    if wait.how == 'estimated':
        return ' (estimated from the pace the rows accrued at)'
    return ''
