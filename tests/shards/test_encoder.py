"""shards/encoder.py: projections decoded once per encoding, plain plans per (projection,
dictionary), and a malformed projection answered with an error, not a shard failure."""

from __future__ import annotations

import msgspec
import pytest

from ferrosa.ipc import messages as m
from shards.encoder import PlainPlan, plain_plan_of, projection_of
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
