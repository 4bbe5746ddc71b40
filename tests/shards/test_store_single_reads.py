"""Point reads of a plain one-row partition in one SSTable (ShardStore._read_single).

An unbounded read of such a partition is answered from the row's record without a Partition: it must answer exactly what the general path answers, whatever the history
wrote, and leave to that path every partition it cannot answer alone."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrosa.ipc import messages as m
from ferrosa.partitioner import compose_partition_key
from shards.sstable.codec import DecodeError, PartitionDecoder
from shards.sstable.keycache import set_key_cache
from shards.sstable.reader import SSTableReader
from shards.store import ShardStore
from shards.tablestore import TableStore
from tests.shards.test_store_sstable_reads import (
    CKS,
    FLUSH,
    NOW,
    PK,
    PLAIN,
    TABLE,
    TOKEN,
    all_pages,
    histories,
    store_of,
)

ROW = m.Mutation(TABLE, TOKEN, PK, CKS[0], [CKS[0]], 5, m.MUTATION_ROW_UPSERT, [], [], 0, 0, True,
                 NOW - 10, plain_names=["a", "b"], plain_values=[b"A", b"B" * 300])


@pytest.fixture
def keys():
    cache = set_key_cache(1 << 20)
    yield cache
    set_key_cache(0)


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    return [tmp_path_factory.mktemp("single"), 0]


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories=st.sampled_from([CKS[:1], CKS[:2]]).flatmap(histories),
       limit=st.integers(0, 2))
def test_single_reads_match_general_reads(counter, monkeypatch, histories, limit) -> None:
    """Histories over one clustering key or two (a partition has one row or two) of plain rows,
    deletions, statics, TTLs and collections, flushed into one SSTable or more: the read answers
    what partition_prefix's path answers, before and after the key cache knows the partition."""
    counter[1] += 1
    history, tail = histories
    store = store_of(str(counter[0] / str(counter[1])), history + [FLUSH] + tail)
    set_key_cache(1 << 20)
    try:
        first = all_pages(store, PLAIN, limit, b"")
        second = all_pages(store, PLAIN, limit, b"")  # the key cache knows it now
        with monkeypatch.context() as patch:
            patch.setattr(TableStore, "single_plain", lambda *args: None)
            general = all_pages(store, PLAIN, limit, b"")
    finally:
        set_key_cache(0)
    assert first == second == general


def _flushed(tmp_path, *steps) -> ShardStore:
    return store_of(str(tmp_path), [ROW, FLUSH, *steps])


def _single(store: ShardStore):
    return store.tables[TABLE].single_plain(TOKEN, PK)


@pytest.mark.parametrize("cache", [1 << 20, 0], ids=["key cache", "no key cache"])
def test_a_plain_row_is_read_from_its_record(tmp_path, monkeypatch, cache) -> None:
    """The first read finds the partition through the Index (and teaches the KeyCache, when
    there is one); every read takes this path."""
    keys = set_key_cache(cache)
    try:
        _read_from_record(_flushed(tmp_path), keys, monkeypatch)
    finally:
        set_key_cache(0)


def _read_from_record(store: ShardStore, keys, monkeypatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(TableStore, "single_plain", lambda *args: None)
        general = store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW))
    if keys is not None:
        keys._entries.clear()
    assert _single(store) is not None
    assert keys is None or len(keys) == 1
    answers = []
    real = ShardStore._read_single
    monkeypatch.setattr(ShardStore, "_read_single",
                        staticmethod(lambda *args: answers.append(real(*args)) or answers[-1]))
    reply = store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW))
    assert answers and answers[0] is not None
    value = lambda v: len(v).to_bytes(4, "big", signed=True) + v  # noqa: E731
    assert reply.rows == value(PK) + value(CKS[0]) + value(b"A") + value(b"B" * 300) + value(b"A")
    assert (reply.count, reply.more, reply.last_token, reply.last_pk, reply.last_ck) == (
        1, False, TOKEN, PK, CKS[0])
    assert reply == general


