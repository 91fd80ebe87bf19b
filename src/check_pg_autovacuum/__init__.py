"""check_pg_autovacuum: is PostgreSQL autovacuum doing its job, and if not, why?"""
from .version import __version__  # noqa: F401
