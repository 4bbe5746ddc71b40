"""merge_into: commutative, associative as data, leaves its source alone; golden tie rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shards.memtable import Cell, Complex, Marker, Partition, Row
from shards.sstable.merge import merge_cells, merge_into
from shards.tombstones import NO_DELETION
from tests.shards.sstable.helpers import clone, dump, partitions

_VERSIONS = st.lists(partitions(7, b"pk", small=True), min_size=2, max_size=3)


def _merged(*parts: Partition) -> Partition:
    target = clone(parts[0])
    for part in parts[1:]:
        merge_into(target, part)
    return target


@settings(max_examples=80, deadline=None)
@given(_VERSIONS)
def test_merge_is_order_independent_and_leaves_sources_alone(versions) -> None:
    before = [dump(v) for v in versions]
    forward = dump(_merged(*versions))
    assert dump(_merged(*reversed(versions))) == forward
    if len(versions) == 3:
        a, b, c = versions
        assert dump(_merged(a, _merged(b, c))) == forward
    assert [dump(v) for v in versions] == before


@settings(max_examples=60, deadline=None)
@given(partitions(7, b"pk", small=True))
def test_merge_is_idempotent(part) -> None:
    assert dump(_merged(part, part)) == dump(part)


def test_cell_rules() -> None:
    assert merge_cells(Cell(5, b"a", 0, 0), Cell(6, b"a", 0, 0)) == Cell(6, b"a", 0, 0)
    assert merge_cells(Cell(6, None, 0, 9), Cell(6, b"z", 0, 0)) == Cell(6, None, 0, 9)
    # reconcile alone keeps whichever is new
    same_expiry = [Cell(6, b"v", 3, 100), Cell(6, b"v", 9, 100)]
    assert (merge_cells(*same_expiry) == merge_cells(*reversed(same_expiry))
            == Cell(6, b"v", 9, 100))


def test_deletions_markers_and_complex_columns() -> None:
    a, b = Partition(1, b"k"), Partition(1, b"k")
    a.deletion, a.ldt = 10, 50
    b.deletion, b.ldt = 10, 60  # same timestamp: the later local deletion time supersedes
    ra, rb = Row([b"c"]), Row([b"c"])
    ra.marker, rb.marker = Marker(20, 0, 0), Marker(20, 30, 500)  # tie: the expiring marker wins
    ra.deletion, ra.ldt = 15, 1
    ca, cb = Complex(), Complex()
    ca.delete(12, 5)
    ca.put(b"\x01", b"k1", Cell(13, b"x", 0, 0))
    cb.put(b"\x01", b"k1", Cell(14, b"y", 0, 0))
    cb.put(b"\x02", b"k2", Cell(14, b"z", 0, 0))
    ra.cells["m"], rb.cells["m"] = ca, cb
    a.rows[b"\x40c"], b.rows[b"\x40c"] = ra, rb
    for first, second in ((a, b), (b, a)):
        out = _merged(first, second)
        assert (out.deletion, out.ldt) == (10, 60)
        row = out.rows[b"\x40c"]
        assert row.marker == Marker(20, 30, 500) and (row.deletion, row.ldt) == (15, 1)
        column = row.cells["m"]
        assert (column.deletion, column.ldt) == (12, 5)
        assert list(column.cells.items()) == [(b"\x01", (b"k1", Cell(14, b"y", 0, 0))),
                                              (b"\x02", (b"k2", Cell(14, b"z", 0, 0)))]
    assert b.rows[b"\x40c"].cells["m"].deletion == NO_DELETION  # the source kept its own state


def test_range_tombstones_merge_to_the_pointwise_max() -> None:
    from shards.tombstones import RangeTombstoneList
    a, b = Partition(1, b"k"), Partition(1, b"k")
    a.ranges, b.ranges = RangeTombstoneList(), RangeTombstoneList()
    a.ranges.add(b"\x40\x01", b"\x40\x05", 10, 1)
    b.ranges.add(b"\x40\x03", b"", 20, 2)
    assert list(_merged(a, b).ranges) == [(b"\x40\x01", b"\x40\x03", 10, 1),
                                          (b"\x40\x03", b"\xff\xff", 20, 2)]


def test_a_row_merged_into_loses_its_floor() -> None:
    """A memtable row merged in place (TableStore.pull_row) may take in TTLs, tombstones and
    older timestamps: its floor (memtable.Row.floor) no longer holds, so it is cleared."""
    target, source = Partition(1, b"k"), Partition(1, b"k")
    row = Row([b"c"], cells={"a": Cell(20, b"x", 0, 0)}, floor=20)
    target.rows[b"c"] = row
    source.rows[b"c"] = Row([b"c"], cells={"b": Cell(5, b"y", 7, 100)})
    merge_into(target, source)
    assert target.rows[b"c"] is row and row.floor == NO_DELETION
    assert set(row.cells) == {"a", "b"}
