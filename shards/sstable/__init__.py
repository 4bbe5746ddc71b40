"""Ferrosa's SSTables: the immutable, sorted, checksummed files a shard flushes memtables into.

What it is: the format (format.py, codec.py, chunks.py, bloom.py; docs/sstable-format.md), the
writer and reader, the merge/purge rules and compaction. This module only re-exports the API the
shard's store uses.

What it must NOT do: know about requests, CQL, the commit log or which SSTables a table currently
has (the store keeps that list and swaps compaction outputs in).
"""

from __future__ import annotations

from shards.sstable.compaction import compact, compact_steps, purge_bound, size_tiered_buckets
from shards.sstable.format import (
    FORMAT_VERSION,
    SSTableStats,
    cleanup_incomplete,
    delete_sstable,
    delete_sstables,
    list_sstables,
)
from shards.sstable.merge import MAX_PURGEABLE, merge_into, purge
from shards.sstable.reader import SSTableReader
from shards.sstable.writer import SSTableWriter

__all__ = [
    "FORMAT_VERSION", "MAX_PURGEABLE", "SSTableReader", "SSTableStats", "SSTableWriter",
    "cleanup_incomplete", "compact", "compact_steps", "delete_sstable", "delete_sstables",
    "list_sstables", "merge_into", "purge", "purge_bound", "size_tiered_buckets",
]
