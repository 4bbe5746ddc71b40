"""ferrosa-ctl's status text: the shard table and the node-wide cache lines."""

from __future__ import annotations

from ferrosa.ctl.main import format_status
from ferrosa.ctl.messages import CacheStatus, NodeStatus, ShardStatus


def _status(*shards: ShardStatus) -> NodeStatus:
    return NodeStatus("host", "Test Cluster", "dc1", "rack1", "127.0.0.1:9042", "5.0.0", "v1",
                      61.0, 10, 1, "/data", False, list(shards))


def _shard(index: int, state: str = "UP", key: CacheStatus | None = None,
           chunk: CacheStatus | None = None) -> ShardStatus:
    return ShardStatus(index, state, 100 + index, 1, index, index, key_cache=key,
                       chunk_cache=chunk)


def test_caches_are_summed_over_the_shards_that_report_them() -> None:
    text = format_status(_status(
        _shard(0, key=CacheStatus(1000, 150_000, 16 << 20, 600, 400),
               chunk=CacheStatus(10, 160 << 10, 32 << 20, 0, 0)),
        _shard(1, key=CacheStatus(234, 35_104, 16 << 20, 1, 0),
               chunk=CacheStatus(2, 32 << 10, 32 << 20, 0, 0)),
        _shard(2, state="DOWN")))
    assert text.endswith(
        "\n\nKey cache    1,234 entries, 180.8 KiB of 32.0 MiB; 60.0% of 1,001 lookups hit"
        "\nChunk cache  12 entries, 192.0 KiB of 64.0 MiB; no lookups yet")
    assert "Shards 2/3 up" in text


def test_a_cache_no_shard_keeps_is_off_and_a_node_without_shards_up_has_no_lines() -> None:
    text = format_status(_status(_shard(0, chunk=CacheStatus(0, 0, 1 << 20, 0, 3))))
    assert "\nKey cache    off\n" in text
    assert text.endswith("Chunk cache  0 entries, 0 B of 1.0 MiB; 0.0% of 3 lookups hit")
    assert "cache" not in format_status(_status(_shard(0, state="DOWN")))
