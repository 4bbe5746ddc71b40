"""Shared test material: hypothesis strategies for memtable partitions, a canonical dump that
compares partitions as data, a visibility model, a writer shortcut and a stepped job's runner."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from hypothesis import strategies as st

from shards.memtable import Cell, Complex, Marker, Partition, Row, cell_live
from shards.sstable import SSTableReader, SSTableWriter
from shards.sstable.codec import PartitionEncoder, row_map
from shards.sstable.merge import merge_into
from shards.tombstones import NO_DELETION, RangeTombstoneList

TABLE = bytes.fromhex("5eed0000000000000000000000000001")
SIMPLE = ["a", "b", "c", "counter"]
MULTI = ["m", "udt"]


def timestamps(small: bool) -> st.SearchStrategy[int]:
    narrow = st.integers(0, 12)
    return narrow if small else st.one_of(narrow, st.integers(-(2**63) + 1, 2**63 - 1))


def cells(small: bool) -> st.SearchStrategy[Cell]:
    ts = timestamps(small)
    ldt = st.integers(1, 40) if small else st.integers(1, 2**40)
    value = st.binary(max_size=40)
    live = st.builds(Cell, ts, value, st.just(0), st.just(0))
    expiring = st.builds(Cell, ts, value, st.integers(1, 30), ldt)
    tomb = st.builds(lambda t, d: Cell(t, None, 0, d), ts, ldt)
    return st.one_of(live, live, expiring, tomb)


def deletions(small: bool) -> st.SearchStrategy[tuple[int, int]]:
    ldt = st.integers(1, 40) if small else st.integers(1, 2**40)
    return st.one_of(st.just((NO_DELETION, 0)), st.tuples(timestamps(small), ldt))


@st.composite
def complexes(draw, small: bool) -> Complex:
    column = Complex()
    column.deletion, column.ldt = draw(deletions(small))
    paths = draw(st.lists(st.binary(min_size=1, max_size=6), max_size=5, unique=True))
    for path in paths:
        column.cells[path] = (b"k" + path, draw(cells(small)))
    return column


@st.composite
def cell_dicts(draw, small: bool) -> dict:
    out: dict = {}
    for name in draw(st.lists(st.sampled_from(SIMPLE + MULTI), max_size=5, unique=True)):
        out[name] = draw(complexes(small)) if name in MULTI else draw(cells(small))
    return out


@st.composite
def rows(draw, ck: bytes, small: bool) -> Row:
    # Clustering values are a function of the key (as in a real table), split in 2-byte pieces.
    row = Row([ck[i:i + 2] for i in range(1, len(ck), 2)] or [b""])
    if draw(st.booleans()):
        ts = draw(timestamps(small))
        row.marker = draw(st.one_of(st.just(Marker(ts, 0, 0)),
                                    st.builds(lambda t, e: Marker(ts, t, e), st.integers(1, 30),
                                              st.integers(1, 60))))
    row.deletion, row.ldt = draw(deletions(small))
    row.cells = draw(cell_dicts(small))
    return row


_KEY = st.binary(min_size=1, max_size=4).map(lambda b: b"\x40" + b)


@st.composite
def partitions(draw, token: int, pk: bytes, small: bool = False, max_rows: int = 6) -> Partition:
    part = Partition(token, pk)
    part.deletion, part.ldt = draw(deletions(small))
    part.static = draw(cell_dicts(small))
    for ck in draw(st.lists(_KEY, max_size=max_rows, unique=True)):
        part.rows[ck] = draw(rows(ck, small))
    ranges = draw(st.lists(st.tuples(_KEY, st.one_of(_KEY, st.just(b"")), timestamps(small),
                                     st.integers(1, 40)), max_size=3))
    if ranges:
        part.ranges = RangeTombstoneList()
        for lo, hi, ts, ldt in ranges:
            part.ranges.add(lo, hi, ts, ldt)
    return part


_TOKEN = st.one_of(st.integers(-3, 3), st.integers(-(2**63), 2**63 - 1))


@st.composite
def partition_lists(draw, min_size: int = 1, max_size: int = 8, small: bool = False) -> list:
    keys = draw(st.lists(st.tuples(_TOKEN, st.binary(max_size=6)), min_size=min_size,
                         max_size=max_size, unique=True))
    return [draw(partitions(token, pk, small)) for token, pk in sorted(keys)]


def dump_cell(cell) -> tuple:
    if type(cell) is Cell:
        return ("cell", cell.timestamp, cell.value, cell.ttl, cell.ldt)
    return ("complex", cell.deletion, cell.ldt, tuple(cell.cells.items()))


def dump_cells(cells: dict) -> tuple:
    return tuple(sorted(((name, dump_cell(cell)) for name, cell in cells.items()),
                        key=lambda item: item[0]))


def dump(part: Partition | None) -> tuple | None:
    """A partition as comparable plain data (None stays None)."""
    if part is None:
        return None
    rows = tuple((ck, tuple(row.ck_values), row.marker, row.deletion, row.ldt,
                  dump_cells(row.cells)) for ck, row in part.rows.items())
    ranges = tuple(part.ranges.items) if part.ranges is not None else ()
    return (part.token, part.pk, part.deletion, part.ldt, dump_cells(part.static), rows, ranges)


def sliced(part: Partition, lo: bytes, hi: bytes) -> Partition:
    """`part` with only the rows lo <= ck < hi (hi b"" = unbounded); other parts shared."""
    copy = Partition(part.token, part.pk)
    copy.deletion, copy.ldt, copy.static, copy.ranges = (part.deletion, part.ldt, part.static,
                                                         part.ranges)
    copy.rows = row_map([(ck, row) for ck, row in part.rows.items()
                         if lo <= ck and (not hi or ck < hi)])
    return copy


def clone(part: Partition) -> Partition:
    copy = Partition(part.token, part.pk)
    merge_into(copy, part)
    copy.deletion, copy.ldt = part.deletion, part.ldt  # merge keeps the max; NO_DELETION ldt 0
    return copy


def _visible_cells(cells: dict, shadow: int, now: int) -> dict:
    out = {}
    for name, cell in cells.items():
        if type(cell) is Cell:
            if cell_live(cell, shadow, now):
                out[name] = cell.value
        else:
            items = [(path, key, c.value) for path, key, c in cell.live_items(shadow, now)]
            if items:
                out[name] = items
    return out


def visible(part: Partition | None, now: int) -> tuple:
    """What a read at `now` can see of the partition (the memtable read rules)."""
    if part is None:
        return {}, {}
    static = _visible_cells(part.static, part.deletion, now)
    seen = {}
    for ck, row in part.rows.items():
        shadow = part.row_shadow(ck, row)
        if row.live(shadow, now):
            seen[ck] = _visible_cells(row.cells, shadow, now)
    return static, seen


def write(directory: str, parts: list[Partition], generation: int = 1, **options) -> SSTableReader:
    writer = SSTableWriter(directory, TABLE, generation, **options)
    for part in parts:
        writer.add(part)
    return writer.finish()


def run_steps(steps: Generator[None, None, Any]) -> tuple[Any, int]:
    """A stepped job (a generator that yields None per step and returns its result) run to its
    end: its result, and the steps (next() calls that yielded) it took."""
    count = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value, count
        count += 1


def encoder_tallies(encoder: PartitionEncoder) -> dict:
    """An encoder's statistics and column dictionary, without its cache of unrolled encoders."""
    return {name: value for name, value in vars(encoder).items() if name != "_usual"}
