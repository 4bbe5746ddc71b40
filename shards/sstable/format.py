"""The SSTable format's constants, file names, metadata records and directory housekeeping.

What it is: the names and fixed layouts every other module of shards/sstable agrees on (component
names, struct layouts, the table of contents and statistics records), plus the directory-level
operations that work on whole SSTables by name: `cleanup_incomplete`, `delete_sstable`,
`list_sstables`.

What it must NOT do: encode partitions (codec.py), compress or read chunks (chunks.py), or decide
which SSTables exist for a table at run time (the shard's store owns that list).

Theory of operation (the full byte tables are in docs/sstable-format.md):
- One SSTable is a set of files `<table_id_hex>-<generation>-<Component>.db` in one directory.
- Data holds the partitions as one logical byte stream cut into fixed-size chunks, each compressed
  and followed by its CRC32; Chunks maps chunk numbers to file offsets. Index has one fixed-size
  entry per partition, in (token, pk) order; RowIndex holds the clustering-key samples of large
  partitions; Filter is the bloom filter over partition keys; Stats the statistics record.
- TOC lists every other component with its size and CRC32 and carries the format version. It is
  written last, after every other file is durable under its final name: a generation without a
  TOC is a leftover of an interrupted write and `cleanup_incomplete` deletes it.
- Integers are little-endian; checksums are CRC-32 (ferrosa.checksum, as in the commit log).
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Sequence

import msgspec

from ferrosa.checksum import crc32
from shards.commitlog_segment import fsync_directory
from shards.errors import CorruptSSTable, SSTableVersionError

# The version written. Version 1 differs only in its Filter (a classic bloom filter, where 2
# has a blocked one: shards/sstable/bloom.py); SSTables of either are read.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
TOC_MAGIC = b"FRSASSTB"
# TOC file: magic, format version, flags (0), body length; then the msgpack body and its CRC32.
TOC_HEADER = struct.Struct("<8sHHI")
CRC = struct.Struct("<I")

DATA = "Data"
CHUNKS = "Chunks"
INDEX = "Index"
ROW_INDEX = "RowIndex"
FILTER = "Filter"
STATS = "Stats"
TOC = "TOC"
# Every component a TOC lists, in the order the writer makes them durable.
COMPONENTS = (DATA, CHUNKS, INDEX, ROW_INDEX, FILTER, STATS)
# Not in the TOC: the marker that replaces Data once the cache tier evicted it to the bucket
# (ferrosa/objectstore/cache.py). Deleted with the SSTable.
REMOTE = "Remote"

TEMP_SUFFIX = ".tmp"
_NAME = re.compile(r"^([0-9a-f]+)-(\d+)-([A-Za-z]+)\.db(\.tmp)?$")

# Index: one entry per partition: token, logical Data offset, RowIndex offset (or NO_ROW_INDEX).
INDEX_ENTRY = struct.Struct("<qQQ")
NO_ROW_INDEX = (1 << 64) - 1
# Chunks header: codec id, 3 pad bytes, chunk size, uncompressed length, chunk count; then
# count + 1 u64 file offsets (the last one is the Data file size).
CHUNKS_HEADER = struct.Struct("<B3xIQQ")
# Filter header: number of bits, then (format 2) the bits of a pattern or (format 1) the number
# of hash functions, then the hash seed; then the 64-bit words (2) or the bit array (1).
FILTER_HEADER = struct.Struct("<QII")
# RowIndex block: entry count, then count u32 entry offsets relative to the block start, then the
# entries: logical Data offset of the block's first row, its clustering-key length, the key.
ROW_INDEX_COUNT = struct.Struct("<I")
ROW_INDEX_ENTRY = struct.Struct("<QI")

# Local deletion time used in statistics when an SSTable holds no tombstone or expiring data.
NO_LOCAL_DELETION_TIME = (1 << 63) - 1


class TocEntry(msgspec.Struct, array_like=True, frozen=True):
    name: str
    size: int
    crc32: int


class Toc(msgspec.Struct, frozen=True):
    version: int
    table_id: bytes
    generation: int
    components: list[TocEntry]


class SSTableStats(msgspec.Struct, frozen=True, kw_only=True):
    """What an SSTable holds, computed while writing (Cassandra's StatsMetadata, reduced).

    Timestamps cover cells, row markers and every kind of deletion. `min_local_deletion_time` is
    the smallest local deletion time of any tombstone or expiry time of any expiring cell/marker
    (NO_LOCAL_DELETION_TIME when there is none): nothing in the SSTable can become purgeable
    before it. `columns` is the column-name dictionary the Data component's column ids index.
    """

    partitions: int
    rows: int
    cells: int
    expiring_cells: int
    cell_tombstones: int
    row_tombstones: int
    range_tombstones: int
    partition_tombstones: int
    complex_deletions: int
    min_token: int
    max_token: int
    first_pk: bytes
    last_pk: bytes
    min_timestamp: int
    max_timestamp: int
    min_local_deletion_time: int
    uncompressed_bytes: int
    compressed_bytes: int
    compression: str
    chunk_bytes: int
    columns: list[str]

    @property
    def tombstones(self) -> int:
        return (self.cell_tombstones + self.row_tombstones + self.range_tombstones
                + self.partition_tombstones + self.complex_deletions)


def component_name(table_id: bytes, generation: int, component: str) -> str:
    return f"{table_id.hex()}-{generation}-{component}.db"


def component_path(directory: str, table_id: bytes, generation: int, component: str) -> str:
    return os.path.join(directory, component_name(table_id, generation, component))


def parse_component_name(name: str) -> tuple[str, int, str, bool] | None:
    """(table id hex, generation, component, is_temporary) of an SSTable file name, else None."""
    match = _NAME.match(name)
    if match is None:
        return None
    return match.group(1), int(match.group(2)), match.group(3), match.group(4) is not None


def pack_toc(toc: Toc) -> bytes:
    body = msgspec.msgpack.encode(toc)
    head = TOC_HEADER.pack(TOC_MAGIC, toc.version, 0, len(body)) + body
    return head + CRC.pack(crc32(head))


def unpack_toc(path: str, data: bytes) -> Toc:
    """Parse and check a TOC file's bytes; raises CorruptSSTable or SSTableVersionError."""
    if len(data) < TOC_HEADER.size + CRC.size:
        raise CorruptSSTable(path, 0, f"file of {len(data)} bytes is shorter than a TOC")
    magic, version, flags, length = TOC_HEADER.unpack_from(data, 0)
    if magic != TOC_MAGIC:
        raise CorruptSSTable(path, 0, f"bad magic {magic!r}")
    end = TOC_HEADER.size + length
    if end + CRC.size != len(data):
        raise CorruptSSTable(path, 12, f"body length {length} does not match the file size "
                                       f"{len(data)}")
    if CRC.unpack_from(data, end)[0] != crc32(data[:end]):
        raise CorruptSSTable(path, end, "TOC checksum mismatch")
    if version not in READABLE_VERSIONS or flags != 0:
        raise SSTableVersionError(path, version, READABLE_VERSIONS)
    try:
        toc = msgspec.msgpack.decode(data[TOC_HEADER.size:end], type=Toc)
    except msgspec.DecodeError as exc:
        raise CorruptSSTable(path, TOC_HEADER.size, f"undecodable TOC body: {exc}") from None
    if toc.version != version:
        raise CorruptSSTable(path, TOC_HEADER.size, f"the body says format version "
                                                    f"{toc.version}, the header {version}")
    return toc


def list_sstables(directory: str) -> list[tuple[bytes, int]]:
    """(table_id, generation) of every SSTable in `directory` that has a TOC, sorted."""
    found = set()
    for name in os.listdir(directory):
        parsed = parse_component_name(name)
        if parsed is not None and parsed[2] == TOC and not parsed[3]:
            found.add((bytes.fromhex(parsed[0]), parsed[1]))
    return sorted(found)


def cleanup_incomplete(directory: str) -> list[str]:
    """Delete what interrupted writes left: every temporary file, and every component of a
    generation that has no TOC. Returns the deleted paths (sorted). Run it at start-up, before
    any writer of the directory exists: a writer in progress also has no TOC yet."""
    groups: dict[tuple[str, int], list[str]] = {}
    complete: set[tuple[str, int]] = set()
    doomed: list[str] = []
    for name in os.listdir(directory):
        parsed = parse_component_name(name)
        if parsed is None:
            continue
        table_hex, generation, component, temporary = parsed
        if temporary:
            doomed.append(name)
        elif component == TOC:
            complete.add((table_hex, generation))
        else:
            groups.setdefault((table_hex, generation), []).append(name)
    for key, names in groups.items():
        if key not in complete:
            doomed.extend(names)
    paths = sorted(os.path.join(directory, name) for name in doomed)
    for path in paths:
        os.unlink(path)
    if paths:
        fsync_directory(directory)
    return paths


def delete_sstable(directory: str, table_id: bytes, generation: int) -> list[str]:
    """Delete one SSTable's files, TOC first: a crash half-way leaves a TOC-less generation, which
    `cleanup_incomplete` removes, never a TOC naming missing files. Returns the deleted paths."""
    return delete_sstables(directory, table_id, [generation])


def delete_sstables(directory: str, table_id: bytes, generations: Sequence[int]) -> list[str]:
    """`delete_sstable` for several SSTables (a compaction's inputs): every TOC first, then the
    other files, with one directory fsync after each step. A crash that leaves some inputs
    whole and others gone can bring back data whose tombstone the output dropped; its window is
    the few unlinks of the TOCs, not the deletion of every file. Returns the deleted paths."""
    deleted = []
    for generation in generations:
        toc = component_path(directory, table_id, generation, TOC)
        if os.path.exists(toc):
            os.unlink(toc)
            deleted.append(toc)
    if deleted:
        fsync_directory(directory)
    for generation in generations:
        for component in COMPONENTS + (REMOTE,):
            path = component_path(directory, table_id, generation, component)
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            deleted.append(path)
    fsync_directory(directory)
    return deleted
