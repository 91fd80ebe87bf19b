"""Where the log's bytes come from: this machine's files, or the server over SQL.

Both give the same two things: the log files, oldest first, and a stream to
read one of them from an offset.  Over SQL (--log-via-sql) there is no
inode: a file is known by its name, and the fingerprint of the bytes before
the saved offset tells whether it is still the same file.
"""
from __future__ import unicode_literals

import collections
import errno
import glob
import grp
import os
import stat

from .. import queries
from ..errors import CheckError
from ..statefile import running_user

COMPRESSED = ('.gz', '.bz2', '.xz', '.zst', '.lz4', '.zip')
# device and inode are 0 for files read over SQL: they are known by path.
LogFile = collections.namedtuple('LogFile', 'path device inode size mtime')


def open_regular(path):
    """Open for reading without hanging on a FIFO, and only regular files."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise IOError(errno.EINVAL, 'not a regular file')
    return os.fdopen(descriptor, 'rb', 0)  # unbuffered: we read big chunks


class LocalLogFiles(object):
    """A file, or a glob whose newest match is the live file."""

    def __init__(self, pattern):
        self.pattern = pattern

    def __str__(self):
        return self.pattern

    def list(self):
        """The log and its rotations, oldest first; compressed ones skipped."""
        is_glob = glob.has_magic(self.pattern)
        paths = [p for p in glob.glob(self.pattern) if not p.endswith(COMPRESSED)] \
            if is_glob else [self.pattern]
        files = []
        for path in paths:
            try:
                info = os.stat(path)
            except OSError as error:
                if error.errno == errno.ENOENT and is_glob:
                    continue  # rotated away between glob and stat
                raise unreadable(path, error)
            if not stat.S_ISREG(info.st_mode):
                if is_glob:
                    continue
                raise CheckError('cannot read log file %s: not a regular file'
                                 % path)
            files.append(LogFile(path, info.st_dev, info.st_ino, info.st_size,
                                 info.st_mtime))
        if not files:
            # The server creates its log as it starts: a glob without a
            # match is a wrong path or a directory we may not list, never
            # a log still to come.
            raise CheckError('no log file matches %s: check the path, and '
                             'that user %s may list its directory'
                             % (self.pattern, running_user()))
        return sorted(files, key=lambda f: (f.mtime, f.path))

    def open(self, log_file):
        try:
            return open_regular(log_file.path)
        except (IOError, OSError) as error:
            if error.errno == errno.ENOENT:
                raise LogFileVanished('log file %s vanished while it was read '
                                      '(rotated away)' % log_file.path)
            raise unreadable(log_file.path, error)


class LogFileVanished(CheckError):
    """A file listed a moment ago is gone: a rotation; listing again helps."""


# What --log-via-sql needs, said wherever a local file cannot be read.
VIA_SQL = ('--log-via-sql, which needs pg_monitor and EXECUTE on '
           'pg_read_binary_file')


def unreadable(path, error):
    """A CheckError for a log file we may not read, saying what to do."""
    text = 'cannot read log file %s: %s' % (path, error.strerror)
    if error.errno not in (errno.EACCES, errno.EPERM):
        return CheckError(text)
    user = running_user()
    try:
        info = os.stat(path)
    except OSError:  # its directory is closed to us
        return CheckError('%s (what to do: let user %s enter %s, or %s)' % (
            text, user, os.path.dirname(path) or '.', VIA_SQL))
    group = _group_name(info.st_gid)
    if info.st_mode & stat.S_IRGRP:
        # Debian's /var/log/postgresql: postgres:adm, mode 0640.
        return CheckError('%s, user %s is not in its group %s (what to do: '
                          'adduser %s %s, then restart the daemon that runs '
                          'the check; or %s)' % (text, user, group, user,
                                                 group, VIA_SQL))
    return CheckError('%s, mode %04o (what to do: have the server write it '
                      'group-readable, log_file_mode = 0640, for a group of '
                      'user %s; or %s)' % (text, stat.S_IMODE(info.st_mode),
                                           user, VIA_SQL))


def _group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return 'gid %d' % gid


class ServerLogFiles(object):
    """The server's own log files, listed and read through the connection.

    Needs pg_monitor (pg_ls_logdir, pg_current_logfile) and EXECUTE on
    pg_read_binary_file(text, bigint, bigint, boolean).
    """

    def __init__(self, session):
        self.session = session

    def __str__(self):
        return "the server's log directory"

    def list(self):
        try:
            rows = self.session.rows(queries.log_files(self.session.server_version))
        except CheckError as error:
            raise _with_grant(error, self.session,
                              'GRANT pg_monitor TO {0}; GRANT EXECUTE ON '
                              'FUNCTION pg_current_logfile(text) TO {0}')
        if not rows or rows[0].live is None:
            raise CheckError('the server writes no log file of its own '
                             '(logging_collector = off): --log-via-sql has '
                             'nothing to read')
        return [LogFile(row.path, 0, 0, row.size, row.mtime)
                for row in rows if row.path is not None]

    def open(self, log_file):
        return _SqlStream(self.session, log_file.path)


class _SqlStream(object):
    """seek() and read() over pg_read_binary_file, one round trip a read."""

    def __init__(self, session, path):
        self.session = session
        self.path = path
        self.position = 0

    def seek(self, position):
        self.position = position

    def read(self, size):
        try:
            row = self.session.rows(
                queries.read_log_file(self.session.server_version),
                {'path': self.path, 'offset': self.position, 'length': size})[0]
        except CheckError as error:
            raise _with_grant(error, self.session,
                              'GRANT EXECUTE ON FUNCTION pg_read_binary_file'
                              '(text, bigint, bigint, boolean) TO {0}')
        data = bytes(row.data) if row.data is not None else b''
        self.position += len(data)
        return data

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()


def _with_grant(error, session, grant):
    """A permission error, with the GRANT that cures it."""
    text = '%s' % error
    if 'must be superuser' in text:  # PostgreSQL 10: no GRANT helps
        return CheckError('%s; PostgreSQL 10 lets only superusers read files: '
                          'use --logfile on the database host' % text)
    if 'permission denied' not in text:
        return error
    role = session.quote_ident(session.rows(
        queries.current_role(session.server_version))[0].name)
    return CheckError('%s; run: %s' % (text, grant.format(role)))
