"""What the role must be allowed, checked before a finding trusts a view."""
from __future__ import unicode_literals

from . import queries
from .errors import CheckError


def require_stats_privilege(session):
    """Raise CheckError unless we see what other roles' sessions do.

    Without pg_read_all_stats (pg_monitor has it) their state and xmin read
    as NULL: we would report "none idle" while the culprit sits there.
    """
    if getattr(session, 'reads_all_stats', False):
        return  # asked already in this run
    role = session.rows(queries.can_read_all_stats(session.server_version))[0]
    session.reads_all_stats = role.can_read_all_stats
    if not role.can_read_all_stats:
        quoted = session.quote_ident(role.role_name)
        raise CheckError("role %s cannot see other roles' sessions; "
                         "run: GRANT pg_monitor TO %s" % (quoted, quoted))
