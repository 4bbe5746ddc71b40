"""A shard's Stats (the reply to Ping, what `ferrosa-ctl status` shows): its read caches."""

from __future__ import annotations

from ferrosa.ipc import messages as m
from shards.sstable.chunks import set_chunk_cache
from shards.sstable.keycache import set_key_cache
from tests.shards.test_store_single_reads import ROW
from tests.shards.test_store_sstable_reads import (
    FLUSH,
    NOW,
    PK,
    PLAIN,
    TABLE,
    TOKEN,
    store_of,
)


def test_stats_count_the_lookups_of_the_key_and_chunk_caches(tmp_path) -> None:
    keys, chunks = set_key_cache(1 << 20), set_chunk_cache(4 << 20)
    try:
        store = store_of(str(tmp_path), [ROW, FLUSH])
        for _ in range(3):
            assert store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW)).count == 1
        stats = store.handle(m.Ping(7))
    finally:
        set_key_cache(0)
        set_chunk_cache(0)
    assert (stats.req_id, stats.sstables) == (7, 1)
    # The first read misses the key cache and finds the key in the Index; the others hit.
    assert stats.key_cache == m.CacheStats(1, keys.bytes, 1 << 20, 2, 1)
    assert keys.bytes > len(PK)
    # One chunk holds the partition: read from the file once, then from the cache.
    assert stats.chunk_cache == m.CacheStats(1, chunks.bytes, 4 << 20, 2, 1)


def test_a_shard_without_caches_reports_none(tmp_path) -> None:
    store = store_of(str(tmp_path), [ROW, FLUSH])
    assert store.handle(m.Read(1, TABLE, TOKEN, PK, PLAIN, NOW)).count == 1
    stats = store.handle(m.Ping(1))
    assert stats.key_cache is None and stats.chunk_cache is None
