"""Compaction copies the bytes of partitions it would write unchanged: the output is the same
SSTable, byte for byte, as when every partition is decoded, merged, purged and encoded again;
what is copied and what is not; live_row's walk agrees with the encoder's tallies, and
shaped_live_row with live_row."""

from __future__ import annotations

import contextlib
import os
import tempfile
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shards.errors import SSTableOrderError, SSTableStateError
from shards.memtable import Cell, Complex, Marker, Partition, Row
from shards.sstable import SSTableWriter, compact, compact_steps
from shards.sstable.codec import (
    MAX_SHAPE_MISSES,
    PartitionDecoder,
    PartitionEncoder,
    row_shape,
)
from shards.sstable.format import COMPONENTS, component_path
from shards.sstable.livewalk import (
    LIVE_COLUMN_SHIFT,
    LIVE_COMPLEX,
    LIVE_MARKER,
    live_row,
    shaped_live_row,
)
from shards.tombstones import NO_DELETION
from tests.shards.sstable.helpers import TABLE, dump, partitions, write
from tests.shards.sstable.test_compaction import _expected

_KEYS = [(t, b"pk%d" % i) for i, t in enumerate([-9, -4, -4, 0, 3, 8, 11, 12])]
_COLUMNS = ["a", "b", "c", "d"]
# Small chunks and values up to a few KiB: headers and rows cross chunk boundaries, and
# partitions of a few such rows pass ROW_INDEX_BLOCK_BYTES and get a row index.
_CHUNK = 4096
_VALUES = st.one_of(st.binary(max_size=20),
                    st.builds(lambda size, byte: bytes([byte]) * size, st.integers(1000, 3000),
                              st.integers(0, 255)))


@st.composite
def _live_row(draw, ck: bytes, base: int) -> Row:
    row = Row([ck[1:]])
    ts = st.integers(base, base + 50)
    if draw(st.booleans()):
        row.marker = Marker(draw(ts), 0, 0)
    for name in draw(st.lists(st.sampled_from(_COLUMNS), max_size=4, unique=True)):
        row.cells[name] = Cell(draw(ts), draw(_VALUES), 0, 0)
    if draw(st.integers(0, 5)) == 0:
        column = Complex()
        for path in draw(st.lists(st.binary(min_size=1, max_size=3), min_size=1, max_size=3,
                                  unique=True)):
            column.cells[path] = (b"k" + path, Cell(draw(ts), draw(_VALUES), 0, 0))
        row.cells["m"] = column
    if row.marker is None and not row.cells:
        row.marker = Marker(draw(ts), 0, 0)
    return row


@st.composite
def _live_partition(draw, token: int, pk: bytes, base: int) -> Partition:
    """Nothing deleted or expiring; often the one row b"@c" that other tables overwrite."""
    part = Partition(token, pk)
    keys = draw(st.one_of(st.just([b"@c"]),
                          st.lists(st.sampled_from([b"@a", b"@b", b"@c", b"@d"]), min_size=1,
                                   max_size=4, unique=True)))
    for ck in sorted(keys):
        part.rows[ck] = draw(_live_row(ck, base))
    if draw(st.integers(0, 7)) == 0:
        part.static["s"] = Cell(base, b"static", 0, 0)
    return part


@st.composite
def _tables(draw) -> list[list[Partition]]:
    tables = []
    for n in range(3):
        keys = sorted(draw(st.lists(st.sampled_from(_KEYS), min_size=1, max_size=6,
                                    unique=True)))
        # Later tables are mostly newer (full overwrites), sometimes interleaved with older ones.
        base = draw(st.one_of(st.just(100 * n), st.integers(0, 250)))
        tables.append([draw(st.one_of(_live_partition(t, pk, base), _live_partition(t, pk, base),
                                      partitions(t, pk, small=True, max_rows=3)))
                       for t, pk in keys])
    return tables


def _files(d: str, generation: int) -> dict[str, bytes]:
    out = {}
    for component in COMPONENTS:
        with open(component_path(d, TABLE, generation, component), "rb") as f:
            out[component] = f.read()
    return out


