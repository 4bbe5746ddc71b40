"""SSTableWriter: streams partitions, in (token, pk) order, into a new SSTable.

What it is: the one way SSTables come into existence (memtable flush and compaction both use it).
`add(partition)` encodes and writes as it goes; `add_copy(sources, records, tally)` writes a
partition from other SSTables' bytes (compaction, when the bytes would come out the same);
`encode_plain(partition)` encodes a plain one-row partition now and `add_encoded(...)` writes a
run of such encodings later, in order (a flush, which encodes in memory order: flush.py);
`finish()` makes every component durable, writes the TOC last and returns an open SSTableReader;
`abort()` deletes everything written.

What it must NOT do: decide which partitions to write or merge versions of a partition (the caller
hands over each partition once, already merged), or keep the table in memory.

Theory of operation:
- Memory is bounded by one chunk of uncompressed Data plus the current partition's encoding and
  row-index samples (or the run `add_encoded` joins), and 16 bytes per partition for the bloom
  filter's key hashes (see bloom.py). Encodings `encode_plain` returned are the caller's.
  Index and RowIndex entries are streamed to their files through small buffers.
- Every component is written under `<name>.tmp`. `finish()` fsyncs each, renames each to its
  final name, fsyncs the directory, and only then writes, fsyncs and renames the TOC (and fsyncs the
  directory again). A crash at any point leaves either a complete SSTable or files without a TOC,
  which `cleanup_incomplete` deletes at start-up. `finish_steps()` does the same with those
  system calls on the sync thread (syncthread.py), and builds the bloom filter a block of keys
  per step, so a shard's loop serves requests while the disk works.
- A large partition gets a row index: every ROW_INDEX_BLOCK_BYTES of encoded rows, the clustering
  key and logical offset of the next row are sampled, so a slice read starts near its first row.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Generator
from concurrent.futures import Future, wait
from types import TracebackType
from typing import NoReturn

import msgspec
import numpy as np

from ferrosa.checksum import crc32
from shards.commitlog_segment import fsync_directory
from shards.errors import (
    SSTableError,
    SSTableOptionError,
    SSTableOrderError,
    SSTableStateError,
)
from shards.memtable import Partition, Row
from shards.sstable.bloom import BloomBuilder
from shards.sstable.chunks import ChunkWriter, check_chunk_bytes, codec_id, write_all
from shards.sstable.codec import U32, PartitionEncoder, row_key
from shards.sstable.format import (
    CHUNKS,
    COMPONENTS,
    DATA,
    FILTER,
    FILTER_HEADER,
    FORMAT_VERSION,
    INDEX,
    INDEX_ENTRY,
    NO_ROW_INDEX,
    ROW_INDEX,
    ROW_INDEX_COUNT,
    ROW_INDEX_ENTRY,
    STATS,
    TEMP_SUFFIX,
    TOC,
    SSTableStats,
    Toc,
    TocEntry,
    component_path,
    pack_toc,
)
from shards.sstable.reader import EncodedRows, SSTableReader
from shards.sstable.syncthread import run_to_end, sync_thread, wait_steps
from shards.tombstones import NO_DELETION

# Cassandra's default chunk_length_in_kb (16 since 4.0): the Data a point read decompresses.
# (64 KiB chunks made a point read from an SSTable cost 37 us in process, 16 KiB 31 us.)
DEFAULT_CHUNK_BYTES = 16 * 1024
# What add_copy's rows hold: (cells, min timestamp, max timestamp).
CopyTally = tuple[int, int, int]
# Rows between two row-index samples. A slice read skips (by length, in Python) at most this many
# bytes of rows before its first wanted row; each sample costs its clustering key + 20 bytes of
# RowIndex. 2 KiB is about 10 rows of the bench's clustered1 table: a 10-row slice from a random
# start skips about 5, where 8 KiB skipped about 20 (-9.5% CPU per flushed 10-row slice, in
# process); the index grows to about 1% of the Data for such rows. Readers do not depend on it.
ROW_INDEX_BLOCK_BYTES = 2 * 1024
# Index/RowIndex bytes buffered before one write() call.
_SINK_BUFFER = 64 * 1024
_END_OF_PARTITION = U32.pack(0)
# INDEX_ENTRY as a numpy record, for add_encoded's runs.
_INDEX_ENTRIES = np.dtype([("token", "<i8"), ("position", "<u8"), ("row_index", "<u8")])
assert _INDEX_ENTRIES.itemsize == INDEX_ENTRY.size

_OPEN, _FINISHED, _ABORTED = "open", "finished", "aborted"


class _Sink:
    """A component file written sequentially through a buffer, with its running size and CRC."""

    __slots__ = ("buf", "crc", "fd", "size")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.size = 0
        self.crc = 0

    def write(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) >= _SINK_BUFFER:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            write_all(self.fd, self.buf)
            self.crc = crc32(self.buf, self.crc)
            self.size += len(self.buf)
            self.buf = bytearray()


class SSTableWriter:
    def __init__(self, directory: str, table_id: bytes, generation: int,
                 compression: str = "lz4", chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        codec = codec_id(compression)
        check_chunk_bytes(chunk_bytes)
        if generation < 0:
            raise SSTableOptionError(f"SSTable generation {generation} is negative")
        if not table_id:
            raise SSTableOptionError("SSTable table_id is empty")
        if os.path.exists(component_path(directory, table_id, generation, TOC)):
            raise SSTableError(f"SSTable {table_id.hex()}-{generation} already exists in "
                               f"{directory}")
        self.directory = directory
        self.table_id = table_id
        self.generation = generation
        self.compression = compression
        self._fds: dict[str, int] = {}
        self._state = _OPEN
        try:
            for component in (DATA, INDEX, ROW_INDEX):
                self._fds[component] = os.open(self._temp(component),
                                               os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                                               0o644)
        except BaseException:
            self.abort()
            raise
        self._data = ChunkWriter(self._fds[DATA], codec, chunk_bytes)
        self._index = _Sink(self._fds[INDEX])
        self._row_index = _Sink(self._fds[ROW_INDEX])
        self._encoder = PartitionEncoder()
        self._bloom = BloomBuilder()
        self._first: tuple[int, bytes] | None = None
        self._last: tuple[int, bytes] | None = None
        self.partitions = 0
        self._pending = 0  # partitions encode_plain encoded that add_encoded has not written
        # Source SSTable -> whether its column ids are this one's (add_copy).
        self._sources: dict[SSTableReader, bool] = {}

    def _temp(self, component: str) -> str:
        return component_path(self.directory, self.table_id, self.generation,
                              component) + TEMP_SUFFIX

    def __enter__(self) -> SSTableWriter:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self.abort()

    @property
    def uncompressed_bytes(self) -> int:
        """Logical Data bytes written so far (what a caller may use to cap an output's size)."""
        return self._data.position

    def add(self, partition: Partition) -> None:
        if self._state is not _OPEN:
            raise SSTableStateError(f"SSTable writer is {self._state}")
        key = (partition.token, partition.pk)
        if self._last is not None and key <= self._last:
            self._refuse_order(key)
        try:
            self._add(partition)
        except (struct.error, OverflowError) as exc:
            self.abort()
            raise self._unstorable(partition, exc) from None
        except BaseException:
            self.abort()  # a partition may be half written: this SSTable cannot be finished
            raise
        if self._first is None:
            self._first = key
        self._last = key
        self.partitions += 1

    @staticmethod
    def _unstorable(part: Partition, exc: Exception) -> SSTableError:
        return SSTableError(f"partition (token {part.token}, pk {part.pk.hex()}) holds a value "
                            f"the SSTable format cannot store: {exc}")

    def _refuse_order(self, key: tuple[int, bytes],
                      last: tuple[int, bytes] | None = None) -> NoReturn:
        """The error of a partition at or before the last one (or `last`): add and add_copy
        test the order inline (once per partition) and call this only to raise."""
        last = last or self._last
        assert last is not None
        raise SSTableOrderError(
            f"partition (token {key[0]}, pk {key[1].hex()}) added after (token "
            f"{last[0]}, pk {last[1].hex()}): an SSTable needs strictly increasing (token, pk)")

    @staticmethod
    def _plain_row(part: Partition) -> tuple[bytes, Row] | None:
        """(clustering key, row) of a plain one-row partition (no deletion, range tombstone or
        static cell: most of a flush's), else None. A row map that once held more rows is not
        one (RowMap.only_item)."""
        only = part.rows.only_item()
        if (only is None or part.deletion != NO_DELETION or part.ranges is not None
                or part.static):
            return None
        return only

    def _add(self, part: Partition) -> None:
        only = self._plain_row(part)
        if only is not None:
            start = self._data.position
            ck, row = only
            self._data.write(self._encoder.plain_partition(part, ck, row))
            self._index.write(INDEX_ENTRY.pack(part.token, start, NO_ROW_INDEX))
            self._bloom.add(part.pk)
            return
        self._add_rows(part)

    def encode_plain(self, part: Partition) -> bytes | None:
        """What `add` would write for `part` when it is a plain one-row partition (`_plain_row`),
        its stats tallied and its key put in the bloom filter now, for `add_encoded` to write
        in (token, pk) order later; None for any other partition, which `add` writes.
        Partitions encoded and never written make `finish` refuse. A flush encodes in the
        order its memtable made the partitions, the order their objects lie in memory
        (flush.py)."""
        if self._state is not _OPEN:
            raise SSTableStateError(f"SSTable writer is {self._state}")
        only = self._plain_row(part)
        if only is None:
            return None
        try:
            encoded = self._encoder.plain_partition(part, *only)
        except (struct.error, OverflowError) as exc:
            self.abort()
            raise self._unstorable(part, exc) from None
        except BaseException:
            self.abort()
            raise
        self._bloom.add(part.pk)
        self._pending += 1
        return encoded

    def add_encoded(self, tokens: np.ndarray, pks: list[bytes], encoded: list[bytes]) -> None:
        """Write partitions that `encode_plain` encoded, in (token, pk) order: their tokens (an
        int64 array), keys and encodings. One join, one Index pack and one order check per
        call, in C: a flush writes a run of partitions per call."""
        if self._state is not _OPEN:
            raise SSTableStateError(f"SSTable writer is {self._state}")
        count = len(encoded)
        if not count:
            return
        if len(tokens) != count or len(pks) != count or count > self._pending:
            raise SSTableStateError(f"add_encoded got {len(tokens)} tokens, {len(pks)} keys and "
                                    f"{count} encodings ({self._pending} encoded, unwritten)")
        self._check_run_order(tokens, pks)
        start = self._data.position
        positions = np.empty(count, np.uint64)
        positions[0] = 0
        np.cumsum(np.fromiter(map(len, encoded[:-1]), np.uint64, count - 1), out=positions[1:])
        entries = np.empty(count, _INDEX_ENTRIES)
        entries["token"] = tokens
        entries["position"] = positions + np.uint64(start)
        entries["row_index"] = NO_ROW_INDEX
        try:
            self._data.write(b"".join(encoded))
        except BaseException:
            self.abort()
            raise
        self._index.write(entries.tobytes())
        self._pending -= count
        if self._first is None:
            self._first = (int(tokens[0]), pks[0])
        self._last = (int(tokens[-1]), pks[-1])
        self.partitions += count

    def _check_run_order(self, tokens: np.ndarray, pks: list[bytes]) -> None:
        """add_encoded's order check: strictly increasing (token, pk), after the last key."""
        first = (int(tokens[0]), pks[0])
        if self._last is not None and first <= self._last:
            self._refuse_order(first)
        # Keys whose token is not above the one before: equal tokens (rare), or a wrong order.
        for i in np.flatnonzero(tokens[1:] <= tokens[:-1]).tolist():
            if tokens[i + 1] < tokens[i] or pks[i + 1] <= pks[i]:
                self._refuse_order((int(tokens[i + 1]), pks[i + 1]),
                                   (int(tokens[i]), pks[i]))

    def _add_rows(self, part: Partition) -> None:
        """`_add` of a partition that is not a plain one-row one."""
        data = self._data
        encoder = self._encoder
        start = data.position
        header = encoder.header(part)
        parts = [U32.pack(len(header)), header]
        pos = start + 4 + len(header)
        pending = pos - start  # bytes in `parts`
        samples: list[tuple[bytes, int]] = []
        block_start = -ROW_INDEX_BLOCK_BYTES
        encode_row, pack = encoder.row, U32.pack
        chunk = data.chunk_bytes
        for ck, row in part.rows.items():
            if pos - block_start >= ROW_INDEX_BLOCK_BYTES:
                samples.append((ck, pos))
                block_start = pos
            body = encode_row(ck, row)
            parts += (pack(len(body)), body)
            pos += 4 + len(body)
            pending += 4 + len(body)
            if pending >= chunk:  # keep memory at about one chunk, even for a huge partition
                data.write(b"".join(parts))
                parts, pending = [], 0
        parts.append(_END_OF_PARTITION)
        data.write(b"".join(parts))
        self._indexed(part, start, samples)

    def _indexed(self, part: Partition, start: int, samples: list[tuple[bytes, int]]) -> None:
        """The Index entry, row index and bloom filter key of a partition written at `start`."""
        row_index = NO_ROW_INDEX
        if len(samples) > 1:
            row_index = self._row_index.size + len(self._row_index.buf)
            self._row_index.write(_pack_row_index(samples))
        self._index.write(INDEX_ENTRY.pack(part.token, start, row_index))
        self._bloom.add(part.pk)

    def seed_columns(self, columns: list[str]) -> None:
        """Start the column dictionary with `columns`, so that a source SSTable whose dictionary
        is a prefix of it has its partitions copied as bytes (`add_copy`); before any add."""
        if self.partitions or self._encoder.columns:
            raise SSTableStateError("the column dictionary is seeded before the first partition")
        for name in columns:
            if name not in self._encoder.ids:
                self._encoder.new_column(name)

    def add_copy(self, sources: list[EncodedRows], records: list[tuple[bytes, int, int]],
                 tally: CopyTally) -> None:
        """Write a partition from the bytes of other SSTables (partitions of their
        `scan_encoded`): the header of sources[0] and `records`, rows of any of them in
        clustering order. The caller has checked that compaction would write exactly that
        (`tally` counts what the records and static cells hold), and that each source's
        column dictionary is a prefix of this one (so its column ids mean the same here;
        `seed_columns`). Stats count what `add` would have."""
        if self._state is not _OPEN:
            raise SSTableStateError(f"SSTable writer is {self._state}")
        found = sources[0]
        part, head = found.part, found.head
        known = self._sources
        for source in sources:
            if source.head is None:
                raise SSTableStateError("add_copy needs partitions from scan_encoded")
            same = known.get(source.reader)
            if same is None:
                same = self._same_ids(source.reader)
            if not same:
                self._refuse_source(source.reader)
        key = (part.token, part.pk)
        if self._last is not None and key <= self._last:
            self._refuse_order(key)
        try:
            self._copy(part, head, records, records is found.records)
        except BaseException:
            self.abort()
            raise
        self._encoder.count_copy(len(records), *tally)
        if self._first is None:
            self._first = key
        self._last = key
        self.partitions += 1

    def add_plain_copy(self, source: SSTableReader, token: int, pk: bytes, buf: bytes, p: int,
                       end: int, tally: tuple[int, ...]) -> None:
        """`add_copy` for a plain one-row partition of `source` as `merge_entries` finds it (a
        PlainRow: the partition's bytes are buf[p:end + 4], its end mark included), with
        `tally` its row's (cells, min timestamp, max timestamp, ...). The usual partition of
        a compaction, in one call: no Partition, record list or EncodedRows."""
        if self._state is not _OPEN:
            raise SSTableStateError(f"SSTable writer is {self._state}")
        same = self._sources.get(source)
        if not same and not (same is None and self._same_ids(source)):
            self._refuse_source(source)
        key = (token, pk)
        if self._last is not None and key <= self._last:
            self._refuse_order(key)
        data = self._data
        start = data.position
        try:
            data.write(buf[p:end + 4])
        except BaseException:
            self.abort()
            raise
        self._index.write(INDEX_ENTRY.pack(token, start, NO_ROW_INDEX))
        self._bloom.add(pk)
        self._encoder.count_copy(1, tally[0], tally[1], tally[2])
        if self._first is None:
            self._first = key
        self._last = key
        self.partitions += 1

    def _refuse_source(self, source: SSTableReader) -> NoReturn:
        """The error of a copy from `source`, whose column ids are not this SSTable's."""
        raise SSTableStateError(f"SSTable {source.path(DATA)} numbers its columns "
                                f"differently: its partitions cannot be copied as bytes")

    def _same_ids(self, source: SSTableReader) -> bool:
        """Whether `source`'s column dictionary is a prefix of this one's, kept in `_sources`
        for the next partitions of `source` (add_copy looks there first)."""
        columns = source.stats.columns
        same = self._sources[source] = self._encoder.columns[:len(columns)] == columns
        return same

    def _copy(self, part: Partition, head: tuple[bytes, int, int],
              records: list[tuple[bytes, int, int]], whole: bool) -> None:
        """`whole`: the records are all the rows that follow `head` in its SSTable."""
        data = self._data
        start = data.position
        buf, begin, end = head
        if whole and begin >= 4 and (not records or records[-1][0] is buf):
            # The header and every row lie in one buffer, back to back with their size prefixes
            # (a record the scan joined across chunks starts its buffer, without its prefix).
            data.write(buf[begin - 4:records[-1][2] if records else end] + _END_OF_PARTITION)
        else:
            pack = U32.pack
            parts = [pack(end - begin), buf[begin:end]]
            for rbuf, rstart, rend in records:
                parts += (pack(rend - rstart), rbuf[rstart:rend])
            parts.append(_END_OF_PARTITION)
            data.write(b"".join(parts))
        pos = start + 4 + end - begin
        if len(records) > 1 and data.position - pos > ROW_INDEX_BLOCK_BYTES:
            samples: list[tuple[bytes, int]] = []
            block_start = -ROW_INDEX_BLOCK_BYTES
            for rbuf, rstart, rend in records:
                if pos - block_start >= ROW_INDEX_BLOCK_BYTES:
                    samples.append((row_key(rbuf, rstart), pos))
                    block_start = pos
                pos += 4 + rend - rstart
            self._indexed(part, start, samples)
        else:  # what _indexed does for a partition without a row index, the usual one
            self._index.write(INDEX_ENTRY.pack(part.token, start, NO_ROW_INDEX))
            self._bloom.add(part.pk)

    def finish(self) -> SSTableReader:
        """Make the SSTable durable and complete (TOC last); returns it opened for reading."""
        self._check_finishable()
        try:
            self._publish(run_to_end(self._prepare_steps()))
        except BaseException:
            self.abort()
            raise
        return self._opened()

    def finish_steps(self) -> Generator[None, None, SSTableReader]:
        """`finish()` for a shard's loop, a bounded step per next(): the bloom filter is built a
        block of keys per step, and the fsyncs, renames and TOC run on the sync thread (each
        step waits for it at most SYNC_WAIT_SECONDS); returns the reader. Closing the generator
        early (or an error) aborts the SSTable once the thread is done with it."""
        self._check_finishable()
        publishing: Future | None = None
        try:
            entries = yield from self._prepare_steps()
            publishing = sync_thread().submit(self._publish, entries)
            yield from wait_steps(publishing)
        except BaseException:
            if publishing is not None:
                wait([publishing])  # abort() must not delete files the thread is renaming
            self.abort()
            raise
        return self._opened()

    def _opened(self) -> SSTableReader:
        self._state = _FINISHED
        return SSTableReader.open(self.directory, self.table_id, self.generation)

    def _check_finishable(self) -> None:
        if self._state is not _OPEN:
            raise SSTableStateError(f"SSTable writer is {self._state}")
        if not self.partitions:
            raise SSTableStateError("an SSTable needs at least one partition; abort() a writer "
                                    "that got none")
        if self._pending:
            raise SSTableStateError(f"{self._pending} partitions encoded by encode_plain were "
                                    f"never written by add_encoded")

    def _prepare_steps(self) -> Generator[None, None, dict[str, TocEntry]]:
        """Write the rest of every component (the loop's share of finishing), the bloom filter
        a step at a time: their TOC entries."""
        chunks = self._data.finish()
        bits, pattern_bits, array = yield from self._bloom.build_steps()
        small = {
            CHUNKS: chunks,
            FILTER: FILTER_HEADER.pack(bits, pattern_bits, self._bloom.seed) + array,
            STATS: msgspec.msgpack.encode(self._stats()),
        }
        self._index.flush()
        self._row_index.flush()
        entries = {
            DATA: TocEntry(DATA, self._data.file_size, self._data.crc),
            INDEX: TocEntry(INDEX, self._index.size, self._index.crc),
            ROW_INDEX: TocEntry(ROW_INDEX, self._row_index.size, self._row_index.crc),
        }
        for component, payload in small.items():
            self._fds[component] = fd = os.open(self._temp(component), os.O_WRONLY | os.O_CREAT
                                                | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            write_all(fd, payload)
            entries[component] = TocEntry(component, len(payload), crc32(payload))
        return entries

    def _publish(self, entries: dict[str, TocEntry]) -> None:
        """Make every component durable, then the TOC that completes the SSTable: system calls
        only (the sync thread runs this while the shard's loop goes on)."""
        for component in COMPONENTS:
            os.fsync(self._fds[component])
        self._close_fds()
        for component in COMPONENTS:
            os.rename(self._temp(component), component_path(
                self.directory, self.table_id, self.generation, component))
        fsync_directory(self.directory)
        toc = Toc(FORMAT_VERSION, self.table_id, self.generation,
                  [entries[component] for component in COMPONENTS])
        self._fds[TOC] = fd = os.open(self._temp(TOC), os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                                      | os.O_CLOEXEC, 0o644)
        write_all(fd, pack_toc(toc))
        os.fsync(fd)
        self._close_fds()
        os.rename(self._temp(TOC), component_path(self.directory, self.table_id, self.generation,
                                                  TOC))
        fsync_directory(self.directory)

    def _stats(self) -> SSTableStats:
        enc = self._encoder
        assert self._first is not None and self._last is not None
        return SSTableStats(
            partitions=self.partitions, rows=enc.rows, cells=enc.cells,
            expiring_cells=enc.expiring, cell_tombstones=enc.cell_tombstones,
            row_tombstones=enc.row_tombstones, range_tombstones=enc.range_tombstones,
            partition_tombstones=enc.partition_tombstones,
            complex_deletions=enc.complex_deletions,
            min_token=self._first[0], max_token=self._last[0],
            first_pk=self._first[1], last_pk=self._last[1],
            min_timestamp=enc.min_ts, max_timestamp=enc.max_ts,
            min_local_deletion_time=enc.min_ldt,
            uncompressed_bytes=self._data.flushed, compressed_bytes=self._data.file_size,
            compression=self.compression, chunk_bytes=self._data.chunk_bytes,
            columns=enc.columns)

    def _close_fds(self) -> None:
        fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)

    def abort(self) -> None:
        """Delete everything this writer created. A no-op after finish() or a previous abort()."""
        if self._state is _FINISHED:
            return
        self._state = _ABORTED
        self._close_fds()
        removed = False
        # The TOC goes first: if finish() failed after renaming it, what remains must not look
        # like a complete SSTable while its other files are being deleted.
        for component in (TOC,) + COMPONENTS:
            final = component_path(self.directory, self.table_id, self.generation, component)
            for path in (final, final + TEMP_SUFFIX):
                try:
                    os.unlink(path)
                    removed = True
                except FileNotFoundError:
                    pass
        if removed:
            fsync_directory(self.directory)


def _pack_row_index(samples: list[tuple[bytes, int]]) -> bytes:
    """One partition's row index: count, entry offsets (relative to the block), entries."""
    count = len(samples)
    entries = []
    rel = []
    pos = ROW_INDEX_COUNT.size + 4 * count
    for ck, offset in samples:
        rel.append(pos)
        entry = ROW_INDEX_ENTRY.pack(offset, len(ck)) + ck
        entries.append(entry)
        pos += len(entry)
    return (ROW_INDEX_COUNT.pack(count) + struct.pack(f"<{count}I", *rel) + b"".join(entries))

