"""The memtable's merge rules: Cassandra's cell reconciliation, row liveness, multi-cell columns."""

from __future__ import annotations

import sys

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.ipc import messages as m
from shards.errors import MutationRejected
from shards.memtable import (
    _CELL_OVERHEAD,
    Cell,
    Complex,
    Partition,
    Row,
    TableData,
    put_plain,
    reconcile,
)
from shards.sstable.codec import PartitionEncoder
from shards.tombstones import NO_DELETION
from tests.shards.sstable.helpers import encoder_tallies
from tests.shards.test_store_sstable_reads import (
    CKS,
    DELETIONS,
    FLUSH,
    ODD,
    PK,
    TOKEN,
    plain_steps,
)

LIVE, EXPIRING, TOMB = Cell(10, b"b", 0, 0), Cell(10, b"a", 5, 1000), Cell(10, None, 0, 900)


@pytest.mark.parametrize("old,new,winner", [
    (Cell(9, b"z", 0, 0), Cell(10, b"a", 0, 0), Cell(10, b"a", 0, 0)),  # higher timestamp wins
    (Cell(10, b"a", 0, 0), Cell(10, b"b", 0, 0), Cell(10, b"b", 0, 0)),  # tie: greater value
    (LIVE, TOMB, TOMB),  # tie: a tombstone beats a live cell
    (LIVE, EXPIRING, EXPIRING),  # tie: an expiring cell beats a plain live one
    (EXPIRING, TOMB, TOMB),  # tie: a tombstone beats an expiring cell
    (Cell(10, b"a", 5, 1000), Cell(10, b"a", 5, 2000), Cell(10, b"a", 5, 2000)),  # later expiry
    # later deletion time
    (Cell(10, None, 0, 900), Cell(10, None, 0, 950), Cell(10, None, 0, 950)),
])
def test_reconcile_golden(old, new, winner) -> None:
    assert reconcile(old, new) == winner
    assert reconcile(new, old) == winner


def _mut(ts, cells=(), kind=m.MUTATION_ROW_UPSERT, marker=False, ck=b"\x40\x01", now=100):
    return m.Mutation(b"t", 1, b"pk", ck, [b"\x00\x00\x00\x01"], ts, kind, list(cells), [], 0, 0,
                      marker, now)


def _visible(table: TableData, now: int = 100) -> bool:
    part = table.partitions[b"pk"]
    row = part.rows[b"\x40\x01"]
    return row.live(part.row_shadow(b"\x40\x01", row), now)


def test_insert_marker_keeps_row_alive_update_does_not() -> None:
    inserted, updated = TableData(), TableData()
    inserted.apply(_mut(10, [m.CellWrite("v", b"x")], marker=True))
    updated.apply(_mut(10, [m.CellWrite("v", b"x")]))
    for table in (inserted, updated):
        table.apply(_mut(11, [m.CellWrite("v", None)]))
    assert _visible(inserted) and not _visible(updated)


def test_range_tombstone_shadows_older_rows_only() -> None:
    table = TableData()
    table.apply(_mut(10, [m.CellWrite("v", b"x")], marker=True))
    table.apply(m.Mutation(b"t", 1, b"pk", b"\x40", [], 20, m.MUTATION_RANGE_DELETE, now=5,
                           ck_end=b"\x41"))
    assert not _visible(table)
    table.apply(_mut(30, [m.CellWrite("v", b"y")]))
    assert _visible(table)


def test_list_index_errors_apply_nothing() -> None:
    table = TableData()
    write = m.CellWrite("l", b"v", m.CELL_LIST_SET_INDEX, None, (3).to_bytes(4, "big"))
    with pytest.raises(MutationRejected, match="list which is null"):
        table.check(_mut(10, [write]))
    table.apply(_mut(10, [m.CellWrite("l", b"a", m.CELL_SET, b"\x01", b"u1")]))
    with pytest.raises(MutationRejected, match="List index 3 out of bound, list has size 1"):
        table.check(_mut(11, [write]))