def _compact(d: str, tables: list[list[Partition]], now: int, gc_grace: int,
             copying: bool) -> object:
    readers = [write(d, table, generation=g, chunk_bytes=_CHUNK)
               for g, table in enumerate(tables, 1)]
    # The reference decodes every group: each of the tests a copy takes refuses it (a plain
    # one-row partition by its row's walk, one version, several versions).
    decoding = contextlib.ExitStack()
    if not copying:
        for name in ("shaped_live_row", "_copy_tally", "_merged_rows"):
            decoding.enter_context(mock.patch(f"shards.sstable.compaction.{name}",
                                              return_value=None))
    try:
        with decoding, _Counting() as counts:
            out = compact(readers, lambda: SSTableWriter(d, TABLE, 9, chunk_bytes=_CHUNK),
                          now, gc_grace)
        assert copying or not counts.copied  # a reference that copied would prove nothing
        return out
    finally:
        for reader in readers:
            reader.close()


@settings(max_examples=60, deadline=None)
@given(_tables(), st.integers(0, 60), st.integers(0, 30))
def test_copying_writes_the_sstable_decoding_writes(tables, now, gc_grace) -> None:
    with tempfile.TemporaryDirectory() as copied, tempfile.TemporaryDirectory() as decoded:
        out = _compact(copied, tables, now, gc_grace, copying=True)
        reference = _compact(decoded, tables, now, gc_grace, copying=False)
        assert (out is None) == (reference is None)
        if out is None:
            return
        try:
            assert [dump(p) for p in out.scan()] == _expected(tables, now, gc_grace)
            assert out.stats == reference.stats
            assert _files(copied, 9) == _files(decoded, 9)
        finally:
            out.close()
            reference.close()


def _row(ts: int, columns: dict[str, bytes], marker: bool = True) -> Row:
    row = Row([b"c"])
    if marker:
        row.marker = Marker(ts, 0, 0)
    for name, value in columns.items():
        row.cells[name] = Cell(ts, value, 0, 0)
    return row


def _one_row(pk: bytes, row: Row) -> Partition:
    part = Partition(len(pk), pk)
    part.rows[b"@c"] = row
    return part


class _Counting:
    """Counts the partitions SSTableWriter writes during a compaction: `added` (encoded),
    `copied` (as bytes, by add_copy or add_plain_copy) and `plain` (by add_plain_copy)."""

    def __enter__(self) -> _Counting:
        self.added = self.copied = self.plain = 0
        add, add_copy = SSTableWriter.add, SSTableWriter.add_copy
        add_plain_copy = SSTableWriter.add_plain_copy

        def counted_add(writer, part):
            self.added += 1
            return add(writer, part)

        def counted_copy(writer, sources, records, tally):
            self.copied += 1
            return add_copy(writer, sources, records, tally)

        def counted_plain_copy(writer, *args):
            self.copied += 1
            self.plain += 1
            return add_plain_copy(writer, *args)

        self._patches = [mock.patch.object(SSTableWriter, "add", counted_add),
                         mock.patch.object(SSTableWriter, "add_copy", counted_copy),
                         mock.patch.object(SSTableWriter, "add_plain_copy",
                                           counted_plain_copy)]
        for patch in self._patches:
            patch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for patch in self._patches:
            patch.stop()


