"""Reads from SSTables through ShardStore.

A read with a LIMIT decodes only a prefix of each SSTable's rows (TableStore.partition_prefix):
it must answer exactly what reading the whole range answers, page by page, whatever the newer
sources deleted or overwrote. New SSTables use the table's chunk_length_in_kb."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrosa.ipc import messages as m
from shards.sstable.keycache import set_key_cache
from shards.store import ShardStore
from shards.tablestore import TableStore

TABLE = b"\x02" * 16
PK, TOKEN = b"p", 11
PROJECTION = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CK, 0), (m.PROJ_CELL, "a"),
                                  (m.PROJ_STATIC, "s")])
NOW = 1_000
CKS = [bytes([i]) for i in range(12)]
FLUSH = "flush"


@st.composite
def steps(draw):
    """A write to one partition, or a flush (each flush makes one more SSTable)."""
    if draw(st.integers(0, 5)) == 0:
        return FLUSH
    ck = draw(st.sampled_from(CKS))
    ts = draw(st.integers(1, 30))
    kind = draw(st.sampled_from([m.MUTATION_ROW_UPSERT] * 5 + [
        m.MUTATION_ROW_DELETE, m.MUTATION_RANGE_DELETE, m.MUTATION_PARTITION_DELETE]))
    if kind == m.MUTATION_RANGE_DELETE:
        end = draw(st.sampled_from(CKS + [b""]))
        return m.Mutation(TABLE, TOKEN, PK, ck, [], ts, kind, now=NOW - 10, ck_end=end)
    cells = [m.CellWrite("a", draw(st.one_of(st.none(), st.binary(min_size=1, max_size=2))))]
    static = [m.CellWrite("s", b"S")] if draw(st.integers(0, 7)) == 0 else []
    return m.Mutation(TABLE, TOKEN, PK, ck, [ck], ts, kind, cells, static, 0, 0,
                      draw(st.booleans()), NOW - 10)


def store_of(directory: str, history: list) -> ShardStore:
    store = ShardStore(0, directory, 1 << 30, None)
    store.handle(m.TableSchema(0, TABLE))
    for step in history:
        if step == FLUSH:
            if store.tables[TABLE].memtable.partitions:
                store.flush(TABLE)
                while store.maintenance_step():
                    pass
        else:
            assert type(store.handle(m.Write(0, [step]))) is m.Ack
    return store


def _pages(store: ShardStore, limit: int, start: bytes) -> list[tuple[bytes, bool]]:
    """Every page of the read (body, more) until the shard says there is no more."""
    pages, after = [], None
    for _ in range(len(CKS) + 2):
        reply = store.handle(m.Read(1, TABLE, TOKEN, PK, PROJECTION, NOW, start=start,
                                    limit=limit, after=after))
        assert type(reply) is m.RowsReply
        pages.append((reply.rows, reply.count, reply.more, reply.last_ck))
        if not reply.more:
            return pages
        after = reply.last_ck
    raise AssertionError("the pages never ended")


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    return [tmp_path_factory.mktemp("prefix"), 0]


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(steps(), max_size=25), limit=st.integers(1, 4),
       start=st.sampled_from([b""] + CKS[:6]))
def test_prefix_reads_match_whole_reads(counter, monkeypatch, history, limit, start) -> None:
    counter[1] += 1
    store = store_of(str(counter[0] / str(counter[1])), history)
    prefixed = _pages(store, limit, start)
    unbounded = TableStore.partition_prefix  # with rows 0 it decodes every row
    with monkeypatch.context() as patch:
        patch.setattr(TableStore, "partition_prefix",
                      lambda self, token, pk, lo, hi, rows, encoded=False: unbounded(
                          self, token, pk, lo, hi, 0, encoded))
        whole = _pages(store, limit, start)
    assert prefixed == whole


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(steps(), max_size=25), limit=st.integers(0, 4),
       start=st.sampled_from([b""] + CKS[:6]))
def test_reads_through_the_key_cache_match_reads_without_it(counter, history, limit,
                                                            start) -> None:
    """A read that finds the partition in the shard's KeyCache answers what one through the
    bloom filters and Indexes answers, however many SSTables hold the partition and whatever
    the flushes compacted away."""
    counter[1] += 1
    store = store_of(str(counter[0] / str(counter[1])), history)
    uncached = _pages(store, limit, start)
    cache = set_key_cache(1 << 20)
    try:
        assert _pages(store, limit, start) == uncached  # fills the cache
        hits = cache.hits
        assert _pages(store, limit, start) == uncached
        readers = store.tables[TABLE].sstables
        assert cache.hits > hits or not readers
    finally:
        set_key_cache(0)


PLAIN = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CK, 0), (m.PROJ_CELL, "a"), (m.PROJ_CELL, "b"),
                             (m.PROJ_CELL, "a")])


PLAIN_ONLY, DELETIONS, ODD = "plain", "deletions", "odd"


@st.composite
def plain_steps(draw, mode: str, cks: list[bytes] = CKS):
    """Writes of plain rows and cells (what the SSTable fast path serves); rows of a marker
    alone may have a TTL (expired or not). DELETIONS adds row, range and partition deletions
    and static cells; ODD also what the fast path leaves to the general one: TTL cells, cell
    tombstones, collection elements."""
    if draw(st.integers(0, 11)) == 0:
        return FLUSH
    ck = draw(st.sampled_from(cks))
    ts = draw(st.integers(1, 30))
    kind = m.MUTATION_ROW_UPSERT
    if mode != PLAIN_ONLY:
        kind = draw(st.sampled_from([m.MUTATION_ROW_UPSERT] * 8 + [
            m.MUTATION_ROW_DELETE, m.MUTATION_RANGE_DELETE, m.MUTATION_PARTITION_DELETE]))
    if kind == m.MUTATION_RANGE_DELETE:
        end = draw(st.sampled_from(CKS + [b""]))
        return m.Mutation(TABLE, TOKEN, PK, ck, [], ts, kind, now=NOW - 10, ck_end=end)
    names = draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3))
    values = [draw(st.one_of(st.binary(max_size=3), st.none()) if mode == ODD
                   else st.binary(max_size=3)) for _ in names]
    cells = []
    if mode == ODD and draw(st.integers(0, 5)) == 0:
        cells.append(m.CellWrite("l", b"e", path=bytes([ts]), key=b""))
    static = []
    if mode != PLAIN_ONLY and draw(st.integers(0, 5)) == 0:
        static.append(m.CellWrite("s", b"S"))
        if draw(st.booleans()):
            names = values = []  # a write of the static cell alone
    ttl = 0
    if mode == ODD or not names:
        ttl = draw(st.sampled_from([0, 0, 5, 100]))  # 5: expired at NOW
    return m.Mutation(TABLE, TOKEN, PK, ck, [ck], ts, kind, cells, static, ttl,
                      NOW - 10 + ttl if ttl else 0, draw(st.booleans()), NOW - 10,
                      plain_names=names, plain_values=values)


def histories(cks: list[bytes] = CKS):
    return st.sampled_from([PLAIN_ONLY, DELETIONS, ODD]).flatmap(lambda mode: st.tuples(
        st.lists(plain_steps(mode, cks), max_size=25),
        st.one_of(st.just([]), st.lists(plain_steps(mode, cks), max_size=4))))


def all_pages(store: ShardStore, projection, limit: int, start: bytes) -> list:
    pages, after = [], None
    for _ in range(len(CKS) + 2):
        reply = store.handle(m.Read(1, TABLE, TOKEN, PK, projection, NOW, start=start,
                                    limit=limit, after=after))
        assert type(reply) is m.RowsReply, reply
        pages.append((reply.rows, reply.count, reply.more, reply.last_ck, reply.last_token,
                      reply.last_pk))
        if not reply.more:
            return pages
        after = reply.last_ck
    raise AssertionError("the pages never ended")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories=histories(), limit=st.integers(0, 4),
       start=st.sampled_from([b""] + CKS[:6]))
def test_plain_reads_match_decoded_reads(counter, monkeypatch, histories, limit,
                                         start) -> None:
    """Reads served from an SSTable's bytes (ShardStore._read_plain) answer exactly what
    decoding the rows answers, page by page, whatever the history wrote. The history ends with
    a flush, then most often nothing: the partition is then in one SSTable alone, the case the
    fast path serves."""
    counter[1] += 1
    history, tail = histories
    store = store_of(str(counter[0] / str(counter[1])), history + [FLUSH] + tail)
    direct = all_pages(store, PLAIN, limit, start)
    with monkeypatch.context() as patch:
        patch.setattr(ShardStore, "_read_plain", staticmethod(lambda *args: None))
        decoded = all_pages(store, PLAIN, limit, start)
    assert direct == decoded


def _plain_store(tmp_path, rows: int) -> ShardStore:
    store = ShardStore(0, str(tmp_path), 1 << 30, None)
    store.handle(m.TableSchema(0, TABLE))
    for i in range(rows):
        ck = bytes([i])
        store.handle(m.Write(0, [m.Mutation(
            TABLE, TOKEN, PK, ck, [ck], 5, m.MUTATION_ROW_UPSERT, [], [], 0, 0, i % 2 == 0,
            NOW - 10, plain_names=["b", "a"], plain_values=[b"B" * i, b"x" * 300])]))
    store.flush(TABLE)
    while store.maintenance_step():
        pass
    return store


@pytest.mark.parametrize("deletion", [
    m.Mutation(TABLE, TOKEN, PK, b"", [], 10, m.MUTATION_PARTITION_DELETE, now=NOW - 10),
    m.Mutation(TABLE, TOKEN, PK, CKS[1], [], 10, m.MUTATION_RANGE_DELETE, now=NOW - 10,
               ck_end=CKS[3])])
def test_deletions_in_the_same_sstable_hide_plain_rows(tmp_path, deletion) -> None:
    """Rows written after a partition or range deletion, with older timestamps, sit beside it
    in one SSTable: the read must not return them."""
    history = [deletion] + [
        m.Mutation(TABLE, TOKEN, PK, ck, [ck], 5, m.MUTATION_ROW_UPSERT, [], [], 0, 0, True,
                   NOW - 10, plain_names=["a"], plain_values=[b"v"]) for ck in CKS[:4]] + [FLUSH]
    store = store_of(str(tmp_path), history)
    reply = store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW))
    assert reply.count == (0 if deletion.kind == m.MUTATION_PARTITION_DELETE else 2)


def test_plain_reads_skip_dead_rows(tmp_path, monkeypatch) -> None:
    """A row with neither marker nor cells (the flush never writes one, but the format holds
    it) is not returned, and a limited read that met one reads on to fill its page."""
    from shards.memtable import Cell, Partition, Row
    from shards.sstable import SSTableWriter
    part = Partition(TOKEN, PK)
    for i in range(4):
        row = part.rows[bytes([i])] = Row([bytes([i])])
        if i != 1:
            row.cells["a"] = Cell(5, b"v%d" % i, 0, 0)
    with SSTableWriter(str(tmp_path), TABLE, 1) as writer:
        writer.add(part)
        writer.finish().close()
    store = ShardStore(0, str(tmp_path), 1 << 30, None)
    store.handle(m.TableSchema(0, TABLE))
    for limit in range(4):
        direct = all_pages(store, PLAIN, limit, b"")
        with monkeypatch.context() as patch:
            patch.setattr(ShardStore, "_read_plain", staticmethod(lambda *args: None))
            assert direct == all_pages(store, PLAIN, limit, b"")
        assert sum(page[1] for page in direct) == 3


def test_plain_rows_are_read_from_the_sstable_bytes(tmp_path, monkeypatch) -> None:
    """A partition one SSTable holds, read by key components and plain cells, is encoded from
    the rows' bytes: every value in projection order, as [bytes] (a long value too)."""
    store = _plain_store(tmp_path, 3)
    plain = []
    real = ShardStore._read_plain
    monkeypatch.setattr(ShardStore, "_read_plain",
                        staticmethod(lambda *args: plain.append(real(*args)) or plain[-1]))
    reply = store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW, limit=2))
    assert plain and plain[0] is not None
    value = lambda v: len(v).to_bytes(4, "big", signed=True) + v  # noqa: E731
    row = lambda i: (value(PK) + value(bytes([i])) + value(b"x" * 300) + value(b"B" * i)  # noqa: E731
                     + value(b"x" * 300))
    assert (reply.count, reply.more, reply.last_ck) == (2, True, b"\x01")
    assert reply.rows == row(0) + row(1)
    page = store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW, limit=2, after=b"\x01"))
    assert (page.count, page.more, page.rows) == (1, False, row(2))


