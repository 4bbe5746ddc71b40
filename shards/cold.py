"""A shard's cache tier: cold SSTable Data evicted to the bucket and read back through a block cache.

What it is: `ColdTier`, made by the shard worker when an object store is configured. It opens the
Data of evicted SSTables as `RemoteSource`s (ranged GETs through a per-shard BlockCache, see
ferrosa/objectstore/cache.py), and `evict()` keeps the shard's local SSTable bytes under
FERROSA_CACHE_MAX_BYTES / shards: least recently looked-up Data first, and only Data the bucket's
manifest lists (so the bucket has every byte that leaves the disk).

What it must NOT do: evict an SSTable being compacted, or one its manifest does not list; decide
what is uploaded (the uploader does); run on the hot path (`evict` runs from the worker's
background step every shards.worker.UPKEEP_SECONDS).

Theory of operation
- Recency costs the hot path one counter: `SSTableReader.lookups` counts point lookups that
  passed the bloom filter. Each eviction pass stamps every SSTable whose counter moved with the
  pass's time; an SSTable seen for the first time (a fresh flush or compaction) counts as used
  now. Eviction takes the oldest stamps first.
- Evicting one SSTable: read its table's manifest (one GET per table per pass), write the
  `Remote` marker naming the object, delete the local Data, then switch the open reader to a
  RemoteSource (its old fd kept the file readable until then). A crash in between leaves both the
  marker and Data, and the local file wins at the next open.
- A cold read blocks the shard for its GETs (tens of milliseconds against S3): the shard is
  single-threaded. Timeouts are short (settings.COLD_*), so a store that does not answer fails
  the read with a clear error instead of stalling the shard.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

import msgspec
import obstore.exceptions as obstore_errors

from ferrosa.objectstore.cache import (
    BlockCache,
    CachedSSTable,
    RemoteData,
    RemoteFile,
    choose_evictions,
    evict_data,
    read_remote_marker,
    uploaded_data,
)
from ferrosa.objectstore.errors import ColdReadError, ObjectStoreError, short_error
from ferrosa.objectstore.settings import ObjectStoreSettings, open_store
from shards.errors import CorruptSSTable
from shards.sstable.chunks import LocalData
from shards.sstable.format import DATA, REMOTE
from shards.sstable.reader import SSTableReader
from shards.tablestore import TableStore

log = logging.getLogger("shards.cold")

# What obstore raises when the store is unreachable, refuses or times out.
STORE_ERRORS = (obstore_errors.BaseError, OSError, TimeoutError)


class RemoteSource:
    """The Data of an evicted SSTable, as the chunk reader's DataSource."""

    __slots__ = ("file", "size")
    is_local = False

    def __init__(self, file: RemoteFile) -> None:
        self.file = file
        self.size = file.size

    def pread(self, size: int, offset: int) -> bytes:
        try:
            return self.file.pread(offset, size)
        except STORE_ERRORS as exc:
            raise ColdReadError(f"reading evicted SSTable data {self.file.key} from the object "
                                f"store failed: {short_error(exc)}") from None

    def close(self) -> None:
        self.file.close()


