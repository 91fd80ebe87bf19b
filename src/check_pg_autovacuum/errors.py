"""The one exception type that ends a run as UNKNOWN with a single line."""
from __future__ import unicode_literals


class CheckError(Exception):
    """Something stops us from judging autovacuum; the text says what.

    The text becomes the status line after ``AUTOVACUUM UNKNOWN -``, so it
    must be one line, name the cause, and never hold a password.
    """
