"""Where we stopped reading the log, in a state file (see statefile.py)."""
from __future__ import unicode_literals

import numbers
import os

from ..statefile import (STRINGS, StateFile, default_path, require_types,
                         state_directory)

MAX_SIZE = 1 << 16  # ours are some 300 bytes
POSITION_TYPES = (('path', STRINGS), ('device', numbers.Integral),
                  ('inode', numbers.Integral), ('offset', numbers.Integral),
                  ('mtime', numbers.Real), ('fingerprint', STRINGS))


def position_file(path, state_dir, log_pattern):
    """The state file at PATH, else a file per log in the state directory."""
    return StateFile(path or default_path(state_directory(state_dir),
                                          log_pattern,
                                          os.path.abspath(log_pattern)),
                     _check_shape, MAX_SIZE)


def _check_shape(state):
    position = state['position']
    require_types(position, POSITION_TYPES)
    if not 0 <= position['offset'] < 1 << 63:  # what lseek() takes
        raise ValueError('offset out of range')
    if not -1e12 < position['mtime'] < 1e12:  # NaN and infinities too
        raise ValueError('mtime out of range')
