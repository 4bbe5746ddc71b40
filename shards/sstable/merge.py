"""Merging versions of a partition and purging what compaction may forget.

What it is: `merge_into(target, source)` folds one version of a partition into another with
Cassandra's reconciliation rules, and `purge(partition, now, gc_grace_seconds)` rewrites a merged
partition the way compaction keeps it: shadowed data dropped, expired cells turned into tombstones,
tombstones older than gc_grace dropped.

What it must NOT do: decide visibility for a read (the store does, with its `now`), touch files,
or mutate `source` (its rows and complex columns are copied, never shared, because a source may be
a live memtable partition).

Theory of operation (Cassandra's rules, checked against its sources):
- Cells reconcile with memtable.reconcile (Cells.reconcile). Where that rule leaves a tie open
  (equal timestamp, value and deletion time but, say, a different TTL) `merge_cells` breaks it by
  a total order so that merging is commutative.
- Deletions (partition, row, complex column) keep the superseding (timestamp, ldt): DeletionTime
  .supersedes compares the timestamp, then the local deletion time.
- Range tombstones merge through RangeTombstoneList.add, whose normalized form is canonical.
- Row markers follow LivenessInfo.supersedes: newer timestamp; on a tie an expiring marker wins
  over a non-expiring one, then the later expiry.
- Purge (AbstractCell.purge, Row.purge, DeletionPurger): a tombstone, or an expired cell/marker,
  is purgeable when its local deletion time + gc_grace_seconds < now and its timestamp is below
  `max_purgeable` (the oldest timestamp of this partition in data outside the compaction: dropping
  a tombstone newer than data it may still shadow elsewhere would resurrect that data). An expired
  cell that is not purgeable becomes a tombstone whose ldt is its expiry minus its TTL (its write
  time), exactly as Cassandra converts it, and is dropped if that tombstone is purgeable. Anything
  shadowed by a deletion covering it is dropped whether or not the deletion stays.
"""

from __future__ import annotations

from shards.memtable import Cell, Complex, Marker, Partition, Row, reconcile
from shards.sstable.codec import row_map
from shards.tombstones import NO_DELETION, RangeTombstoneList

# "Nothing outside this compaction holds the partition": every tombstone may be purged by time.
MAX_PURGEABLE = (1 << 63) - 1


def _tie_order(cell: Cell) -> tuple:
    return cell.timestamp, cell.value is None, cell.ldt, cell.ttl, cell.value or b""


def merge_cells(a: Cell, b: Cell) -> Cell:
    """reconcile(a, b), made commutative where reconcile's tie rules leave a choice."""
    winner = reconcile(a, b)
    if a.timestamp == b.timestamp and a != b:
        other = reconcile(b, a)
        if other != winner:
            return max(winner, other, key=_tie_order)
    return winner


def _marker_order(marker: Marker) -> tuple[int, bool, int, int]:
    return marker.timestamp, marker.ttl != 0, marker.expires, marker.ttl


def _copy_complex(column: Complex) -> Complex:
    copy = Complex()
    copy.deletion, copy.ldt = column.deletion, column.ldt
    copy.cells = row_map(column.cells.items())
    return copy


def _copy_row(row: Row) -> Row:
    copy = Row(row.ck_values)
    copy.marker, copy.deletion, copy.ldt = row.marker, row.deletion, row.ldt
    copy.cells = {name: cell if type(cell) is Cell else _copy_complex(cell)
                  for name, cell in row.cells.items()}
    return copy


def _merge_complex(target: Complex, source: Complex) -> None:
    if (source.deletion, source.ldt) > (target.deletion, target.ldt):
        target.deletion, target.ldt = source.deletion, source.ldt
    cells = target.cells
    for path, (key, cell) in source.cells.items():
        old = cells.get(path)
        if old is None:
            cells[path] = (key, cell)
        else:
            winner = merge_cells(old[1], cell)
            if winner == old[1] and winner == cell:
                cells[path] = (max(old[0], key), winner)
            else:
                cells[path] = (old[0] if winner == old[1] else key, winner)


def _merge_cells_into(target: dict, source: dict) -> None:
    for name, cell in source.items():
        old = target.get(name)
        if old is None:
            target[name] = cell if type(cell) is Cell else _copy_complex(cell)
        elif type(old) is Cell and type(cell) is Cell:
            target[name] = merge_cells(old, cell)
        elif type(old) is Complex and type(cell) is Complex:
            _merge_complex(old, cell)
        else:
            raise ValueError(f"column {name!r} is a simple cell in one version of the partition "
                             f"and a multi-cell column in another")


def _merge_row(target: Row, source: Row) -> None:
    # What the source brings (a TTL, a tombstone, an older timestamp) may break the promise
    # of the target's floor: a memtable row merged in place (TableStore.pull_row) loses it.
    target.floor = NO_DELETION
    if source.marker is not None and (target.marker is None or _marker_order(source.marker)
                                      > _marker_order(target.marker)):
        target.marker = source.marker
    if (source.deletion, source.ldt) > (target.deletion, target.ldt):
        target.deletion, target.ldt = source.deletion, source.ldt
    _merge_cells_into(target.cells, source.cells)


