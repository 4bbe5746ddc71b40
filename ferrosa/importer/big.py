"""BIG format indexes (Cassandra 3.0 .. 5.0 "ma".."oa"): Index.db and Summary.db.

Theory of operation
-------------------
Index.db lists every partition in Data.db order::

    key (u16 length + bytes)  data position (uvint)  size (uvint)  [row index, ``size`` bytes]

A partition with more than one index block (``column_index_size``, 64 KiB by default; less in tests)
carries a row index: header length (uvint), the partition deletion (DeletionTime serializer of the
version), the block count (uvint), that many IndexInfo (first and last clustering prefix with kind
byte, offset (uvint) from the partition start, width (vint, minus 64 KiB), end-open-marker flag and
deletion time), then one i32 per block: its IndexInfo's offset from the first IndexInfo.

Summary.db samples Index.db for binary search: min index interval (i32), entry count (i32), size of
the offsets+entries region (i64), sampling level (i32), size at full sampling (i32); entry offsets
(i32, native byte order: little-endian as written on x86), entries (key bytes, then an 8-byte Index.db
position in native order), then the first and last keys (i32 length + bytes).

This module must NOT read Data.db.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import msgspec

from ferrosa.importer.errors import CorruptSSTable
from ferrosa.importer.model import DeletionTime
from ferrosa.importer.unfiltered import PartitionDecoder, read_deletion_time
from ferrosa.importer.varint import Cursor

# IndexInfo widths are delta-encoded from the default index block size.
WIDTH_BASE = 64 * 1024
_LE_I32 = struct.Struct("<i")
_LE_I64 = struct.Struct("<q")
SUMMARY_HEADER_SIZE = 4 + 4 + 8 + 4 + 4


class IndexBlock(msgspec.Struct, frozen=True):
    first: tuple[int, tuple[bytes | None, ...]]    # (ClusteringPrefix.Kind ordinal, values)
    last: tuple[int, tuple[bytes | None, ...]]
    offset: int                                   # from the partition's start in Data.db
    width: int
    end_open_marker: DeletionTime | None


class IndexEntry(msgspec.Struct, frozen=True):
    key: bytes
    data_position: int
    index_position: int                           # of this entry in Index.db
    deletion: DeletionTime | None = None          # known only for indexed partitions
    blocks: tuple[IndexBlock, ...] = ()


class PrimaryIndex:
    """Index.db, read sequentially."""

    def __init__(self, buf: bytes, path: str, decoder: PartitionDecoder):
        self.buf = buf
        self.path = path
        self.decoder = decoder

    def entries(self, with_blocks: bool = True) -> Iterator[IndexEntry]:
        c = Cursor(self.buf, 0, self.path)
        previous = -1
        while c.pos < len(self.buf):
            at = c.pos
            key = c.short_bytes()
            position = c.uvint()
            size = c.uvint()
            if position <= previous:
                raise CorruptSSTable(self.path, f"data position {position} does not follow {previous}", at)
            previous = position
            if size == 0:
                yield IndexEntry(key, position, at)
                continue
            body = c.pos
            if size > len(self.buf) - body:
                raise CorruptSSTable(self.path, f"row index of {size} bytes runs past the end of the file",
                                     at)
            if not with_blocks:
                c.skip(size)
                yield IndexEntry(key, position, at)
                continue
            row_index = Cursor(memoryview(self.buf)[:body + size], body, self.path)
            deletion, blocks = self._row_index(row_index, at)
            c.pos = body + size
            yield IndexEntry(key, position, at, deletion, blocks)

    def _row_index(self, c: Cursor, at: int) -> tuple[DeletionTime | None, tuple[IndexBlock, ...]]:
        c.uvint()  # header length: the partition header's size in Data.db, not needed
        deletion, c.pos = read_deletion_time(c.buf, c.pos, self.decoder.uint_deletion, self.path)
        count = c.uvint()
        if count > len(c.buf) - c.pos:
            raise CorruptSSTable(self.path, f"impossible index block count {count}", at)
        first_info = c.pos
        starts = []
        blocks = []
        uint = self.decoder.uint_deletion
        read_prefix = self.decoder.read_clustering_prefix
        for _ in range(count):
            starts.append(c.pos - first_info)
            kind1, first, c.pos = read_prefix(c.buf, c.pos)
            kind2, last, c.pos = read_prefix(c.buf, c.pos)
            offset = c.uvint()
            width = c.vint() + WIDTH_BASE
            marker = None
            if c.boolean():
                marker, c.pos = read_deletion_time(c.buf, c.pos, uint, self.path)
            blocks.append(IndexBlock((kind1, first), (kind2, last), offset, width, marker))
        for expected in starts:
            if c.i32() != expected:
                raise CorruptSSTable(self.path, "row index offsets do not match its IndexInfo entries", at)
        if c.pos != len(c.buf):
            raise CorruptSSTable(self.path, f"row index ends {len(c.buf) - c.pos} bytes before its size says",
                                 at)
        return deletion, tuple(blocks)


class IndexSummary(msgspec.Struct, frozen=True):
    min_index_interval: int
    sampling_level: int
    size_at_full_sampling: int
    entries: tuple[tuple[bytes, int], ...]      # (key, Index.db position)
    first_key: bytes
    last_key: bytes


def read_summary(buf: bytes, path: str) -> IndexSummary:
    c = Cursor(buf, 0, path)
    interval, count, region, level, full = c.i32(), c.i32(), c.i64(), c.i32(), c.i32()
    start = c.pos
    if count < 0 or region < 4 * count or start + region > len(buf):
        raise CorruptSSTable(path, f"invalid summary header ({count} entries in {region} bytes)", 0)
    offsets = [_LE_I32.unpack_from(buf, start + 4 * i)[0] for i in range(count)]
    entries = []
    for i, off in enumerate(offsets):
        end = offsets[i + 1] if i + 1 < count else region
        if not 4 * count <= off <= end - 8 or end > region:
            raise CorruptSSTable(path, f"summary entry {i} spans [{off}, {end})", start + 4 * i)
        key = bytes(buf[start + off:start + end - 8])
        entries.append((key, _LE_I64.unpack_from(buf, start + end - 8)[0]))
    c.pos = start + region
    first = c.take(c.i32())
    last = c.take(c.i32())
    if c.pos != len(buf):
        raise CorruptSSTable(path, f"{len(buf) - c.pos} unexpected bytes after the last key", c.pos)
    return IndexSummary(interval, level, full, tuple(entries), first, last)
