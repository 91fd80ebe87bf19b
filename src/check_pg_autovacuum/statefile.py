"""What a run leaves for the next one: a state file that survives any crash.

The log reader keeps its position in one (serverlog/), the memory of what
earlier runs saw in another (memory.py); both are made this way.

The file is replaced, never rewritten: a temporary file in the same
directory is written, flushed and fsync'd, renamed over the old one, and
the directory is fsync'd.  Killed at any instant, the state is either the
old one or the new one, never half of each.  A state that is only a help
(the memory: lost, the next run estimates again) can skip the two fsyncs,
which cost tens of milliseconds on a slow disk, every run; a crash of the
machine may then lose it, or leave it empty: corrupt, said once.  Runs that overlap (a Nagios
retry and a manual run) take turns through a lock on a companion file --
the state file itself is replaced, so it cannot carry the lock.
"""
from __future__ import unicode_literals

import errno
import fcntl
import hashlib
import json
import os
import pwd
import re
import stat
import tempfile
import time

from .errors import CheckError

FORMAT = 1
STRINGS = (type(''), str)  # unicode and str on Python 2


class StateFileCorrupt(Exception):
    """The state file could not be understood; it has been moved aside."""

    def __init__(self, path, moved_to):
        super(StateFileCorrupt, self).__init__(
            'state file %s was corrupt; moved it to %s' % (path, moved_to))


def state_directory(option=None, system_directory=None):
    """--state-dir when given; else SYSTEM_DIRECTORY (a package's, made for
    the user that runs checks) when the running user owns it; else the
    user's state directory (XDG).

    Someone else -- root trying the check by hand -- keeps a memory of
    their own, rather than leave files in the package's directory that its
    owner could not lock or replace.
    """
    if option:
        return option
    if system_directory and _owned_directory(system_directory):
        return system_directory
    base = os.environ.get('XDG_STATE_HOME') or os.path.join(
        os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, 'check_pg_autovacuum')


def _owned_directory(path):
    try:
        status = os.stat(path)
    except OSError:
        return False
    return stat.S_ISDIR(status.st_mode) and status.st_uid == os.geteuid()


def default_path(directory, name, identity):
    """A file in DIRECTORY, named after NAME and told apart from others of
    that name by a digest of IDENTITY."""
    readable = re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-')[-80:]
    digest = hashlib.sha1(identity.encode('utf-8')).hexdigest()
    return os.path.join(directory, '%s-%s.json' % (readable, digest[:10]))


def _reason(error):
    """The system's reason, and for a place we may not write what to do."""
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ('%s (what to do: give --state-dir a directory that user %s '
                'may write)' % (error.strerror, running_user()))
    return error.strerror


def running_user():
    """Who runs the check, as an admin would name them."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a name, as in some containers
        return 'uid %d' % os.geteuid()


class StateFile(object):
    """A JSON object in a file: load(), save(), and lock() around both.

    check_shape(state) raises KeyError, TypeError or ValueError for a state
    that is not of the caller's kind; such a file counts as corrupt, as does
    one over MAX_SIZE bytes.
    """

    def __init__(self, path, check_shape, max_size, durable=True):
        self.path = path
        self.check_shape = check_shape
        self.max_size = max_size
        self.durable = durable  # fsync, so that it survives a power loss
        self.directory = os.path.dirname(os.path.abspath(path))
        self._lock = None

    def lock(self, deadline):
        """Wait for our turn, until DEADLINE; then hold it until unlock()."""
        self._make_directory()
        try:
            lock_file = open(self.path + '.lock', 'a')
        except (IOError, OSError) as error:
            raise CheckError('cannot open lock file %s.lock: %s'
                             % (self.path, _reason(error)))
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._lock = lock_file
                return
            except (IOError, OSError) as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if deadline.remaining() <= 0:
                lock_file.close()
                raise CheckError('another check still holds %s.lock' % self.path)
            time.sleep(0.05)

    def unlock(self):
        if self._lock is not None:
            self._lock.close()  # closing releases the flock
            self._lock = None

    def _refuse_foreign_symlink(self):
        """A symbolic link that someone else planted could point us anywhere."""
        try:
            info = os.lstat(self.path)
        except OSError:
            return
        if stat.S_ISLNK(info.st_mode) and info.st_uid != os.getuid():
            raise CheckError('refusing state file %s: a symbolic link owned by '
                             'another user' % self.path)

    def load(self):
        """The saved state, or None before the first run."""
        self._refuse_foreign_symlink()
        try:
            with open(self.path, 'rb') as saved:
                content = saved.read(self.max_size + 1)
        except (IOError, OSError) as error:
            if error.errno == errno.ENOENT:
                return None
            raise CheckError('cannot read state file %s: %s'
                             % (self.path, error.strerror))
        try:
            if len(content) > self.max_size:
                raise ValueError('too big to be ours')
            state = json.loads(content.decode('utf-8'))
            if state['format'] != FORMAT:
                raise ValueError('unknown format')
            self.check_shape(state)
            return state
        # RuntimeError: json's RecursionError on "[[[[..." (Python 2: the
        # same as a plain RuntimeError).
        except (ValueError, KeyError, TypeError, RuntimeError):
            moved_to = self.path + '.corrupt'
            try:
                os.rename(self.path, moved_to)
            except (IOError, OSError) as error:
                raise CheckError('state file %s is corrupt and cannot be moved '
                                 'aside: %s' % (self.path, error.strerror))
            raise StateFileCorrupt(self.path, moved_to)

    def save(self, state):
        self._refuse_foreign_symlink()
        self._make_directory()
        content = json.dumps(dict(state, format=FORMAT), sort_keys=True)
        try:
            descriptor, temporary = tempfile.mkstemp(
                dir=self.directory, prefix='.%s.' % os.path.basename(self.path),
                suffix='.tmp')
            try:
                with os.fdopen(descriptor, 'wb') as out:
                    out.write(content.encode('utf-8'))
                    out.flush()
                    if self.durable:
                        os.fsync(out.fileno())
                os.rename(temporary, self.path)
            except BaseException:
                if os.path.exists(temporary):
                    os.unlink(temporary)
                raise
            if self.durable:
                directory = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        except (IOError, OSError) as error:
            raise CheckError('cannot write state file %s: %s'
                             % (self.path, _reason(error)))

    def _make_directory(self):
        if not os.path.isdir(self.directory):
            try:
                os.makedirs(self.directory, 0o700)
            except (IOError, OSError) as error:
                if not os.path.isdir(self.directory):
                    raise CheckError('cannot create state directory %s: %s'
                                     % (self.directory, _reason(error)))



def require_types(record, types):
    """Raise TypeError unless each key of TYPES in RECORD has its type
    (bool, a JSON true or false, is no number here)."""
    for key, kinds in types:
        if isinstance(record[key], bool) or not isinstance(record[key], kinds):
            raise TypeError(key)
