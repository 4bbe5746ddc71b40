"""The local cache tier: cold SSTable data evicted from disk, read back with ranged GETs.

What it is, for the SSTable reader of a shard process:
- `LocalFile` and `RemoteFile`: the same small API (`size`, `pread(offset, size) -> bytes`,
  `close()`), one over a local file, the other over an object in the bucket. `open_data_file`
  gives whichever holds an SSTable's Data now.
- `BlockCache`: an LRU of fixed-size blocks shared by a shard's RemoteFiles. A read fetches the
  missing aligned blocks it covers (one `get_ranges` call, adjacent ranges coalesced by obstore)
  and serves the rest from memory: SSTable chunk reads cluster (index samples, neighbouring
  partitions), and a first byte from S3 costs tens of milliseconds, so a block is much larger than
  a chunk.
- Eviction helpers for FERROSA_CACHE_MAX_BYTES: `local_sstable_bytes` (what the SSTables of a
  directory take), `choose_evictions` (least recently used first, until under the budget),
  `uploaded_data` (the bucket location of each uploaded SSTable's Data, from its manifest) and
  `evict_data` (write the `<table>-<gen>-Remote.db` marker naming the object, then delete Data).

Only Data is evicted: it is nearly all of an SSTable's bytes, and the other components are read
whole at open (index, filter, stats) and are small. The marker is named like a component, so the
shard's `cleanup_incomplete` removes it with the rest of a generation that lost its TOC.

What it must NOT do: evict an SSTable that is not listed in its manifest (only `uploaded_data`
entries can be evicted), talk to the store from the event loop of an async process (these calls
block: they are for the shard's synchronous reader), or be shared between threads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import msgspec
import obstore

from ferrosa.durable import write_atomically
from ferrosa.lru import OwnedLRU
from ferrosa.objectstore import layout
from ferrosa.objectstore.errors import LocalDataError, RemoteDataError
from ferrosa.objectstore.manifest import ManifestStore
from shards.commitlog_segment import fsync_directory
from shards.sstable.format import DATA, REMOTE, TOC, component_path, parse_component_name

# One ranged GET fetches whole aligned blocks of this size: a remote first byte costs as much as
# transferring a few hundred KiB, so small reads are rounded up to it.
BLOCK_BYTES = 256 * 1024
# Blocks kept in memory per cache (a shard's reader holds one).
DEFAULT_BLOCK_CACHE_BYTES = 64 * 1024 * 1024
# A single read larger than this (a compaction scan, a whole-file verify) goes straight to the
# store and is not cached: it would flush every hot block for bytes read once.
BYPASS_BYTES = 8 * 1024 * 1024


class BlockCache(OwnedLRU):
    """LRU of (object key, block index) -> bytes, bounded by `capacity_bytes`; `drop(key)`
    forgets every block of one object (its SSTable was deleted)."""

    __slots__ = ("block_bytes",)

    def __init__(self, capacity_bytes: int = DEFAULT_BLOCK_CACHE_BYTES,
                 block_bytes: int = BLOCK_BYTES) -> None:
        if block_bytes <= 0 or capacity_bytes < block_bytes:
            raise ValueError(f"a block cache of {capacity_bytes} bytes cannot hold a block of "
                             f"{block_bytes}")
        super().__init__(capacity_bytes)
        self.block_bytes = block_bytes

    @property
    def capacity_bytes(self) -> int:
        return self.budget


class LocalFile:
    __slots__ = ("_fd", "path", "size")

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.size = os.fstat(self._fd).st_size

    def pread(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class RemoteFile:
    """An object read by byte ranges through a BlockCache. `pread` is short only at the end of
    the object, like os.pread; a store failure raises (obstore's error)."""

    __slots__ = ("cache", "key", "size", "store")

    def __init__(self, store: object, key: str, size: int, cache: BlockCache) -> None:
        self.store = store
        self.key = key
        self.size = size
        self.cache = cache

    def pread(self, offset: int, size: int) -> bytes:
        end = min(offset + size, self.size)
        if size <= 0 or offset >= end:
            return b""
        if end - offset > BYPASS_BYTES:
            data = obstore.get_range(self.store, self.key, start=offset, end=end)
            return self._checked(bytes(data), end - offset, offset)
        step = self.cache.block_bytes
        first, last = offset // step, (end - 1) // step
        get = self.cache.get
        blocks = [get(self.key, index) for index in range(first, last + 1)]
        missing = [first + i for i, block in enumerate(blocks) if block is None]
        if missing:
            self._fetch(missing, blocks, first)
        base = first * step
        if first == last:
            return blocks[0][offset - base:end - base]
        return b"".join(blocks)[offset - base:end - base]

    def _fetch(self, missing: list[int], blocks: list[bytes | None], first: int) -> None:
        step, size = self.cache.block_bytes, self.size
        starts = [index * step for index in missing]
        ends = [min(start + step, size) for start in starts]
        fetched = obstore.get_ranges(self.store, self.key, starts=starts, ends=ends)
        put = self.cache.put
        for index, start, stop, data in zip(missing, starts, ends, fetched):
            block = self._checked(bytes(data), stop - start, start)
            put(self.key, index, block)
            blocks[index - first] = block

    def _checked(self, data: bytes, expected: int, offset: int) -> bytes:
        if len(data) != expected:
            raise RemoteDataError(f"object {self.key}: ranged read at {offset} returned "
                                  f"{len(data)} bytes, expected {expected}")
        return data

    def close(self) -> None:
        pass  # nothing held: blocks stay in the shared cache until evicted or dropped


class RemoteData(msgspec.Struct, frozen=True):
    """Where an evicted Data component lives: the content of a `<table>-<gen>-Remote.db` file."""

    key: str
    size: int
    crc32: int


class CachedSSTable(NamedTuple):
    table_id: bytes
    generation: int
    data_bytes: int
    last_access: float


def read_remote_marker(directory: str, table_id: bytes, generation: int) -> RemoteData | None:
    try:
        with open(component_path(directory, table_id, generation, REMOTE), "rb") as handle:
            return msgspec.json.decode(handle.read(), type=RemoteData)
    except FileNotFoundError:
        return None


def open_data_file(directory: str, table_id: bytes, generation: int, store: object | None,
                   cache: BlockCache | None) -> LocalFile | RemoteFile:
    """The SSTable's Data, local while it is on disk, else through the cache."""
    try:
        return LocalFile(component_path(directory, table_id, generation, DATA))
    except FileNotFoundError:
        pass
    remote = read_remote_marker(directory, table_id, generation)
    if remote is None or store is None or cache is None:
        raise LocalDataError(f"{table_id.hex()}-{generation}: Data is neither on disk nor "
                             f"evicted to a configured object store")
    return RemoteFile(store, remote.key, remote.size, cache)


def uploaded_data(store: object, prefix: str, host_id: str, shard: int,
                  table_id: bytes) -> dict[int, RemoteData]:
    """generation -> where its Data is in the bucket, for every SSTable the table's manifest
    lists: the only SSTables whose local Data may be evicted."""
    manifest = ManifestStore(store).read_sync(
        layout.manifest_key(prefix, host_id, shard, table_id))
    found: dict[int, RemoteData] = {}
    for entry in manifest.sstables if manifest is not None else ():
        for component in entry.components:
            if component.name == DATA:
                key = layout.component_key(prefix, host_id, shard, table_id, entry.generation,
                                           entry.upload_id, DATA)
                found[entry.generation] = RemoteData(key, component.size, component.crc32)
    return found


def evict_data(directory: str, table_id: bytes, generation: int, remote: RemoteData) -> int:
    """Replace the local Data of an uploaded SSTable by its Remote marker; returns the bytes
    freed (0 when it was already evicted). Close the shard's local fd on it afterwards."""
    path = component_path(directory, table_id, generation, DATA)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return 0
    if size != remote.size:
        raise LocalDataError(f"{path} has {size} bytes but the uploaded Data has {remote.size}: "
                             f"not evicting")
    write_atomically(Path(component_path(directory, table_id, generation, REMOTE)),
                     msgspec.json.encode(remote))
    os.unlink(path)
    fsync_directory(directory)
    return size


def local_sstable_bytes(directory: str) -> dict[tuple[bytes, int], int]:
    """(table_id, generation) -> bytes its files take on disk, for SSTables with a TOC."""
    sizes: dict[tuple[bytes, int], int] = {}
    complete: set[tuple[bytes, int]] = set()
    with os.scandir(directory) as entries:
        for entry in entries:
            parsed = parse_component_name(entry.name)
            if parsed is None or parsed[3]:
                continue
            key = (bytes.fromhex(parsed[0]), parsed[1])
            if parsed[2] == TOC:
                complete.add(key)
            sizes[key] = sizes.get(key, 0) + entry.stat().st_size
    return {key: size for key, size in sizes.items() if key in complete}


def choose_evictions(candidates: Iterable[CachedSSTable], used_bytes: int,
                     max_bytes: int) -> list[CachedSSTable]:
    """Least recently used first, until `used_bytes` fits `max_bytes` (0 = no budget).
    `candidates` must already be limited to uploaded SSTables whose Data is local."""
    if max_bytes <= 0 or used_bytes <= max_bytes:
        return []
    chosen = []
    for candidate in sorted(candidates, key=lambda c: c.last_access):
        if used_bytes <= max_bytes:
            break
        chosen.append(candidate)
        used_bytes -= candidate.data_bytes
    return chosen
