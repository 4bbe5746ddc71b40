"""The in-memory table of one shard: partitions, rows and cells with Cassandra's merge rules.

What it is: the write target and (until SSTables exist) the whole data of a shard's token slice.
Partitions are found by key in a dict and walked in token order through a sorted index; rows within a
partition are ordered by their byte-comparable clustering key.

What it must not do: know CQL statements, types or the protocol beyond producing [bytes] values; it is
owned by exactly one shard process and is never shared, so it takes no locks.

Theory of operation (Cassandra's data model, reduced to what a memtable holds):
- A cell is a `Cell` (timestamp, value, ttl, ldt): value None is a tombstone and ldt its local
  deletion time; an expiring cell has ttl > 0 and ldt = its expiry; a plain live cell has
  ttl = ldt = 0. Two versions reconcile as Cassandra 4+'s Cells.reconcile (`reconcile` below).
- A multi-cell column (non-frozen collection or UDT) is a `Complex`: a column-wide deletion plus
  element cells keyed by a byte-comparable path (map key, set element, list timeuuid, UDT field),
  each remembering its serialized key.
- A row has an optional primary-key liveness marker (written by INSERT), an optional row deletion
  and its cells. A row is visible when its marker or any cell is live, i.e. newer than every
  deletion covering it (partition, range, row) and not expired at the read's `now`.
- A partition has a deletion, static cells, rows and range tombstones (shards/tombstones.py).
- Deletions shadow data with a timestamp <= theirs (Cassandra: a deletion at t deletes writes at t).
- A row's `floor` lets reads skip the per-cell tests for the usual row, one written only by
  writes of whole values without a TTL: it is then a timestamp at or below its marker's and every
  cell's, so any shadow below it hides nothing in the row (and a flush encodes each cell as a
  plain live value). A write that could break that (a null, a TTL or expiry time, a collection
  or counter cell) sets it to NO_DELETION, which no shadow is below,
  for as long as the row stays in the memtable. Rows made elsewhere (decoded, merged) keep the
  default, and a row merged into in place (shards/sstable/merge.py) goes back to it.
"""

from __future__ import annotations

import struct
from sys import intern
from typing import Iterable, Iterator, Sequence

import msgspec
from sortedcontainers import SortedList

from ferrosa.ipc import messages as m
from shards.errors import MutationRejected
from shards.plainrow import RowPutter, RowPutters
from shards.rowmap import RowMap
from shards.tombstones import NO_DELETION, RangeTombstoneList

_BIGINT = struct.Struct(">q")
_INDEX = struct.Struct(">i")
# Fixed per-object overheads used for the memtable's byte budget estimate.
_CELL_OVERHEAD = 64
_ROW_OVERHEAD = 160
_PARTITION_OVERHEAD = 256


class Cell(msgspec.Struct, gc=False, frozen=True):
    """One version of a cell (Cassandra's Cell): `value` None is a tombstone, `ldt` its local
    deletion time or, when `ttl` > 0, the expiry. Frozen, so equal cells compare equal.

    A struct without the collector's header rather than a tuple (see the note on gc=False below):
    a row's cells dict that holds only these is never tracked, where one tuple made it tracked
    until a full collection; and every new cell would join the young generation."""

    timestamp: int
    value: bytes | None
    ttl: int
    ldt: int


class Marker(msgspec.Struct, gc=False, frozen=True):
    """A row's primary-key liveness marker (Cassandra's LivenessInfo), written by INSERT."""

    timestamp: int
    ttl: int
    expires: int  # the expiry (seconds since the epoch) when ttl > 0, else 0


# The unrolled puts of a row's plain values, per column set (shards/plainrow.py).
_PLAIN_PUTTERS = RowPutters(Cell, _CELL_OVERHEAD)


