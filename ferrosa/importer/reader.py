"""Open one SSTable (BIG or BTI) and iterate its partitions, in file order or through its index.

Theory of operation
-------------------
``SSTableReader(path)`` takes any component's path (normally ``...-Data.db``), derives the descriptor,
checks the components against the TOC, reads Statistics.db (partitioner, serialization header) and
CompressionInfo.db, and by default verifies Data.db against Digest.crc32 before anything is decoded, so
a damaged file fails before it yields a row. Compressed chunks are CRC-checked again as they are read
(which also covers files without a digest).

Data.db has no partition sizes, so partitions are decoded from a *window*: a bytes buffer holding
decompressed chunks from some stream offset ``base`` on. When a decoder runs off the end of the window
(``Truncated``) the window grows by at least its own size (amortized linear even for huge partitions)
and the same unfiltered is decoded again; consumed bytes are dropped between partitions. Only a
window that cannot grow (end of file) turns the Truncated into a CorruptSSTable.

Iterating through the index (``partitions_via_index``) visits the positions Index.db / Partitions.db
give, in their order, and cross-checks them against the data: keys must match and each partition must
end where the next one starts.

This module must NOT interpret values or know CQL schemas; it yields model.Partition objects.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Self

import msgspec

from ferrosa.importer import big, bti
from ferrosa.importer.compression import ChunkedDataFile, parse_compression_info
from ferrosa.importer.errors import CorruptSSTable, MissingComponent, Truncated
from ferrosa.importer.files import (
    COMPRESSION_INFO, CRC, DATA, DIGEST, FORMAT_BIG, INDEX, INDEX_COMPONENTS, PARTITIONS, ROWS, STATISTICS,
    Descriptor, FormatVersion, discover_components, format_version, parse_descriptor, read_chunk_checksums,
    verify_digest,
)
from ferrosa.importer.model import Partition
from ferrosa.importer.statistics import SerializationHeader, Statistics, read_statistics
from ferrosa.importer.unfiltered import PartitionDecoder


class PartitionLocation(msgspec.Struct, frozen=True):
    """Where the index says a partition is, in format-neutral terms."""

    data_position: int
    key: bytes | None                 # None: BTI partitions without a row index are indexed by prefix only
    block_offsets: tuple[int, ...]    # row index block starts, from the partition start (may be empty)


class DataWindow:
    """Decompressed bytes of Data.db from stream offset ``base``; grows and slides chunk by chunk."""

    __slots__ = ("base", "buf", "data", "next_chunk")

    def __init__(self, data: ChunkedDataFile):
        self.data = data
        self.buf = b""
        self.base = 0
        self.next_chunk = 0

    def seek(self, position: int) -> None:
        """Make ``position`` the start of the window (reusing it when it already covers it)."""
        if self.base <= position <= self.base + len(self.buf):
            self.drop_before(position)
            return
        index = position // self.data.chunk_length
        self.base = index * self.data.chunk_length
        self.buf = b""
        self.next_chunk = index
        self.grow()
        self.drop_before(position)

    def drop_before(self, position: int) -> None:
        """Forget bytes before ``position`` once they are at least half the window (each byte is then
        copied O(1) times overall, however small the partitions)."""
        cut = position - self.base
        if cut > 0 and 2 * cut >= len(self.buf):
            self.buf = self.buf[cut:]
            self.base = position

    def grow(self) -> bool:
        """Append at least as many bytes as the window holds (one chunk minimum); False at the end."""
        data = self.data
        if self.next_chunk >= data.chunk_count:
            return False
        target = max(len(self.buf), data.chunk_length)
        parts = [self.buf]
        added = 0
        while added < target and self.next_chunk < data.chunk_count:
            piece = data.chunk(self.next_chunk)
            parts.append(piece)
            added += len(piece)
            self.next_chunk += 1
        self.buf = b"".join(parts)
        return True


class SSTableReader:
    """One SSTable, opened from the path of any of its components."""

    def __init__(self, path: str | os.PathLike, *, check_digest: bool = True):
        self.descriptor, _ = parse_descriptor(path)
        desc = self.descriptor
        self.version: FormatVersion = format_version(desc.format, desc.version, str(path))
        self.components = discover_components(desc)
        self.data_path = desc.path(DATA)
        self.statistics: Statistics = read_statistics(desc.path(STATISTICS), self.version)
        compression = None
        if COMPRESSION_INFO in self.components:
            with open(desc.path(COMPRESSION_INFO), "rb") as f:
                compression = parse_compression_info(f.read(), self.version, desc.path(COMPRESSION_INFO))
        checksums = read_chunk_checksums(desc) if compression is None and CRC in self.components else None
        if check_digest and DIGEST in self.components:
            verify_digest(desc)
        self.decoder = PartitionDecoder(self.header, self.version, self.data_path)
        self.data = ChunkedDataFile(self.data_path, compression, checksums)

    # ------------------------------------------------------------------------------ properties

    @property
    def header(self) -> SerializationHeader:
        return self.statistics.header  # type: ignore[return-value]  (read_statistics guarantees it)

    @property
    def partitioner(self) -> str | None:
        return self.statistics.partitioner

    @property
    def format(self) -> str:
        return self.descriptor.format

    def close(self) -> None:
        self.data.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------ data order

    def partitions(self) -> Iterator[Partition]:
        """Every partition, in Data.db order."""
        window = DataWindow(self.data)
        position = 0
        total = self.data.data_length
        while position < total:
            part = self._read(window, position)
            position = part.end
            yield part

    def partition_at(self, position: int) -> Partition:
        """The partition starting at ``position`` of the uncompressed stream."""
        if not 0 <= position < self.data.data_length:
            raise CorruptSSTable(self.data_path, f"partition position {position} outside the data "
                                                 f"({self.data.data_length} bytes)")
        return self._read(DataWindow(self.data), position)

    def _read(self, window: DataWindow, start: int) -> Partition:
        window.seek(start)
        dec = self.decoder
        while True:
            try:
                key, deletion, static, pos = dec.read_header(window.buf, start - window.base, window.base)
                break
            except Truncated as exc:
                self._grow(window, exc)
        items: list = []
        read = dec.read_unfiltered
        while True:
            try:
                item, after = read(window.buf, pos, window.base)
            except Truncated as exc:
                self._grow(window, exc)
                continue
            if item is None:
                pos = after
                break
            items.append(item)
            pos = after
        return Partition(key, deletion, static, items, start, window.base + pos)

    def _grow(self, window: DataWindow, exc: Truncated) -> None:
        if not window.grow():
            raise CorruptSSTable(self.data_path, f"data ends inside a partition ({exc.detail}); truncated?",
                                 exc.offset) from None

    # ------------------------------------------------------------------------------ index order

    def _component(self, name: str) -> bytes:
        if name not in self.components:
            raise MissingComponent(self.descriptor.path(name), f"needed to read the {self.format} index")
        with open(self.descriptor.path(name), "rb") as f:
            return f.read()

    def locations(self) -> Iterator[PartitionLocation]:
        """Partition positions from the primary index (Index.db or Partitions.db + Rows.db)."""
        if self.format == FORMAT_BIG:
            index = big.PrimaryIndex(self._component(INDEX), self.descriptor.path(INDEX), self.decoder)
            for e in index.entries():
                yield PartitionLocation(e.data_position, e.key, tuple(b.offset for b in e.blocks))
            return
        partitions = bti.PartitionIndex(self._component(PARTITIONS), self.descriptor.path(PARTITIONS))
        rows = bti.RowIndex(self._component(ROWS), self.descriptor.path(ROWS),
                            self.version.uint_deletion_time)
        for e in partitions.entries():
            if e.data_position is not None:
                yield PartitionLocation(e.data_position, None, ())
            else:
                entry = rows.entry(e.rows_position)  # type: ignore[arg-type]
                blocks, _end = rows.blocks(entry)
                yield PartitionLocation(entry.data_position, entry.key, tuple(b.offset for b in blocks))

    def partitions_via_index(self) -> Iterator[Partition]:
        """Every partition, visiting the index's positions and checking them against the data."""
        window = DataWindow(self.data)
        expected = 0
        index_path = self.descriptor.path(INDEX_COMPONENTS[self.format][0])
        for loc in self.locations():
            if loc.data_position != expected:
                raise CorruptSSTable(index_path, f"index places a partition at {loc.data_position}, "
                                                 f"the previous one ends at {expected}")
            part = self._read(window, loc.data_position)
            if loc.key is not None and loc.key != part.key:
                raise CorruptSSTable(index_path, f"index key {loc.key!r} is not the data key {part.key!r}",
                                     loc.data_position)
            starts = {u.position - part.position for u in part.unfiltereds}
            for offset in loc.block_offsets:
                if offset not in starts:
                    raise CorruptSSTable(index_path, f"row index block at partition offset {offset} is not "
                                                     f"the start of a row", loc.data_position)
            expected = part.end
            yield part
        if expected != self.data.data_length:
            raise CorruptSSTable(index_path, f"index ends at data position {expected}, the data at "
                                             f"{self.data.data_length}")


def open_sstable(path: str | os.PathLike, *, check_digest: bool = True) -> SSTableReader:
    """Open the SSTable that ``path`` (any of its component files) belongs to."""
    return SSTableReader(path, check_digest=check_digest)


def find_sstables(directory: str | os.PathLike) -> list[Descriptor]:
    """Descriptors of every SSTable (one per Data.db) directly inside ``directory``, sorted by name."""
    out = []
    for name in sorted(os.listdir(directory)):
        if name.endswith("-" + DATA):
            out.append(parse_descriptor(os.path.join(directory, name))[0])
    return out