def test_counter_adds_and_stays_deleted() -> None:
    table = TableData()
    for delta in (5, -2, 7):
        table.apply(_mut(10, [m.CellWrite("c", delta.to_bytes(8, "big", signed=True),
                                          m.CELL_COUNTER_ADD)]))
    cell = table.partitions[b"pk"].rows[b"\x40\x01"].cells["c"]
    assert int.from_bytes(cell.value, "big", signed=True) == 10
    table.apply(_mut(20, [m.CellWrite("c", None)]))
    table.apply(_mut(30, [m.CellWrite("c", (1).to_bytes(8, "big"), m.CELL_COUNTER_ADD)]))
    assert table.partitions[b"pk"].rows[b"\x40\x01"].cells["c"].value is None


def _put(token: int, pk: bytes) -> m.Mutation:
    return m.Mutation(b"t", token, pk, b"", [], 10, m.MUTATION_ROW_UPSERT,
                      [m.CellWrite("v", b"x")], [], 0, 0, True, 100)


def test_partitions_come_back_in_token_order_between_writes() -> None:
    # New partitions join the token-order index lazily: every ordered read must still see all of
    # them, in (token, pk) order, however writes and reads interleave.
    import random
    rng = random.Random(7)
    table, expected = TableData(), set()
    for round_ in range(20):
        for _ in range(rng.randrange(0, 40)):
            token = rng.randrange(-2**63, 2**63)
            pk = token.to_bytes(8, "big", signed=True)
            table.apply(_put(token, pk))
            expected.add((token, pk))
        got = [(p.token, p.pk) for p in table.partitions_after(None, b"")]
        assert got == sorted(expected)
        if expected:
            middle = sorted(expected)[len(expected) // 2]
            tail = [(p.token, p.pk) for p in table.partitions_after(*middle)]
            assert tail == [k for k in sorted(expected) if k >= middle]
    assert list(table.order) == sorted(expected)


def _plain(ts, names, values, ttl=0, expires=0, marker=False, now=100):
    return m.Mutation(b"t", 1, b"pk", b"\x40\x01", [b"\x00\x00\x00\x01"], ts,
                      m.MUTATION_ROW_UPSERT, [], [], ttl, expires, marker, now, b"", names, values)


@pytest.mark.parametrize("writes", [
    # (timestamp, {column: value}, ttl): later, equal and older timestamps over the same cells,
    # nulls (cell tombstones) and TTLs; each mutation in both forms must leave the same memtable.
    [(10, {"a": b"x", "b": b"y"}, 0), (11, {"a": b"z", "c": None}, 0)],
    [(10, {"a": b"x"}, 5), (10, {"a": b"x"}, 0), (9, {"a": None, "b": b"q"}, 0)],
    [(10, {"a": None}, 7), (10, {"a": b"w"}, 7), (12, {"b": b"", "c": b"long" * 9}, 3)],
])
def test_plain_cells_apply_as_cell_writes_do(writes) -> None:
    as_plain, as_cells = TableData(), TableData()
    for ts, cells, ttl in writes:
        expires = 100 + ttl if ttl else 0
        as_plain.apply(_plain(ts, list(cells), list(cells.values()), ttl, expires, marker=True))
        as_cells.apply(m.Mutation(b"t", 1, b"pk", b"\x40\x01", [b"\x00\x00\x00\x01"], ts,
                                  m.MUTATION_ROW_UPSERT,
                                  [m.CellWrite(n, v) for n, v in cells.items()], [], ttl,
                                  expires, True, 100))
    plain_row = as_plain.partitions[b"pk"].rows[b"\x40\x01"]
    cells_row = as_cells.partitions[b"pk"].rows[b"\x40\x01"]
    assert plain_row.cells == cells_row.cells and plain_row.marker == cells_row.marker
    assert as_plain.bytes == as_cells.bytes


@pytest.mark.parametrize("values", [[b"x", b"yy", b""], [b"x", None, b"zzz"]])
def test_a_new_rows_plain_cells_are_exactly_its_values(values) -> None:
    """A new row takes the way without lookups when it has no null: the same cells, names
    shared with the memtable's other rows, and each cell's bytes counted once."""
    names = [f"c{i}" for i in range(len(values))]
    table, marker_only = TableData(), TableData()
    table.apply(_plain(10, [n + "" for n in names], values, ttl=5, expires=105, marker=True))
    marker_only.apply(_plain(10, [], [], ttl=5, expires=105, marker=True))
    cells = table.partitions[b"pk"].rows[b"\x40\x01"].cells
    assert cells == {n: Cell(10, v, 5, 105) if v is not None else Cell(10, None, 0, 100)
                     for n, v in zip(names, values)}
    assert all(name is sys.intern(name) for name in cells)
    assert table.bytes - marker_only.bytes == sum(64 + len(n) + len(v or b"")
                                                  for n, v in zip(names, values))


def test_plain_null_is_a_tombstone_at_the_coordinators_clock() -> None:
    table = TableData()
    table.apply(_plain(10, ["v"], [b"x"]))
    table.apply(_plain(11, ["v"], [None], ttl=50, expires=150, now=123))
    # A null written with a TTL is still a plain tombstone, deleted at `now`.
    assert table.partitions[b"pk"].rows[b"\x40\x01"].cells["v"] == Cell(11, None, 0, 123)
    assert not _visible(table, now=124)


def test_plain_cells_alone_make_a_row_without_a_marker() -> None:
    table = TableData()
    table.apply(_plain(10, ["v"], [b"x"]))  # an UPDATE: no row marker
    assert _visible(table) and table.partitions[b"pk"].rows[b"\x40\x01"].marker is None
    table.apply(_plain(11, ["v"], [None]))
    assert not _visible(table)


def test_records_without_plain_cells_still_decode() -> None:
    # Commit log records written before the plain lists existed end at ck_end.
    old = _put(5, b"pk")
    fields = msgspec.msgpack.decode(msgspec.msgpack.encode(old))
    assert len(fields) == len(m.Mutation.__struct_fields__)
    shorter = msgspec.msgpack.encode(fields[:-3])
    decoded = msgspec.msgpack.decode(shorter, type=m.Mutation)
    assert decoded.plain_names == [] and decoded.plain_values == [] and decoded.rows is None
    assert decoded.cells == old.cells
    # Records written before Mutation.rows existed end at plain_values.
    plain = _plain(5, ["v"], [b"x"])
    before_rows = msgspec.msgpack.encode(msgspec.msgpack.decode(msgspec.msgpack.encode(plain))[:-1])
    assert msgspec.msgpack.decode(before_rows, type=m.Mutation) == plain


_CK = st.integers(0, 3).map(lambda i: bytes([0x40, i]))
_ROW_VALUES = st.lists(st.one_of(st.none(), st.binary(max_size=4)), min_size=2, max_size=2)


@settings(max_examples=200, deadline=None)
@given(before=st.lists(st.tuples(_CK, _ROW_VALUES, st.integers(8, 12)), max_size=4),
       first=_CK, first_values=_ROW_VALUES,
       rows=st.lists(st.tuples(_CK, _ROW_VALUES), min_size=1, max_size=6),
       ts=st.integers(8, 12), marker=st.booleans(), ttl=st.sampled_from([0, 5]))
def test_more_rows_apply_as_mutations_of_their_own(before, first, first_values, rows, ts,
                                                   marker, ttl) -> None:
    """A Mutation's `rows` (a BATCH of rows into one partition) leave the memtable, its bytes
    and its reconciliation exactly as each row written alone, in order, over any rows there."""
    names = ["a", "b"]
    expires = 100 + ttl if ttl else 0

    def one(ck: bytes, values: list, at: int) -> m.Mutation:
        return m.Mutation(b"t", 1, b"pk", ck, [ck[1:]], at, m.MUTATION_ROW_UPSERT, [], [], ttl,
                          expires, marker, 100, b"", names, values)
    together, alone = TableData(), TableData()
    for ck, values, at in before:
        together.apply(one(ck, values, at))
        alone.apply(one(ck, values, at))
    mutation = one(first, first_values, ts)
    mutation.rows = [m.RowWrite(ck, [ck[1:]], values) for ck, values in rows]
    together.apply(msgspec.msgpack.decode(msgspec.msgpack.encode(mutation), type=m.Mutation))
    alone.apply(one(first, first_values, ts))
    for ck, values in rows:
        alone.apply(one(ck, values, ts))
    got, expected = together.partitions[b"pk"].rows, alone.partitions[b"pk"].rows
    assert list(got.keys()) == list(expected.keys())
    for ck in got:
        assert got[ck].cells == expected[ck].cells and got[ck].marker == expected[ck].marker
        assert got[ck].ck_values == expected[ck].ck_values and got[ck].floor == expected[ck].floor
    assert together.bytes == alone.bytes


def test_the_rows_of_a_batch_share_their_column_names() -> None:
    # A Mutation's further rows (a batch into one partition) are put with the names interned
    # once for all of them: every row's cells hold the one str per name.
    import sys
    decode = msgspec.msgpack.Decoder(m.Mutation).decode
    mutation = m.Mutation(b"t", 1, b"pk", b"\x40\x00", [b"\x00"], 10, m.MUTATION_ROW_UPSERT,
                          [], [], plain_names=["first", "second"], plain_values=[b"x", b"y"],
                          rows=[m.RowWrite(bytes([0x40, i]), [bytes([i])], [b"x", b"y"])
                                for i in (1, 2, 3)])
    table = TableData()
    table.apply(decode(msgspec.msgpack.encode(mutation)))
    rows = table.partitions[b"pk"].rows
    assert len(rows) == 4
    for row in rows.values():
        assert [name is sys.intern(name) for name in row.cells] == [True, True]


def test_rows_share_their_column_names() -> None:
    # Each decoded write brings its own str objects for the column names: the memtable keeps one
    # (interned) per name, whatever kind of cell (plain, CellWrite, counter, collection) made it.
    decode = msgspec.msgpack.Decoder(m.Mutation).decode
    encode = msgspec.msgpack.encode
    table = TableData()
    for i, ck in enumerate((b"\x40\x01", b"\x40\x02")):
        mutation = m.Mutation(b"t", 1, b"pk", ck, [b"\x00"], 10, m.MUTATION_ROW_UPSERT,
                              [m.CellWrite("cw", b"v"), m.CellWrite("n", (1).to_bytes(8, "big"),
                                                                     m.CELL_COUNTER_ADD),
                               m.CellWrite("l", b"e", m.CELL_SET, b"\x01" + bytes([i]), b"k")],
                              plain_names=["plain"], plain_values=[b"x"])
        table.apply(decode(encode(mutation)))
    first, second = (table.partitions[b"pk"].rows[ck].cells for ck in (b"\x40\x01", b"\x40\x02"))
    for name in ("plain", "cw", "n", "l"):
        [a] = [key for key in first if key == name]
        [b] = [key for key in second if key == name]
        assert a is b


def test_clustering_values_leave_the_collectors_lists() -> None:
    # Every full collection walks each tracked object of a memtable: a row's clustering values
    # are kept as a tuple of bytes, which the collector stops tracking, not the decoded list.
    import gc
    decode = msgspec.msgpack.Decoder(m.Mutation).decode
    table = TableData()
    table.apply(decode(msgspec.msgpack.encode(_mut(10, [m.CellWrite("a", b"v")], marker=True))))
    row = table.partitions[b"pk"].rows[b"\x40\x01"]
    assert list(row.ck_values) == [b"\x00\x00\x00\x01"]
    gc.collect()
    assert not gc.is_tracked(row.ck_values)


def _every_kind_of_data(table: TableData, partitions: int) -> None:
    """Rows, statics, collections, row, range and partition deletions, in many partitions."""
    for p in range(partitions):
        pk = b"pk%d" % p
        for ck in (b"\x40\x01", b"\x40\x02", b"\x40\x00"):
            table.apply(m.Mutation(b"t", p, pk, ck, [ck], 10, m.MUTATION_ROW_UPSERT,
                                   [m.CellWrite("l", b"e", m.CELL_SET, b"\x01" + ck, b"k"),
                                    m.CellWrite("m", None, m.CELL_REPLACE)],
                                   [m.CellWrite("s", b"static")], 0, 0, True, 100,
                                   plain_names=["v"], plain_values=[b"x" * 40]))
        table.apply(m.Mutation(b"t", p, pk, b"\x40\x02", [b"\x02"], 11, m.MUTATION_ROW_DELETE,
                               now=100))
        table.apply(m.Mutation(b"t", p, pk, b"\x40", [], 12, m.MUTATION_RANGE_DELETE, now=100,
                               ck_end=b"\x40\x01"))
        table.apply(m.Mutation(b"t", p, pk, b"", [], 5, m.MUTATION_PARTITION_DELETE, now=100))


def test_the_collector_tracks_no_memtable_object() -> None:
    # A full collection walks every tracked object: the memtable's partitions, row maps, rows
    # and multi-cell columns are gc=False structs, never tracked, whatever data they hold.
    import gc
    table = TableData()
    _every_kind_of_data(table, 3)
    gc.collect()
    part = table.partitions[b"pk0"]
    row = part.rows[b"\x40\x01"]
    assert len(part.rows) == 3 and row.marker is not None and part.static
    objects = [part, part.rows, row, row.cells["l"], row.cells["l"].cells, row.cells["m"]]
    assert [gc.is_tracked(o) for o in objects] == [False] * len(objects)
    assert [type(o).__name__ for o in objects[:5]] == [
        "Partition", "RowMap", "Row", "Complex", "RowMap"]


def test_a_write_leaves_nothing_for_the_collector() -> None:
    # Without any collection in between: a row's cells dict that holds only Cells is never
    # tracked (one tuple in it kept it tracked until a full collection), nor are its cells and
    # marker, so a standard write adds nothing to the young generation.
    import gc
    table = TableData()
    table.apply(_plain(10, ["a", "b"], [b"x", None], marker=True))
    table.apply(_plain(11, ["a", "c"], [b"y", b"z"], ttl=5, expires=200, marker=True))
    table.apply(_mut(12, [m.CellWrite("d", b"w")]))
    row = table.partitions[b"pk"].rows[b"\x40\x01"]
    assert sorted(row.cells) == ["a", "b", "c", "d"] and row.marker.timestamp == 11
    objects = [row.cells, row.marker, *row.cells.values()]
    assert [gc.is_tracked(o) for o in objects] == [False] * len(objects)


def test_a_dropped_memtable_is_freed() -> None:
    # The collector cannot see a reference cycle that passes through an untracked struct, so
    # such a cycle would never be freed. A dropped memtable, every kind of data included, must
    # go away entirely. (The collection empties CPython's free lists, which keep up to 2000
    # tuples of each size after they are freed.)
    import gc
    import tracemalloc
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        table = TableData()
        _every_kind_of_data(table, 2000)
        table.order  # the token-order index too
        grown = tracemalloc.get_traced_memory()[0] - before
        del table
        gc.collect()
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown > 2000 * 1000
    assert left < 10_000


def test_release_steps_free_a_flushed_memtable_a_bounded_count_at_a_time() -> None:
    table = TableData()
    for i in range(1000):
        table.apply(_put(i * 7919 % 1000, b"k%d" % i))
        if i == 400:
            table.order
    steps = 0
    for _ in table.release_steps(128):
        steps += 1
        assert len(table.partitions) == max(0, 1000 - 128 * steps)
    assert steps == 8  # ceil(1000 / 128)
    assert not table.partitions and not table._unordered and not table._order


# -- put_plain: its C-loop paths against the rule written cell by cell --------------------------

def _put_by_cell(target: dict, names, values, ts: int, ttl: int, expires: int, now: int) -> int:
    """The reference: every cell reconciled with the one it meets, its bytes counted if new."""
    added = 0
    for name, value in zip(names, values):
        cell = Cell(ts, value, ttl, expires) if value is not None else Cell(ts, None, 0, now)
        old = target.get(name)
        if type(old) is Cell:
            target[name] = reconcile(old, cell)
        else:
            target[name] = cell
            added += _CELL_OVERHEAD + len(name) + (len(value) if value is not None else 0)
    return added


_NAMES = ["a", "b", "c", "d"]
_old_cell = st.one_of(
    st.builds(Cell, st.integers(8, 12), st.sampled_from([b"", b"x", b"yy"]), st.just(0),
              st.just(0)),
    st.builds(Cell, st.integers(8, 12), st.just(b"e"), st.just(5), st.integers(90, 110)),
    st.builds(Cell, st.integers(8, 12), st.none(), st.just(0), st.integers(90, 110)))
_old = st.dictionaries(st.sampled_from(_NAMES),
                       st.one_of(_old_cell, st.just("complex")), max_size=4)


@settings(max_examples=400, deadline=None)
@given(_old, st.lists(st.sampled_from(_NAMES), unique=True, max_size=4),
       st.lists(st.one_of(st.sampled_from([b"", b"x", b"zz"]), st.none()), min_size=4,
                max_size=4),
       st.integers(7, 13), st.sampled_from([(0, 0), (5, 105)]))
def test_put_plain_is_the_rule_cell_by_cell(old, names, values, ts, ttl_expires) -> None:
    old = {name: Complex() if cell == "complex" else cell for name, cell in old.items()}
    values = values[:len(names)]
    ttl, expires = ttl_expires
    expected = dict(old)
    expected_added = _put_by_cell(expected, names, values, ts, ttl, expires, 100)
    # Names decoded with a write are new strs; the memtable keeps the interned ones.
    target = dict(old)
    added = put_plain(target, ["".join(list(n)) for n in names], values, ts, ttl, expires, 100)
    assert added == expected_added
    assert target == expected
    for name in target:
        assert name is sys.intern(name)


def _floor_holds(table: TableData) -> None:
    """Row.floor's promise: when set, the row has a marker or a cell, and its marker and every
    cell are live plain values without a TTL, written at or above the floor."""
    for part in table.partitions.values():
        for row in part.rows.values():
            if row.floor == NO_DELETION:
                continue
            assert row.marker is not None or row.cells
            assert row.marker is None or (row.marker.ttl == 0 and row.marker.expires == 0
                                          and row.marker.timestamp >= row.floor)
            for cell in row.cells.values():
                assert type(cell) is Cell and cell.value is not None
                assert cell.ttl == 0 and cell.ldt == 0 and cell.timestamp >= row.floor


def _flush_encodes_alike(table: TableData) -> None:
    """A flush encodes a row whose floor is set by its plain path: the same bytes and
    statistics as the general one, which looks at every cell."""
    for part in table.partitions.values():
        for ck, row in part.rows.items():
            if row.floor == NO_DELETION:
                continue
            plain, general = PartitionEncoder(), PartitionEncoder()
            unfloored = Row(row.ck_values, row.marker, row.deletion, row.ldt, row.cells)
            assert plain.row(ck, row) == general.row(ck, unfloored)
            assert encoder_tallies(plain) == encoder_tallies(general)
            if (len(part.rows) == 1 and part.deletion == NO_DELETION and not part.static
                    and part.ranges is None):
                # A flush's one-row partition (SSTableWriter.add), framed whole.
                alone = Partition(part.token, part.pk)
                alone.rows[ck] = unfloored
                plain, general = PartitionEncoder(), PartitionEncoder()
                assert (plain.plain_partition(part, ck, row)
                        == general.plain_partition(alone, ck, unfloored))
                assert encoder_tallies(plain) == encoder_tallies(general)


@st.composite
def _batch_step(draw) -> m.Mutation:
    """A ROW_UPSERT with more rows (Mutation.rows), some values null, maybe a TTL."""
    ts, ttl = draw(st.integers(1, 30)), draw(st.sampled_from([0, 0, 5]))
    rows = draw(st.lists(st.tuples(st.sampled_from(CKS[:4]), _ROW_VALUES), min_size=1,
                         max_size=4))
    (ck, values), more = rows[0], rows[1:]
    return m.Mutation(b"t", TOKEN, PK, ck, [ck], ts, m.MUTATION_ROW_UPSERT, [], [], ttl,
                      100 + ttl if ttl else 0, draw(st.booleans()), 100, b"", ["a", "b"], values,
                      [m.RowWrite(c, [c], v) for c, v in more] or None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(plain_steps(ODD), plain_steps(DELETIONS), _batch_step()),
                max_size=30))