def reconcile(old: Cell, new: Cell) -> Cell:
    """The version of a cell that survives (Cassandra's Cells.reconcile / resolveRegular)."""
    if new.timestamp != old.timestamp:
        return new if new.timestamp > old.timestamp else old
    new_dead, old_dead = new.ldt != 0, old.ldt != 0  # expiring or tombstone
    if new_dead or old_dead:
        if new_dead != old_dead:
            return new if new_dead else old
        new_tomb, old_tomb = new.value is None, old.value is None
        if new_tomb != old_tomb:
            return new if new_tomb else old
        if new.ldt != old.ldt:
            return new if new.ldt > old.ldt else old
    return new if (new.value or b"") >= (old.value or b"") else old


def cell_live(cell: Cell, shadow: int, now: int) -> bool:
    return (cell.value is not None and cell.timestamp > shadow
            and (cell.ttl == 0 or now < cell.ldt))


# The memtable's objects (and the partitions an SSTable read decodes) are msgspec Structs with
# gc=False: the cyclic collector never tracks them, so a full collection does not walk a large
# memtable, and each is smaller than a __slots__ instance by the collector's header. That is safe
# because they never form a reference cycle: a partition owns its rows and cells and nothing
# points back. eq=False keeps identity equality and hashing, as for plain objects.


class Complex(msgspec.Struct, gc=False, eq=False):
    """A multi-cell column: its own deletion, then element cells by byte-comparable path."""

    deletion: int = NO_DELETION
    ldt: int = 0
    cells: RowMap = msgspec.field(default_factory=RowMap)  # path -> (key, Cell), in path order

    def delete(self, timestamp: int, ldt: int) -> None:
        if (timestamp, ldt) > (self.deletion, self.ldt):
            self.deletion, self.ldt = timestamp, ldt

    def put(self, path: bytes, key: bytes, cell: Cell) -> int:
        old = self.cells.get(path)
        if old is None:
            self.cells[path] = (key, cell)
            return _CELL_OVERHEAD + len(path) + len(key) + len(cell.value or b"")
        self.cells[path] = (key, reconcile(old[1], cell))
        return 0

    def live_items(self, shadow: int, now: int) -> Iterator[tuple[bytes, bytes, Cell]]:
        """(path, key, cell) of the live elements, in path order."""
        shadow = max(shadow, self.deletion)
        for path, (key, cell) in self.cells.items():
            if cell_live(cell, shadow, now):
                yield path, key, cell

    def any_live(self, shadow: int, now: int) -> bool:
        return next(self.live_items(shadow, now), None) is not None


class Row(msgspec.Struct, gc=False, eq=False):
    ck_values: Sequence[bytes]
    marker: Marker | None = None  # the primary-key liveness marker, if an INSERT wrote one
    deletion: int = NO_DELETION
    ldt: int = 0
    cells: dict[str, Cell | Complex] = {}  # a new dict per row (msgspec copies empty defaults)
    # At or below the marker's and every cell's timestamp while each is a live plain value
    # without a TTL; NO_DELETION when that is not known (the theory of operation above).
    floor: int = NO_DELETION

    def live(self, shadow: int, now: int, dropped: dict[str, int] | None = None) -> bool:
        shadow = max(shadow, self.deletion)
        marker = self.marker
        if (marker is not None and marker.timestamp > shadow
                and (marker.ttl == 0 or now < marker.expires)):
            return True
        return any_live_cell(self.cells, shadow, now, dropped)


def any_live_cell(cells: dict[str, Cell | Complex], shadow: int, now: int,
                  dropped: dict[str, int] | None = None) -> bool:
    for name, cell in cells.items():
        column_shadow = shadow
        if dropped is not None:
            column_shadow = max(shadow, dropped.get(name, NO_DELETION))
        if type(cell) is Cell:
            if cell_live(cell, column_shadow, now):
                return True
        elif cell.any_live(column_shadow, now):
            return True
    return False


