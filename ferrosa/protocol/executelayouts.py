"""The layouts of a prepared statement's EXECUTE bodies: a whole body read in one unpack.

What it is: the cache behind the front's short decoding of EXECUTE. A client executes a
prepared statement with the same query id, consistency, flags and value count every time, and
usually with values of the same lengths (keys, numbers, uuids, timestamps, fixed-size blobs)
followed by the drivers' page size and client timestamp. Once such a body has been decoded by
`decode_request` and executed, its bytes make an `ExecuteLayout`: one Struct that unpacks the
next body of the same statement whole, accepted only when the fixed bytes it unpacked (the
prefix up to the first value, and each later value's length) are the learnt ones.

What it must not do: read a body differently from `decode_request` (anything the layout does
not cover byte for byte misses and is decoded by it, which also reports the errors), learn from
a body `decode_request` would read with trailing bytes, or grow without bound (one layout per
prepared statement, MAX_LAID_OUT_VALUES). Sans-IO, like the rest of protocol/: it never
executes or looks anything up.

Theory of operation: each prepared statement has one `LayoutState`: its layout and a back-off,
as valueshapes' CountState. A hit resets the back-off. A miss (a text value of another length,
another consistency) drops the layout and lets the next `backoff` bodies go by without being
measured; the back-off doubles up to MAX_LAYOUT_BACKOFF, so a statement whose bodies never
repeat costs one failed unpack and one learning per MAX_LAYOUT_BACKOFF executions. A body
that gives no layout (a null or unset value, named values, a paging state, a serial
consistency, a keyspace or now-in-seconds option) backs off the same way.

Layout of a body (v3/v4; v5 adds the result metadata id after the query id and has 4-byte
flags): [short n][query id][short consistency][flags][short count] then per value [int
length][bytes], then [int page size] and [long timestamp] when the flags say so. The Struct
reads the prefix through the first value's length as one `s` field and every later length as a
4-byte `s` field, so one tuple comparison checks them all.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from ferrosa.protocol.constants import (
    Q_PAGE_SIZE,
    Q_SKIP_METADATA,
    Q_TIMESTAMP,
    Q_VALUES,
)
from ferrosa.protocol.primitives import SHORT
from ferrosa.protocol.requests import TIMESTAMP_MIN

# Bodies of more values than this are always read by decode_request: the Struct of a long
# list rarely repeats, and the loop's cost per value is what a layout saves.
MAX_LAID_OUT_VALUES = 32
# The most executions of one statement decoded by decode_request, after misses, before a
# layout is learnt again.
MAX_LAYOUT_BACKOFF = 1024
# The flags a layout covers: values, skip metadata, and the drivers' page size and client
# timestamp. Any other (named values, a paging state, a serial consistency, a keyspace, now in
# seconds) leaves the body to decode_request.
_LAID_OUT_FLAGS = Q_VALUES | Q_SKIP_METADATA | Q_PAGE_SIZE | Q_TIMESTAMP

# What a layout reads: consistency, values, page size (-1: none), timestamp, skip metadata.
LaidOut = tuple[int, list[bytes], int, "int | None", bool]


class ExecuteLayout:
    """One layout of a statement's EXECUTE body, for one protocol version. An unpacked body
    holds the fixed bytes at its even places and the values at its odd ones up to `span`,
    then the page size and the timestamp when the flags have them (`page_at`, `timestamp_at`:
    their places, 0 when absent)."""

    __slots__ = ("consistency", "expected", "page_at", "size", "skip_metadata", "span",
                 "timestamp_at", "unpack", "version")

    def __init__(self, version: int, prefix: bytes, lengths: tuple[int, ...], consistency: int,
                 flags: int) -> None:
        fixed = [prefix, *(n.to_bytes(4, "big") for n in lengths[1:])]
        # Fixed fields and values alternate up to `span`; with no values the prefix is the
        # one fixed field (fields[0:1:2]). The page size and timestamp follow.
        self.span = tail = 2 * len(lengths) if lengths else 1
        after = ""
        self.page_at = self.timestamp_at = 0
        if flags & Q_PAGE_SIZE:
            after += "i"
            self.page_at, tail = tail, tail + 1
        if flags & Q_TIMESTAMP:
            after += "q"
            self.timestamp_at = tail
        layout = alternating(fixed, lengths, after)
        self.unpack: Callable[[bytes], tuple] = layout.unpack
        self.size = layout.size
        self.version = version
        self.expected = tuple(fixed)
        self.consistency = consistency
        self.skip_metadata = bool(flags & Q_SKIP_METADATA)


def alternating(fixed: Sequence[bytes], lengths: Sequence[int], after: str = "") -> struct.Struct:
    """The Struct of fixed parts and values that alternate: fixed[0], value 0, fixed[1], value
    1, ..., then one more fixed part when `fixed` has one more than `lengths`, then `after`
    (struct codes of the fields that follow: numbers, or a last fixed part a caller compares
    itself). Unpacked, the fixed parts are at the even places up to `after`'s fields, and the
    values at the odd ones."""
    fields = [f"{len(part)}s{n}s" for part, n in zip(fixed, lengths)]
    if len(fixed) > len(lengths):
        fields.append(f"{len(fixed[-1])}s")
    return struct.Struct(">" + "".join(fields) + after)


def layout_of(body: bytes, version: int, consistency: int, flags: int,
              values: list[Any]) -> ExecuteLayout | None:
    """The layout of `body`, an EXECUTE that decode_request read as `consistency`, `flags`
    (QueryParameters.flags) and `values`. None when a layout cannot read such a body the same
    way."""
    if flags & ~_LAID_OUT_FLAGS or len(values) > MAX_LAID_OUT_VALUES:
        return None
    try:
        lengths = tuple(map(len, values))  # None and UNSET have no length: no layout
    except TypeError:
        return None
    pos = 2 + SHORT.unpack_from(body, 0)[0]
    if version >= 5:  # the result metadata id
        pos += 2 + SHORT.unpack_from(body, pos)[0]
    pos += 2 + (4 if version >= 5 else 1) + (2 if flags & Q_VALUES else 0)
    if lengths:
        pos += 4
    layout = ExecuteLayout(version, body[:pos], lengths, consistency, flags)
    # decode_request ignores trailing bytes; a layout reads whole bodies only.
    return layout if layout.size == len(body) else None


class LearntLayout:
    """A learnt layout and its back-off (see the theory of operation): what LayoutState and
    batchlayouts' BatchLayoutState share."""

    __slots__ = ("backoff", "layout", "skip")

    def __init__(self) -> None:
        self.layout: Any = None
        self.skip = 0  # bodies still to decode without learning
        self.backoff = 0

    def _wants(self) -> bool:
        """Whether to learn from the body just decoded: not when a layout is kept, nor while
        the back-off lasts (this counts it down)."""
        if self.layout is not None:
            return False
        if self.skip:
            self.skip -= 1
            return False
        return True

    def _unpacked(self, body: bytes, version: int) -> tuple | None:
        """The fields of a body the layout reads whole (a hit, which resets the back-off);
        None for a body of another layout (a miss, which drops it), of another protocol
        version, or with the timestamp decode_request refuses. A layout has `version`,
        `size`, `unpack`, `expected` (its fixed fields, at the even places up to `span`) and
        `timestamp_at` (the timestamp's place, 0 when absent)."""
        layout = self.layout
        if layout is None or layout.version != version:
            return None
        if len(body) != layout.size:
            self._missed()
            return None
        fields = layout.unpack(body)
        if fields[0:layout.span:2] != layout.expected:
            self._missed()
            return None
        self.backoff = 0
        if layout.timestamp_at and fields[layout.timestamp_at] == TIMESTAMP_MIN:
            return None  # out of Cassandra's bounds: decode_request says so
        return fields

    def _learnt(self, layout: Any) -> None:
        self.layout = layout
        if layout is None:
            self._back_off()

    def _missed(self) -> None:
        self.layout = None
        self._back_off()

    def _back_off(self) -> None:
        self.backoff = min(MAX_LAYOUT_BACKOFF, 2 * self.backoff + 1)
        self.skip = self.backoff


class LayoutState(LearntLayout):
    """A prepared statement's EXECUTE layout and its back-off."""

    __slots__ = ()

    def read(self, body: bytes, version: int) -> LaidOut | None:
        """(consistency, values, page size or -1, timestamp or None, skip metadata) of an
        EXECUTE body, exactly as decode_request reads them, when the layout reads it whole;
        None: leave the body to decode_request (a miss, which drops the layout, or a body
        decode_request refuses)."""
        fields = self._unpacked(body, version)
        if fields is None:
            return None
        layout = self.layout
        return (layout.consistency, list(fields[1:layout.span:2]),
                fields[layout.page_at] if layout.page_at else -1,
                fields[layout.timestamp_at] if layout.timestamp_at else None,
                layout.skip_metadata)

    def decoded(self, body: bytes, version: int, consistency: int, flags: int,
                values: list[Any]) -> None:
        """decode_request read `body` (see layout_of) and it executed: learn its layout,
        unless the state backs off or has a layout already (one of another protocol version,
        or one that read the body but refused its timestamp)."""
        if self._wants():
            self._learnt(layout_of(body, version, consistency, flags, values))
