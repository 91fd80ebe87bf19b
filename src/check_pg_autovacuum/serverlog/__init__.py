"""The server log: what autovacuum's cancellations leave behind, read exactly once.

When an application's locks keep cancelling autovacuum, the only trace is an
``ERROR:  canceling autovacuum task`` in the server log.  This package finds
those entries (formats.py), reads each byte of the log exactly once across
runs, rotations and truncations (tail.py), and keeps its place in a state
file that survives a crash at any instant (state.py).
"""