def test_a_corrupt_plain_row_is_reported(tmp_path, monkeypatch) -> None:
    """A row the plain decoder cannot parse names its SSTable (CorruptSSTable), as the
    general decoder does: the shard answers the read with a Failure and keeps serving."""
    from shards.sstable.codec import PartitionDecoder
    store = _plain_store(tmp_path, 2)
    monkeypatch.setattr(PartitionDecoder, "plain_row",
                        lambda self, buf, p, end, slot_of, values: PartitionDecoder.row(
                            self, buf, p, end - 1))
    reply = store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW))
    assert type(reply) is m.Failure and "CorruptSSTable" in reply.message


@pytest.mark.parametrize(("asked", "written"), [(4096, 4096), (65536, 65536), (1024, 4096),
                                                (1 << 30, 16 << 20)])
def test_sstables_use_the_tables_chunk_length(tmp_path, asked: int, written: int) -> None:
    """TableSchema.chunk_bytes (chunk_length_in_kb) sets the Data chunk of new SSTables, within
    the sizes the format takes."""
    store = ShardStore(0, str(tmp_path), 1 << 30, None)
    store.handle(m.TableSchema(0, TABLE, compression="zstd", chunk_bytes=asked))
    store.handle(m.Write(0, [m.Mutation(TABLE, TOKEN, PK, CKS[0], [CKS[0]], 1,
                                        m.MUTATION_ROW_UPSERT, [m.CellWrite("a", b"v")], [], 0,
                                        0, True, NOW)]))
    store.flush(TABLE)
    while store.maintenance_step():
        pass
    (reader,) = store.tables[TABLE].sstables
    assert reader._chunks.chunk_bytes == written