@pytest.mark.parametrize("step", [
    pytest.param(ROW, id="the memtable holds it too"),
    pytest.param(FLUSH, id="two SSTables hold it"),
])
def test_newer_sources_take_the_general_path(tmp_path, keys, step) -> None:
    """A partition the memtable holds too, or two SSTables hold, is merged: not this path."""
    store = _flushed(tmp_path, ROW, *([step] if step == FLUSH else []))
    store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW))
    assert _single(store) is None
    assert store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW)).count == 1


@pytest.mark.parametrize("extra", [
    pytest.param(m.Mutation(TABLE, TOKEN, PK, CKS[1], [CKS[1]], 5, m.MUTATION_ROW_UPSERT, [],
                            [], 0, 0, True, NOW - 10, plain_names=["a"], plain_values=[b"x"]),
                 id="a second row"),
    pytest.param(m.Mutation(TABLE, TOKEN, PK, CKS[0], [CKS[0]], 5, m.MUTATION_ROW_UPSERT, [],
                            [m.CellWrite("s", b"S")], 0, 0, False, NOW - 10),
                 id="a static cell"),
    pytest.param(m.Mutation(TABLE, TOKEN, PK, b"", [], 1, m.MUTATION_PARTITION_DELETE,
                            now=NOW - 10), id="an older partition deletion"),
])
def test_partitions_that_are_not_plain_take_the_general_path(tmp_path, keys, extra) -> None:
    store = store_of(str(tmp_path), [ROW, extra, FLUSH])
    expected = store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW))
    assert _single(store) is None
    assert store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW)) == expected


def test_a_row_that_does_not_decode_is_reported(tmp_path, keys, monkeypatch) -> None:
    """The record is left to the general path, which names the corrupt SSTable."""
    store = _flushed(tmp_path)
    store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW))

    def broken(self, buf, p, end, slot_of, values):
        raise DecodeError("row is 1 bytes longer than its contents")
    monkeypatch.setattr(PartitionDecoder, "plain_row", broken)
    monkeypatch.setattr(PartitionDecoder, "plain_packed", lambda *args: None)
    reply = store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW))
    assert type(reply) is m.Failure and "CorruptSSTable" in reply.message


@pytest.mark.parametrize("bloom", [False, True], ids=["bloom filter", "bloom false positive"])
def test_a_partition_no_source_holds_is_empty(tmp_path, keys, monkeypatch, bloom) -> None:
    """Every SSTable's bloom filter, or else its Index, rules the key out: an empty answer.
    The other key has the same token, so the Index search reaches a partition to compare."""
    store = _flushed(tmp_path)
    reader = store.tables[TABLE].sstables[0]
    searched = []
    real = SSTableReader.locate
    monkeypatch.setattr(SSTableReader, "locate",
                        lambda *args: searched.append(args) or real(*args))
    if bloom:
        monkeypatch.setattr(reader, "may_contain_hash", lambda h1, h2: True)
    other = b"absent"
    assert store.tables[TABLE].single_plain(TOKEN, other) == ()
    assert len(searched) == bloom
    reply = store.handle(m.Read(1, TABLE, TOKEN, other, PLAIN, NOW))
    assert (reply.count, reply.rows, reply.more) == (0, b"", False)
    assert len(keys) == 0


COMPOSITE = compose_partition_key([b"k1", b"second"])