class Partition(msgspec.Struct, gc=False, eq=False):
    token: int
    pk: bytes
    deletion: int = NO_DELETION
    ldt: int = 0
    static: dict[str, Cell | Complex] = {}
    rows: RowMap = msgspec.field(default_factory=RowMap)
    ranges: RangeTombstoneList | None = None

    def has_live_static(self, now: int, dropped: dict[str, int] | None = None) -> bool:
        return any_live_cell(self.static, self.deletion, now, dropped)

    def row_shadow(self, ck: bytes, row: Row) -> int:
        """The newest deletion covering `row` (partition, range tombstones, the row's own)."""
        shadow = self.deletion if self.deletion > row.deletion else row.deletion
        if self.ranges is not None:
            covering = self.ranges.covering(ck)
            if covering > shadow:
                shadow = covering
        return shadow


class _CellApplier(msgspec.Struct, gc=False):
    """Applies the CellWrites of one mutation to a row's or partition's cell dict: its
    timestamp, TTL, expiry and clock, made once per mutation."""

    ts: int
    ttl: int
    expires: int
    now: int

    def cell(self, value: bytes | None) -> Cell:
        # A null written with a TTL is still a plain tombstone (Cassandra ignores TTL on deletes).
        if value is None:
            return Cell(self.ts, None, 0, self.now)
        return Cell(self.ts, value, self.ttl, self.expires)

    def apply(self, target: dict[str, Cell | Complex], writes: Iterable[m.CellWrite],
              shadow: int) -> int:
        added = 0
        for write in writes:
            op = write.op
            if op == m.CELL_SET and write.path is None:
                added += put_plain(target, (write.column,), (write.value,), self.ts, self.ttl,
                                   self.expires, self.now)
            elif op == m.CELL_COUNTER_ADD:
                added += self._counter(target, write, shadow)
            else:
                added += self._complex(target, write, shadow)
        return added

    def _counter(self, target: dict, write: m.CellWrite, shadow: int) -> int:
        # Single-replica counters: the shard owns the only copy, so an increment is applied here
        # to the current value. A deleted counter stays deleted (Cassandra: counters cannot be
        # revived after a delete).
        old = target.get(write.column)
        delta = _BIGINT.unpack(write.value)[0]
        if type(old) is Cell:
            if old.value is None and old.timestamp > shadow:
                return 0
            if old.timestamp > shadow:
                delta += _BIGINT.unpack(old.value)[0]
        total = ((delta + (1 << 63)) % (1 << 64)) - (1 << 63)  # Java long overflow wraps
        # The new total must supersede the old one wherever both exist (an SSTable holds the old):
        # a later timestamp, even when this write's own timestamp is not later.
        ts = max(self.ts, old.timestamp + 1) if type(old) is Cell else self.ts
        target[intern(write.column)] = Cell(ts, _BIGINT.pack(total), 0, 0)
        return 0 if old is not None else _CELL_OVERHEAD + len(write.column) + 8

    def _complex(self, target: dict, write: m.CellWrite, shadow: int) -> int:
        column = target.get(write.column)
        added = 0
        if type(column) is not Complex:
            column = target[intern(write.column)] = Complex()
            added = _CELL_OVERHEAD + len(write.column)
        op = write.op
        if op == m.CELL_SET:
            return added + column.put(write.path, write.key or b"", self.cell(write.value))
        if op == m.CELL_REPLACE:
            column.delete(self.ts - 1, self.now)
        elif op == m.CELL_DELETE:
            column.delete(self.ts, self.now)
        elif op == m.CELL_LIST_SET_INDEX:
            index = _INDEX.unpack(write.key)[0]
            path, key, _cell = list(column.live_items(shadow, self.now))[index]
            added += column.put(path, key, self.cell(write.value))
        elif op == m.CELL_LIST_REMOVE:
            for path, key, cell in list(column.live_items(shadow, self.now)):
                if cell.value == write.value:
                    column.put(path, key, self.cell(None))
        else:
            raise MutationRejected(f"unknown cell operation {op}")
        return added


