"""shards/sstable/usualrow.py: the unrolled encoding of a flush's usual partition gives the
loop's bytes, statistics and column dictionary, for any column set and order; it covers
the column sets it should and leaves the others to the loop; its caches stay bounded."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.ipc import messages as m
from shards.generated import MAX_UNROLLED_CELLS
from shards.memtable import TableData
from shards.sstable import usualrow
from shards.sstable.codec import PartitionEncoder
from shards.tombstones import NO_DELETION
from tests.shards.sstable.helpers import encoder_tallies

NOW = 100


def _loop_encoder() -> PartitionEncoder:
    """A PartitionEncoder that never finds an unrolled function: the loop's encoding."""
    encoder = PartitionEncoder()
    encoder._usual = defaultdict(lambda: None)
    return encoder


def _write(table: TableData, pk: bytes, ts: int, names: list[str], values: list[bytes],
           marker: bool = True) -> None:
    mutation = m.Mutation(b"t", hash(pk) & 0xFFFF, pk, b"", [], ts, m.MUTATION_ROW_UPSERT, [],
                          [], 0, 0, marker, NOW, plain_names=names, plain_values=values)
    table.check(mutation)
    table.apply(mutation)


def _usual_rows(table: TableData):
    for part in table.partitions.values():
        ((ck, row),) = part.rows.items()
        assert ck == b"" and row.marker is not None and row.floor != NO_DELETION
        yield part, ck, row


_NAMES = ["C0", "C1", "a'b", 'q"\n', "é"]  # quotes and a newline: names never reach the source


@st.composite
def _tables(draw) -> TableData:
    """Usual rows (INSERTs of whole rows, some columns updated later at another timestamp) of
    a table without clustering columns, naming their columns in any order."""
    table = TableData()
    for i in range(draw(st.integers(1, 8))):
        names = draw(st.lists(st.sampled_from(_NAMES), min_size=1, unique=True))
        values = [draw(st.binary(max_size=40)) for _ in names]
        pk = b"k%d" % i
        _write(table, pk, draw(st.integers(1, 50)), names, values)
        if draw(st.booleans()):
            later = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
            _write(table, pk, draw(st.integers(1, 80)), later,
                   [draw(st.binary(max_size=8)) for _ in later], marker=False)
    return table


@settings(max_examples=200, deadline=None)
@given(_tables())
def test_the_unrolled_encoding_is_the_loops(table) -> None:
    """Every partition of one SSTable, encoded by one encoder: the same bytes, statistics
    (rows, cells, timestamps) and column dictionary as the loop's."""
    unrolled, loop = PartitionEncoder(), _loop_encoder()
    for part, ck, row in _usual_rows(table):
        assert unrolled.plain_partition(part, ck, row) == loop.plain_partition(part, ck, row)
    assert encoder_tallies(unrolled) == encoder_tallies(loop)
    assert unrolled.columns == loop.columns  # ids in order of first appearance, as the loop's
    assert any(function is not None for function in unrolled._usual.values())


def test_column_sets_the_functions_cover() -> None:
    """One to MAX_UNROLLED_CELLS cells get a function, shared by every encoder that assigns
    the same ids; no cells and wider sets keep the loop."""
    assert usualrow.usual_encoder(()) is None
    assert usualrow.usual_encoder(tuple(range(MAX_UNROLLED_CELLS + 1))) is None
    widest = tuple(range(MAX_UNROLLED_CELLS))
    assert usualrow.usual_encoder(widest) is usualrow.usual_encoder(widest) is not None
    table = TableData()
    names = [f"c{i}" for i in range(MAX_UNROLLED_CELLS + 1)]
    _write(table, b"wide", 5, names, [b"v"] * len(names))
    _write(table, b"widest", 5, names[:-1], [b"w"] * (len(names) - 1))
    _write(table, b"bare", 5, [], [])  # a marker alone
    unrolled, loop = PartitionEncoder(), _loop_encoder()
    encoded = {part.pk: unrolled.plain_partition(part, ck, row)
               for part, ck, row in _usual_rows(table)}
    assert encoded == {part.pk: loop.plain_partition(part, ck, row)
                       for part, ck, row in _usual_rows(table)}
    assert encoder_tallies(unrolled) == encoder_tallies(loop)
    assert unrolled._usual[tuple(names)] is None
    assert unrolled._usual[tuple(names[:-1])] is not None
    assert unrolled._usual[()] is None


def test_the_caches_are_bounded(monkeypatch) -> None:
    """Past MAX_COLUMN_SETS column sets a cache is cleared, not grown; encoding goes on."""
    monkeypatch.setattr(usualrow, "MAX_COLUMN_SETS", 3)
    monkeypatch.setattr(usualrow, "_BY_IDS", {})
    table = TableData()
    for i in range(7):
        _write(table, b"k%d" % i, 5, [f"c{i}", "x"], [b"v", b"w"])
    unrolled, loop = PartitionEncoder(), _loop_encoder()
    for part, ck, row in _usual_rows(table):
        assert unrolled.plain_partition(part, ck, row) == loop.plain_partition(part, ck, row)
        assert len(unrolled._usual) <= 3 and len(usualrow._BY_IDS) <= 3
    assert encoder_tallies(unrolled) == encoder_tallies(loop)
