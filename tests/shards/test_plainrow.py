"""The unrolled row putters: the cells and byte count of put_plain's rule, or nothing."""

from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from shards import plainrow
from shards.memtable import Cell, Complex
from shards.plainrow import MAX_UNROLLED_CELLS, RowPutters

_OVERHEAD = 64
_names = st.lists(st.text(min_size=1, max_size=6), unique=True, min_size=1, max_size=8)
_value = st.one_of(st.binary(max_size=40), st.none())
_ttl = st.sampled_from([(0, 0), (7, 1_700_000_007)])


def _putters(names):
    # Names decoded with a write are new strs each time.
    return RowPutters(Cell, _OVERHEAD)[tuple("".join(list(n)) for n in names)]


@settings(max_examples=300, deadline=None)
@given(_names, st.data(), st.integers(-5, 2**62), _ttl)
def test_new_puts_each_value_or_nothing(names, data, ts, ttl_expires) -> None:
    ttl, expires = ttl_expires
    values = data.draw(st.lists(_value, min_size=len(names), max_size=len(names)))
    cells: dict = {}
    added = _putters(names).new(cells, values, ts, ttl, expires)
    if None in values:
        assert added == -1 and cells == {}
        return
    assert cells == {n: Cell(ts, v, ttl, expires) for n, v in zip(names, values)}
    assert list(cells) == names
    assert all(name is sys.intern(name) for name in cells)
    assert added == sum(_OVERHEAD + len(n) + len(v) for n, v in zip(names, values))


_old = st.one_of(st.none(), st.just("complex"),
                 st.builds(Cell, st.integers(0, 20), st.one_of(st.none(), st.binary(max_size=3)),
                           st.sampled_from([0, 5]), st.integers(0, 200)))


@settings(max_examples=400, deadline=None)
@given(_names, st.data(), st.integers(0, 20), _ttl)
def test_over_replaces_older_plain_cells_or_puts_nothing(names, data, ts, ttl_expires) -> None:
    """Every name's old cell a Cell older than `ts`: each replaced, 0 bytes added. A missing
    cell, a collection, a cell at or after `ts` or a null value: nothing put, -1."""
    ttl, expires = ttl_expires
    values = data.draw(st.lists(_value, min_size=len(names), max_size=len(names)))
    olds = data.draw(st.lists(_old, min_size=len(names), max_size=len(names)))
    other = data.draw(st.dictionaries(st.sampled_from(["x1", "x2"]), _old.filter(bool)))
    cells = {n: (Complex() if o == "complex" else o) for n, o in zip(names, olds) if o is not None}
    cells.update({k: v for k, v in other.items() if k not in names and v != "complex"})
    before = dict(cells)
    result = _putters(names).over(cells, values, ts, ttl, expires)
    usual = (None not in values
             and all(type(o) is Cell and o.timestamp < ts for o in olds))
    if not usual:
        assert result == -1 and cells == before
        return
    assert result == 0
    assert cells == {**before, **{n: Cell(ts, v, ttl, expires) for n, v in zip(names, values)}}


@given(_names, st.integers(0, 3))
def test_values_not_one_per_name_put_nothing(names, extra) -> None:
    putters = _putters(names)
    older = {n: Cell(0, b"o", 0, 0) for n in names}
    for count in {0, len(names) - 1, len(names) + 1 + extra} - {len(names)}:
        cells: dict = {}
        assert putters.new(cells, [b"v"] * count, 1, 0, 0) == -1 and cells == {}
        cells = dict(older)
        assert putters.over(cells, [b"v"] * count, 1, 0, 0) == -1 and cells == older


def test_no_names_or_too_many_keep_the_loop() -> None:
    putters = RowPutters(Cell, _OVERHEAD)
    assert putters[()] is None
    assert putters[tuple(f"c{i}" for i in range(MAX_UNROLLED_CELLS + 1))] is None
    widest = putters[tuple(f"c{i}" for i in range(MAX_UNROLLED_CELLS))]
    cells: dict = {}
    assert widest.new(cells, [b"x"] * MAX_UNROLLED_CELLS, 3, 0, 0) > 0
    assert widest.over(cells, [b"y"] * MAX_UNROLLED_CELLS, 4, 0, 0) == 0
    assert cells["c63"] == Cell(4, b"y", 0, 0)


def test_the_cache_is_bounded_and_made_once_per_column_set(monkeypatch) -> None:
    monkeypatch.setattr(plainrow, "MAX_COLUMN_SETS", 3)
    putters = RowPutters(Cell, _OVERHEAD)
    first = putters[("a", "b")]
    assert putters[("a", "b")] is first and putters[("b", "a")] is not first
    for i in range(10):
        putters[(f"x{i}",)]
        assert len(putters) <= 3
