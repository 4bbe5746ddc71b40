"""The in-memory table of one shard: partitions, rows and cells with Cassandra's merge rules.

What it is: the write target and (until SSTables exist) the whole data of a shard's token slice.
Partitions are found by key in a dict and walked in token order through a sorted index; rows within a
partition are ordered by their byte-comparable clustering key.

What it must not do: know CQL statements, types or the protocol beyond producing [bytes] values; it is
owned by exactly one shard process and is never shared, so it takes no locks.

Theory of operation (Cassandra's data model, reduced to what a memtable holds):
- A cell is (timestamp, value, ttl, expires_at); value None is a tombstone. Two versions of a cell
  reconcile as Cassandra's Cells.reconcile: higher timestamp wins; on a tie a tombstone wins, then an
  expiring cell, then the later expiry, then the greater value (unsigned bytes).
- A row has an optional primary-key liveness marker (written by INSERT), an optional row deletion
  timestamp and its cells. A row is visible when its marker or any cell is live, i.e. newer than every
  deletion covering it and not expired at the read's `now`.
- A partition has an optional partition deletion timestamp, static cells and rows.
- Deletions shadow data with a timestamp <= theirs (Cassandra: a deletion at t deletes writes at t).
"""

from __future__ import annotations

import struct
from typing import Iterable, Iterator

from sortedcontainers import SortedDict, SortedList

from ferrosa.ipc import messages as m

_LEN = struct.Struct(">i")
_NULL = _LEN.pack(-1)
_BIGINT = struct.Struct(">q")
_INT = struct.Struct(">i")
# Never shadows anything: deletion timestamps are compared with `<=`.
NO_DELETION = -(1 << 63)
# Fixed per-object overheads used for the memtable's byte budget estimate.
_CELL_OVERHEAD = 64
_ROW_OVERHEAD = 160
_PARTITION_OVERHEAD = 256

Cell = tuple  # (timestamp: int, value: bytes | None, ttl: int, expires_at: int)


def reconcile(old: Cell, new: Cell) -> Cell:
    """The version of a cell that survives, following Cassandra's Cells.reconcile."""
    if new[0] != old[0]:
        return new if new[0] > old[0] else old
    new_dead, old_dead = new[1] is None, old[1] is None
    if new_dead != old_dead:
        return new if new_dead else old
    if (new[3] != 0) != (old[3] != 0):
        return new if new[3] != 0 else old
    if new[3] != old[3]:
        return new if new[3] > old[3] else old
    return new if (new[1] or b"") >= (old[1] or b"") else old


def _cell_live(cell: Cell, shadow: int, now: int) -> bool:
    return cell[1] is not None and cell[0] > shadow and (cell[3] == 0 or now < cell[3])


class Row:
    __slots__ = ("ck_values", "marker", "deletion", "cells")

    def __init__(self, ck_values: list[bytes]) -> None:
        self.ck_values = ck_values
        # (timestamp, ttl, expires_at) of the primary-key liveness marker, if an INSERT wrote one.
        self.marker: tuple[int, int, int] | None = None
        self.deletion = NO_DELETION
        self.cells: dict[str, Cell] = {}

    def live(self, shadow: int, now: int) -> bool:
        shadow = max(shadow, self.deletion)
        marker = self.marker
        if marker is not None and marker[0] > shadow and (marker[2] == 0 or now < marker[2]):
            return True
        return any(_cell_live(c, shadow, now) for c in self.cells.values())


class Partition:
    __slots__ = ("token", "pk", "deletion", "static", "rows")

    def __init__(self, token: int, pk: bytes) -> None:
        self.token = token
        self.pk = pk
        self.deletion = NO_DELETION
        self.static: dict[str, Cell] = {}
        self.rows: SortedDict = SortedDict()

    def has_live_static(self, now: int) -> bool:
        return any(_cell_live(c, self.deletion, now) for c in self.static.values())


def _merge_cells(target: dict[str, Cell], writes: Iterable[m.CellWrite], ts: int, ttl: int,
                 expires_at: int) -> int:
    added = 0
    for write in writes:
        value = write.value
        # A null written with a TTL is still a plain tombstone (Cassandra ignores TTL on deletes).
        cell = (ts, value, 0, 0) if value is None else (ts, value, ttl, expires_at)
        old = target.get(write.column)
        if old is None:
            target[write.column] = cell
            added += _CELL_OVERHEAD + len(write.column) + (len(value) if value else 0)
        else:
            target[write.column] = reconcile(old, cell)
    return added