def test_what_is_copied_and_what_is_decoded(tmp_path) -> None:
    d = str(tmp_path)
    full = {"a": b"1", "b": b"2"}
    old = [_one_row(b"overwritten", _row(10, full)), _one_row(b"partly", _row(10, full)),
           _one_row(b"tie", _row(20, full)), _one_row(b"alone-old", _row(10, full))]
    expiring = _row(30, {})
    expiring.cells["a"] = Cell(30, b"x", 60, 1_000_000)
    new = [_one_row(b"overwritten", _row(30, full)),
           _one_row(b"partly", _row(30, {"a": b"9"})),  # b survives from the old version
           _one_row(b"tie", _row(20, full)), _one_row(b"alone-ttl", expiring)]
    readers = [write(d, sorted(parts, key=lambda p: (p.token, p.pk)), generation=g)
               for g, parts in ((1, old), (2, new))]
    with _Counting() as counts:
        out = compact(readers, lambda: SSTableWriter(d, TABLE, 3), now=0, gc_grace_seconds=0)
    # Copied: the full overwrite (the newer version) and the old partition alone. Decoded: the
    # partial overwrite, the equal timestamps and the expiring cell.
    assert (counts.copied, counts.added) == (2, 3)
    # Both by add_plain_copy: plain one-row partitions, the newer version of the full
    # overwrite and the old partition alone.
    assert counts.plain == 2
    got = {p.pk: {name: (c.timestamp, c.value) for name, c in p.rows[b"@c"].cells.items()}
           for p in out.scan()}
    assert got[b"overwritten"] == {"a": (30, b"1"), "b": (30, b"2")}
    assert got[b"partly"] == {"a": (30, b"9"), "b": (10, b"2")}
    assert got[b"alone-old"] == {"a": (10, b"1"), "b": (10, b"2")}
    assert out.stats.rows == 5 and out.stats.cells == 9 and out.stats.expiring_cells == 1
    assert (out.stats.min_timestamp, out.stats.max_timestamp) == (10, 30)
    out.close()


def test_sources_with_other_column_ids_are_decoded(tmp_path) -> None:
    d = str(tmp_path)
    ab = write(d, [_one_row(b"x", _row(1, {"a": b"1", "b": b"2"}))], generation=1)
    ba = write(d, [_one_row(b"y", _row(1, {"b": b"2", "a": b"1"}))], generation=2)
    bigger = write(d, [_one_row(b"z", _row(1, {"b": b"2", "a": b"1", "c": b"3"}))],
                   generation=3)
    assert ab.stats.columns == ["a", "b"] and bigger.stats.columns == ["b", "a", "c"]
    with _Counting() as counts:
        out = compact([ab, ba, bigger], lambda: SSTableWriter(d, TABLE, 4), 0, 0)
    # ["b", "a", "c"] has the most data as its prefix: the second and third are copied.
    assert out.stats.columns == ["b", "a", "c"] and (counts.copied, counts.added) == (2, 1)
    assert {p.pk: sorted(p.rows[b"@c"].cells) for p in out.scan()} == {
        b"x": ["a", "b"], b"y": ["a", "b"], b"z": ["a", "b", "c"]}
    out.close()


def test_add_copy_refuses_what_it_cannot_copy(tmp_path) -> None:
    d = str(tmp_path)
    source = write(d, [_one_row(b"x", _row(1, {"a": b"1", "b": b"2"}))], generation=1)
    (found,) = list(source.scan_encoded())
    writer = SSTableWriter(d, TABLE, 2)
    writer.seed_columns(["b", "a"])
    with pytest.raises(SSTableStateError, match="numbers its columns differently"):
        writer.add_copy([found], found.records, (2, 1, 1))
    cached = source.find(found.part.token, b"x")
    with pytest.raises(SSTableStateError, match="scan_encoded"):
        writer.add_copy([cached], cached.records, (2, 1, 1))
    writer.add(_one_row(b"y", _row(1, {"a": b"1"})))
    with pytest.raises(SSTableStateError, match="before the first partition"):
        writer.seed_columns(["a"])
    writer.abort()
    source.close()


def test_add_copy_refuses_a_partition_out_of_order(tmp_path) -> None:
    d = str(tmp_path)
    source = write(d, [_one_row(b"x", _row(1, {"a": b"1"})), _one_row(b"y", _row(1, {"a": b"2"}))],
                   generation=1)
    first, second = list(source.scan_encoded())
    writer = SSTableWriter(d, TABLE, 2)
    writer.seed_columns(["a"])
    writer.add_copy([second], second.records, (1, 1, 1))
    with pytest.raises(SSTableOrderError, match="strictly increasing"):
        writer.add_copy([first], first.records, (1, 1, 1))
    with pytest.raises(SSTableOrderError):  # the same key twice
        writer.add_copy([second], second.records, (1, 1, 1))
    writer.abort()
    source.close()


