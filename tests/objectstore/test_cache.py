"""Cold reads: ranged GETs through the block cache return exactly the local bytes."""

from __future__ import annotations

import os
import random

import msgspec
import obstore
import pytest

import ferrosa.objectstore.cache as cache_module
from ferrosa.objectstore.cache import (
    BlockCache,
    CachedSSTable,
    LocalFile,
    RemoteFile,
    choose_evictions,
    evict_data,
    local_sstable_bytes,
    open_data_file,
    read_remote_marker,
    uploaded_data,
)
from ferrosa.objectstore.errors import LocalDataError
from ferrosa.objectstore.pending import NoticeWriter
from ferrosa.objectstore.status import uploads_dir
from shards.sstable import SSTableReader, cleanup_incomplete
from shards.sstable.format import DATA, component_path
from tests.objectstore.conftest import TABLE, write_sstable
from tests.objectstore.helpers import HOST, upload_in_process


def test_block_cache_is_an_lru_bounded_by_bytes() -> None:
    cache = BlockCache(capacity_bytes=300, block_bytes=100)
    for index in range(3):
        cache.put("k", index, bytes([index]) * 100)
    assert cache.get("k", 0) == b"\0" * 100  # 0 becomes the most recent
    cache.put("k", 3, b"\3" * 100)  # evicts 1, the least recent
    assert cache.get("k", 1) is None and cache.get("k", 2) is not None
    assert cache.bytes == 300 and len(cache) == 3 and cache.hits == 2 and cache.misses == 1
    cache.put("other", 0, b"x" * 50)
    cache.drop("k")
    assert cache.bytes == 50 and len(cache) == 1
    with pytest.raises(ValueError):
        BlockCache(capacity_bytes=10, block_bytes=100)


def test_remote_reads_equal_local_reads(tmp_path, store, monkeypatch) -> None:
    blob = os.urandom(3 * 1024 * 1024 + 12345)
    path = tmp_path / "blob"
    path.write_bytes(blob)
    obstore.put(store, "c/blob", blob)
    cache = BlockCache(capacity_bytes=1 << 20, block_bytes=64 * 1024)
    remote = RemoteFile(store, "c/blob", len(blob), cache)
    local = LocalFile(str(path))
    rng = random.Random(7)
    for _ in range(150):
        offset = rng.randrange(0, len(blob) + 10)
        size = rng.choice([1, 17, 4096, 65536, 65537, 200_000, rng.randrange(1, 400_000)])
        assert remote.pread(offset, size) == local.pread(offset, size) == blob[offset:offset + size]
    assert cache.bytes <= cache.capacity_bytes and cache.hits > 0
    assert remote.pread(len(blob) - 3, 100) == blob[-3:]
    assert remote.pread(len(blob), 10) == b"" and remote.pread(5, 0) == b""
    monkeypatch.setattr(cache_module, "BYPASS_BYTES", 1000)
    before = len(cache)
    cache.drop("c/blob")
    assert remote.pread(100, 5000) == blob[100:5100] and len(cache) == 0 <= before
    local.close()


def test_evicted_data_is_read_back_through_the_cache(tmp_path, store, settings) -> None:
    data = tmp_path / "node"
    directory = data / "data" / "shard-0"
    write_sstable(directory, 1, partitions=300, value_bytes=2000)
    write_sstable(directory, 2, partitions=10)
    NoticeWriter(uploads_dir(data), 0).sstable_sealed(str(directory), TABLE, 1)
    upload_in_process(store, settings, data)
    original = (directory / os.path.basename(component_path(str(directory), TABLE, 1, DATA))
                ).read_bytes()
    before = local_sstable_bytes(str(directory))
    uploaded = uploaded_data(store, settings.prefix, HOST, 0, TABLE)
    assert set(uploaded) == {1}  # generation 2 was never uploaded: it cannot be evicted
    with pytest.raises(LocalDataError, match="not evicting"):
        evict_data(str(directory), TABLE, 1, msgspec.structs.replace(uploaded[1], size=1))
    freed = evict_data(str(directory), TABLE, 1, uploaded[1])
    assert freed == len(original) and read_remote_marker(str(directory), TABLE, 1) == uploaded[1]
    assert local_sstable_bytes(str(directory))[(TABLE, 1)] < before[(TABLE, 1)] - freed + 500
    assert evict_data(str(directory), TABLE, 1, uploaded[1]) == 0
    assert cleanup_incomplete(str(directory)) == []  # the marker belongs to a complete SSTable
    cache = BlockCache(capacity_bytes=4 << 20, block_bytes=128 * 1024)
    remote = open_data_file(str(directory), TABLE, 1, store, cache)
    assert isinstance(remote, RemoteFile) and remote.size == len(original)
    chunk = 64 * 1024
    assert b"".join(remote.pread(o, chunk) for o in range(0, len(original), chunk)) == original
    assert isinstance(open_data_file(str(directory), TABLE, 2, None, None), LocalFile)
    with pytest.raises(LocalDataError):
        open_data_file(str(directory), TABLE, 1, None, None)
    # the local SSTable still opens from its other components (Data is the reader's to wire)
    assert (TABLE, 1) in local_sstable_bytes(str(directory))
    assert SSTableReader.open(str(directory), TABLE, 2).stats.partitions == 10


def test_choose_evictions_least_recent_first_until_under_budget() -> None:
    items = [CachedSSTable(TABLE, g, 100, last_access=t) for g, t in
             [(1, 50.0), (2, 10.0), (3, 30.0), (4, 40.0)]]
    assert choose_evictions(items, used_bytes=400, max_bytes=0) == []
    assert choose_evictions(items, used_bytes=400, max_bytes=400) == []
    chosen = choose_evictions(items, used_bytes=400, max_bytes=250)
    assert [c.generation for c in chosen] == [2, 3]