def put_plain(target: dict[str, Cell | Complex], names: Sequence[str],
              values: Sequence[bytes | None], ts: int, ttl: int, expires: int, now: int) -> int:
    """Put whole-value cells (a mutation's plain_names/plain_values, or one CELL_SET write
    without a path) written at `ts` with `ttl` and `expires`, `now` the coordinator's clock:
    each reconciled with the cell it meets; returns the bytes added. A function of the
    mutation's fields, not a _CellApplier method: the usual INSERT makes no applier."""
    # The usual rows, by the functions unrolled for these names: a new row of values (the
    # insert of a new key, no cell to reconcile with), or values over older plain cells.
    putters = _PLAIN_PUTTERS[tuple(names)]
    if putters is not None:
        added = (putters.over if target else putters.new)(target, values, ts, ttl, expires)
        if added >= 0:
            return added
    elif not target and None not in values:  # too many names to unroll
        added = len(names) * _CELL_OVERHEAD
        for name, value in zip(names, values):
            target[intern(name)] = Cell(ts, value, ttl, expires)
            added += len(name) + len(value)
        return added
    added = 0
    for name, value in zip(names, values):
        cell = Cell(ts, value, ttl, expires) if value is not None else Cell(ts, None, 0, now)
        old = target.get(name)
        if type(old) is Cell:
            # A later write wins outright (reconcile's first rule), without a call per cell:
            # the usual overwrite.
            target[name] = cell if old.timestamp < ts else reconcile(old, cell)
        else:
            # The name decoded with this write is a new str each time; the interned one is
            # shared by every row of the memtable (a fifth of a standard1 row's memory).
            target[intern(name)] = cell
            added += _CELL_OVERHEAD + len(name) + (len(value) if value is not None else 0)
    return added


def check_list_indexes(writes: Iterable[m.CellWrite], target: dict, shadow: int,
                       now: int) -> None:
    """Refuse the whole mutation before applying anything if a list index is out of bounds."""
    for write in writes:
        if write.op != m.CELL_LIST_SET_INDEX:
            continue
        index = _INDEX.unpack(write.key)[0]
        column = target.get(write.column)
        size = 0 if type(column) is not Complex else sum(1 for _ in column.live_items(shadow, now))
        if not 0 <= index < size:
            if size == 0:
                raise MutationRejected("Attempted to set an element on a list which is null"
                                       if write.value is not None else
                                       "Attempted to delete an element from a list which is null")
            raise MutationRejected(f"List index {index} out of bound, list has size {size}")


