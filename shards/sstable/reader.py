"""SSTableReader: an open, verified SSTable answering point reads, slices and ordered scans.

What it is: `SSTableReader.open(directory, table_id, generation)` checks the TOC, every component's
size and the CRC of every component except Data (whose chunks are checked as they are read), then
serves `may_contain`, `get` and `scan`, returning memtable `Partition` objects.

What it must NOT do: merge an SSTable's partitions with other sources, apply deletions or TTLs
(reads return the stored data as it is; the store decides what is visible), or write anything.

Theory of operation:
- Index is a sorted array of fixed 24-byte entries (token, data offset, row-index offset) that
  stays in an mmap: at open, every SUMMARY_INTERVAL-th token is copied into an array of int64
  (the summary). A lookup bisects the summary, then unpacks one window of at most
  SUMMARY_INTERVAL tokens from the mmap with a single precompiled struct and bisects that: two
  C-level bisections and one unpack, no per-partition Python objects. mmap, not pread, because
  a lookup touches 24 bytes at a computed place: a syscall would cost more than the read.
- The partition index holds no keys; equal tokens (a Murmur3 collision) are told apart by the pk
  in the partition header in Data, which a hit reads anyway.
- A point read asks the bloom filter first (bloom.py; the format's version says which kind),
  then the shard's KeyCache (keycache.py): a partition found before goes straight to its
  header, without the summary or the Index. Cassandra's order: the filter answers most of the
  SSTables a read asks (those without the key) for less than a cache lookup costs.
- Data is read through ChunkReader (pread + CRC + decompress + a small LRU of chunks). A `Cursor`
  walks the logical stream, joining chunks when a header or row spans a chunk boundary.
- A slice `lo <= ck < hi` of a partition with a row index starts at the last sample whose key is
  <= lo (bisected in the RowIndex mmap), skips rows below lo by their length prefix without
  decoding them, and stops at the first key >= hi.
"""

from __future__ import annotations

import mmap
import os
import struct
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from functools import lru_cache
from types import TracebackType

import msgspec
import numpy as np

from ferrosa.checksum import crc32
from shards.errors import CorruptSSTable, SSTableError, SSTableStateError
from shards.memtable import Partition
from shards.sstable.bloom import (
    HASH_SEED,
    MAX_HASHES,
    PATTERN_BITS,
    BlockedBloomFilter,
    BloomFilter,
    ClassicBloomFilter,
)
from shards.sstable.chunks import ChunkReader, DataSource, LocalData
from shards.sstable.codec import (
    U32,
    DecodeError,
    PartitionDecoder,
    one_plain_row,
    row_key,
    row_map,
    single_plain_row,
)
from shards.sstable.cursor import Cursor
from shards.sstable.format import (
    CHUNKS,
    COMPONENTS,
    DATA,
    FILTER,
    FILTER_HEADER,
    INDEX,
    INDEX_ENTRY,
    NO_ROW_INDEX,
    ROW_INDEX,
    ROW_INDEX_COUNT,
    ROW_INDEX_ENTRY,
    STATS,
    TOC,
    SSTableStats,
    Toc,
    component_path,
    unpack_toc,
)
from shards.sstable.keycache import KeyEntry, key_cache
from shards.tombstones import NO_DELETION

# One summary token per this many Index entries: the window unpacked per lookup. 16 keeps the
# window unpack and its bisection at ~0.5 us (63 tokens took ~1.7 us) and the summary at half a
# byte per partition (8 bytes per 16 in an int64 array; 64 in a list of ints took ~0.6).
SUMMARY_INTERVAL = 16
_ENTRY = INDEX_ENTRY.size
_U32_AT = U32.unpack_from
# (directory, table_id, generation) -> the Data of an evicted SSTable, None when it is not evicted.
RemoteOpener = Callable[[str, bytes, int], "DataSource | None"]
_INDEX_DTYPE = np.dtype([("token", "<i8"), ("data", "<u8"), ("rows", "<u8")])


@lru_cache(maxsize=SUMMARY_INTERVAL + 1)
def _window(count: int) -> struct.Struct:
    """Unpacks the tokens of `count` consecutive Index entries in one call."""
    return struct.Struct("<" + "q16x" * count)