def merge_into(target: Partition, source: Partition) -> None:
    """Fold `source` (same token and pk) into `target`; `source` is left unchanged."""
    if (source.deletion, source.ldt) > (target.deletion, target.ldt):
        target.deletion, target.ldt = source.deletion, source.ldt
    _merge_cells_into(target.static, source.static)
    if source.ranges is not None and len(source.ranges):
        if target.ranges is None:
            target.ranges = RangeTombstoneList()
        add = target.ranges.add
        for lo, hi, ts, ldt in source.ranges:
            add(lo, hi, ts, ldt)
    rows = target.rows
    for ck, row in source.rows.items():
        old = rows.get(ck)
        if old is None:
            rows[ck] = _copy_row(row)
        else:
            _merge_row(old, row)


class _Purger:
    """The purge of one partition: `now`, gc grace and the purgeable-timestamp bound."""

    __slots__ = ("gc_before", "max_purgeable", "now")

    def __init__(self, now: int, gc_grace_seconds: int, max_purgeable: int) -> None:
        self.now = now
        self.gc_before = now - gc_grace_seconds  # purgeable iff ldt < gc_before
        self.max_purgeable = max_purgeable

    def purgeable(self, ts: int, ldt: int) -> bool:
        return ldt < self.gc_before and ts < self.max_purgeable

    def deletion(self, ts: int, ldt: int, shadow: int) -> tuple[int, int]:
        """A deletion kept as is, or (NO_DELETION, 0) if shadowed or purgeable."""
        if ts == NO_DELETION or ts <= shadow or self.purgeable(ts, ldt):
            return NO_DELETION, 0
        return ts, ldt

    def cell(self, cell: Cell, shadow: int) -> Cell | None:
        ts, value, ttl, ldt = cell.timestamp, cell.value, cell.ttl, cell.ldt
        if ts <= shadow:
            return None
        if value is None:
            return None if self.purgeable(ts, ldt) else cell
        if ttl and self.now >= ldt:  # expired
            if self.purgeable(ts, ldt):
                return None
            tombstone = Cell(ts, None, 0, ldt - ttl)
            return None if self.purgeable(ts, ldt - ttl) else tombstone
        return cell

    def cells(self, cells: dict, shadow: int) -> dict:
        kept = {}
        for name, cell in cells.items():
            if type(cell) is Cell:
                cell = self.cell(cell, shadow)
            else:
                cell = self.complex(cell, shadow)
            if cell is not None:
                kept[name] = cell
        return kept

    def complex(self, column: Complex, shadow: int) -> Complex | None:
        kept = Complex()
        kept.deletion, kept.ldt = self.deletion(column.deletion, column.ldt, shadow)
        shadow = max(shadow, column.deletion)
        for path, (key, cell) in column.cells.items():
            cell = self.cell(cell, shadow)
            if cell is not None:
                kept.cells[path] = (key, cell)
        if kept.deletion == NO_DELETION and not kept.cells:
            return None
        return kept

    def row(self, row: Row, outer: int) -> Row | None:
        kept = Row(row.ck_values)
        kept.deletion, kept.ldt = self.deletion(row.deletion, row.ldt, outer)
        shadow = max(outer, row.deletion)
        marker = row.marker
        if marker is not None and marker.timestamp > shadow and not (
                marker.ttl and self.now >= marker.expires
                and self.purgeable(marker.timestamp, marker.expires)):
            kept.marker = marker
        kept.cells = self.cells(row.cells, shadow)
        if kept.marker is None and kept.deletion == NO_DELETION and not kept.cells:
            return None
        return kept


def purge(partition: Partition, now: int, gc_grace_seconds: int,
          max_purgeable: int = MAX_PURGEABLE) -> Partition | None:
    """The partition as compaction writes it, or None if nothing of it remains. `partition` is
    not modified. `max_purgeable`: only tombstones with a timestamp below it may be dropped."""
    purger = _Purger(now, gc_grace_seconds, max_purgeable)
    pdel = partition.deletion
    out = Partition(partition.token, partition.pk)
    out.deletion, out.ldt = purger.deletion(pdel, partition.ldt, NO_DELETION)
    out.static = purger.cells(partition.static, pdel)
    ranges = partition.ranges if partition.ranges is not None and len(partition.ranges) else None
    if ranges is not None:
        items = [item for item in ranges if item[2] > pdel and not purger.purgeable(item[2],
                                                                                   item[3])]
        if items:
            out.ranges = RangeTombstoneList()
            out.ranges.items = items  # a subset of a normalized list is still normalized
            out.ranges.los = [item[0] for item in items]
    covering = ranges.covering if ranges is not None else None
    kept_rows = []
    for ck, row in partition.rows.items():
        outer = pdel
        if covering is not None:
            rt = covering(ck)
            if rt > outer:
                outer = rt
        row = purger.row(row, outer)
        if row is not None:
            kept_rows.append((ck, row))
    if kept_rows:
        out.rows = row_map(kept_rows)
    if (out.deletion == NO_DELETION and not out.static and not kept_rows
            and out.ranges is None):
        return None
    return out