class TableData:
    """All partitions of one table held by one shard."""

    __slots__ = ("partitions", "_order", "_unordered", "bytes", "dropped", "min_timestamp")

    def __init__(self, dropped: dict[str, int] | None = None) -> None:
        self.partitions: dict[bytes, Partition] = {}
        # (token, pk) of every partition in token order, for ordered reads (a flush sorts the
        # partitions' own tokens: flush.py). A new partition only joins `_unordered`; the first
        # ordered read sorts them in. Adding one at a time to the SortedList was a sixth of a
        # shard's CPU per new-partition write.
        self._order: SortedList = SortedList()
        self._unordered: list[tuple[int, bytes]] = []
        self.bytes = 0
        # The oldest write timestamp applied: compaction may not purge tombstones newer than it.
        self.min_timestamp = (1 << 63) - 1
        # Dropped columns -> drop time: their cells at or before it are invisible (m.TableSchema).
        self.dropped = dropped

    def release_steps(self, count: int) -> Iterator[None]:
        """Free the partitions and their keys `count` at a time, one step per next(), for a
        flushed memtable nothing reads any more: freeing 27k partitions at once took 18 ms."""
        partitions, order, unordered = self.partitions, self._order, self._unordered
        while partitions or order or unordered:
            del order[-count:]
            del unordered[-count:]
            for _ in range(min(count, len(partitions))):
                partitions.popitem()
            yield

    def partition(self, token: int, pk: bytes) -> Partition:
        """The memtable's partition of `pk`, made (empty) if it has none."""
        return self.partitions.get(pk) or self._new_partition(token, pk)

    def _new_partition(self, token: int, pk: bytes) -> Partition:
        part = self.partitions[pk] = Partition(token, pk)
        self._unordered.append((token, pk))
        self.bytes += _PARTITION_OVERHEAD + len(pk)
        return part

    def check(self, mut: m.Mutation) -> None:
        """Validate what needs the current data (list indexes) before any mutation is applied."""
        if mut.kind != m.MUTATION_ROW_UPSERT:
            return
        part = self.partitions.get(mut.pk)
        if part is None:
            check_list_indexes(mut.cells, {}, NO_DELETION, mut.now)
            check_list_indexes(mut.static_cells, {}, NO_DELETION, mut.now)
            return
        row = part.rows.get(mut.ck)
        cells = {} if row is None else row.cells
        check_list_indexes(mut.cells, cells, NO_DELETION if row is None
                           else part.row_shadow(mut.ck, row), mut.now)
        check_list_indexes(mut.static_cells, part.static, part.deletion, mut.now)

    def apply(self, mut: m.Mutation) -> None:
        # A partition or row that exists is found inline (the usual overwrite); a call makes a
        # new one. Partition and Row are always true.
        part = self.partitions.get(mut.pk) or self._new_partition(mut.token, mut.pk)
        kind = mut.kind
        ts = mut.timestamp
        if ts < self.min_timestamp:
            self.min_timestamp = ts
        if kind == m.MUTATION_ROW_UPSERT:
            self._upsert(part, mut)
        elif kind == m.MUTATION_PARTITION_DELETE:
            if (ts, mut.now) > (part.deletion, part.ldt):
                part.deletion, part.ldt = ts, mut.now
        elif kind == m.MUTATION_ROW_DELETE:
            row = part.rows.get(mut.ck) or self._new_row(part, mut)
            if (ts, mut.now) > (row.deletion, row.ldt):
                row.deletion, row.ldt = ts, mut.now
        elif kind == m.MUTATION_RANGE_DELETE:
            if part.ranges is None:
                part.ranges = RangeTombstoneList()
            part.ranges.add(mut.ck, mut.ck_end, ts, mut.now)
            self.bytes += _CELL_OVERHEAD + len(mut.ck) + len(mut.ck_end)
        else:  # ShardStore.on_write refuses these before applying anything
            raise MutationRejected(f"unknown mutation kind {kind}")

    def _upsert(self, part: Partition, mut: m.Mutation) -> None:
        ts, ttl, expires = mut.timestamp, mut.ttl, mut.expires_at
        if mut.static_cells:
            self.bytes += _CellApplier(ts, ttl, expires, mut.now).apply(
                part.static, mut.static_cells, part.deletion)
        names = mut.plain_names
        if names or mut.cells or mut.row_marker:
            row = part.rows.get(mut.ck) or self._new_row(part, mut, ts)
            if ttl or expires or mut.cells or None in mut.plain_values:
                row.floor = NO_DELETION
            elif ts < row.floor:
                row.floor = ts
            if mut.row_marker and (row.marker is None or ts >= row.marker.timestamp):
                row.marker = Marker(ts, ttl, expires)
            if names:
                self.bytes += put_plain(row.cells, names, mut.plain_values, ts, ttl, expires,
                                        mut.now)
            if mut.cells:
                self.bytes += _CellApplier(ts, ttl, expires, mut.now).apply(
                    row.cells, mut.cells, part.row_shadow(mut.ck, row))
        if mut.rows:
            self._more_rows(part, mut)

    def _more_rows(self, part: Partition, mut: m.Mutation) -> None:
        """Mutation.rows: each the upsert of its own row, as `_upsert` writes the first."""
        ts, ttl, expires, now = mut.timestamp, mut.ttl, mut.expires_at, mut.now
        names = mut.plain_names
        rows = part.rows
        extras = mut.rows
        # A row's cells are put by the functions unrolled for these names when it is new or
        # its cells are older plain values (put_plain's usual paths, which a batch's first
        # row takes in _upsert).
        putters = _PLAIN_PUTTERS[tuple(names)]
        cks = [extra.ck for extra in extras]
        if putters is not None and rows.appends(cks):
            self._append_rows(rows, cks, mut, putters.new)
            return
        # One marker for all the rows: a Marker is frozen.
        marker = Marker(ts, ttl, expires) if mut.row_marker else None
        added = 0
        for extra, row in zip(extras, rows.get_all(cks)):
            if row is None:
                # Not there before this mutation; an earlier row of it may have made it.
                row = rows.get(extra.ck)
                if row is None:
                    row = rows[extra.ck] = Row(tuple(extra.ck_values), floor=ts)
                    added += _ROW_OVERHEAD + len(extra.ck)
            values = extra.plain_values
            nulls = None in values
            if ttl or expires or nulls:
                row.floor = NO_DELETION
            elif ts < row.floor:
                row.floor = ts
            if marker and (row.marker is None or ts >= row.marker.timestamp):
                row.marker = marker
            if not names:
                continue
            cells = row.cells
            if putters is not None:
                size = (putters.over if cells else putters.new)(cells, values, ts, ttl, expires)
                if size >= 0:
                    added += size
                    continue
            added += put_plain(cells, names, values, ts, ttl, expires, now)
        self.bytes += added

    def _append_rows(self, rows: RowMap, cks: list[bytes], mut: m.Mutation,
                     put: RowPutter) -> None:
        """_more_rows of rows new to the partition, after all its rows in clustering order
        (RowMap.appends said so): each row made whole, then all added to the map at once."""
        ts, ttl, expires = mut.timestamp, mut.ttl, mut.expires_at
        marker = Marker(ts, ttl, expires) if mut.row_marker else None
        floor = NO_DELETION if ttl or expires else ts
        new = []
        added = len(cks) * _ROW_OVERHEAD + sum(map(len, cks))
        for extra in mut.rows:
            values = extra.plain_values
            cells: dict[str, Cell | Complex] = {}
            size = put(cells, values, ts, ttl, expires)
            if size >= 0:
                new.append(Row(tuple(extra.ck_values), marker, NO_DELETION, 0, cells, floor))
            else:  # a null among the values
                size = put_plain(cells, mut.plain_names, values, ts, ttl, expires, mut.now)
                new.append(Row(tuple(extra.ck_values), marker, NO_DELETION, 0, cells,
                               NO_DELETION))
            added += size
        rows.extend(cks, new)
        self.bytes += added

    def _new_row(self, part: Partition, mut: m.Mutation, floor: int = NO_DELETION) -> Row:
        # A tuple, not the decoded list: a tuple of bytes leaves the collector's lists after its
        # first collection, a list is walked by every full collection for good. `floor`: the
        # upsert's timestamp (the row gets a marker or a cell at it), NO_DELETION for a deletion.
        row = part.rows[mut.ck] = Row(tuple(mut.ck_values), floor=floor)
        self.bytes += _ROW_OVERHEAD + len(mut.ck)
        return row

    @property
    def order(self) -> SortedList:
        """(token, pk) of every partition, in token order."""
        if self._unordered:
            self._order.update(self._unordered)
            self._unordered = []
        return self._order

    def partitions_after(self, after_token: int | None, after_pk: bytes) -> Iterator[Partition]:
        if after_token is None:
            keys = self.order.irange()
        else:
            keys = self.order.irange((after_token, after_pk), None, inclusive=(True, True))
        for _token, pk in keys:
            yield self.partitions[pk]
