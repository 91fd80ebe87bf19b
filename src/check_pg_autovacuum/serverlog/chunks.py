"""Reading a log in bounded chunks that end where an entry ends.

Memory stays flat whatever the file holds: chunks are at most CHUNK_SIZE,
and a line longer than MAX_LINE is kept as its first HEAD bytes only.
"""
from __future__ import unicode_literals

CHUNK_SIZE = 1 << 20
MAX_LINE = 1 << 20
HEAD = 1 << 16


def line_boundary(data):
    """Where the last complete line of DATA ends, or -1."""
    newline = data.rfind(b'\n')
    return newline + 1 if newline >= 0 else -1


def csv_record_boundary(data):
    """Where the last complete CSV record ends: a newline outside quotes.

    DATA starts at a record start, so a newline ends a record exactly when
    the quotes before it are balanced ("" inside a field counts twice).
    """
    end = data.rfind(b'\n')
    while end >= 0:
        if data.count(b'"', 0, end) % 2 == 0:
            return end + 1
        end = data.rfind(b'\n', 0, end)
    return -1


SECONDARY_LINE = (b'DETAIL:  ', b'HINT:  ', b'CONTEXT:  ', b'STATEMENT:  ',
                  b'QUERY:  ', b'LOCATION:  ')


def stderr_entry_boundary(data):
    """Where the last stderr entry that may still continue begins, or -1.

    An entry is its first line plus the DETAIL/CONTEXT/... lines and the
    tab-indented ones after it.  Cutting before the last first line keeps a
    cancellation and the CONTEXT that names its table in one chunk.
    """
    end = data.rfind(b'\n')
    for _ in range(50):
        if end < 0:
            return -1
        start = data.rfind(b'\n', 0, end) + 1
        line = data[start:end]
        if not line.startswith(b'\t') and not any(
                marker in line for marker in SECONDARY_LINE):
            return start if start > 0 else -1
        end = start - 1
    return line_boundary(data)


def complete_chunks(stream, start, boundary=line_boundary, entry_boundary=None,
                    out_of_time=lambda: False):
    """Yield (chunk, end offset) from START on; each chunk ends at a boundary.

    What follows the last boundary -- a line the server is still writing --
    is left for the next run.  A line too long to keep is cut to its head.
    Inside the file, chunks end where ENTRY_BOUNDARY says an entry may
    begin; at its end, after the last complete line.  Skipping through an
    overlong line stops when OUT_OF_TIME() says so, as if the line ended
    there, so that even a line of gigabytes is passed in steps.
    """
    stream.seek(start)
    carry, carry_start = b'', start  # unconsumed bytes, where they begin
    overlong_head = None  # the head of a line longer than MAX_LINE
    while True:
        data = stream.read(CHUNK_SIZE)
        if not data:
            return
        data_start = carry_start + len(carry)
        if overlong_head is not None:
            newline = data.find(b'\n')
            if newline < 0:
                carry_start = data_start + len(data)  # skipped, not kept
                if out_of_time():
                    yield overlong_head + b'\n', carry_start
                    return
                continue
            carry_start = data_start + newline + 1
            yield overlong_head + b'\n', carry_start
            overlong_head, data = None, data[newline + 1:]
        buffered = carry + data
        at_end = len(data) < CHUNK_SIZE  # a short read: the file ends here
        cut = (boundary if at_end or entry_boundary is None
               else entry_boundary)(buffered)
        if cut >= 0:
            yield buffered[:cut], carry_start + cut
            carry, carry_start = buffered[cut:], carry_start + cut
        elif len(buffered) > MAX_LINE:
            overlong_head = buffered[:HEAD]
            carry, carry_start = b'', carry_start + len(buffered)
        else:
            carry = buffered
