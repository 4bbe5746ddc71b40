"""The layouts of BATCH bodies that repeat one prepared statement: a whole batch in one unpack.

What it is: the cache behind the front's short decoding of BATCH, executelayouts' counterpart.
The usual batch (the drivers' BatchStatement of one prepared INSERT, cassandra-stress's batches,
a time series' rows of one partition) repeats one prepared statement a fixed number of times,
with values of the same lengths each time, and the same type, consistency and flags. Once such
a body has been decoded by `decode_request` and its statements accepted, its bytes make a
`BatchLayout`: one Struct over the whole body whose fixed fields (the batch type and count,
each statement's kind, id and value count, each value's length, the consistency and flags)
must unpack to the learnt bytes. The front keeps it on the prepared statement with what it
compiled the batch into (`compiled`, opaque here), which depends only on those fixed bytes.

What it must not do: read a body differently from `decode_request` (anything the layout does
not cover byte for byte misses and is decoded by it, which also reports the errors), learn from
a body `decode_request` would read with trailing bytes, or grow without bound (one layout per
prepared statement, MAX_LAID_OUT_BATCH_VALUES). Sans-IO, like the rest of protocol/: it never
executes or looks anything up.

Theory of operation: as executelayouts' (one layout per statement, misses back off up to
MAX_LAYOUT_BACKOFF bodies). A body gives no layout when a statement is a query string or
another prepared statement, when statements have no values or different value counts, when a
value is null or unset, or when the flags have more than the client timestamp and v5's
keyspace (a serial consistency, now in seconds). A batch's keyspace names where its query
strings' tables are, so it changes nothing for prepared statements, but it is a fixed field
like the others: a body of another keyspace misses.

Layout of a body: [byte type][short n], then per statement [byte kind = 1][short id
length][id][short count] and per value [int length][bytes], then [short consistency], the
flags ([byte], v5 [int]), and [long timestamp] and v5's [string keyspace] when the flags say
so. The Struct reads every stretch between two values as one `s` field (the first one from the
body's start through the first value's length; between statements, the next statement's head
and its first value's length), the consistency and flags after the last value as one more, the
timestamp as a number and the keyspace as a last fixed field, so one tuple comparison checks
them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ferrosa.protocol.constants import Q_KEYSPACE, Q_TIMESTAMP
from ferrosa.protocol.executelayouts import LearntLayout, alternating
from ferrosa.protocol.primitives import SHORT
from ferrosa.protocol.requests import Batch

# Batches of more values than this (all statements together) are always read by
# decode_request: a layout's Struct has two fields per value, and one for 30 rows of a
# standard1 table (180 values) is about 360 fields and 6 KiB of body, past which a client's
# batches rarely repeat their lengths.
MAX_LAID_OUT_BATCH_VALUES = 256
# [byte type][short n] before the first statement.
_BATCH_HEAD = 3

# The flags a layout covers: the client timestamp, and the keyspace the Python driver names in
# each v5 BATCH (the keyspace of its first statement). Any other (a serial consistency, now in
# seconds) leaves the body to decode_request.
_LAID_OUT_FLAGS = Q_TIMESTAMP | Q_KEYSPACE

# What a layout reads: what the front compiled the batch into, the consistency, each
# statement's values, the timestamp.
BatchLaidOut = tuple[Any, int, list[list[bytes]], "int | None"]


class BatchLayout:
    """One layout of a batch's body, for one protocol version: `per_statement` values for
    each of the statements. Unpacked, the body has its fixed fields at the even places up to
    `span` and the values at the odd ones before `values_end`; then the fixed consistency and
    flags, the timestamp when the flags have it (at `timestamp_at`, else 0), and v5's keyspace
    (one more fixed field: at an even place after the timestamp, else part of the one before)."""

    __slots__ = ("compiled", "consistency", "expected", "per_statement", "size", "span",
                 "timestamp_at", "unpack", "values_end", "version")

    def __init__(self, version: int, fixed: list[bytes], lengths: list[int], per_statement: int,
                 consistency: int, timestamp: bool, keyspace: bytes, compiled: Any) -> None:
        self.values_end = 2 * len(lengths)
        self.span = self.values_end + 1  # the values and the fixed part after the last one
        self.timestamp_at = 0
        after = ""
        expected = ()
        if timestamp:
            self.timestamp_at = self.span
            after = "q"
            if keyspace:
                after += f"{len(keyspace)}s"
                expected = (keyspace,)
                self.span += 2
        elif keyspace:
            fixed = [*fixed[:-1], fixed[-1] + keyspace]
        layout = alternating(fixed, lengths, after)
        self.unpack: Callable[[bytes], tuple] = layout.unpack
        self.size = layout.size
        self.version = version
        self.expected = (*fixed, *expected)
        self.per_statement = per_statement
        self.consistency = consistency
        self.compiled = compiled


def batch_layout_of(body: bytes, version: int, request: Batch,
                    compiled: Any) -> BatchLayout | None:
    """The layout of `body`, a BATCH that decode_request read as `request` and the front
    compiled into `compiled`. None when a layout cannot read such a body the same way."""
    statements = request.statements
    if request.flags & ~_LAID_OUT_FLAGS or not statements:
        return None
    query_id = statements[0].query_or_id
    per_statement = len(statements[0].values)
    if (type(query_id) is not bytes or not per_statement
            or per_statement * len(statements) > MAX_LAID_OUT_BATCH_VALUES):
        return None
    fixed: list[bytes] = []
    lengths: list[int] = []
    start, pos = 0, _BATCH_HEAD
    # A statement whose id decode_request read as bytes has kind 1 (a query string is a str).
    head = 1 + 2 + len(query_id) + 2  # kind, id, value count
    for statement in statements:
        if statement.query_or_id != query_id or len(statement.values) != per_statement:
            return None
        pos += head
        for value in statement.values:
            if type(value) is not bytes:  # a null or unset value
                return None
            pos += 4
            fixed.append(body[start:pos])
            lengths.append(len(value))
            pos += len(value)
            start = pos
    pos += 2 + (4 if version >= 5 else 1)
    fixed.append(body[start:pos])  # consistency and flags
    if request.flags & Q_TIMESTAMP:
        pos += 8
    keyspace = (body[pos:pos + 2 + SHORT.unpack_from(body, pos)[0]]
                if request.flags & Q_KEYSPACE else b"")
    layout = BatchLayout(version, fixed, lengths, per_statement, request.consistency,
                         bool(request.flags & Q_TIMESTAMP), keyspace, compiled)
    # decode_request ignores trailing bytes; a layout reads whole bodies only.
    return layout if layout.size == len(body) else None


class BatchLayoutState(LearntLayout):
    """A prepared statement's layout of the batches that repeat it, and its back-off."""

    __slots__ = ()

    def read(self, body: bytes, version: int) -> BatchLaidOut | None:
        """(compiled, consistency, each statement's values, timestamp or None) of a BATCH
        body, exactly as decode_request reads them, when the layout reads it whole; None:
        leave the body to decode_request (a miss, which drops the layout, or a body
        decode_request refuses)."""
        fields = self._unpacked(body, version)
        if fields is None:
            return None
        layout = self.layout
        # The values in runs of per_statement, one list per statement, made in C: zip over
        # per_statement references to one iterator takes the next per_statement values.
        values = iter(fields[1:layout.values_end:2])
        return (layout.compiled, layout.consistency,
                list(map(list, zip(*[values] * layout.per_statement))),
                fields[layout.timestamp_at] if layout.timestamp_at else None)

    def decoded(self, body: bytes, version: int, request: Batch, compiled: Any) -> None:
        """decode_request read `body` as `request`, and the front compiled it into `compiled`
        (every statement accepted its values): learn its layout, unless the state backs off or
        has a layout already."""
        if self._wants():
            self._learnt(batch_layout_of(body, version, request, compiled))
