"""Read what the log gained since the previous run: every byte exactly once.

The position saved last time names a file by device and inode and carries a
fingerprint of the bytes just before the offset.  This run then finds that
file again, also after a rename; notices a truncation (copytruncate), where
the bytes before the offset no longer match, and then finds the rotated copy
by the same fingerprint; and reads every newer file of the set from its
start.  Only complete lines count: a line the server is still writing stays
for the next run.  Compressed rotations are not read.
"""
from __future__ import unicode_literals

import collections
import errno
import glob
import hashlib
import os
import stat

from ..errors import CheckError
from .chunks import complete_chunks
from .formats import detect
from .state import StateFileCorrupt

COMPRESSED = ('.gz', '.bz2', '.xz', '.zst', '.lz4', '.zip')
FINGERPRINT_BYTES = 4096
LogFile = collections.namedtuple('LogFile', 'path device inode size mtime')
# headline: what to say instead of a count, when there is none to give
Reading = collections.namedtuple('Reading', 'events notes bytes_read headline')


class LogTail(object):

    def __init__(self, pattern, state_file, deadline, from_start=False,
                 log_line_prefix=None):
        self.pattern = pattern
        self.state_file = state_file
        self.deadline = deadline
        self.from_start = from_start
        self.log_line_prefix = log_line_prefix
        self._formats = {}  # path -> its format, detected once per run

    def read_new(self):
        """Events written since the previous run; the new position is saved.

        Raises CheckError when the log cannot be read (nothing is saved
        then), and StateFileCorrupt after starting afresh.
        """
        self.state_file.lock(self.deadline)
        try:
            return self._read_new()
        finally:
            self.state_file.unlock()

    def _read_new(self):
        files = self._files()
        corrupt = None
        try:
            saved = self.state_file.load()
        except StateFileCorrupt as problem:
            saved, corrupt = None, problem
        if not files:
            return Reading([], [], 0, 'no log file matches %s yet' % self.pattern)
        if saved is None:
            reading = self._first_run(files[-1], fresh=corrupt is not None)
        else:
            reading = self._continue(files, saved['position'])
        if corrupt is not None:
            raise StateFileCorrupt('%s' % corrupt)
        return reading

    def _files(self):
        """The log and its rotations, oldest first; compressed ones skipped."""
        if glob.has_magic(self.pattern):
            paths = [p for p in glob.glob(self.pattern)
                     if not p.endswith(COMPRESSED)]
        else:
            paths = [self.pattern]
        files = []
        for path in paths:
            try:
                info = os.stat(path)
            except OSError as error:
                if error.errno == errno.ENOENT and glob.has_magic(self.pattern):
                    continue  # rotated away between glob and stat
                raise CheckError('cannot read log file %s: %s'
                                 % (path, error.strerror))
            if not stat.S_ISREG(info.st_mode):
                if glob.has_magic(self.pattern):
                    continue
                raise CheckError('cannot read log file %s: not a regular file'
                                 % path)
            files.append(LogFile(path, info.st_dev, info.st_ino, info.st_size,
                                 info.st_mtime))
        return sorted(files, key=lambda f: (f.mtime, f.path))

    def _first_run(self, live, fresh):
        if self.from_start and not fresh:
            return self._read_segments([(live, 0)], [])
        end = _last_line_end(live)
        self._save(live, end)
        return Reading([], [], 0, 'started reading %s at its end; '
                       'cancellations count from the next run on' % live.path)

    def _continue(self, files, position):
        previous = [f for f in files if (f.device, f.inode) == (
            position['device'], position['inode'])]
        if previous and _fingerprint_matches(previous[0], position):
            start_at = files.index(previous[0])
            return self._read_segments(
                [(previous[0], position['offset'])] +
                [(f, 0) for f in files[start_at + 1:]], [])
        # An empty fingerprint (offset 0) would match any file.
        copies = [f for f in files if position['offset'] > 0
                  and _fingerprint_matches(f, position)]
        if copies:  # copytruncate: the rest of our file is in its copy
            start_at = files.index(copies[0])
            notes = ['%s was truncated; read the rest of it from %s'
                     % (position['path'], copies[0].path)]
            later = [(f, 0) for f in files[start_at + 1:]]
            if previous and (previous[0], 0) not in later:
                later.append((previous[0], 0))
            return self._read_segments([(copies[0], position['offset'])] + later,
                                       notes)
        newer = [(f, 0) for f in files if f.mtime >= position['mtime']
                 or (f.device, f.inode) == (position['device'], position['inode'])]
        notes = ['%s is gone or was truncated; lines written to it since the '
                 'previous run may not have been counted' % position['path']]
        return self._read_segments(newer or [(files[-1], 0)], notes)

    def _read_segments(self, segments, notes):
        events, bytes_read, last = [], 0, None
        for log_file, start in segments:
            end = start
            try:
                for chunk, end in self._chunks(log_file, start):
                    events.extend(self._format(log_file).events(chunk))
                    bytes_read += len(chunk)
                    if self._out_of_time():
                        notes.append('read only part of %s within the timeout; '
                                     'the rest follows next time' % log_file.path)
                        self._save(log_file, end)
                        return Reading(events, notes, bytes_read, None)
            except (IOError, OSError) as error:
                raise CheckError('cannot read log file %s: %s'
                                 % (log_file.path, error.strerror))
            last = (log_file, end)
        self._save(*last)
        return Reading(events, notes, bytes_read, None)

    def _format(self, log_file):
        if log_file.path not in self._formats:
            with _open(log_file.path) as head:
                self._formats[log_file.path] = detect(
                    log_file.path, head.read(4096), self.log_line_prefix)
        return self._formats[log_file.path]

    def _chunks(self, log_file, start):
        log_format = self._format(log_file)
        with _open(log_file.path) as stream:
            for chunk, end in complete_chunks(stream, start, log_format.boundary,
                                              log_format.entry_boundary):
                yield chunk, end

    def _out_of_time(self):
        # Leave a fifth of the budget for the rest of the check.
        return self.deadline.remaining() < max(1.0, self.deadline.timeout * 0.2)

    def _save(self, log_file, offset):
        self.state_file.save({'position': {
            'path': log_file.path, 'device': log_file.device,
            'inode': log_file.inode, 'offset': offset, 'mtime': log_file.mtime,
            'fingerprint': _fingerprint(log_file.path, offset)}})


def _open(path):
    """Open for reading without hanging on a FIFO, and only regular files."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise IOError(errno.EINVAL, 'not a regular file')
    return os.fdopen(descriptor, 'rb', 0)  # unbuffered: we read big chunks


def _fingerprint(path, offset):
    """A digest of the bytes just before OFFSET (with their count)."""
    length = min(offset, FINGERPRINT_BYTES)
    with _open(path) as stream:
        stream.seek(offset - length)
        before = stream.read(length)
    if len(before) != length:
        return ''
    return '%d:%s' % (length, hashlib.sha1(before).hexdigest())


def _fingerprint_matches(log_file, position):
    if log_file.size < position['offset']:
        return False
    try:
        return _fingerprint(log_file.path, position['offset']) == \
            position['fingerprint']
    except (IOError, OSError):
        return False


def _last_line_end(log_file):
    """The offset just after the last complete line of LOG_FILE."""
    with _open(log_file.path) as stream:
        position = log_file.size
        while position > 0:
            start = max(0, position - 65536)
            stream.seek(start)
            block = stream.read(position - start)
            newline = block.rfind(b'\n')
            if newline >= 0:
                return start + newline + 1
            position = start
    return 0