class TableData:
    """All partitions of one table held by one shard."""

    __slots__ = ("partitions", "order", "bytes")

    def __init__(self) -> None:
        self.partitions: dict[bytes, Partition] = {}
        self.order: SortedList = SortedList()  # (token, pk)
        self.bytes = 0

    def _partition(self, token: int, pk: bytes) -> Partition:
        part = self.partitions.get(pk)
        if part is None:
            part = self.partitions[pk] = Partition(token, pk)
            self.order.add((token, pk))
            self.bytes += _PARTITION_OVERHEAD + len(pk)
        return part

    def apply(self, mut: m.Mutation) -> None:
        part = self._partition(mut.token, mut.pk)
        ts = mut.timestamp
        kind = mut.kind
        if kind == m.MUTATION_PARTITION_DELETE:
            part.deletion = max(part.deletion, ts)
        elif kind == m.MUTATION_ROW_DELETE:
            row = self._row(part, mut)
            row.deletion = max(row.deletion, ts)
        else:
            if mut.static_cells:
                self.bytes += _merge_cells(part.static, mut.static_cells, ts, mut.ttl,
                                           mut.expires_at)
            if mut.cells or mut.row_marker:
                row = self._row(part, mut)
                if mut.row_marker:
                    marker = (ts, mut.ttl, mut.expires_at)
                    if row.marker is None or marker[0] >= row.marker[0]:
                        row.marker = marker
                self.bytes += _merge_cells(row.cells, mut.cells, ts, mut.ttl, mut.expires_at)

    def _row(self, part: Partition, mut: m.Mutation) -> Row:
        row = part.rows.get(mut.ck)
        if row is None:
            row = part.rows[mut.ck] = Row(mut.ck_values)
            self.bytes += _ROW_OVERHEAD + len(mut.ck)
        return row

    def partitions_after(self, after_token: int | None, after_pk: bytes) -> Iterator[Partition]:
        if after_token is None:
            keys = self.order.irange()
        else:
            keys = self.order.irange((after_token, after_pk), None, inclusive=(True, True))
        for token, pk in keys:
            yield self.partitions[pk]


def _value(cell: Cell | None, shadow: int, now: int) -> bytes:
    if cell is not None and _cell_live(cell, shadow, now):
        return _LEN.pack(len(cell[1])) + cell[1]
    return _NULL


def _writetime(cell: Cell | None, shadow: int, now: int) -> bytes:
    if cell is not None and _cell_live(cell, shadow, now):
        return _LEN.pack(8) + _BIGINT.pack(cell[0])
    return _NULL


def _ttl(cell: Cell | None, shadow: int, now: int) -> bytes:
    if cell is not None and cell[3] != 0 and _cell_live(cell, shadow, now):
        return _LEN.pack(4) + _INT.pack(max(cell[3] - now, 0))
    return _NULL


def _raw(value: bytes) -> bytes:
    return _LEN.pack(len(value)) + value


class RowEncoder:
    """Encodes visible rows of a partition according to a projection, as protocol [bytes] values.

    `pk_components` splits a partition key into its serialized components (a composite key holds
    several); it is given by the caller because only the schema knows how many there are.
    """

    __slots__ = ("projection", "now", "pk_components")

    def __init__(self, projection: list[tuple[int, int | str]], now: int, pk_components) -> None:
        self.projection = projection
        self.now = now
        self.pk_components = pk_components

    def encode(self, part: Partition, row: Row | None, out: list[bytes]) -> None:
        """Append one result row; `row` None is a static-only row (clustering values null)."""
        now = self.now
        pdel = part.deletion
        shadow = pdel if row is None else max(pdel, row.deletion)
        cells = {} if row is None else row.cells
        static = part.static
        pk_parts = None
        for kind, arg in self.projection:
            if kind == m.PROJ_CELL:
                out.append(_value(cells.get(arg), shadow, now))
            elif kind == m.PROJ_STATIC:
                out.append(_value(static.get(arg), pdel, now))
            elif kind == m.PROJ_CK:
                out.append(_NULL if row is None else _raw(row.ck_values[arg]))
            elif kind == m.PROJ_PK:
                if pk_parts is None:
                    pk_parts = self.pk_components(part.pk)
                out.append(_raw(pk_parts[arg]))
            else:
                out.append(_META[kind](cells, static, arg, shadow, pdel, now))


_META = {
    m.PROJ_WRITETIME: lambda cells, static, name, shadow, pdel, now: _writetime(
        cells.get(name), shadow, now),
    m.PROJ_TTL: lambda cells, static, name, shadow, pdel, now: _ttl(cells.get(name), shadow, now),
    m.PROJ_STATIC_WRITETIME: lambda cells, static, name, shadow, pdel, now: _writetime(
        static.get(name), pdel, now),
    m.PROJ_STATIC_TTL: lambda cells, static, name, shadow, pdel, now: _ttl(
        static.get(name), pdel, now),
}
