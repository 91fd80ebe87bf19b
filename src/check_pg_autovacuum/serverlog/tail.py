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
import hashlib

from ..errors import CheckError
from .chunks import complete_chunks
from .files import LogFileVanished
from .formats import detect
from ..statefile import StateFileCorrupt

FINGERPRINT_BYTES = 4096
# headline: what to say instead of a count, when there is none to give
Reading = collections.namedtuple('Reading', 'events notes bytes_read headline')


class LogTail(object):

    def __init__(self, files, state_file, deadline, from_start=False,
                 log_line_prefix=None):
        self.files = files  # LocalLogFiles or ServerLogFiles
        self.state_file = state_file
        self.deadline = deadline
        self.from_start = from_start
        self.log_line_prefix = log_line_prefix
        self._formats = {}  # path -> its format, detected once per run

    def read_new(self):
        """Events written since the previous run; the new position is saved.

        Raises CheckError when the log cannot be read (nothing is saved
        then), and also after starting afresh from a corrupt state file.
        """
        self.state_file.lock(self.deadline)
        try:
            try:
                return self._read_new()
            except LogFileVanished:
                # Rotated between listing and reading: list again, once.
                return self._read_new()
        except (IOError, OSError) as error:  # a read failing mid-file
            raise CheckError('cannot read log file %s: %s' % (
                error.filename or self.files, error.strerror))
        finally:
            self.state_file.unlock()

    def _read_new(self):
        files = self.files.list()
        corrupt = None
        try:
            saved = self.state_file.load()
        except StateFileCorrupt as problem:
            saved, corrupt = None, problem
        if saved is None:
            reading = self._first_run(files[-1], fresh=corrupt is not None)
        else:
            reading = self._continue(files, saved['position'])
        if corrupt is not None:
            raise CheckError('%s and started afresh at the end of the log'
                             % corrupt)
        return reading

    def _first_run(self, live, fresh):
        if self.from_start and not fresh:
            return self._read_segments([(live, 0)], [])
        end = self._last_line_end(live)
        self._save(live, end)
        return Reading([], [], 0, 'started reading %s at its end; '
                       'cancellations count from the next run on' % live.path)

    def _continue(self, files, position):
        previous = [f for f in files if _identity(f) == _identity(position)]
        if previous and self._fingerprint_matches(previous[0], position):
            start_at = files.index(previous[0])
            return self._read_segments(
                [(previous[0], position['offset'])] +
                [(f, 0) for f in files[start_at + 1:]], [])
        # An empty fingerprint (offset 0) would match any file.
        copies = [f for f in files if position['offset'] > 0
                  and self._fingerprint_matches(f, position)]
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
                 or _identity(f) == _identity(position)]
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
            with self.files.open(log_file) as head:
                self._formats[log_file.path] = detect(
                    log_file.path, head.read(4096), self.log_line_prefix)
        return self._formats[log_file.path]

    def _chunks(self, log_file, start):
        log_format = self._format(log_file)
        with self.files.open(log_file) as stream:
            for chunk, end in complete_chunks(stream, start, log_format.boundary,
                                              log_format.entry_boundary,
                                              self._out_of_time):
                yield chunk, end

    def _out_of_time(self):
        # Leave a fifth of the budget for the rest of the check.
        return self.deadline.remaining() < max(1.0, self.deadline.timeout * 0.2)

    def _save(self, log_file, offset):
        self.state_file.save({'position': {
            'path': log_file.path, 'device': log_file.device,
            'inode': log_file.inode, 'offset': offset, 'mtime': log_file.mtime,
            'fingerprint': self._fingerprint(log_file, offset)}})


    def _fingerprint(self, log_file, offset):
        """A digest of the bytes just before OFFSET (with their count)."""
        length = min(offset, FINGERPRINT_BYTES)
        with self.files.open(log_file) as stream:
            stream.seek(offset - length)
            before = stream.read(length)
        if len(before) != length:
            return ''
        return '%d:%s' % (length, hashlib.sha1(before).hexdigest())

    def _fingerprint_matches(self, log_file, position):
        if log_file.size < position['offset']:
            return False
        try:
            return self._fingerprint(log_file, position['offset']) == \
                position['fingerprint']
        except (IOError, OSError, CheckError):
            return False

    def _last_line_end(self, log_file):
        """The offset just after the last complete line of LOG_FILE."""
        with self.files.open(log_file) as stream:
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


def _identity(log_file):
    """Device and inode, or, read over SQL where there are none, the path."""
    if isinstance(log_file, dict):
        device, inode, path = log_file['device'], log_file['inode'], log_file['path']
    else:
        device, inode, path = log_file.device, log_file.inode, log_file.path
    return (device, inode) if inode else path
