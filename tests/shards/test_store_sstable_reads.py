"""Reads from SSTables through ShardStore.

A read with a LIMIT decodes only a prefix of each SSTable's rows (TableStore.partition_prefix):
it must answer exactly what reading the whole range answers, page by page, whatever the newer
sources deleted or overwrote. New SSTables use the table's chunk_length_in_kb."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrosa.ipc import messages as m
from shards.store import ShardStore
from shards.tablestore import TableStore

TABLE = b"\x02" * 16
PK, TOKEN = b"p", 11
PROJECTION = [(m.PROJ_PK, 0), (m.PROJ_CK, 0), (m.PROJ_CELL, "a"), (m.PROJ_STATIC, "s")]
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


def _store(directory: str, history: list) -> ShardStore:
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
    store = _store(str(counter[0] / str(counter[1])), history)
    prefixed = _pages(store, limit, start)
    unbounded = TableStore.partition_prefix  # with rows 0 it decodes every row
    with monkeypatch.context() as patch:
        patch.setattr(TableStore, "partition_prefix",
                      lambda self, token, pk, lo, hi, rows: unbounded(self, token, pk, lo, hi, 0))
        whole = _pages(store, limit, start)
    assert prefixed == whole


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