def test_closing_a_copying_compaction_leaves_no_output(tmp_path) -> None:
    d = str(tmp_path)
    readers = [write(d, [_one_row(b"k%04d" % i, _row(g, {"a": b"v"})) for i in range(300)],
                     generation=g) for g in (1, 2)]
    steps = compact_steps(readers, lambda: SSTableWriter(d, TABLE, 3), 0, 0, step_rows=50)
    next(steps)
    steps.close()
    assert not any("-3-" in name for name in os.listdir(d))


def _encoded_row(row: Row, ck: bytes = b"@c") -> tuple[bytes, PartitionEncoder]:
    encoder = PartitionEncoder()
    return encoder.row(ck, row), encoder


def _walk(body: bytes, columns: int = 8) -> tuple[int, int, int, int] | None:
    return live_row(body, 0, len(body), columns)


def test_live_row_tallies_what_the_encoder_counts() -> None:
    row = _row(7, {"a": b"1", "b": b"22"})
    row.cells["b"] = Cell(9, b"22", 0, 0)
    collection = Complex()
    collection.cells[b"p"] = (b"kp", Cell(4, b"e", 0, 0))
    collection.cells[b"q"] = (b"kq", Cell(12, b"f", 0, 0))
    row.cells["m"] = collection
    body, encoder = _encoded_row(row)
    bits = LIVE_MARKER | LIVE_COMPLEX | 1 << LIVE_COLUMN_SHIFT | 1 << (LIVE_COLUMN_SHIFT + 1)
    assert _walk(body) == (encoder.cells, encoder.min_ts, encoder.max_ts, bits) == (
        4, 4, 12, bits)
    assert _walk(body, columns=2) is None  # a column id the dictionary does not have
    assert _walk(body[:-1]) is None and _walk(body + b"\0") is None


@pytest.mark.parametrize("change", [
    lambda r: setattr(r, "marker", Marker(5, 60, 100)),
    lambda r: r.cells.__setitem__("a", Cell(5, b"x", 60, 100)),
    lambda r: r.cells.__setitem__("a", Cell(5, None, 0, 100)),
    lambda r: (setattr(r, "deletion", 3), setattr(r, "ldt", 100)),
    lambda r: r.cells.__setitem__("a", Cell(NO_DELETION, b"x", 0, 0)),
    lambda r: (setattr(r, "marker", None), r.cells.clear()),
    lambda r: r.cells.__setitem__("m", Complex(deletion=2, ldt=9)),
    lambda r: r.cells.__setitem__("m", Complex()),
], ids=["expiring-marker", "expiring-cell", "tombstone", "row-deletion", "floor-timestamp",
        "empty-row", "collection-deletion", "empty-collection"])
def test_live_row_refuses_what_purge_could_change(change) -> None:
    row = _row(5, {"a": b"1"})
    change(row)
    assert _walk(_encoded_row(row)[0]) is None


# Rows for the shaped walk: values of one or two bytes, so that many rows share a length with
# another layout (other columns, a marker or not, a one-byte value swapped for two bytes
# elsewhere), and the odd rows live_row refuses.
_SHAPED_CHANGES = [None, None, None, None, "expiring-marker", "expiring-cell", "tombstone",
                   "row-deletion", "floor-timestamp", "empty-row", "collection"]