def test_a_rows_floor_is_at_or_below_everything_in_it(steps) -> None:
    """Whatever was written (deletions, TTLs, nulls, collections, statics, batches of rows,
    timestamps in any order), a row's floor keeps its promise: reads skip the per-cell tests
    of rows whose floor is above their shadow (shards/store.py `_read_partition`)."""
    table = TableData()
    for step in steps:
        if step != FLUSH:
            table.check(step)
            table.apply(step)
            _floor_holds(table)
            _flush_encodes_alike(table)


@st.composite
def _unclustered_step(draw) -> m.Mutation:
    """An upsert of a table without clustering columns (an empty clustering key and no
    clustering values), whole or not: maybe a marker, a TTL, nulls, a column named anew."""
    ts, ttl = draw(st.integers(1, 30)), draw(st.sampled_from([0, 0, 0, 5]))
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4))
    values = [draw(st.one_of(st.binary(max_size=40), st.none())) if draw(st.integers(0, 4)) == 0
              else draw(st.binary(max_size=40)) for _ in names]
    pk = draw(st.sampled_from([PK, b"other", b"k" * 70]))  # 70: longer than MAX_CACHED_PK
    return m.Mutation(b"t", TOKEN, pk, b"", [], ts, m.MUTATION_ROW_UPSERT, [], [], ttl,
                      100 + ttl if ttl else 0, draw(st.booleans()), 100,
                      plain_names=names, plain_values=values)


