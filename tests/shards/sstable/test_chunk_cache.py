"""The shard's ChunkCache: SSTable readers share it, bypass it for scans, drop their chunks on close."""

from __future__ import annotations

import pytest

from shards.memtable import Cell, Partition, Row
from shards.rowmap import RowMap
from shards.sstable import SSTableReader, SSTableWriter, chunks
from shards.sstable.chunks import set_chunk_cache

TABLE = bytes.fromhex("c4c4e000000000000000000000000001")


@pytest.fixture
def shared():
    cache = set_chunk_cache(1 << 20)
    yield cache
    set_chunk_cache(0)


def _sstable(directory: str, generation: int) -> SSTableReader:
    writer = SSTableWriter(directory, TABLE, generation, chunk_bytes=4096)
    for i in range(800):
        part = Partition(i, b"%05d" % i)
        row = Row([])
        row.cells["v"] = Cell(1, bytes([i % 251]) * 100, 0, 0)
        part.rows = RowMap()
        part.rows[b""] = row
        writer.add(part)
    return writer.finish()


def test_readers_share_it_and_drop_their_chunks_when_closed(tmp_path, shared) -> None:
    reader = _sstable(str(tmp_path), 1)
    try:
        data = reader._chunks
        count = data.count
        assert count > chunks.CHUNK_CACHE_CHUNKS  # more than the reader's own cache holds
        first = [data.chunk(i) for i in range(count)]
        reads = data.reads
        assert [data.chunk(i) for i in range(count)] == first
        assert data.reads == reads  # every chunk came from the shared cache
        assert len(shared) == count and shared.hits >= count - chunks.CHUNK_CACHE_CHUNKS
        data.chunk(0, cache=False)  # scans and compactions bypass it
        assert data.reads == reads + 1
    finally:
        reader.close()
    assert len(shared) == 0 and shared.bytes == 0
