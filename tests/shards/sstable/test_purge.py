"""purge: golden cases for Cassandra's compaction rules, and a model check that purging never
changes what a read at or after `now` sees."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shards.memtable import Cell, Complex, Marker, Partition, Row
from shards.sstable.merge import purge
from shards.tombstones import NO_DELETION, RangeTombstoneList
from tests.shards.sstable.helpers import dump, partitions, visible


def _row(*cells: tuple[str, Cell | Complex], marker=None, deletion=(NO_DELETION, 0)) -> Row:
    row = Row([b"c"])
    row.marker = marker
    row.deletion, row.ldt = deletion
    row.cells = dict(cells)
    return row


def _part(rows: dict, deletion=(NO_DELETION, 0), static=None, ranges=()) -> Partition:
    part = Partition(1, b"k")
    part.deletion, part.ldt = deletion
    part.static = static or {}
    for ck, row in rows.items():
        part.rows[ck] = row
    if ranges:
        part.ranges = RangeTombstoneList()
        for lo, hi, ts, ldt in ranges:
            part.ranges.add(lo, hi, ts, ldt)
    return part


def test_gc_grace_boundary() -> None:
    # A tombstone is purgeable when ldt + gc_grace_seconds < now (Cassandra: ldt < now - gcGrace).
    part = _part({b"\x40a": _row(("v", Cell(5, None, 0, 100)))})
    assert purge(part, now=110, gc_grace_seconds=10) is not None
    assert purge(part, now=111, gc_grace_seconds=10) is None


def test_partition_row_and_range_tombstones_at_the_boundary() -> None:
    part = _part({b"\x40a": _row(deletion=(7, 100))}, deletion=(6, 100),
                 ranges=[(b"\x40b", b"\x40c", 8, 100)])
    kept = purge(part, now=110, gc_grace_seconds=10)
    assert (kept.deletion, kept.rows[b"\x40a"].deletion, list(kept.ranges)) == (
        6, 7, [(b"\x40b", b"\x40c", 8, 100)])
    assert purge(part, now=111, gc_grace_seconds=10) is None


def test_expired_cell_becomes_a_tombstone_at_its_write_time() -> None:
    # Written at 1000 with TTL 50: expires at 1050. Cassandra converts it to a tombstone whose
    # local deletion time is expiry - ttl (AbstractCell.purge), then purges that by gc grace.
    part = _part({b"\x40a": _row(("v", Cell(5, b"x", 50, 1050)))})
    live = purge(part, now=1049, gc_grace_seconds=1000)
    assert live.rows[b"\x40a"].cells["v"] == Cell(5, b"x", 50, 1050)  # not yet expired: untouched
    dead = purge(part, now=1100, gc_grace_seconds=1000)
    assert dead.rows[b"\x40a"].cells["v"] == Cell(5, None, 0, 1000)
    assert purge(part, now=1100, gc_grace_seconds=50) is None  # 1000 + 50 < 1100


def test_shadowed_data_is_dropped_even_when_the_deletion_stays() -> None:
    column = Complex()
    column.delete(9, 100)
    column.put(b"\x01", b"a", Cell(8, b"old", 0, 0))
    column.put(b"\x02", b"b", Cell(10, b"new", 0, 0))
    rows = {
        b"\x40a": _row(("v", Cell(4, b"under partition deletion", 0, 0))),
        b"\x40b": _row(("v", Cell(7, b"under range", 0, 0)), ("w", Cell(12, b"above", 0, 0))),
        b"\x40c": _row(("v", Cell(9, b"under row deletion", 0, 0)), ("m", column),
                       marker=Marker(9, 0, 0), deletion=(9, 100)),
    }
    part = _part(rows, deletion=(5, 100), static={"s": Cell(5, b"static", 0, 0)},
                 ranges=[(b"\x40b", b"\x40c", 7, 100), (b"\x40x", b"\x40y", 3, 100)])
    out = purge(part, now=101, gc_grace_seconds=1000)
    assert (out.deletion, out.static) == (5, {})
    assert list(out.ranges) == [(b"\x40b", b"\x40c", 7, 100)]  # the one under pdel is gone
    assert list(out.rows) == [b"\x40b", b"\x40c"]
    assert out.rows[b"\x40b"].cells == {"w": Cell(12, b"above", 0, 0)}
    row = out.rows[b"\x40c"]
    assert row.marker is None and row.deletion == 9
    assert list(row.cells["m"].cells.items()) == [(b"\x02", (b"b", Cell(10, b"new", 0, 0)))]
    assert row.cells["m"].deletion == NO_DELETION  # shadowed by the row deletion at the same ts


def test_tombstones_newer_than_data_elsewhere_are_kept() -> None:
    part = _part({b"\x40a": _row(("v", Cell(50, None, 0, 100)))}, deletion=(40, 100))
    assert purge(part, now=10**6, gc_grace_seconds=10) is None
    # Data at timestamp 45 exists outside the compaction: only tombstones older than it may go.
    kept = purge(part, now=10**6, gc_grace_seconds=10, max_purgeable=45)
    assert kept.deletion == NO_DELETION
    assert kept.rows[b"\x40a"].cells["v"] == Cell(50, None, 0, 100)


def test_expired_marker_is_purged_after_gc_grace() -> None:
    part = _part({b"\x40a": _row(marker=Marker(5, 10, 100))})
    assert purge(part, now=150, gc_grace_seconds=100).rows[b"\x40a"].marker == Marker(5, 10, 100)
    assert purge(part, now=201, gc_grace_seconds=100) is None


@settings(max_examples=200, deadline=None)
@given(partitions(3, b"pk", small=True), st.integers(0, 60), st.integers(0, 30),
       st.integers(0, 20))
def test_purge_never_changes_what_reads_see(part, now, gc_grace, later) -> None:
    before = dump(part)
    out = purge(part, now, gc_grace)
    assert dump(part) == before  # the input is not modified
    for t in (now, now + later):
        assert visible(out, t) == visible(part, t)
    if out is not None:
        assert dump(purge(out, now, gc_grace)) == dump(out)  # idempotent
