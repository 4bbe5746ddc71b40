"""The unrolled new-row putters: the cells and byte count of put_plain's rule, or nothing."""

from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from shards import plainrow
from shards.memtable import Cell
from shards.plainrow import MAX_UNROLLED_CELLS, NewRowPutters

_OVERHEAD = 64
_names = st.lists(st.text(min_size=1, max_size=6), unique=True, min_size=1, max_size=8)
_value = st.one_of(st.binary(max_size=40), st.none())


@settings(max_examples=300, deadline=None)
@given(_names, st.data(), st.integers(-5, 2**62), st.sampled_from([(0, 0), (7, 1_700_000_007)]))
def test_a_putter_puts_each_value_or_nothing(names, data, ts, ttl_expires) -> None:
    ttl, expires = ttl_expires
    values = data.draw(st.lists(_value, min_size=len(names), max_size=len(names)))
    put = NewRowPutters(Cell, _OVERHEAD)[tuple("".join(list(n)) for n in names)]
    cells: dict = {}
    added = put(cells, values, ts, ttl, expires)
    if None in values:
        assert added == -1 and cells == {}
        return
    assert cells == {n: Cell(ts, v, ttl, expires) for n, v in zip(names, values)}
    assert list(cells) == names
    assert all(name is sys.intern(name) for name in cells)
    assert added == sum(_OVERHEAD + len(n) + len(v) for n, v in zip(names, values))


@given(_names, st.integers(0, 3))
def test_values_not_one_per_name_put_nothing(names, extra) -> None:
    put = NewRowPutters(Cell, _OVERHEAD)[tuple(names)]
    for count in {0, len(names) - 1, len(names) + 1 + extra} - {len(names)}:
        cells: dict = {}
        assert put(cells, [b"v"] * count, 1, 0, 0) == -1 and cells == {}


def test_no_names_or_too_many_keep_the_loop() -> None:
    putters = NewRowPutters(Cell, _OVERHEAD)
    assert putters[()] is None
    assert putters[tuple(f"c{i}" for i in range(MAX_UNROLLED_CELLS + 1))] is None
    widest = putters[tuple(f"c{i}" for i in range(MAX_UNROLLED_CELLS))]
    cells: dict = {}
    assert widest(cells, [b"x"] * MAX_UNROLLED_CELLS, 3, 0, 0) > 0
    assert cells["c63"] == Cell(3, b"x", 0, 0)


def test_the_cache_is_bounded_and_made_once_per_column_set(monkeypatch) -> None:
    monkeypatch.setattr(plainrow, "MAX_COLUMN_SETS", 3)
    putters = NewRowPutters(Cell, _OVERHEAD)
    first = putters[("a", "b")]
    assert putters[("a", "b")] is first and putters[("b", "a")] is not first
    for i in range(10):
        putters[(f"x{i}",)]
        assert len(putters) <= 3
