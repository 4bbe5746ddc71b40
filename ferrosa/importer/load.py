"""Conversion of SSTable partitions (model.py) into Ferrosa's shard mutations (ipc/messages.py).

Theory of operation
-------------------
A ``Converter`` is made for one SSTable and its target table (whose header check passed, see
target.py). ``partition(p)`` returns the ``m.Mutation``s that rebuild exactly what the partition
holds in a shard's memtable, with Cassandra's own timestamps, TTLs, expiry and deletion times, so
that the shard's reconciliation gives the same result whatever the order of application and
however often it is repeated (importing twice changes nothing):

* the partition key is stored as read (a composite key is already in CompositeType form), routed by
  Ferrosa's Murmur3 ``token`` whatever partitioner wrote the SSTable;
* a row: ``ck`` is the byte-comparable key of its clustering values (the table's types and
  ASC/DESC order), ``ck_values`` the values themselves. A Mutation carries one timestamp, TTL and
  expiry, so the row's content is grouped by (timestamp, ttl, expiry, deletion time): the primary
  key liveness becomes ``row_marker`` of the group of its timestamp and TTL; live cells, expiring
  cells, cell tombstones (their local deletion time in ``now``) and complex deletions
  (``CELL_DELETE`` at the deletion's timestamp) each join the group of their own times;
* non-frozen collections and UDTs: one ``CELL_SET`` per element, ``path`` the byte-comparable
  element key (list: the cell's timeuuid; set and map: the element or key; UDT: the 2-byte field
  index itself) and ``key`` the serialized one, as coordinator/cells.py writes them;
* counters: the context's total as a plain 8-byte cell at the cell's timestamp (a single-replica
  value, idempotent, unlike an increment);
* the static row: ``static_cells`` of mutations with an empty clustering key;
* row deletion -> ROW_DELETE; partition deletion -> PARTITION_DELETE; range tombstone markers are
  paired (an open bound, then the close bound or boundary) into RANGE_DELETE [lo, hi) over
  byte-comparable bounds (inclusive start P, exclusive start P+0xFF, inclusive end P+0xFF,
  exclusive end P; b"" unbounded), the shard's convention (shards/tombstones.py).

What cannot be stored exactly raises ``Unrepresentable`` naming the file and the partition: a
shadowable row deletion or expired liveness (materialized views only), liveness or a deletion on
a static row, a cell path that does not fit its column, a range left open, a clustering value that
does not encode. Nothing is skipped silently.

This module must NOT read files or talk to the node; it turns model objects into mutations.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from ferrosa.importer.errors import Unrepresentable
from ferrosa.importer.model import BoundKind, Cell, DeletionTime, Partition, RangeTombstoneMarker, Row
from ferrosa.importer.target import TargetColumn, TargetTable
from ferrosa.importer.types import counter_context_total
from ferrosa.ipc import messages as m
from ferrosa.partitioner import PartitionKeyError, decompose_partition_key, token
from ferrosa.protocol import types as T
from ferrosa.protocol.values import InvalidValue
from ferrosa.schema.bytecomparable import BOUND_AFTER, clustering_encoder, comparable_key

# LivenessInfo.EXPIRED_LIVENESS_TTL: a primary key liveness that only a materialized view writes.
EXPIRED_LIVENESS_TTL = (1 << 31) - 1
# A UDT cell path is the field's position as a 2-byte short.
UDT_PATH_BYTES = 2
TIMEUUID_BYTES = 16

_BIGINT = struct.Struct(">q")
_FIELD = struct.Struct(">H")
_TIMEUUID_KEY = comparable_key(T.TIMEUUID)
# Marker kinds whose close bound is inclusive / whose open bound is inclusive.
_END_INCLUSIVE = frozenset({BoundKind.INCL_END_BOUND, BoundKind.INCL_END_EXCL_START_BOUNDARY})
_START_INCLUSIVE = frozenset({BoundKind.INCL_START_BOUND, BoundKind.EXCL_END_INCL_START_BOUNDARY})

CellWriter = Callable[[Cell], m.CellWrite]
GroupKey = tuple[int, int, int, int]  # (timestamp, ttl, expires_at, now)


class Refused(ValueError):
    """A cell or bound that cannot be stored exactly (the Converter adds file and partition)."""


# ------------------------------------------------------------------------------------ cell writers

def _simple(column: TargetColumn) -> CellWriter:
    name = column.name

    def write(c: Cell) -> m.CellWrite:
        if c.path is not None:
            raise Refused(f"column {name} is not multi-cell but a cell has a path")
        return m.CellWrite(name, c.value)
    return write


def _counter(column: TargetColumn) -> CellWriter:
    name, pack = column.name, _BIGINT.pack

    def write(c: Cell) -> m.CellWrite:
        if c.path is not None or c.ttl:
            raise Refused(f"counter column {name} has a cell with a path or a TTL")
        if c.value is None:
            return m.CellWrite(name, None)
        try:
            return m.CellWrite(name, pack(counter_context_total(c.value)))
        except ValueError as exc:
            raise Refused(f"counter column {name}: {exc}") from None
    return write


def _element(name: str, encode: Callable[[bytes], bytes], value_of: Callable[[bytes], bytes]) -> CellWriter:
    def write(c: Cell) -> m.CellWrite:
        path = c.path
        if path is None:
            raise Refused(f"column {name} is multi-cell but a cell has no path")
        value = c.value
        return m.CellWrite(name, None if value is None else value_of(value), m.CELL_SET, encode(path), path)
    return write


def _list(column: TargetColumn) -> CellWriter:
    def encode(path: bytes) -> bytes:
        if len(path) != TIMEUUID_BYTES:
            raise Refused(f"list column {column.name}: a cell path of {len(path)} bytes is not a timeuuid")
        return _TIMEUUID_KEY(path)
    return _element(column.name, encode, bytes)


def _set(column: TargetColumn) -> CellWriter:
    # A set element is the cell path; its value is always empty.
    return _element(column.name, comparable_key(column.type.element), lambda _value: b"")  # type: ignore[attr-defined]


def _map(column: TargetColumn) -> CellWriter:
    return _element(column.name, comparable_key(column.type.key), bytes)  # type: ignore[attr-defined]


def _udt(column: TargetColumn) -> CellWriter:
    fields = len(column.type.field_names)  # type: ignore[attr-defined]

    def encode(path: bytes) -> bytes:
        if len(path) != UDT_PATH_BYTES or _FIELD.unpack(path)[0] >= fields:
            raise Refused(f"UDT column {column.name}: cell path 0x{path.hex()} is not one of its "
                          f"{fields} field positions")
        return path
    return _element(column.name, encode, bytes)


_MULTI_CELL_WRITERS: dict[type, Callable[[TargetColumn], CellWriter]] = {
    T.ListType: _list, T.SetType: _set, T.MapType: _map, T.UserType: _udt,
}


def cell_writer(column: TargetColumn) -> CellWriter:
    t = column.type
    if t.is_multi_cell:
        return _MULTI_CELL_WRITERS[type(t)](column)
    return _counter(column) if t is T.COUNTER else _simple(column)


def _cell_key(c: Cell) -> GroupKey:
    if c.value is None:
        return (c.timestamp, 0, 0, c.local_deletion_time or 0)
    if c.ttl:
        return (c.timestamp, c.ttl, c.local_deletion_time or 0, 0)
    return (c.timestamp, 0, 0, 0)


# ------------------------------------------------------------------------------------ converter

class Counts:
    """What the conversion saw: partitions, rows (clustering rows and non-empty static rows), live
    cells (collection elements included), tombstones (partition, row and range deletions, cell
    tombstones, collection deletions) and mutations produced."""

    __slots__ = ("partitions", "rows", "cells", "tombstones", "mutations")

    def __init__(self) -> None:
        self.partitions = self.rows = self.cells = self.tombstones = self.mutations = 0

    def add(self, other: Counts) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Converter:
    """Turns the partitions of one SSTable into mutations of one target table."""

    def __init__(self, target: TargetTable, path: str):
        self.path = path
        self.table_id = target.id
        self.composite_key = len(target.partition_key) > 1
        self.clustering = clustering_encoder(target.clustering_types, target.clustering_reversed)
        self.writers = {name: cell_writer(c) for name, c in target.columns.items()}
        self.counts = Counts()

    def partition(self, p: Partition) -> list[m.Mutation]:
        """The mutations that rebuild ``p``; Unrepresentable if something would be lost or bent."""
        try:
            return self._partition(p)
        except (Refused, InvalidValue, PartitionKeyError) as exc:
            raise Unrepresentable(self.path, f"partition {show_key(p.key)}: {exc}", p.position) from None

    def _partition(self, p: Partition) -> list[m.Mutation]:
        pk = p.key
        if self.composite_key:
            decompose_partition_key(pk)  # a malformed composite key would hash and read back wrong
        tok = token(pk)
        out: list[m.Mutation] = []
        counts = self.counts
        counts.partitions += 1
        d = p.deletion
        if d is not None:
            out.append(m.Mutation(self.table_id, tok, pk, b"", [], d.marked_for_delete_at,
                                  m.MUTATION_PARTITION_DELETE, now=d.local_deletion_time))
            counts.tombstones += 1
        if p.static_row is not None:
            self._static(pk, tok, p.static_row, out)
        opened: tuple[bytes, DeletionTime] | None = None
        row = self._row
        for u in p.unfiltereds:
            if type(u) is Row:
                row(pk, tok, u, out)  # type: ignore[arg-type]
            else:
                opened = self._marker(pk, tok, u, opened, out)  # type: ignore[arg-type]
        if opened is not None:
            raise Refused("a range tombstone is still open at the end of the partition")
        counts.mutations += len(out)
        return out

    def _groups(self, r: Row) -> dict[GroupKey, list[m.CellWrite]]:
        groups: dict[GroupKey, list[m.CellWrite]] = {}
        writers = self.writers
        counts = self.counts
        for c in r.cells:
            writer = writers.get(c.column)
            if writer is None:
                raise Refused(f"column {c.column} is not in the table")
            key = _cell_key(c)
            writes = groups.get(key)
            if writes is None:
                groups[key] = [writer(c)]
            else:
                writes.append(writer(c))
            if c.value is None:
                counts.tombstones += 1
            else:
                counts.cells += 1
        for cd in r.complex_deletions:
            if cd.column not in writers:
                raise Refused(f"column {cd.column} is not in the table")
            key = (cd.deletion.marked_for_delete_at, 0, 0, cd.deletion.local_deletion_time)
            groups.setdefault(key, []).append(m.CellWrite(cd.column, None, m.CELL_DELETE))
            counts.tombstones += 1
        return groups

    def _row(self, pk: bytes, tok: int, r: Row, out: list[m.Mutation]) -> None:
        ck_values = list(r.clustering)
        ck = self.clustering.encode(ck_values)
        marker: GroupKey | None = None
        if r.timestamp is not None:
            if r.ttl == EXPIRED_LIVENESS_TTL:
                raise Refused("a row has an expired liveness (materialized views only)")
            marker = (r.timestamp, r.ttl, (r.local_expiration_time or 0) if r.ttl else 0, 0)
        if r.deletion is not None:
            if r.shadowable:
                raise Refused("a row has a shadowable deletion (materialized views only)")
            out.append(m.Mutation(self.table_id, tok, pk, ck, ck_values, r.deletion.marked_for_delete_at,
                                  m.MUTATION_ROW_DELETE, now=r.deletion.local_deletion_time))
            self.counts.tombstones += 1
        groups = self._groups(r)
        if marker is not None and marker not in groups:
            groups[marker] = []
        table_id = self.table_id
        for key, writes in groups.items():
            ts, ttl, expires, now = key
            out.append(m.Mutation(table_id, tok, pk, ck, ck_values, ts, m.MUTATION_ROW_UPSERT, writes, [],
                                  ttl, expires, key == marker, now))
        self.counts.rows += 1

    def _static(self, pk: bytes, tok: int, r: Row, out: list[m.Mutation]) -> None:
        if r.timestamp is not None or r.deletion is not None:
            raise Refused("the static row has a liveness or a deletion of its own")
        for (ts, ttl, expires, now), writes in self._groups(r).items():
            out.append(m.Mutation(self.table_id, tok, pk, b"", [], ts, m.MUTATION_ROW_UPSERT, [], writes,
                                  ttl, expires, False, now))
        self.counts.rows += 1

    def _bound(self, values: tuple, inclusive: bool, is_start: bool) -> bytes:
        if any(v is None for v in values):
            raise Refused("a range tombstone bound has a null clustering value")
        bound = self.clustering.bound(values, inclusive, is_start)
        return b"" if bound == BOUND_AFTER and not values else bound

    def _marker(self, pk: bytes, tok: int, u: RangeTombstoneMarker, opened: tuple[bytes, DeletionTime] | None,
                out: list[m.Mutation]) -> tuple[bytes, DeletionTime] | None:
        kind = u.kind
        if u.close_deletion is not None:
            if opened is None:
                raise Refused("a range tombstone closes without having been opened")
            lo, d = opened
            if d != u.close_deletion:
                raise Refused(f"a range tombstone opened with {d} closes with {u.close_deletion}")
            hi = self._bound(u.clustering, kind in _END_INCLUSIVE, False)
            out.append(m.Mutation(self.table_id, tok, pk, lo, [], d.marked_for_delete_at,
                                  m.MUTATION_RANGE_DELETE, now=d.local_deletion_time, ck_end=hi))
            self.counts.tombstones += 1
            opened = None
        if u.open_deletion is not None:
            if opened is not None:
                raise Refused("a range tombstone opens while another is open")
            opened = (self._bound(u.clustering, kind in _START_INCLUSIVE, True), u.open_deletion)
        return opened


def show_key(key: bytes) -> str:
    """A partition key for messages: text when it is printable UTF-8, else hex."""
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + key.hex()
    return repr(text) if text.isprintable() else "0x" + key.hex()
