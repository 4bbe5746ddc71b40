"""Row shapes: the layout of a plain row of one length, learnt once and read in one unpack.

What it is: `RowShape` and `row_shape`, which PartitionDecoder (shards/sstable/codec.py) uses
to read a plain row whose length it has seen before without walking its fields; and the
packers and fillers a shape makes for the projections that read it.

What it must not do: decode rows that are not plain (row_shape answers None and the decoder
reads them field by field), or hold anything but layouts: a shape is shared by every row of its
length in one SSTable's reader.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from operator import itemgetter

from ferrosa.ipc.messages import PROJ_CK
from shards.sstable.layout import _I32, _LIVE, _MARKER, _U16, ROW_MARKER, U32, VALUE

# Row shapes a PartitionDecoder learns (one per row length; a table whose values have fixed
# sizes, such as a time series of numbers, has one or a few; each SSTable's reader keeps its
# own, a few KiB), and the projections (slot_of lists) each shape keeps a values getter for.
MAX_ROW_SHAPES = 16
MAX_SHAPE_PLANS = 16
# Rows of a shape's length whose layout differs (two text values whose lengths trade off)
# cost an unpack for nothing: after this many, rows of that length are read field by field.
MAX_SHAPE_MISSES = 32


class RowShape:
    """The layout of a plain row of one length: every field at a fixed offset, unpacked by one
    Struct (`plain_row`'s fast path).

    Theory of operation: a plain row is its clustering (key length, key, component count, a
    length and value per component), a flags byte, an optional marker and its cells (id,
    flags, timestamp, length, value each). Once one row of a given length has been parsed,
    another row of that length with the same lengths, counts, flags, column ids and marker
    TTL (`layout`, compared as one tuple against `expected`) has every field at the same
    offset, so one unpack reads it whole. Timestamps (`stamps`) must not be the deletion
    floor, as plain_row requires; values and keys are taken by index. A row that differs in
    any of these takes plain_row's field-by-field path."""

    __slots__ = ("unpack", "layout", "expected", "stamps", "ck_values", "ck_fields", "cells",
                 "sizes", "live", "marker", "columns", "getters", "last", "misses", "packers",
                 "last_pack", "tally")

    def __init__(self, fmt: str, layout: list[int], expected: list[int], stamps: list[int],
                 ck_values: list[int], cells: dict[int, int], sizes: dict[int, int],
                 marker: bool, columns: tuple[int, ...]) -> None:
        self.unpack = struct.Struct(fmt).unpack_from
        self.ck_fields = ck_values
        self.sizes = sizes  # index of a key component's or cell's value -> its length
        self.layout = itemgetter(*layout)  # always two or more fields: a tuple
        self.expected = tuple(expected)
        self.stamps = _tuple_getter(stamps)
        self.ck_values = _tuple_getter(ck_values)
        self.cells = cells  # column id -> index of the cell's value in the unpacked tuple
        self.marker = marker  # the row has a liveness marker (without a TTL)
        self.columns = columns  # the column id of each cell, in the row's order
        self.live = marker or bool(columns)
        self.getters: dict[int, tuple[list[int], Callable]] = {}
        self.last: tuple[list[int] | None, Callable | None] = (None, None)
        self.misses = 0
        self.packers: dict[int, tuple[object, Callable | None]] = {}
        self.last_pack: tuple[object, Callable | None] = (None, None)
        # livewalk.shaped_live_row's tally of this shape's rows (_shape_tally), made at its
        # first use there.
        self.tally: Callable | bool | None = None

    def packer(self, plan) -> Callable[[tuple], bytes] | None:
        """A function of an unpacked row giving the encoded result values of `plan`'s `tail`
        (key components and cells, each a big-endian length and the value, as the protocol's
        [bytes]) in one pack, since this shape fixes every length; None when the plan has no
        such tail or selects a cell this shape lacks (a null: encode_plain writes it)."""
        self.last_pack = _made_for(self.packers, plan,
                                   lambda: self._packer(plan.tail, plan.slot_of))
        return self.last_pack[1]

    def _packer(self, tail: tuple | None, slot_of: list[int]) -> Callable[[tuple], bytes] | None:
        if tail is None:
            return None
        column_of = {slot: col for col, slot in enumerate(slot_of) if slot >= 0}
        fmt, picks = [">"], []
        for kind, i in tail:
            if kind == PROJ_CK:
                field = self.ck_fields[i] if i < len(self.ck_fields) else None
            else:
                field = self.cells.get(column_of.get(i, -1))
            if field is None:
                return None
            fmt.append(f"i{self.sizes[field]}s")
            picks += (field - 1, field)  # the length field precedes the value in a row too
        pack = struct.Struct("".join(fmt)).pack
        get = _tuple_getter(picks)
        return lambda t: pack(*get(t))

    def fill(self, slot_of: list[int], values: list, t: tuple) -> None:
        """Put the unpacked row `t`'s cells that `slot_of` selects in their slots of `values`."""
        known, fill = self.last
        if known is not slot_of:
            self.last = _made_for(self.getters, slot_of,
                                  lambda: self._filler(slot_of, len(values)))
            fill = self.last[1]
        fill(values, t)

    def _filler(self, slot_of: list[int], width: int) -> Callable[[list, tuple], None]:
        picks = sorted((slot_of[col], i) for col, i in self.cells.items() if slot_of[col] >= 0)
        if [slot for slot, _ in picks] == list(range(width)):  # every slot: SELECT *
            get = _tuple_getter([i for _, i in picks])

            def fill_all(values: list, t: tuple) -> None:
                values[:] = get(t)
            return fill_all

        def fill_some(values: list, t: tuple) -> None:
            for slot, i in picks:
                values[slot] = t[i]
        return fill_some


def _made_for(cache: dict, key: object, make: Callable) -> tuple:
    """(key, what make() gives), kept in `cache` by the identity of `key` (a projection's
    slot_of list or plan) while the cache has room; the entry holds `key`, so its id stays
    its own."""
    found = cache.get(id(key))
    if found is None or found[0] is not key:
        found = key, make()
        if len(cache) < MAX_SHAPE_PLANS:
            cache[id(key)] = found
    return found


def _tuple_getter(indexes: list[int]):
    """A function of a tuple giving the tuple of its items at `indexes` (itemgetter gives a
    bare item for one index)."""
    if len(indexes) == 1:
        i = indexes[0]
        return lambda t: (t[i],)
    if not indexes:
        return lambda t: ()
    return itemgetter(*indexes)


def row_shape(buf: bytes, p: int, end: int) -> RowShape | None:
    """The RowShape of the plain row at buf[p:end] (plain_row has just read it), None when it
    is not plain."""
    fmt, layout, expected, stamps, ck_values = ["<I"], [0, 2], [], [], []
    sizes: dict[int, int] = {}
    n = U32.unpack_from(buf, p)[0]
    count = _U16.unpack_from(buf, p + 4 + n)[0]
    fmt.append(f"{n}sH")
    expected += (n, count)
    q, field = p + 6 + n, 3
    for _ in range(count):
        n = _I32.unpack_from(buf, q)[0]
        if n < 0:
            return None
        fmt.append(f"i{n}s")
        layout.append(field)
        expected.append(n)
        ck_values.append(field + 1)
        sizes[field + 1] = n
        field, q = field + 2, q + 4 + n
    flags = buf[q]
    fmt.append("B")
    layout.append(field)
    expected.append(flags)
    field, q = field + 1, q + 1
    marker = flags == ROW_MARKER
    if marker:
        fmt.append("qiq")
        stamps.append(field)
        layout.append(field + 1)
        expected.append(0)  # the marker's TTL
        field, q = field + 3, q + _MARKER.size
    elif flags:
        return None
    cells_count = U32.unpack_from(buf, q)[0]
    fmt.append("I")
    layout.append(field)
    expected.append(cells_count)
    field, q = field + 1, q + 4
    cells = {}
    columns = []
    for _ in range(cells_count):
        col, flags, _ts, n = _LIVE.unpack_from(buf, q)
        if flags != VALUE:
            return None
        columns.append(col)
        fmt.append(f"HBqI{n}s")
        layout += (field, field + 1, field + 3)
        expected += (col, flags, n)
        stamps.append(field + 2)
        cells[col] = field + 4
        sizes[field + 4] = n
        field, q = field + 5, q + _LIVE.size + n
    if q != end:
        return None
    return RowShape("".join(fmt), layout, expected, stamps, ck_values, cells, sizes, marker,
                    tuple(columns))