@settings(max_examples=300, deadline=None)
@given(st.lists(_unclustered_step(), min_size=1, max_size=12))
def test_a_flush_frames_an_unclustered_row_as_the_general_encoding(steps) -> None:
    """A partition of a table without clustering columns whose row INSERTs wrote whole is
    framed in one pack (PartitionEncoder._usual_partition): the same bytes and statistics as
    the general encoding, whatever was written before."""
    table = TableData()
    for step in steps:
        table.check(step)
        table.apply(step)
        _floor_holds(table)
        _flush_encodes_alike(table)


def test_whole_writes_set_the_floor_and_others_clear_it() -> None:
    """A new row's floor is its write's timestamp and an older write lowers it; a TTL, a null
    or a collection element clears it for good; a row made by a deletion has none."""
    table = TableData()

    def row():
        return table.partitions[b"pk"].rows[b"\x40\x01"]
    table.apply(_plain(10, ["a", "b"], [b"x", b"y"], marker=True))
    assert row().floor == 10
    table.apply(_plain(12, ["a"], [b"z"]))
    table.apply(_plain(7, ["b"], [b"w"]))
    assert row().floor == 7
    table.apply(_plain(13, ["a"], [b"v"], ttl=5, expires=200))
    assert row().floor == NO_DELETION
    table.apply(_plain(14, ["a", "b"], [b"x", b"y"]))
    assert row().floor == NO_DELETION
    # An expiry time without a TTL (which the front never sends) clears it too: a flush would
    # otherwise write the cell without the deletion time it holds.
    expiring = TableData()
    expiring.apply(_plain(9, ["a"], [b"x"]))
    batch = _plain(10, ["a"], [b"y"], expires=200)
    batch.rows = [m.RowWrite(b"\x40\x02", [b"\x00\x00\x00\x02"], [b"z"])]
    expiring.apply(batch)
    assert [row.floor for row in expiring.partitions[b"pk"].rows.values()] == [NO_DELETION] * 2
    for clearing in (_plain(10, ["a"], [None]), _mut(10, [m.CellWrite("l", b"e", path=b"p")])):
        fresh = TableData()
        fresh.apply(_plain(9, ["a"], [b"x"]))
        fresh.apply(clearing)
        assert fresh.partitions[b"pk"].rows[b"\x40\x01"].floor == NO_DELETION
    deleted = TableData()
    deleted.apply(_mut(10, kind=m.MUTATION_ROW_DELETE))
    assert deleted.partitions[b"pk"].rows[b"\x40\x01"].floor == NO_DELETION