def test_a_flush_merges_its_sorted_runs_and_frees_the_memtable(tmp_path, monkeypatch) -> None:
    # The flush encodes the memtable's partitions a step at a time, sorts their tokens in runs,
    # a step each, then merges them; the writer raises SSTableOrderError on a partition out of
    # (token, pk) order, and every key must be found again. Once flushed, the frozen memtable
    # is freed a bounded count per step.
    from ferrosa.partitioner import token
    from shards import flush, tablestore
    monkeypatch.setattr(flush, "SORT_RUN_PARTITIONS", 100)
    monkeypatch.setattr(tablestore, "RELEASE_STEP_PARTITIONS", 64)
    store = ShardStore(0, str(tmp_path), 1 << 30, None)
    store.handle(m.TableSchema(0, TABLE))
    keys = [b"key%d" % i for i in range(1000)]
    for key in keys:
        mutation = m.Mutation(TABLE, token(key), key, b"", [], 5, m.MUTATION_ROW_UPSERT, [], [],
                              0, 0, True, NOW - 10, plain_names=["a"], plain_values=[key])
        assert type(store.handle(m.Write(0, [mutation]))) is m.Ack
    table = store.tables[TABLE]
    frozen = table.memtable
    store.flush(TABLE)
    steps = 0
    while store.maintenance_step():
        steps += 1
    assert steps >= 1000 // 64 + 10 + 1000 // 64  # encoding, ten sort runs, writing, release
    assert not frozen.partitions and not table.flushing and len(table.sstables) == 1
    (reader,) = table.sstables
    assert [(p.token, p.pk) for p in reader.scan()] == sorted((token(k), k) for k in keys)
    plain = m.encode_projection([(m.PROJ_CELL, "a")])
    for key in keys[::97]:
        reply = store.handle(m.Read(1, TABLE, token(key), key, plain, NOW))
        assert reply.count == 1 and reply.rows.endswith(key)