class EncodedRows(msgspec.Struct, gc=False):
    """One partition found in an SSTable: its header decoded (`part`, without rows), its rows
    still as the records of the Data stream. `decode()` makes the Partition `get_prefix` returns;
    a reader that can use the bytes as they are (the store's plain reads) decodes each row with
    `decoder.plain_row` instead. `cut` is as for `get_prefix`. A Struct, made in C: a scan makes
    one per partition. Untracked by the collector: nothing it holds refers back to it."""

    reader: SSTableReader
    part: Partition
    records: list[tuple[bytes, int, int]]
    cut: bytes | None
    cursor: Cursor
    decoder: PartitionDecoder  # the reader's
    # (buffer, start, end) of the header record: only from scan_encoded, whose partitions
    # are whole and may be copied as bytes (SSTableWriter.add_copy).
    head: tuple[bytes, int, int] | None = None

    def decode(self) -> Partition:
        self.reader._decode_rows(self.part, self.records, self.cursor)
        return self.part

    def corrupt(self, reason: str) -> CorruptSSTable:
        return self.reader._corrupt(self.cursor, reason)


# A plain one-row partition as SSTableReader.merge_entries finds it: (buffer, offset of its
# header record's size prefix, its row's start, its row's end, where its end mark starts, its
# local deletion time, the scan's cursor). Its bytes are buffer[offset:end + 4].
PlainRow = tuple[bytes, int, int, int, int, Cursor]
# A compaction's heap entry: (token, pk, input index, PlainRow or EncodedRows).
MergeEntry = tuple[int, bytes, int, "PlainRow | EncodedRows"]