@pytest.mark.parametrize(("pk", "components", "items"), [
    pytest.param(PK, 1, [(m.PROJ_CELL, "a"), (m.PROJ_CELL, "b")], id="cells alone"),
    pytest.param(PK, 1, [(m.PROJ_PK, 0), (m.PROJ_PK, 0), (m.PROJ_CELL, "b")],
                 id="the key twice"),
    pytest.param(PK, 1, [(m.PROJ_CK, 0), (m.PROJ_PK, 0), (m.PROJ_CELL, "a")],
                 id="the key after the clustering value"),
    pytest.param(COMPOSITE, 2, [(m.PROJ_PK, 0), (m.PROJ_PK, 1), (m.PROJ_CELL, "a")],
                 id="a composite key"),
    pytest.param(COMPOSITE, 2, [(m.PROJ_PK, 1), (m.PROJ_CELL, "b"), (m.PROJ_CELL, "a")],
                 id="a composite key's second part"),
    pytest.param(COMPOSITE, 2, [(m.PROJ_PK, 0), (m.PROJ_CELL, "a")],
                 id="a composite key's first part"),
])
def test_projections_of_a_single_row_match_the_general_path(tmp_path, keys, monkeypatch, pk,
                                                            components, items) -> None:
    """A point read's prefix is the partition key as it comes only for a one-part key
    selected first; other heads split the key as the general path does."""
    row = m.Mutation(TABLE, TOKEN, pk, CKS[0], [CKS[0]], 5, m.MUTATION_ROW_UPSERT, [], [], 0, 0,
                     True, NOW - 10, plain_names=["a", "b"], plain_values=[b"A", b"B"])
    store = store_of(str(tmp_path), [row, FLUSH])
    read = m.Read(1, TABLE, TOKEN, pk, m.encode_projection(items), NOW, components)
    with monkeypatch.context() as patch:
        patch.setattr(TableStore, "single_plain", lambda *args: None)
        general = store.handle(read)
    store.handle(read)  # the key cache learns the partition
    answers = []
    real = ShardStore._read_single
    monkeypatch.setattr(ShardStore, "_read_single",
                        staticmethod(lambda *args: answers.append(real(*args)) or answers[-1]))
    assert store.handle(read) == general and general.count == 1
    assert answers and answers[0] is not None  # answered from the record


def test_a_dropped_column_takes_the_general_path(tmp_path, keys) -> None:
    """A column dropped after its cell was written hides the cell: the record alone cannot
    tell, so the read goes the general way and answers null for it."""
    store = _flushed(tmp_path)
    store.handle(m.TableSchema(0, TABLE, dropped={"a": 6}))
    read = m.Read(1, TABLE, TOKEN, PK, m.encode_projection(
        [(m.PROJ_PK, 0), (m.PROJ_CELL, "a"), (m.PROJ_CELL, "b")]), NOW)
    store.handle(read)
    reply = store.handle(read)
    value = lambda v: len(v).to_bytes(4, "big", signed=True) + v  # noqa: E731
    assert reply.rows == value(PK) + b"\xff\xff\xff\xff" + value(b"B" * 300)


@pytest.mark.parametrize("first", [0, 1], ids=["first part", "second part"])
def test_a_composite_keys_part_heads_rows_read_from_an_sstable(tmp_path, keys, first) -> None:
    """Rows of a two-row partition (the general path's plain read, _read_plain) repeat the
    selected part of a composite partition key, not the whole key."""
    rows = [m.Mutation(TABLE, TOKEN, COMPOSITE, ck, [ck], 5, m.MUTATION_ROW_UPSERT, [], [], 0,
                       0, True, NOW - 10, plain_names=["a"], plain_values=[b"A" + ck])
            for ck in CKS[:2]]
    store = store_of(str(tmp_path), [*rows, FLUSH])
    read = m.Read(1, TABLE, TOKEN, COMPOSITE, m.encode_projection(
        [(m.PROJ_PK, first), (m.PROJ_CK, 0), (m.PROJ_CELL, "a")]), NOW, 2)
    part = [b"k1", b"second"][first]
    expected = b"".join(_value(part) + _value(ck) + _value(b"A" + ck) for ck in CKS[:2])
    for _ in range(2):  # the second read through the key cache
        reply = store.handle(read)
        assert (reply.count, reply.rows) == (2, expected)


def _value(v: bytes) -> bytes:
    return len(v).to_bytes(4, "big", signed=True) + v
