"""Reads of memtable rows by a PointPlan (shards/encoder.py).

An unbounded read of a table that holds all its data in the memtable is answered by
encoder.encode_point_row (shards/store.py `_point_row`) when the partition has one live row and
the projection is key components then plain cells: it must answer exactly what the general path
answers, whatever the history wrote, and leave to that path every read it cannot answer alone.
The general path writes the rows of such a projection with RowEncoder.encode_row."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shards.encoder
import shards.store
from ferrosa.ipc import messages as m
from ferrosa.partitioner import compose_partition_key
from shards.encoder import point_plan
from shards.store import ShardStore
from shards.tombstones import NO_DELETION
from tests.shards.test_store_sstable_reads import (
    CKS,
    FLUSH,
    NOW,
    PK,
    TABLE,
    TOKEN,
    histories,
    store_of,
)

KEY_THEN_CELLS = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CK, 0), (m.PROJ_CELL, "a"),
                                      (m.PROJ_CELL, "b"), (m.PROJ_CELL, "c"),
                                      (m.PROJ_CELL, "a")])
CELLS_ONLY = m.encode_projection([(m.PROJ_CELL, "c"), (m.PROJ_CELL, "b")])
CK_FIRST = m.encode_projection([(m.PROJ_CK, 0), (m.PROJ_PK, 0), (m.PROJ_CELL, "b")])
# What the point path leaves to the general one: a key after a cell, a static, a collection,
# a write time.
KEY_LATE = m.encode_projection([(m.PROJ_CELL, "a"), (m.PROJ_PK, 0)])
WITH_STATIC = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CELL, "a"), (m.PROJ_STATIC, "s")])
WITH_LIST = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CELL, "a"), (m.PROJ_LIST, ["l", False])])
WITH_WRITETIME = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_WRITETIME, "a")])
PROJECTIONS = [KEY_THEN_CELLS, CELLS_ONLY, CK_FIRST, KEY_LATE, WITH_STATIC, WITH_LIST,
               WITH_WRITETIME]


def _read(store: ShardStore, projection, pk: bytes = PK, components: int = 1,
          limit: int = 0) -> m.RowsReply:
    reply = store.handle(m.Read(1, TABLE, TOKEN, pk, projection, NOW, components, limit=limit))
    assert type(reply) is m.RowsReply, reply
    return reply


def _answer(reply: m.RowsReply) -> tuple:
    return (reply.rows, reply.count, reply.more, reply.last_ck, reply.last_token, reply.last_pk)


@pytest.fixture
def served(monkeypatch) -> list:
    """The answers _point_row gave (None: it left the read to the general path)."""
    answers: list = []
    real = shards.store._point_row
    monkeypatch.setattr(shards.store, "_point_row",
                        lambda part, req: answers.append(real(part, req)) or answers[-1])
    return answers


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    return [tmp_path_factory.mktemp("point"), 0]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories=st.sampled_from([CKS[:1], CKS[:2]]).flatmap(histories),
       projection=st.sampled_from(PROJECTIONS), limit=st.integers(0, 2))
def test_point_reads_match_general_reads(counter, monkeypatch, histories, projection,
                                         limit) -> None:
    """Histories of plain rows, deletions of rows, ranges and the partition, statics, TTLs
    (expired or not), cell tombstones and collection elements, over one clustering key or
    two, all in the memtable: the read answers what the general path answers with
    RowEncoder.encode, whether one row answers it (_point_row) or several (encode_row)."""
    counter[1] += 1
    history, tail = histories
    steps = [step for step in history + tail if step != FLUSH]
    store = store_of(str(counter[0] / str(counter[1])), steps)
    point = _answer(_read(store, projection, limit=limit))
    for part in store.tables[TABLE].memtable.partitions.values():
        for row in part.rows.values():
            row.floor = NO_DELETION  # the general path tests every cell (memtable.Row.floor)
    with monkeypatch.context() as patch:
        patch.setattr(shards.store, "_point_row", lambda part, req: None)
        patch.setattr(shards.encoder, "point_plan", lambda key: None)  # RowEncoder.encode
        general = _answer(_read(store, projection, limit=limit))
    assert point == general


def _row(ck: bytes = CKS[0], ts: int = 5, names=("a", "b"), values=(b"A", b"B" * 300),
         ttl: int = 0, marker: bool = True, pk: bytes = PK) -> m.Mutation:
    return m.Mutation(TABLE, TOKEN, pk, ck, [ck], ts, m.MUTATION_ROW_UPSERT, [], [], ttl,
                      NOW - 10 + ttl if ttl else 0, marker, NOW - 10,
                      plain_names=list(names), plain_values=list(values))


def test_a_plain_row_is_encoded_without_the_row_encoder(tmp_path, served, monkeypatch) -> None:
    """Key components then cells, in the projection's order: a repeated column twice, a
    missing one null, a long value with a four-byte length."""
    store = store_of(str(tmp_path), [_row()])
    monkeypatch.setattr(shards.store, "RowEncoder", None)  # the general path would fail
    reply = _read(store, KEY_THEN_CELLS)
    assert served and served[-1] is reply
    assert (reply.count, reply.more, reply.last_ck) == (1, False, CKS[0])
    assert reply.rows == (b"\x00\x00\x00\x01p" + b"\x00\x00\x00\x01" + CKS[0]
                          + b"\x00\x00\x00\x01A" + b"\x00\x00\x01\x2c" + b"B" * 300
                          + b"\xff\xff\xff\xff" + b"\x00\x00\x00\x01A")


def test_rows_written_whole_skip_the_per_cell_tests(tmp_path, monkeypatch) -> None:
    """Rows whose floor is above their shadow are encoded as whole (memtable.Row.floor): a
    point read's row and a slice's, not one written with a TTL; a row the partition's deletion
    covers is not encoded at all."""
    wholes: list[bool] = []
    real = shards.encoder.encode_plan_row
    monkeypatch.setattr(shards.encoder, "encode_plan_row",
                        lambda *args: wholes.append(args[-1]) or real(*args))
    monkeypatch.setattr(shards.store, "encode_plan_row", shards.encoder.encode_plan_row)
    store = store_of(str(tmp_path), [_row(), _row(CKS[1], ts=6), _row(CKS[2], ts=7, ttl=100),
                                     _row(pk=b"q")])
    assert _read(store, KEY_THEN_CELLS, pk=b"q").count == 1
    assert wholes == [True]
    assert _read(store, KEY_THEN_CELLS).count == 3
    assert wholes[1:] == [True, True, False]
    store.handle(m.Write(0, [m.Mutation(TABLE, TOKEN, PK, b"", [], 5,
                                        m.MUTATION_PARTITION_DELETE, now=NOW - 10)]))
    del wholes[:]
    assert _read(store, KEY_THEN_CELLS).count == 2
    assert wholes == [True, False]


def test_a_row_live_only_by_a_dropped_columns_cells_is_not_read(tmp_path) -> None:
    """A row without a marker whose one cell belongs to a column dropped since is not live,
    however new its floor (the floor does not know which columns were dropped)."""
    store = store_of(str(tmp_path), [_row(marker=False, names=("zz",), values=(b"Z",)),
                                     _row(CKS[1])])
    store.handle(m.TableSchema(0, TABLE, dropped={"zz": 10}))
    reply = _read(store, KEY_THEN_CELLS)
    assert (reply.count, reply.last_ck) == (1, CKS[1])


def test_cells_older_than_the_rows_deletion_are_null(tmp_path, served) -> None:
    """The memtable keeps a cell written under a newer row deletion (its timestamp loses):
    a later write keeps the row live, and the old cells read as null."""
    store = store_of(str(tmp_path), [
        m.Mutation(TABLE, TOKEN, PK, CKS[0], [CKS[0]], 10, m.MUTATION_ROW_DELETE, now=NOW - 10),
        _row(ts=5), _row(ts=12, names=("c",), values=(b"C",))])
    reply = _read(store, KEY_THEN_CELLS)
    assert served[-1] is reply
    assert reply.rows.endswith(b"\xff\xff\xff\xff" * 2 + b"\x00\x00\x00\x01C\xff\xff\xff\xff")


def test_a_row_without_a_marker_is_live_by_its_cells(tmp_path, served) -> None:
    """An UPDATE writes no row marker: its live cells keep the row, expired ones do not."""
    store = store_of(str(tmp_path), [_row(marker=False), _row(CKS[0], ts=6, names=("c",),
                                                              values=(b"C",), ttl=5,
                                                              marker=False, pk=b"q")])
    reply = _read(store, KEY_THEN_CELLS)
    assert served[-1] is reply and reply.count == 1
    assert _read(store, KEY_THEN_CELLS, pk=b"q").count == 0


def test_a_composite_partition_key_is_split(tmp_path, served) -> None:
    pk = compose_partition_key([b"k1", b"key2"])
    store = store_of(str(tmp_path), [_row(pk=pk)])
    projection = m.encode_projection([(m.PROJ_PK, 1), (m.PROJ_PK, 0), (m.PROJ_CELL, "a")])
    reply = _read(store, projection, pk=pk, components=2)
    assert served[-1] is reply
    assert reply.rows == b"\x00\x00\x00\x04key2\x00\x00\x00\x02k1\x00\x00\x00\x01A"


def test_rows_of_a_slice_are_encoded_by_the_plan(tmp_path, monkeypatch) -> None:
    """A partition of several rows takes the general loop, whose rows RowEncoder.encode_row
    writes for a plan's projection: key components in the projection's order (a composite
    key split), the clustering value, the cells."""
    pk = compose_partition_key([b"k1", b"key2"])
    store = store_of(str(tmp_path), [_row(CKS[1], pk=pk, values=(b"A1", b"")),
                                     _row(CKS[2], pk=pk, names=("b",), values=(b"B2",))])
    projection = m.encode_projection([(m.PROJ_PK, 1), (m.PROJ_CK, 0), (m.PROJ_PK, 0),
                                      (m.PROJ_CELL, "b"), (m.PROJ_CELL, "a")])
    monkeypatch.setattr(shards.encoder.RowEncoder, "encode", None)  # not the general encoder
    reply = _read(store, projection, pk=pk, components=2)
    key = b"\x00\x00\x00\x04key2"
    assert (reply.count, reply.more) == (2, False)
    assert reply.rows == (key + b"\x00\x00\x00\x01" + CKS[1] + b"\x00\x00\x00\x02k1"
                          + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x02A1"
                          + key + b"\x00\x00\x00\x01" + CKS[2] + b"\x00\x00\x00\x02k1"
                          + b"\x00\x00\x00\x02B2" + b"\xff\xff\xff\xff")


@pytest.mark.parametrize("history", [
    [_row(values=(b"A", b"B" * 300)), _row(names=("c",), values=(b"",), ts=6)],
    [_row(values=(b"A", b"B" * 300))],
    [_row(values=(b"A", b"B" * 300), ttl=100)],
    [_row(values=(b"A", b"B" * 5000)), _row(names=("c",), values=(b"",), ts=6)],
], ids=["every cell", "a missing cell", "a TTL", "a value past the prefix table"])
def test_encode_row_writes_and_counts_what_encode_does(tmp_path, history) -> None:
    """Same bytes as RowEncoder.encode, and the count of bytes appended that the reply's size
    cut (MAX_REPLY_ROW_BYTES) adds up, for rows the floor calls whole and one it does not."""
    from shards.encoder import RowEncoder
    store = store_of(str(tmp_path), history)
    part = store.tables[TABLE].memtable.partitions[PK]
    ck, row = part.rows.only_item()
    encoder = RowEncoder(KEY_THEN_CELLS, NOW, lambda key: [key])
    fast: list[bytes] = []
    general: list[bytes] = []
    size = encoder.encode_row(part, row, part.row_shadow(ck, row), fast)
    assert size == encoder.encode(part, row, part.row_shadow(ck, row), general)
    # The same bytes; an unrolled whole row appends its prefixes and values as separate pieces.
    assert b"".join(fast) == b"".join(general) and size == sum(map(len, fast))


def test_a_slice_past_the_reply_size_is_cut(tmp_path, monkeypatch) -> None:
    """Rows are added until their bytes pass MAX_REPLY_ROW_BYTES; the pages give them all."""
    store = store_of(str(tmp_path), [_row(ck, values=(b"A" * 40, b"")) for ck in CKS[:5]])
    monkeypatch.setattr(shards.store, "MAX_REPLY_ROW_BYTES", 150)
    first = _read(store, KEY_THEN_CELLS)
    # A row is 5 + 5 + (4 + 40) + 4 + 4 + (4 + 40) = 106 bytes: the second passes 150.
    assert (first.count, first.more, first.last_ck) == (2, True, CKS[1])
    rest = store.handle(m.Read(1, TABLE, TOKEN, PK, KEY_THEN_CELLS, NOW, after=CKS[1]))
    assert (rest.count, rest.more) == (2, True)


@pytest.mark.parametrize("projection", [KEY_LATE, WITH_STATIC, WITH_LIST, WITH_WRITETIME],
                         ids=["key after a cell", "static", "collection", "writetime"])
def test_other_projections_take_the_general_path(tmp_path, served, projection) -> None:
    store = store_of(str(tmp_path), [_row()])
    assert _read(store, projection).count == 1
    assert served == [None]
    assert point_plan(bytes(projection)) is None


@pytest.mark.parametrize("history", [
    [_row(), _row(CKS[1])],
    [_row(), m.Mutation(TABLE, TOKEN, PK, CKS[1], [], 6, m.MUTATION_RANGE_DELETE, now=NOW - 10,
                        ck_end=CKS[2])],
    [_row(ttl=5, marker=True, names=(), values=())],
    [_row(), m.Mutation(TABLE, TOKEN, PK, CKS[0], [CKS[0]], 6, m.MUTATION_ROW_DELETE,
                        now=NOW - 10)],
], ids=["two rows", "range tombstone", "expired row", "deleted row"])
def test_partitions_it_cannot_answer_alone_take_the_general_path(tmp_path, served,
                                                                 history) -> None:
    store = store_of(str(tmp_path), history)
    reply = _read(store, KEY_THEN_CELLS)
    assert served == [None]
    assert reply.count == (2 if len(history) == 2 and history[1].kind == m.MUTATION_ROW_UPSERT
                           else 1 if history[-1].kind == m.MUTATION_RANGE_DELETE else 0)


def test_dropped_columns_flushes_and_bounds_take_the_general_path(tmp_path, served) -> None:
    """A table with dropped columns, a table with SSTables, and a read with a clustering
    bound are never answered by the point path."""
    store = store_of(str(tmp_path / "dropped"), [_row()])
    store.handle(m.TableSchema(0, TABLE, dropped={"zz": 1}))
    assert _read(store, KEY_THEN_CELLS).count == 1
    flushed = store_of(str(tmp_path / "flushed"), [_row(), FLUSH, _row(ts=6, values=(b"N", b""))])
    assert _read(flushed, KEY_THEN_CELLS).rows.endswith(b"\x00\x00\x00\x01N\x00\x00\x00\x00"
                                                         b"\xff\xff\xff\xff\x00\x00\x00\x01N")
    bounded = flushed.handle(m.Read(1, TABLE, TOKEN, PK, KEY_THEN_CELLS, NOW, start=CKS[0]))
    assert bounded.count == 1
    assert served == []


def test_a_partition_the_memtable_lacks_is_empty(tmp_path, served) -> None:
    store = store_of(str(tmp_path), [_row()])
    reply = _read(store, KEY_THEN_CELLS, pk=b"other")
    assert (reply.count, reply.rows) == (0, b"")
    assert served == []


def test_point_plans() -> None:
    plan = point_plan(bytes(KEY_THEN_CELLS))
    assert plan.keys == ((m.PROJ_PK, 0), (m.PROJ_CK, 0)) and not plan.just_key
    assert plan.names == ("a", "b", "c", "a")
    only_key = point_plan(bytes(m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CELL, "x")])))
    assert only_key.just_key and only_key.names == ("x",)
    assert point_plan(bytes(CELLS_ONLY)).keys == ()
