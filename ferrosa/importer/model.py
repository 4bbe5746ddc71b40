"""The neutral output of the SSTable readers: partitions, rows, cells, tombstones, as msgspec Structs.

Everything a later stage needs to rebuild the data in Ferrosa's own storage, and nothing of Cassandra's
on-disk encoding: values stay in their CQL serialized form (bytes), clustering values are the serialized
components (not byte-comparable), timestamps are microseconds, deletion and expiry times are seconds
since the epoch. ``None`` means "absent" throughout (no liveness, no deletion, no value).

* Partition: key (serialized partition key; CompositeType-encoded for multi-column keys), the
  partition-level deletion, the static row, then rows and range tombstone markers in clustering order.
* Row: clustering values, primary key liveness (timestamp, ttl, local expiration time), row deletion,
  cells and complex (collection-level) deletions.
* Cell: column name, value (None for a tombstone), timestamp, ttl, local deletion time (tombstone:
  when deleted; expiring cell: when it expires) and, for collection elements and UDT fields, the path.
* RangeTombstoneMarker: a bound opens or closes a deleted range; a boundary closes one and opens the
  next at the same clustering.

This module must NOT import any reader; it is data only.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum

import msgspec


class BoundKind(IntEnum):
    """ClusteringPrefix.Kind ordinals, as serialized (marker kinds only; 3 and 4 are not markers)."""

    EXCL_END_BOUND = 0
    INCL_START_BOUND = 1
    EXCL_END_INCL_START_BOUNDARY = 2
    INCL_END_EXCL_START_BOUNDARY = 5
    INCL_END_BOUND = 6
    EXCL_START_BOUND = 7

    @property
    def is_boundary(self) -> bool:
        return self in (BoundKind.EXCL_END_INCL_START_BOUNDARY, BoundKind.INCL_END_EXCL_START_BOUNDARY)

    @property
    def is_start(self) -> bool:
        return self in (BoundKind.INCL_START_BOUND, BoundKind.EXCL_START_BOUND)


class DeletionTime(msgspec.Struct, frozen=True, array_like=True, gc=False):
    marked_for_delete_at: int     # microseconds: data with a timestamp <= this is deleted
    local_deletion_time: int      # seconds: when the tombstone was written (for gc_grace)


class Cell(msgspec.Struct, frozen=True, array_like=True, gc=False):
    column: str
    value: bytes | None           # None: tombstone
    timestamp: int
    ttl: int = 0                  # 0: not expiring
    local_deletion_time: int | None = None
    path: bytes | None = None     # collection element key / list timeuuid / UDT field index

    @property
    def is_tombstone(self) -> bool:
        return self.value is None


class ComplexDeletion(msgspec.Struct, frozen=True, array_like=True, gc=False):
    column: str
    deletion: DeletionTime


class Row(msgspec.Struct, gc=False):
    clustering: tuple[bytes | None, ...]      # () for the static row and tables without clustering
    timestamp: int | None = None              # primary key liveness
    ttl: int = 0
    local_expiration_time: int | None = None
    deletion: DeletionTime | None = None
    shadowable: bool = False
    cells: list[Cell] = msgspec.field(default_factory=list)
    complex_deletions: list[ComplexDeletion] = msgspec.field(default_factory=list)
    position: int = -1                        # offset in the uncompressed Data.db stream
    static: bool = False

    @property
    def is_empty(self) -> bool:
        return (self.timestamp is None and self.deletion is None and not self.cells
                and not self.complex_deletions)


class RangeTombstoneMarker(msgspec.Struct, frozen=True, gc=False):
    kind: BoundKind
    clustering: tuple[bytes | None, ...]      # a prefix of the clustering columns
    close_deletion: DeletionTime | None       # the range this marker ends (end bounds, boundaries)
    open_deletion: DeletionTime | None        # the range this marker starts (start bounds, boundaries)
    position: int = -1


Unfiltered = Row | RangeTombstoneMarker


class Partition(msgspec.Struct, gc=False):
    key: bytes
    deletion: DeletionTime | None
    static_row: Row | None
    unfiltereds: list[Unfiltered]
    position: int = -1                        # offset of the partition in the uncompressed stream
    end: int = -1                             # offset just past it

    def rows(self) -> Iterator[Row]:
        for u in self.unfiltereds:
            if type(u) is Row:
                yield u

    def markers(self) -> Iterator[RangeTombstoneMarker]:
        for u in self.unfiltereds:
            if type(u) is RangeTombstoneMarker:
                yield u