class ColdTier:
    def __init__(self, settings: ObjectStoreSettings, shard: int, shards: int, directory: str,
                 data_dir: Path) -> None:
        self.store = open_store(settings, foreground=True)
        self.prefix = settings.prefix
        self.shard = shard
        self.directory = directory
        # The node's budget is split evenly: shards own equal slices of the token range.
        self.max_bytes = settings.cache_max_bytes // max(1, shards)
        self.cache = BlockCache()
        self._node_json = data_dir / "node.json"
        self._host_id: str | None = None
        # (table id, generation) -> (its lookup counter at the last pass, when it last moved)
        self._seen: dict[tuple[bytes, int], tuple[int, float]] = {}

    def open_remote(self, directory: str, table_id: bytes, generation: int) -> RemoteSource | None:
        """The Data of an evicted SSTable (None when it has no Remote marker)."""
        remote = read_remote_marker(directory, table_id, generation)
        if remote is None:
            return None
        return self._source(remote)

    def _source(self, remote: RemoteData) -> RemoteSource:
        return RemoteSource(RemoteFile(self.store, remote.key, remote.size, self.cache))

    def host_id(self) -> str | None:
        if self._host_id is None:
            try:
                identity = msgspec.json.decode(self._node_json.read_bytes(), type=dict)
                self._host_id = str(identity["host_id"])
            except (FileNotFoundError, KeyError, msgspec.DecodeError):
                return None
        return self._host_id

    def adopt_local(self, tables: Iterable[TableStore]) -> int:
        """Switch remote readers whose Data is on disk again (the warm-up fetched it) to the
        local file and drop their markers; returns how many."""
        adopted = 0
        for table in tables:
            for reader in table.sstables:
                if reader.data_is_local:
                    continue
                path = reader.path(DATA)
                if not os.path.exists(path):
                    continue
                local = LocalData(path)
                try:
                    reader.replace_data(local)  # checks the size against the TOC
                except CorruptSSTable as exc:
                    local.close()
                    log.error("shard %d: %s; still reading it from the bucket", self.shard, exc)
                    continue
                try:
                    os.unlink(reader.path(REMOTE))
                except FileNotFoundError:
                    pass
                adopted += 1
        return adopted

    # -- eviction -------------------------------------------------------------------------------
    def _stamp(self, readers: list[tuple[TableStore, SSTableReader]], now: float) -> None:
        old, seen = self._seen, {}
        for _table, reader in readers:
            key = (reader.table_id, reader.generation)
            before = old.get(key)
            seen[key] = (before if before is not None and before[0] == reader.lookups
                         else (reader.lookups, now))
        self._seen = seen  # SSTables gone since the last pass drop out

    def local_bytes(self, tables: Iterable[TableStore]) -> int:
        return sum(r.disk_size - (0 if r.data_is_local else r.data_size)
                   for table in tables for r in table.sstables)

    def evict(self, tables: Iterable[TableStore], now: float | None = None) -> int:
        """Evict least recently used Data until the shard's SSTables fit its budget; returns the
        bytes freed. Store errors are logged and retried at the next pass."""
        if self.max_bytes <= 0:
            return 0
        now = time.time() if now is None else now
        tables = list(tables)
        readers = [(table, r) for table in tables for r in table.sstables]
        self._stamp(readers, now)
        used = self.local_bytes(tables)
        if used <= self.max_bytes:
            return 0
        host = self.host_id()
        if host is None:
            return 0
        local = [(table, r) for table, r in readers
                 if r.data_is_local and id(r) not in table.compacting]
        freed = 0
        try:
            listed: dict[bytes, dict[int, RemoteData]] = {}
            for table_id in {r.table_id for _, r in local}:
                listed[table_id] = uploaded_data(self.store, self.prefix, host, self.shard,
                                                 table_id)
            by_key = {(r.table_id, r.generation): r for _, r in local
                      if r.generation in listed[r.table_id]}
            candidates = [CachedSSTable(tid, gen, r.data_size, self._seen[(tid, gen)][1])
                          for (tid, gen), r in by_key.items()]
            for candidate in choose_evictions(candidates, used, self.max_bytes):
                reader = by_key[(candidate.table_id, candidate.generation)]
                remote = listed[candidate.table_id][candidate.generation]
                freed += evict_data(self.directory, reader.table_id, reader.generation, remote)
                reader.replace_data(self._source(remote))
        except (ObjectStoreError, *STORE_ERRORS) as exc:
            log.warning("shard %d: eviction paused, the object store failed: %s", self.shard,
                        short_error(exc))
        if freed:
            log.info("shard %d: evicted %d bytes of cold SSTable data to the object store "
                     "(%d bytes local, budget %d)", self.shard, freed, used - freed,
                     self.max_bytes)
        return freed
