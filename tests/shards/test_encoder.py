"""shards/encoder.py: projections decoded once per encoding, plain plans per (projection,
dictionary), a malformed projection answered with an error, not a shard failure, and the
unrolled whole row (PointPlan.whole) encoding what the loop encodes."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferrosa.ipc import messages as m
from shards.encoder import (
    _SHORT_VALUE,
    MAX_UNROLLED_CELLS,
    PlainPlan,
    PointPlan,
    encode_plan_row,
    plain_plan_of,
    projection_of,
    unrolled_row,
)
from shards.memtable import Cell
from shards.store import ShardStore

COLUMNS = ("a", "b")


def _plain_plan(items: list) -> PlainPlan | None:
    return plain_plan_of(bytes(m.encode_projection(items)), COLUMNS)


def test_a_projection_is_decoded_once_per_encoding():
    encoded = bytes(m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CELL, "a")]))
    first = projection_of(encoded)
    assert first == [(m.PROJ_PK, 0), (m.PROJ_CELL, "a")]
    assert projection_of(bytes(encoded)) is first


def test_plain_plans_follow_the_projection_not_just_the_dictionary():
    ab = _plain_plan([(m.PROJ_CELL, "a"), (m.PROJ_CELL, "b")])
    ba = _plain_plan([(m.PROJ_CELL, "b"), (m.PROJ_CELL, "a")])
    assert ab.slot_of == [0, 1] and ba.slot_of == [1, 0]
    assert _plain_plan([(m.PROJ_CELL, "a"), (m.PROJ_CELL, "b")]) is ab


@pytest.mark.parametrize("items", [[(m.PROJ_WRITETIME, "a")], [(m.PROJ_LIST, ["a", False])]])
def test_projections_that_need_decoded_rows_have_no_plain_plan(items):
    assert _plain_plan(items) is None


def test_a_malformed_projection_fails_the_read_only(tmp_path):
    store = ShardStore(0, str(tmp_path))
    table = b"\x05" * 16
    store.handle(m.TableSchema(1, table))
    store.handle(m.Write(2, [m.Mutation(table, 1, b"k", b"", [], 10, m.MUTATION_ROW_UPSERT,
                                        row_marker=True, plain_names=["a"],
                                        plain_values=[b"v"])]))
    empty = store.handle(m.Read(3, table, 1, b"k", m.encode_projection([]), 1_000))
    assert type(empty) is m.RowsReply  # an empty projection is a valid one
    reply = store.handle(m.Read(4, table, 1, b"k", msgspec.Raw(b"\x93\x01"), 1_000))
    assert type(reply) is m.Failure and "malformed projection" in reply.message
    good = store.handle(m.Read(5, table, 1, b"k", m.encode_projection([(m.PROJ_CELL, "a")]),
                               1_000))
    assert type(good) is m.RowsReply and good.count == 1 and good.rows == b"\x00\x00\x00\x01v"


_NAMES = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6, unique=True)
# Lengths around the prefix table's end (_SHORT_VALUE) and the usual short ones.
_VALUE = st.one_of(st.binary(max_size=40),
                   st.integers(_SHORT_VALUE - 2, _SHORT_VALUE + 2).map(lambda n: b"v" * n))
_KEYS = st.lists(st.tuples(st.sampled_from([m.PROJ_PK, m.PROJ_CK]), st.integers(0, 1)),
                 max_size=3)


@given(_NAMES, _KEYS, st.data())
def test_an_unrolled_whole_row_appends_what_the_loop_appends(names, keys, data):
    """For any leading key items and cell names (quotes and spaces in names included), a row
    missing any cells, and values either side of the prefix table's end: `whole` appends the
    loop's bytes and returns its count, or returns -1 and appends nothing."""
    keys, names = tuple(keys), tuple(names)
    whole = PointPlan(keys, names).whole
    pk_values = [len(v).to_bytes(4, "big") + v for v in data.draw(st.lists(_VALUE, min_size=2,
                                                                          max_size=2))]
    ck_values = tuple(data.draw(st.lists(_VALUE, min_size=2, max_size=2)))
    present = data.draw(st.lists(st.sampled_from(names), unique=True))
    cells = {name: Cell(5, data.draw(_VALUE), 0, 0) for name in present}
    cells["not selected"] = Cell(5, b"x", 0, 0)
    expected: list[bytes] = []
    size = encode_plan_row(keys, names, pk_values, ck_values, cells, 0, 0, expected, True)
    out = [b"before"]
    appended = whole(pk_values, ck_values, cells, out)
    missing = len(present) < len(names)
    long = any(len(c.value) >= _SHORT_VALUE for c in cells.values()) or any(
        len(ck_values[i]) >= _SHORT_VALUE for kind, i in keys if kind == m.PROJ_CK)
    if missing or long:
        assert (appended, out) == (-1, [b"before"])
    else:
        assert b"".join(out[1:]) == b"".join(expected) and appended == size


def test_only_projections_of_cells_up_to_the_limit_are_unrolled():
    assert unrolled_row(((m.PROJ_PK, 0),), ()) is None  # keys alone: the loop's few steps
    wide = tuple(f"c{i}" for i in range(MAX_UNROLLED_CELLS + 1))
    assert unrolled_row((), wide) is None
    assert unrolled_row((), wide[:-1]) is not None