@st.composite
def _shaped_rows(draw) -> list[Row]:
    rows = []
    for _ in range(draw(st.integers(1, 60))):
        ts = draw(st.sampled_from([NO_DELETION + 1, 5, 7, 1 << 40]))
        cells = draw(st.dictionaries(st.sampled_from(["a", "b", "c", "z"]),
                                     st.sampled_from([b"1", b"2", b"22", b""]), max_size=3))
        row = _row(ts, cells, marker=draw(st.booleans()))
        for name in row.cells:
            row.cells[name] = Cell(draw(st.sampled_from([ts, ts + 1])), cells[name], 0, 0)
        change = draw(st.sampled_from(_SHAPED_CHANGES))
        if change == "expiring-marker":
            row.marker = Marker(ts, 60, 100)
        elif change == "expiring-cell":
            row.cells["a"] = Cell(ts, b"x", 60, 100)
        elif change == "tombstone":
            row.cells["a"] = Cell(ts, None, 0, 100)
        elif change == "row-deletion":
            row.deletion, row.ldt = 3, 100
        elif change == "floor-timestamp":
            row.cells["a"] = Cell(NO_DELETION, b"x", 0, 0)
        elif change == "empty-row":
            row.marker = None
            row.cells.clear()
        elif change == "collection":
            column = Complex()
            column.cells[b"p"] = (b"kp", Cell(ts, b"e", 0, 0))
            row.cells["m"] = column
        rows.append(row)
    return rows


@settings(max_examples=150, deadline=None)
@given(_shaped_rows(), st.integers(0, 5))
def test_shaped_walk_agrees_with_live_row(rows, columns) -> None:
    """One decoder walks every row in turn, learning shapes from the first row of each length
    and reading later ones by them: each answer is live_row's (`columns`: the dictionary's
    size, so some rows name a column id it lacks)."""
    encoder = PartitionEncoder()
    for name in ["a", "b", "c", "z", "m"]:
        encoder.new_column(name)
    decoder = PartitionDecoder(encoder.columns[:columns])
    for row in rows:
        body = encoder.row(b"@c", row)
        assert shaped_live_row(decoder, body, 0, len(body)) == live_row(body, 0, len(body),
                                                                      columns)


def test_shaped_walk_reads_rows_of_a_learnt_shape_by_it() -> None:
    """The second row of a length is read by the shape the first taught (live_row not called),
    a row of that length in another layout is walked, and after MAX_SHAPE_MISSES such rows
    that length is walked for good."""
    encoder = PartitionEncoder()
    first = encoder.row(b"@c", _row(5, {"a": b"1", "b": b"2"}))
    again = encoder.row(b"@c", _row(9, {"a": b"3", "b": b"4"}))
    other = encoder.row(b"@c", _row(9, {"a": b"33", "b": b""}))  # same length, other layout
    assert len(first) == len(again) == len(other)
    decoder = PartitionDecoder(encoder.columns)
    bits = LIVE_MARKER | 1 << LIVE_COLUMN_SHIFT | 1 << (LIVE_COLUMN_SHIFT + 1)
    assert shaped_live_row(decoder, first, 0, len(first)) == (2, 5, 5, bits)
    with mock.patch("shards.sstable.livewalk.live_row", side_effect=AssertionError):
        assert shaped_live_row(decoder, again, 0, len(again)) == (2, 9, 9, bits)
    for _ in range(MAX_SHAPE_MISSES):
        assert shaped_live_row(decoder, other, 0, len(other)) == (2, 9, 9, bits)
    assert decoder.shapes[len(first)] is False
    assert shaped_live_row(decoder, again, 0, len(again)) == (2, 9, 9, bits)
    # A shape naming a column id the dictionary lacks (neither walk nor plain_row teaches
    # one, but a decoder's shapes are shared with the read path) never tallies a row.
    short = PartitionDecoder(encoder.columns[:1])
    short.shapes[len(first)] = row_shape(first, 0, len(first))
    assert shaped_live_row(short, again, 0, len(again)) is None


def test_copies_across_chunk_boundaries(tmp_path) -> None:
    """Thousands of small partitions in 4 KiB chunks: headers, rows and size prefixes fall on
    every side of a boundary, and each copy must frame them as the encoder does."""
    tables = [[_one_row(b"k%0*d" % (3 + i % 9, i), _row(g, {"a": b"v" * (i % 50), "b": b"w"}))
               for i in range(g, 3000, 2)] for g in (1, 2)]
    out, counts = _both_ways(tmp_path, tables)
    # Every add() wrote an input: the compaction copied all 2,999 partitions.
    assert (counts.copied, counts.added) == (2999, 2999)
    # Both ways of copying a one-row partition: whole in a chunk's buffer (add_plain_copy), or
    # across a boundary, read record by record (add_copy).
    assert 2000 < counts.plain < counts.copied
    assert out.stats.partitions == 2999
    out.close()


