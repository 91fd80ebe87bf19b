"""``python -m check_pg_autovacuum`` runs the plugin."""
from .cli import main

main()