class SSTableReader:
    """One open SSTable. Not thread-safe (a shard is single-threaded)."""

    def __init__(self, directory: str, table_id: bytes, generation: int, toc: Toc,
                 stats: SSTableStats, chunks: ChunkReader, index: mmap.mmap | None,
                 row_index: mmap.mmap | None, bloom: BloomFilter) -> None:
        self.directory = directory
        self.table_id = table_id
        self.generation = generation
        self.toc = toc
        self.stats = stats
        self.token_range = (stats.min_token, stats.max_token)
        self.bloom = bloom
        # `may_contain` given bloom.key_hash(pk): the filter's own probe, bound once (a point
        # read asks every SSTable); a filter built with another seed says maybe.
        self.may_contain_hash: Callable[[int, int], bool] = (
            bloom.may_contain_hash if bloom.seed == HASH_SEED else _maybe)
        self._chunks = chunks
        self.number = chunks.number  # its owner key in the shard's caches, never reused
        self._index = index
        self._row_index = row_index
        self._count = stats.partitions
        self._decoder = PartitionDecoder(stats.columns)
        # No partition holds two rows (a table without clustering columns): only then may a
        # point read find its partition as one plain row (plain_record).
        self.single_rows = stats.rows <= stats.partitions
        self._data_path = self.path(DATA)
        # Point lookups that passed the bloom filter: the cache tier's measure of "hot".
        self.lookups = 0
        tokens = np.frombuffer(index, dtype=_INDEX_DTYPE, count=self._count)["token"]
        self._summary = array("q", tokens[::SUMMARY_INTERVAL].astype(np.int64).tobytes())
        del tokens  # releases the buffer export, so the mmap can be closed

    @classmethod
    def open(cls, directory: str, table_id: bytes, generation: int,
             remote: RemoteOpener | None = None) -> SSTableReader:
        """Open and check an SSTable. `remote(directory, table_id, generation)` gives the Data
        of an SSTable whose local Data was evicted (None: not evicted)."""
        toc_path = component_path(directory, table_id, generation, TOC)
        try:
            with open(toc_path, "rb") as f:
                toc = unpack_toc(toc_path, f.read())
        except FileNotFoundError:
            raise SSTableError(f"no SSTable {table_id.hex()}-{generation} in {directory} "
                               f"(no TOC)") from None
        if toc.table_id != table_id or toc.generation != generation:
            raise CorruptSSTable(toc_path, -1, f"TOC names SSTable {toc.table_id.hex()}-"
                                               f"{toc.generation}")
        if [entry.name for entry in toc.components] != list(COMPONENTS):
            raise CorruptSSTable(toc_path, -1, f"TOC lists {[e.name for e in toc.components]}, "
                                               f"expected {list(COMPONENTS)}")
        files = _OpenFiles(directory, table_id, generation, toc, remote)
        try:
            return files.reader(cls)
        except BaseException:
            files.close()
            raise

    def path(self, component: str) -> str:
        return component_path(self.directory, self.table_id, self.generation, component)

    @property
    def paths(self) -> list[str]:
        return [self.path(component) for component in COMPONENTS + (TOC,)]

    @property
    def data_size(self) -> int:
        """Bytes of the Data file (the compressed size STCS buckets by)."""
        return self.toc.components[0].size

    @property
    def disk_size(self) -> int:
        return sum(entry.size for entry in self.toc.components)

    @property
    def chunk_reads(self) -> int:
        """Data chunks read from the file so far (LRU cache misses)."""
        return self._chunks.reads

    def may_contain(self, pk: bytes) -> bool:
        return self.bloom.may_contain(pk)

    def __enter__(self) -> SSTableReader:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def data_is_local(self) -> bool:
        data = self._chunks.data
        return data is not None and data.is_local

    def replace_data(self, data: DataSource) -> None:
        """Serve Data from `data` from now on (its local file was evicted to the bucket)."""
        if data.size != self.data_size:
            raise CorruptSSTable(self._data_path, -1, f"replacement Data has {data.size} bytes, "
                                                      f"the TOC says {self.data_size}")
        self._chunks.replace_data(data)

    def close(self) -> None:
        # Its KeyCache entries stay: nothing looks up this reader's number again (keycache.py).
        self._chunks.close()
        for mm in (self._index, self._row_index):
            if mm is not None and not mm.closed:
                mm.close()

    # -- lookups ---------------------------------------------------------------------------

    def _entry(self, i: int) -> tuple[int, int, int]:
        entry = INDEX_ENTRY.unpack_from(self._index, i * _ENTRY)
        if entry[1] >= self._chunks.length or (entry[2] != NO_ROW_INDEX
                                               and self._row_index is None):
            raise CorruptSSTable(self.path(INDEX), i * _ENTRY, f"entry {i} points outside the "
                                                               f"data or row index")
        return entry

    def _find(self, token: int) -> int:
        """Position of the first Index entry whose token is >= `token`."""
        summary = self._summary
        j = bisect_left(summary, token)
        if j == 0:
            return 0
        lo = (j - 1) * SUMMARY_INTERVAL + 1
        hi = min(j * SUMMARY_INTERVAL, self._count)
        if hi <= lo:
            return hi
        window = _window(hi - lo).unpack_from(self._index, lo * _ENTRY)
        return lo + bisect_left(window, token)

    def _check_open(self) -> None:
        if self._chunks.data is None:
            raise SSTableStateError(f"SSTable {self._data_path} is closed")

    def get(self, token: int, pk: bytes, lo: bytes = b"", hi: bytes = b"") -> Partition | None:
        """The partition (token, pk) with its partition-level data and the rows lo <= ck < hi
        (hi b"" = unbounded), or None if this SSTable does not hold it."""
        return self.get_prefix(token, pk, lo, hi)[0]

    def get_prefix(self, token: int, pk: bytes, lo: bytes = b"", hi: bytes = b"",
                   limit: int = 0, filtered: bool = False) -> tuple[Partition | None,
                                                                   bytes | None]:
        """As `get`, decoding at most `limit` rows (0: all): (partition, the clustering key of
        its last row when rows of [lo, hi) were left undecoded, else None). ``filtered``: the
        caller has already checked the token range and the bloom filter (`may_contain_hash`)."""
        found = self.find(token, pk, lo, hi, limit, filtered)
        if found is None:
            return None, None
        return found.decode(), found.cut

    def find(self, token: int, pk: bytes, lo: bytes = b"", hi: bytes = b"", limit: int = 0,
             filtered: bool = False) -> EncodedRows | None:
        """As `get_prefix`, with the rows left encoded: the partition's header and its rows'
        records, None if this SSTable does not hold the partition."""
        self._check_open()
        if not filtered:
            stats = self.stats
            if (token < stats.min_token or token > stats.max_token
                    or not self.bloom.may_contain(pk)):
                return None
        self.lookups += 1
        found = self._search(token, pk)
        if found is None:
            return None
        cursor, part, entry = found
        rows = NO_ROW_INDEX if type(entry) is int else entry[1]
        return self._rows(cursor, part, rows, lo, hi, limit)

    def locate(self, token: int, pk: bytes) -> KeyEntry | None:
        """The Index entry of partition (token, pk), which its bloom filter lets through, as the
        KeyCache keeps it (and now does); None if this SSTable does not hold it."""
        self._check_open()
        found = self._search(token, pk)
        if found is None:
            return None
        return found[2]

    def _search(self, token: int, pk: bytes) -> tuple[Cursor, Partition, KeyEntry] | None:
        """The partition's header (rows still unread) from the Data its Index entry points at,
        the cursor after it, and the entry, now also in the KeyCache; None if not here."""
        i = self._find(token)
        while i < self._count:
            entry_token, offset, rows = self._entry(i)
            if entry_token != token:
                return None
            cursor = Cursor(self._chunks, offset, True)
            part = self._header(cursor)
            if part.pk == pk:
                entry = offset if rows == NO_ROW_INDEX else (offset, rows)
                keys = key_cache()
                if keys is not None:
                    keys.put(self.number, pk, entry)
                return cursor, part, entry
            i += 1
        return None

    def find_cached(self, token: int, pk: bytes, lo: bytes = b"", hi: bytes = b"",
                    limit: int = 0) -> EncodedRows | None:
        """As `find` for a partition the shard's KeyCache knows in this SSTable, whose bloom
        filter the caller asked first; None when it does not (the caller then calls `find`)."""
        keys = key_cache()
        if keys is None:
            return None
        entry: KeyEntry | None = keys.get(self.number, pk)
        if entry is None:
            return None
        self._check_open()
        offset, rows = (entry, NO_ROW_INDEX) if type(entry) is int else entry
        cursor = Cursor(self._chunks, offset, True)
        part = self._header(cursor)
        if part.token != token:
            # The entry is keyed by pk alone: only a partitioner that gave one key two tokens
            # (none does) would get here, and the Index then knows the partition, if anything.
            return None
        self.lookups += 1
        return self._rows(cursor, part, rows, lo, hi, limit)

    def plain_record(self, entry: KeyEntry, token: int,
                     pk: bytes) -> tuple[bytes, int, int] | None:
        """(buffer, start, end) of the only row of partition (token, pk), which the KeyCache
        places at `entry` in this SSTable, when it is a plain one-row partition inside one
        chunk (codec.single_plain_row); None: read it with `find_cached`."""
        if type(entry) is not int:
            return None  # a partition with a row index has many rows
        chunks = self._chunks
        index, p = divmod(entry, chunks.chunk_bytes)
        if index >= chunks.count:
            return None
        buf = chunks.chunk(index, True)
        span = single_plain_row(buf, p, token, pk)
        if span is None:
            return None
        self.lookups += 1
        return buf, span[0], span[1]

    def locate_plain(self, token: int, pk: bytes
                     ) -> tuple[KeyEntry, tuple[bytes, int, int] | None] | None:
        """`locate` and `plain_record` together, for a partition the bloom filter lets through:
        None if this SSTable does not hold (token, pk), else its entry (now in the KeyCache)
        and the record of its only row, None when it is not a plain one-row partition inside
        one chunk.

        The first read of a key, which the KeyCache does not know yet. The Index's first entry
        for the token usually holds the key as a plain one-row partition, and the record's own
        framing (codec.single_plain_row) proves it, key included: no cursor or Partition is
        built to compare the key, as `locate` builds them. Any other case (a token two keys
        share, a partition that is not plain or crosses a chunk, a corrupt record) is left to
        `locate`, which reads the headers."""
        self._check_open()
        i = self._find(token)
        if i < self._count:
            entry_token, offset, rows = self._entry(i)
            if entry_token != token:
                return None
            if rows == NO_ROW_INDEX:
                record = self.plain_record(offset, token, pk)
                if record is not None:
                    keys = key_cache()
                    if keys is not None:
                        keys.put(self.number, pk, offset)
                    return offset, record
        entry = self.locate(token, pk)
        if entry is None:
            return None
        return entry, self.plain_record(entry, token, pk)

    @property
    def decoder(self) -> PartitionDecoder:
        return self._decoder

    def _rows(self, cursor: Cursor, part: Partition, rows: int, lo: bytes, hi: bytes,
              limit: int) -> EncodedRows:
        """The EncodedRows of the partition whose header `cursor` has just read."""
        if rows != NO_ROW_INDEX and lo:
            start = self._row_index_start(rows, lo)
            if start > cursor.position:
                cursor = Cursor(self._chunks, start, True)
        records, cut = self._records(cursor, lo, hi, limit)
        return EncodedRows(self, part, records, cut, cursor, self._decoder)

    def scan(self, after_token: int | None = None, after_pk: bytes = b"") -> Iterator[Partition]:
        """Every partition with (token, pk) >= (after_token, after_pk), in that order (all of
        them if after_token is None), each with all its rows. Chunks read by a scan bypass the
        LRU cache, so a compaction does not evict the chunks of hot point reads."""
        for found in self.scan_encoded(after_token, after_pk):
            yield found.decode()

    def scan_encoded(self, after_token: int | None = None,
                     after_pk: bytes = b"") -> Iterator[EncodedRows]:
        """`scan` with each partition's rows left encoded, and its header's record kept (`head`):
        a partition is decoded only when the caller needs it (`decode()`), valid until the
        scan moves on."""
        self._check_open()
        start = 0 if after_token is None else self._find(after_token)
        if start >= self._count:
            return
        cursor = Cursor(self._chunks, self._entry(start)[1], False)
        bound = None if after_token is None else (after_token, after_pk)
        for _ in range(start, self._count):
            # A plain one-row partition inside the cursor's buffer in one unpack, without the
            # header's decode; any other by the record loop.
            buf, p = cursor.buf, cursor.p
            one = one_plain_row(buf, p)
            if one is not None:
                token, pk, ldt, begin, end = one
                cursor.p = end + 4  # past the end mark
                found = self.plain_encoded(token, pk, (buf, p, begin, end, ldt, cursor))
            else:
                found = self._next_encoded(cursor)
            if bound is not None:
                if (found.part.token, found.part.pk) < bound:
                    continue
                bound = None
            yield found
        self._check_scanned(cursor)

    def merge_entries(self, index: int) -> Iterator[MergeEntry]:
        """Every partition, as a compaction's merge takes it: the heap entry (token, pk, index,
        item) itself, `index` this input's place among the merged ones (it breaks ties, so items
        are never compared). `item` is a PlainRow for a plain one-row partition inside the
        cursor's buffer, most of a compaction's (no Partition, records or EncodedRows made:
        `plain_encoded` makes them when the compaction needs them), else the EncodedRows that
        `scan_encoded` yields. A PlainRow's buffer stays valid after the scan moves on."""
        self._check_open()
        if not self._count:
            return
        cursor = Cursor(self._chunks, self._entry(0)[1], False)
        for _ in range(self._count):
            buf, p = cursor.buf, cursor.p
            one = one_plain_row(buf, p)
            if one is not None:
                token, pk, ldt, begin, end = one
                cursor.p = end + 4  # past the end mark
                yield token, pk, index, (buf, p, begin, end, ldt, cursor)
            else:
                found = self._next_encoded(cursor)
                yield found.part.token, found.part.pk, index, found
        self._check_scanned(cursor)

    def plain_encoded(self, token: int, pk: bytes, row: PlainRow) -> EncodedRows:
        """The EncodedRows of the plain one-row partition (token, pk) that `row` locates."""
        buf, p, begin, end, ldt, cursor = row
        return EncodedRows(self, Partition(token, pk, NO_DELETION, ldt), [(buf, begin, end)],
                           None, cursor, self._decoder, (buf, p + 4, begin - 4))

    def _next_encoded(self, cursor: Cursor) -> EncodedRows:
        """The partition at the cursor, read record by record (a scan's other partitions)."""
        try:
            buf, begin, size, records = cursor.partition()
            if not size:
                raise DecodeError("empty partition header")
            part = self._decoder.header(buf, begin, begin + size)
        except DecodeError as exc:
            raise self._corrupt(cursor, str(exc)) from None
        return EncodedRows(self, part, records, None, cursor, self._decoder,
                           (buf, begin, begin + size))

    def _check_scanned(self, cursor: Cursor) -> None:
        """After a scan's last partition: nothing may follow it in the Data."""
        if cursor.position != self._chunks.length:
            raise CorruptSSTable(self._data_path, -1, f"{self._chunks.length - cursor.position} "
                                                      f"bytes of data follow the last partition")

    def _header(self, cursor: Cursor) -> Partition:
        try:
            buf, start, size = cursor.record()
            if not size:
                raise DecodeError("empty partition header")
            return self._decoder.header(buf, start, start + size)
        except DecodeError as exc:
            raise self._corrupt(cursor, str(exc)) from None

    def _records(self, cursor: Cursor, lo: bytes, hi: bytes,
                 limit: int = 0) -> tuple[list[tuple[bytes, int, int]], bytes | None]:
        """The (buffer, start, end) of the rows from `cursor` with lo <= ck < hi: reading stops
        at the first key >= hi, or after `limit` rows. Also returns the last row's key when a
        row of the range was left unread, else None. (A scan takes a partition's every row
        with Cursor.partition.)"""
        record = cursor.record
        records = []
        cut = None
        try:
            if lo:
                cursor.skip_before(lo)  # rows come in key order: every later one is >= lo
            while True:
                buf, start, size = record()
                if not size:
                    break
                if hi and row_key(buf, start) >= hi:
                    break
                if limit and len(records) == limit:
                    last_buf, last_start, _end = records[-1]
                    cut = row_key(last_buf, last_start)
                    break
                records.append((buf, start, start + size))
        except DecodeError as exc:
            raise self._corrupt(cursor, str(exc)) from None
        return records, cut

    def _decode_rows(self, part: Partition, records: list[tuple[bytes, int, int]],
                     cursor: Cursor) -> None:
        decode = self._decoder.row
        try:
            rows = [decode(buf, start, end) for buf, start, end in records]
        except DecodeError as exc:
            raise self._corrupt(cursor, str(exc)) from None
        if rows:
            part.rows = row_map(rows)
            if len(part.rows) != len(rows):
                raise self._corrupt(cursor, "a partition repeats a clustering key")

    def _row_index_start(self, offset: int, lo: bytes) -> int:
        """Logical Data offset of the last row-index sample whose key is <= lo."""
        mm = self._row_index
        try:
            count = ROW_INDEX_COUNT.unpack_from(mm, offset)[0]
            rel = struct.unpack_from(f"<{count}I", mm, offset + 4)
            # A bisection over the samples' keys, each read in place: the entry's key length
            # is the u32 after its u64 Data offset, the key follows the entry header.
            key_length, header = _U32_AT, ROW_INDEX_ENTRY.size
            a, b = 0, count
            while a < b:
                mid = (a + b) // 2
                at = offset + rel[mid] + header
                if mm[at:at + key_length(mm, at - 4)[0]] <= lo:
                    a = mid + 1
                else:
                    b = mid
            start = ROW_INDEX_ENTRY.unpack_from(mm, offset + rel[max(a - 1, 0)])[0]
        except (struct.error, IndexError, ValueError) as exc:
            raise CorruptSSTable(self.path(ROW_INDEX), offset, f"bad row index: {exc}") from None
        if start >= self._chunks.length:
            raise CorruptSSTable(self.path(ROW_INDEX), offset,
                                 f"row index points at {start}, past the data")
        return start

    def _corrupt(self, cursor: Cursor, reason: str) -> CorruptSSTable:
        pos = cursor.position
        chunk = min(pos // self._chunks.chunk_bytes, self._chunks.count)
        return CorruptSSTable(self._data_path, self._chunks.offsets[chunk],
                              f"{reason} (chunk {chunk}, uncompressed offset {pos})")

    def verify(self) -> None:
        """Scrub: the whole Data file against the TOC checksum and every chunk against its own."""
        entry = self.toc.components[0]
        crc = 0
        data = self._chunks.data
        if data is None:
            raise SSTableStateError(f"SSTable {self._data_path} is closed")
        offset = 0
        while offset < entry.size:
            block = data.pread(min(1 << 20, entry.size - offset), offset)
            if not block:
                break
            crc = crc32(block, crc)
            offset += len(block)
        if offset != entry.size or crc != entry.crc32:
            raise CorruptSSTable(self._data_path, -1, "Data file checksum does not match the TOC")
        self._chunks.verify()


class _OpenFiles:
    """The checks and file handles of `SSTableReader.open` (closed again if a check fails)."""

    def __init__(self, directory: str, table_id: bytes, generation: int, toc: Toc,
                 remote: RemoteOpener | None) -> None:
        self.directory, self.table_id, self.generation, self.toc = (directory, table_id,
                                                                    generation, toc)
        self.remote = remote
        self.data: DataSource | None = None
        self.maps: list[mmap.mmap] = []

    def path(self, component: str) -> str:
        return component_path(self.directory, self.table_id, self.generation, component)

    def close(self) -> None:
        if self.data is not None:
            self.data.close()
        for mm in self.maps:
            mm.close()

    def _checked(self, index: int) -> tuple[str, int]:
        entry = self.toc.components[index]
        path = self.path(entry.name)
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            raise CorruptSSTable(path, -1, "component listed in the TOC is missing") from None
        if size != entry.size:
            raise CorruptSSTable(path, min(size, entry.size), f"file is {size} bytes, the TOC "
                                                              f"says {entry.size}")
        return path, entry.crc32

    def _small(self, index: int) -> bytes:
        path, crc = self._checked(index)
        with open(path, "rb") as f:
            data = f.read()
        if crc32(data) != crc:
            raise CorruptSSTable(path, -1, "checksum does not match the TOC")
        return data

    def _mapped(self, index: int) -> mmap.mmap | None:
        path, crc = self._checked(index)
        if not self.toc.components[index].size:
            return None
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.maps.append(mm)
        if crc32(mm) != crc:
            raise CorruptSSTable(path, -1, "checksum does not match the TOC")
        return mm

    def reader(self, cls: type[SSTableReader]) -> SSTableReader:
        position = {name: i for i, name in enumerate(COMPONENTS)}
        data_path = self.path(DATA)
        remote = None
        if self.remote is not None and not os.path.exists(data_path):
            remote = self.remote(self.directory, self.table_id, self.generation)
        if remote is None:
            self._checked(position[DATA])
            self.data = LocalData(data_path)
        else:
            self.data = remote
            expected = self.toc.components[position[DATA]].size
            if remote.size != expected:
                raise CorruptSSTable(data_path, -1, f"evicted Data has {remote.size} bytes, the "
                                                    f"TOC says {expected}")
        stats_path = self.path(STATS)
        try:
            stats = msgspec.msgpack.decode(self._small(position[STATS]), type=SSTableStats)
        except msgspec.DecodeError as exc:
            raise CorruptSSTable(stats_path, 0, f"undecodable statistics: {exc}") from None
        index = self._mapped(position[INDEX])
        if stats.partitions < 1 or stats.partitions * _ENTRY != self.toc.components[
                position[INDEX]].size:
            raise CorruptSSTable(self.path(INDEX), -1, f"size does not hold the "
                                                       f"{stats.partitions} partitions of Stats")
        row_index = self._mapped(position[ROW_INDEX])
        bloom = _bloom(self.path(FILTER), self._small(position[FILTER]), self.toc.version)
        chunks = ChunkReader(data_path, self.data, self.path(CHUNKS), self._small(position[CHUNKS]),
                             self.toc.components[position[DATA]].size)
        if chunks.length != stats.uncompressed_bytes:
            raise CorruptSSTable(self.path(CHUNKS), 8, "data length disagrees with Stats")
        return cls(self.directory, self.table_id, self.generation, self.toc, stats, chunks,
                   index, row_index, bloom)


def _bloom(path: str, data: bytes, version: int) -> BloomFilter:
    """The Filter component's filter: blocked from format 2 on, classic in format 1."""
    if len(data) < FILTER_HEADER.size:
        raise CorruptSSTable(path, 0, "shorter than its header")
    bits, hashes, seed = FILTER_HEADER.unpack_from(data, 0)
    array = data[FILTER_HEADER.size:]
    if version == 1:
        if not bits or len(array) != (bits + 7) >> 3 or not 1 <= hashes <= MAX_HASHES:
            raise CorruptSSTable(path, 0, f"{bits} bits, {hashes} hashes and {len(array)} "
                                          f"bytes do not fit together")
        return ClassicBloomFilter(bits, hashes, seed, array)
    if not bits or bits % 64 or len(array) != bits >> 3:
        raise CorruptSSTable(path, 0, f"{bits} bits and {len(array)} bytes are not whole "
                                      f"64-bit words")
    if hashes != PATTERN_BITS:
        raise CorruptSSTable(path, 8, f"patterns of {hashes} bits; format {version} has "
                                      f"{PATTERN_BITS}")
    return BlockedBloomFilter(seed, array)


def _maybe(h1: int, h2: int) -> bool:
    return True
