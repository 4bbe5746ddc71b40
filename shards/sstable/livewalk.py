"""The walk that tells compaction whether a row or a partition's static cells would come out of
merging and purging unchanged, so that their bytes can be copied (shards/sstable/compaction.py
`_copy_tally` and `_copy_source`), with the statistics the output's Stats need.

What it is: `live_row` over a row's encoded bytes (codec.py's layout), `shaped_live_row` (the
same answer, by the row length's RowShape of the SSTable's decoder when the row has its
layout: one unpack instead of one per cell), `live_cells` over decoded static cells.

What it must NOT do: decode values or build memtable objects (a copied row needs its lengths
and timestamps, not its values), or decide anything about merging: the caller compares the
bits and timestamps it returns.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from operator import itemgetter

from shards.memtable import Cell
from shards.sstable.codec import PartitionDecoder
from shards.sstable.layout import (
    _COMPLEX,
    _I32,
    _LIVE,
    _MARKER,
    _U16,
    COMPLEX,
    ROW_MARKER,
    U32,
    VALUE,
)
from shards.sstable.rowshape import RowShape
from shards.tombstones import NO_DELETION

# live_row's bits for what a row holds: its marker, any collection, and each simple column.
LIVE_MARKER, LIVE_COMPLEX, LIVE_COLUMN_SHIFT = 1, 2, 2
# Timestamps a kept row can hold: above the deletion floor, which purge treats as shadowed.
_MIN_KEPT_TS = NO_DELETION + 1
MAX_TIMESTAMP = (1 << 63) - 1
# live_row's answer for a kept row: (cells, min timestamp, max timestamp, what).
LiveTally = tuple[int, int, int, int]


def live_row(buf: bytes, p: int, end: int,
             columns: int) -> tuple[int, int, int, int] | None:
    """(cells, min timestamp, max timestamp, what) of the row encoded at buf[p:end] when
    compaction would keep it byte for byte: no row deletion, no TTL, every cell (and collection
    element) a live value with a column id below `columns`, no collection deletion or empty
    collection, and a marker or a cell. None otherwise, or when the bytes do not parse (`row`
    reports those). `what` is a bit set: LIVE_MARKER, LIVE_COMPLEX if a collection is present,
    and bit `LIVE_COLUMN_SHIFT + id` for each simple cell's column.

    A walk over the lengths and timestamps only: a copied row needs its statistics, not its
    values."""
    u32 = U32.unpack_from
    try:
        p += 4 + u32(buf, p)[0]
        count = _U16.unpack_from(buf, p)[0]
        p += 2
        i32 = _I32.unpack_from
        for _ in range(count):
            n = i32(buf, p)[0]
            p += 4 if n < 0 else 4 + n
        flags = buf[p]
        p += 1
        low, high = MAX_TIMESTAMP, NO_DELETION
        what = 0
        if flags == ROW_MARKER:
            low, ttl, _expires = _MARKER.unpack_from(buf, p)
            if ttl:
                return None
            high = low
            what = LIVE_MARKER
            p += _MARKER.size
        elif flags:
            return None
        count = u32(buf, p)[0]
        p += 4
        unpack = _LIVE.unpack_from
        cells = 0
        for _ in range(count):
            col, flags, ts, n = unpack(buf, p)
            if col >= columns:
                return None
            if flags == VALUE:
                p += 15 + n
                cells += 1
                what |= 1 << (col + LIVE_COLUMN_SHIFT)
            elif flags == COMPLEX:
                deletion, ldt, n = _COMPLEX.unpack_from(buf, p + 3)
                if deletion != NO_DELETION or ldt or not n:
                    return None
                p += 3 + _COMPLEX.size
                for _ in range(n):
                    p += 4 + u32(buf, p)[0]
                    p += 4 + u32(buf, p)[0]
                    _col, flags, ts, size = unpack(buf, p)
                    if flags != VALUE:
                        return None
                    p += 15 + size
                    low = min(low, ts)
                    high = max(high, ts)
                cells += n
                what |= LIVE_COMPLEX
                continue
            else:
                return None
            if ts < low:
                low = ts
            if ts > high:
                high = ts
    except (struct.error, IndexError):
        return None
    # high stays at the floor when the row has neither a marker nor a cell (purge drops it).
    if p != end or low < _MIN_KEPT_TS or high == NO_DELETION:
        return None
    return cells, low, high, what


def shaped_live_row(decoder: PartitionDecoder, buf: bytes, p: int,
                    end: int) -> LiveTally | None:
    """live_row(buf, p, end, len(decoder.columns)) for a row of the SSTable `decoder` reads.

    A row of a length whose RowShape the decoder has learnt (codec.row_shape: plain, every
    field at a fixed offset) is read by the shape's tally (`_shape_tally`): when its layout
    matches the shape's (the lengths, flags, column ids and marker TTL: everything live_row
    checks but the timestamps), its tally is the shape's cells and bits with the timestamps'
    minimum and maximum. Any other row is walked by live_row, and the first walked row of each
    length teaches the decoder its shape, as PartitionDecoder.plain_row does (whose lookup this
    repeats inline, for the same reason: once per row of a compaction; misses and learning are
    the decoder's)."""
    shape = decoder.shapes.get(end - p)
    if shape:
        tally = shape.tally
        if tally is None:
            tally = shape.tally = _shape_tally(shape, len(decoder.columns))
        if tally:
            row = tally(buf, p)
            if row is not False:
                return row
            decoder.missed(shape, end - p)
    row = live_row(buf, p, end, len(decoder.columns))
    if row is not None and shape is None:
        decoder.learn(buf, p, end)
    return row


ShapeTally = Callable[[bytes, int], "LiveTally | None | bool"]


def _shape_tally(shape: RowShape, columns: int) -> ShapeTally | bool:
    """live_row for every row `shape` reads, by one unpack: a function of (buffer, row start)
    giving live_row's tally, None when the row is not live (a timestamp at the deletion
    floor), False when the row's layout is not the shape's (the caller walks it); False
    instead of a function when live_row refuses every row of the shape whatever its
    timestamps: neither marker nor cell, or a column id the dictionary of `columns` names
    lacks. The unpack skips the key's and the values' bytes (`pad` bytes, no objects), which
    the tally does not need: the shape's own unpack would make a bytes object of each."""
    if not shape.live or any(col >= columns for col in shape.columns):
        return False
    what = LIVE_MARKER if shape.marker else 0
    for col in shape.columns:
        what |= 1 << (col + LIVE_COLUMN_SHIFT)
    unpack, layout, stamps = _tally_layout(shape)
    expected = shape.expected
    cells = len(shape.columns)

    def tally(buf: bytes, p: int) -> LiveTally | None | bool:
        try:
            t = unpack(buf, p)
        except struct.error:
            return False
        if layout(t) != expected:
            return False
        found = stamps(t)
        low = min(found)
        return (cells, low, max(found), what) if low >= _MIN_KEPT_TS else None
    return tally


def _tally_layout(shape: RowShape) -> tuple[Callable, Callable, Callable]:
    """(unpack, layout getter, timestamps getter) of the rows of `shape` with every key and
    value byte skipped: the fields that remain are those `shape.expected` lists (in its order)
    and the timestamps. Rebuilt from `expected`, which holds the key's length, the clustering
    component count and lengths, the flags, the marker's TTL (with a marker), the cell count
    and each cell's (column id, flags, value length)."""
    e = shape.expected
    fmt, layout, stamps = [f"<I{e[0]}xH"], [0, 1], []
    count = e[1]
    for i in range(count):
        fmt.append(f"i{e[2 + i]}x")
        layout.append(2 + i)
    field, i = 2 + count, 2 + count
    fmt.append("B")
    layout.append(field)
    field, i = field + 1, i + 1
    if shape.marker:
        fmt.append("qiq")
        stamps.append(field)
        layout.append(field + 1)
        field, i = field + 3, i + 1
    fmt.append("I")
    layout.append(field)
    field, i = field + 1, i + 1
    while i < len(e):
        fmt.append(f"HBqI{e[i + 2]}x")
        layout += (field, field + 1, field + 3)
        stamps.append(field + 2)
        field, i = field + 4, i + 3
    return (struct.Struct("".join(fmt)).unpack_from, itemgetter(*layout),
            itemgetter(*stamps) if len(stamps) > 1 else (lambda t, s=stamps[0]: (t[s],)))


def live_cells(cells: dict) -> tuple[int, int, int] | None:
    """`live_row` for decoded cells (a partition's static cells): (cells, min timestamp, max
    timestamp) when purge keeps every one as it is, else None. (0, ...) for no cells."""
    count, low, high = 0, MAX_TIMESTAMP, NO_DELETION
    for cell in cells.values():
        if type(cell) is Cell:
            elements: list[Cell] = [cell]
        elif cell.deletion != NO_DELETION or cell.ldt or not len(cell.cells):
            return None
        else:
            elements = [element for _key, element in cell.cells.values()]
        for element in elements:
            ts = element.timestamp
            if element.value is None or element.ttl or element.ldt or ts < _MIN_KEPT_TS:
                return None
            low = min(low, ts)
            high = max(high, ts)
            count += 1
    return count, low, high