def _both_ways(tmp_path, tables: list[list[Partition]]) -> tuple[object, _Counting]:
    """Compacts `tables` (sorted here) copying and decoding: the same files, byte for byte.
    The copying compaction's output, and its counts of add() and add_copy() calls (the
    inputs' writes count as add() calls)."""
    for table in tables:
        table.sort(key=lambda p: (p.token, p.pk))
    copied, decoded = tmp_path / "copied", tmp_path / "decoded"
    copied.mkdir()
    decoded.mkdir()
    with _Counting() as counts:
        out = _compact(str(copied), tables, 0, 0, copying=True)
    reference = _compact(str(decoded), tables, 0, 0, copying=False)
    assert _files(str(copied), 9) == _files(str(decoded), 9) and out.stats == reference.stats
    reference.close()
    return out, counts


def _series(pk: bytes, cks: range, ts: int, collection: bool = False) -> Partition:
    part = Partition(len(pk), pk)
    for n in cks:
        ck = b"@%02d" % n
        row = Row([ck[1:]])
        row.marker = Marker(ts, 0, 0)
        row.cells["a"] = Cell(ts, b"v%d" % ts, 0, 0)
        if collection:
            column = Complex()
            column.cells[b"p%d" % ts] = (b"k", Cell(ts, b"e", 0, 0))
            row.cells["m"] = column
        part.rows[ck] = row
    return part


def test_rows_spread_over_inputs_are_copied_in_clustering_order(tmp_path) -> None:
    """A time series: each input holds later rows of the same partition, one rewrites an
    older row in full. Rows of a collection in two versions merge by element: decoded."""
    later = _series(b"series", range(6, 11), 2)
    later.rows[b"@03"] = _series(b"series", range(3, 4), 2).rows[b"@03"]
    tables = [[_series(b"series", range(1, 6), 1), _series(b"sets", range(1, 2), 1, True)],
              [later, _series(b"sets", range(1, 2), 2, True)],
              [_series(b"series", range(11, 16), 3)]]
    out, counts = _both_ways(tmp_path, tables)
    assert (counts.copied, counts.added - 5) == (1, 1)  # 5 add() calls wrote the inputs
    series = next(p for p in out.scan() if p.pk == b"series")
    assert list(series.rows) == [b"@%02d" % n for n in range(1, 16)]
    assert series.rows[b"@03"].cells["a"].value == b"v2"
    sets = next(p for p in out.scan() if p.pk == b"sets")
    assert list(sets.rows[b"@01"].cells["m"].cells) == [b"p1", b"p2"]
    out.close()


def test_one_row_versions_of_other_rows_keep_every_row(tmp_path) -> None:
    """Versions of a partition that each hold one row, but not the same row: the newest does
    not overwrite the others, and the merged partition holds every row. Versions of one row
    overwritten in full come out as the newest, copied by add_plain_copy."""
    def at(ck: bytes, ts: int, pk: bytes = b"p") -> Partition:
        part = Partition(len(pk), pk)
        row = Row([ck[1:]])
        row.marker = Marker(ts, 0, 0)
        row.cells["a"] = Cell(ts, b"v%d" % ts, 0, 0)
        part.rows[ck] = row
        return part

    tables = [[at(b"@a", 1), at(b"@c", 1, b"q")], [at(b"@b", 2), at(b"@c", 2, b"q")],
              [at(b"@c", 3), at(b"@c", 3, b"q")]]
    out, counts = _both_ways(tmp_path, tables)
    rows = {p.pk: {ck: row.cells["a"].value for ck, row in p.rows.items()} for p in out.scan()}
    assert rows == {b"p": {b"@a": b"v1", b"@b": b"v2", b"@c": b"v3"}, b"q": {b"@c": b"v3"}}
    assert counts.plain == 1  # q's newest version; p's rows are copied by add_copy
    out.close()
