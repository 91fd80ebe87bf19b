"""Every SQL query the plugin sends, one function per query.

The SQL itself lives beside this file as ``NAME.sql``; a query whose text
depends on the server version has one file per version that changed it,
``NAME_post_130000.sql`` meaning "for server_version_num 130000 and up".
``ls`` shows every version branch; each function below says which exist.
"""
from __future__ import unicode_literals

import io
import os

_cache = {}
# Beside this file: the package is never installed zipped (setup.py says
# zip_safe=False), and pkgutil would cost some 5 ms of every run's start-up.
HERE = os.path.dirname(os.path.abspath(__file__))


def _load(filename):
    if filename not in _cache:
        with io.open(os.path.join(HERE, filename), encoding='utf-8') as sql:
            _cache[filename] = sql.read()
    return _cache[filename]


def can_read_all_stats(server_version):
    """Whether we see other roles' sessions in pg_stat_activity (10+)."""
    return _load('can_read_all_stats.sql')


def idle_in_transaction(server_version):
    """Client sessions idle in a transaction, longest idle first (10+)."""
    return _load('idle_in_transaction.sql')


def databases(server_version):
    """The databases to check, by name (10+)."""
    return _load('databases.sql')


def databases_still_there(server_version):
    """Which of the given databases exist now (10+)."""
    return _load('databases_still_there.sql')


def autovacuum_switches(server_version):
    """Whether autovacuum and track_counts are on (10+)."""
    return _load('autovacuum_switches.sql')


def tables_needing_autovacuum(server_version):
    """Tables past autovacuum's trigger, or with autovacuum disabled."""
    if server_version >= 180000:  # vacuum max threshold, all-frozen pages
        return _load('tables_needing_autovacuum_post_180000.sql')
    if server_version >= 130000:  # the insert trigger
        return _load('tables_needing_autovacuum_post_130000.sql')
    return _load('tables_needing_autovacuum.sql')


def running_vacuums(server_version):
    """Vacuums (and, 13+, analyzes and VACUUM FULLs) running now, per table."""
    if server_version >= 180000:  # delay_time
        return _load('running_vacuums_post_180000.sql')
    if server_version >= 130000:  # pg_stat_progress_analyze
        return _load('running_vacuums_post_130000.sql')
    return _load('running_vacuums.sql')


def blind_tables(server_version):
    """Tables that hold rows while their statistics were lost."""
    if server_version >= 130000:  # n_ins_since_vacuum
        return _load('blind_tables_post_130000.sql')
    return _load('blind_tables.sql')


def statistics_lost(server_version):
    """Per database: its stats reset, the server's start, the timeline (10+)."""
    return _load('statistics_lost.sql')


def statistics_since(server_version):
    """Each database's oid and stats_reset, for the memory (10+)."""
    return _load('statistics_since.sql')


def autovacuum_workers(server_version):
    """Autovacuum workers busy now, and how many there may be (10+)."""
    return _load('autovacuum_workers.sql')


def locks_against_autovacuum(server_version):
    """Locks held or wanted now that keep autovacuum out of a table (10+)."""
    return _load('locks_against_autovacuum.sql')


def server_identity(server_version):
    """Which cluster this is, for the memory between runs (10+)."""
    return _load('server_identity.sql')


def log_line_prefix(server_version):
    """The server's log_line_prefix, to parse its stderr log (10+)."""
    return _load('log_line_prefix.sql')


def horizon_holders(server_version):
    """Sessions, prepared transactions, slots and standbys holding xmin (10+)."""
    return _load('horizon_holders.sql')


def wraparound(server_version):
    """Transaction ID and multixact age per database (10+)."""
    return _load('wraparound.sql')


def blocked_anti_wraparound(server_version):
    """Anti-wraparound autovacuums waiting for a lock, with the blockers (10+)."""
    return _load('blocked_anti_wraparound.sql')


def oldest_tables(server_version):
    """The three tables with the oldest relfrozenxid in a database (10+)."""
    return _load('oldest_tables.sql')


def log_files(server_version):
    """The server's log files for --log-via-sql, oldest first."""
    if server_version >= 150000:  # jsonlog
        return _load('log_files_post_150000.sql')
    return _load('log_files.sql')


def read_log_file(server_version):
    """Bytes of a log file, by path, offset and length (10+)."""
    return _load('read_log_file.sql')


def big_tables(server_version):
    """Tables and TOAST tables of at least a size, by their pages (10+)."""
    return _load('big_tables.sql')


def bloat_estimates(server_version):
    """Given tables with their rows' width from pg_stats (10+)."""
    return _load('bloat_estimates.sql')


def toast_tables(server_version):
    """Given TOAST tables under their owners' names (10+)."""
    return _load('toast_tables.sql')


def pgstattuple_schema(server_version):
    """The pgstattuple extension's schema here, if any, and our right (10+)."""
    return _load('pgstattuple_schema.sql')


def pgstattuple_approx(server_version, schema):
    """One table measured by pgstattuple_approx in SCHEMA, quoted (10+)."""
    return _load('pgstattuple_approx.sql').replace('{schema}', schema)


def statement_timeout(server_version):
    """Set this session's statement_timeout to %(ms)s (10+)."""
    return _load('statement_timeout.sql')


def current_role(server_version):
    """The role we are connected as (10+)."""
    return _load('current_role.sql')


def valid_regex(server_version):
    """Whether %(regex)s is a regular expression the server takes (10+)."""
    return _load('valid_regex.sql')


def database_activity(server_version):
    """Per database, what moved since a run visited it (14+: sessions),
    and the server's start and autovacuum settings; None before 14, where
    every database is read every run."""
    if server_version >= 140000:
        return _load('database_activity_post_140000.sql')
    return None


def least_freeze_ages(server_version):
    """A database's least anti-wraparound ages, reloptions included (10+)."""
    return _load('least_freeze_ages.sql')
