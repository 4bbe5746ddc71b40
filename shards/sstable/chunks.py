"""The Data component's chunks: compression codecs, the chunk writer and the checked chunk reader.

What it is: the layer that turns the logical, uncompressed Data stream into the Data file and back.
The stream is cut into chunks of exactly `chunk_bytes` (the last one shorter); each chunk is
compressed on its own and stored as `payload | crc32(payload) u32`. The Chunks component records
where each chunk starts in the file, so logical offset X lives in chunk X // chunk_bytes.

What it must NOT do: interpret the stream (codec.py does), or cache more decompressed chunks than
a handful per reader plus the shard's ChunkCache budget (`set_chunk_cache`; the rest of the shard's
memory belongs to its memtables, and the page cache keeps the compressed file).

Theory of operation:
- A chunk whose compressed form is not smaller than the raw bytes is stored raw; the reader knows
  each chunk's uncompressed size, so `len(payload) == size` means raw (compressed payloads are
  always strictly smaller). Incompressible data costs no decompression and no expansion.
- The CRC covers the stored payload, so it is checked before a decompressor sees the bytes: a
  corrupt chunk is reported, never decoded.
- Files are read with os.pread, one call per chunk (not mmap): a chunk is read whole anyway, a
  short read (file truncated under us) is an error we can name instead of a SIGBUS, and a chunk
  read from the file is a bytes object the cache can keep; its payload is checked and decompressed
  through a view, without a copy.
- The reader reads through a `DataSource`: `LocalData` (os.pread bound to an fd), or an object in
  the bucket once the local copy was evicted (shards/cold.py). Either way every chunk is checked
  against its CRC, so bytes from the store are trusted no more than bytes from disk.
"""

from __future__ import annotations

import itertools
import os
import sys
from array import array
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Protocol

import lz4.block
import zstandard

from ferrosa.checksum import crc32
from ferrosa.lru import OwnedLRU
from shards.errors import CorruptSSTable, SSTableOptionError, SSTableStateError
from shards.sstable.format import CHUNKS_HEADER, CRC

# Codec ids stored in the Chunks component, by the table option `compression`'s names.
CODECS = {"none": 0, "lz4": 1, "zstd": 2}
CODEC_NAMES = {v: k for k, v in CODECS.items()}
# Cassandra's ZstdCompressor default level.
ZSTD_LEVEL = 3
# Chunk size limits: below 4 KiB the per-chunk overhead (CRC, offset, codec call) dominates; above
# 16 MiB one point read would decompress far more than any partition slice needs.
MIN_CHUNK_BYTES = 4 * 1024
MAX_CHUNK_BYTES = 16 * 1024 * 1024
# Decompressed chunks kept per reader: enough for the header chunk, a row-index target chunk and
# a few neighbours of a hot partition, small enough that hundreds of SSTables stay cheap.
CHUNK_CACHE_CHUNKS = 16


class ChunkCache(OwnedLRU):
    """Decompressed chunks of every SSTable of one shard, within a byte budget, least recently
    used out first (Cassandra's ChunkCache). A random point read from an SSTable otherwise
    reads, checks and decompresses a whole chunk for one small partition.

    Keys are (reader number, chunk index); a reader's number is never reused, so a new SSTable
    cannot see an old one's chunks, and a closed reader drops its own."""

    __slots__ = ()


# This process's ChunkCache (a shard sets it up at start; None: no shared cache), and the
# numbers given to readers for its keys.
_shared_cache: ChunkCache | None = None
_reader_numbers = itertools.count()


def set_chunk_cache(budget: int) -> ChunkCache | None:
    """Give this process's SSTable readers a shared ChunkCache of `budget` bytes (0: none)."""
    global _shared_cache
    _shared_cache = ChunkCache(budget) if budget > 0 else None
    return _shared_cache


def chunk_cache() -> ChunkCache | None:
    return _shared_cache


def _compressor(codec: int) -> Callable[[bytes], bytes] | None:
    if codec == CODECS["lz4"]:
        return lambda raw: lz4.block.compress(raw, store_size=False)
    if codec == CODECS["zstd"]:
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress
    return None


def _decompressor(codec: int) -> Callable[[bytes, int], bytes] | None:
    if codec == CODECS["lz4"]:
        return lambda payload, size: lz4.block.decompress(payload, uncompressed_size=size)
    if codec == CODECS["zstd"]:
        unzstd = zstandard.ZstdDecompressor()
        return lambda payload, size: unzstd.decompress(payload, max_output_size=size)
    return None


def codec_id(name: str) -> int:
    codec = CODECS.get(name)
    if codec is None:
        raise SSTableOptionError(f"unsupported SSTable compression {name!r}; supported: "
                                 f"{', '.join(sorted(CODECS))}")
    return codec


def check_chunk_bytes(chunk_bytes: int) -> None:
    if not MIN_CHUNK_BYTES <= chunk_bytes <= MAX_CHUNK_BYTES:
        raise SSTableOptionError(f"chunk_bytes {chunk_bytes} outside "
                                 f"{MIN_CHUNK_BYTES}..{MAX_CHUNK_BYTES}")


def _le(values: array) -> bytes:
    if sys.byteorder != "little":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class ChunkWriter:
    """Buffers the logical stream and writes it to the Data file one compressed chunk at a time."""

    __slots__ = ("buf", "chunk_bytes", "codec", "compress", "crc", "fd", "flushed", "offsets")

    def __init__(self, fd: int, codec: int, chunk_bytes: int) -> None:
        self.fd = fd
        self.codec = codec
        self.chunk_bytes = chunk_bytes
        self.compress = _compressor(codec)
        self.buf = bytearray()
        self.flushed = 0  # logical bytes already written out as chunks
        self.offsets = array("Q", [0])  # file offset of each chunk, then the file size
        self.crc = 0  # of the whole file, for the TOC

    @property
    def position(self) -> int:
        """Logical offset of the next byte written."""
        return self.flushed + len(self.buf)

    def write(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if len(buf) >= self.chunk_bytes:
            size = self.chunk_bytes
            view = memoryview(buf)
            start = 0
            while len(buf) - start >= size:
                self._emit(view[start:start + size])
                start += size
            view.release()
            del buf[:start]

    def finish(self) -> bytes:
        """Write the last, partial chunk; returns the Chunks component's bytes."""
        if self.buf:
            self._emit(memoryview(self.buf))
            self.buf = bytearray()
        count = len(self.offsets) - 1
        return CHUNKS_HEADER.pack(self.codec, self.chunk_bytes, self.flushed, count) + _le(
            self.offsets)

    def _emit(self, raw: memoryview) -> None:
        payload = raw.tobytes() if self.compress is None else self.compress(raw)
        if len(payload) >= len(raw):
            payload = raw.tobytes()
        crc = crc32(payload)
        record = payload + CRC.pack(crc)
        write_all(self.fd, record)
        self.crc = crc32(record, self.crc)
        self.flushed += len(raw)
        self.offsets.append(self.offsets[-1] + len(record))

    @property
    def file_size(self) -> int:
        return self.offsets[-1]


class DataSource(Protocol):
    """Where a Data file's bytes come from. `pread(size, offset)` has os.pread's argument order
    and is short only at the end of the data."""

    size: int
    is_local: bool

    def pread(self, size: int, offset: int) -> bytes: ...

    def close(self) -> None: ...


class LocalData:
    """A Data file on local disk."""

    __slots__ = ("fd", "pread", "size")
    is_local = True

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.size = os.fstat(self.fd).st_size
        self.pread = partial(os.pread, self.fd)  # a C call per chunk, no Python frame

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class ChunkReader:
    """Checked, cached access to the chunks of one Data file."""

    __slots__ = (
        "_pread",
        "cache",
        "number",
        "chunk_bytes",
        "codec",
        "count",
        "data",
        "decompress",
        "length",
        "offsets",
        "path",
        "reads",
    )

    def __init__(self, path: str, data: DataSource, chunks_path: str, chunks: bytes,
                 data_size: int) -> None:
        self.path = path
        self.data: DataSource | None = data
        self._pread = data.pread
        self.cache: OrderedDict[int, bytes] = OrderedDict()
        self.number = next(_reader_numbers)  # its key in the shared ChunkCache
        self.reads = 0  # chunks read from the file (cache misses)
        try:
            codec, self.chunk_bytes, self.length, count = CHUNKS_HEADER.unpack_from(chunks, 0)
        except Exception as exc:
            raise CorruptSSTable(chunks_path, 0, f"bad chunk header: {exc}") from None
        if codec not in CODEC_NAMES:
            raise CorruptSSTable(chunks_path, 0, f"unknown compression id {codec}")
        self.codec = codec
        self.decompress = _decompressor(codec)
        offsets = array("Q")
        offsets.frombytes(chunks[CHUNKS_HEADER.size:])
        if sys.byteorder != "little":
            offsets.byteswap()
        self.offsets = offsets
        self._check(chunks_path, count, data_size)
        self.count = count  # chunks (the offsets are count + 1, checked)

    def _check(self, chunks_path: str, count: int, data_size: int) -> None:
        size = self.chunk_bytes
        if not MIN_CHUNK_BYTES <= size <= MAX_CHUNK_BYTES:
            raise CorruptSSTable(chunks_path, 4, f"chunk size {size} out of range")
        if count != -(-self.length // size) or len(self.offsets) != count + 1:
            raise CorruptSSTable(chunks_path, 8, f"{count} chunks and {len(self.offsets)} offsets "
                                                 f"do not fit {self.length} bytes of data")
        offsets = self.offsets
        if offsets[0] != 0 or offsets[-1] != data_size:
            raise CorruptSSTable(chunks_path, CHUNKS_HEADER.size,
                                 f"chunk offsets span {offsets[0]}..{offsets[-1]}, the Data file "
                                 f"has {data_size} bytes")
        for i in range(count):
            stored = offsets[i + 1] - offsets[i] - CRC.size
            if not 0 < stored <= min(size, self.length - i * size):
                raise CorruptSSTable(chunks_path, CHUNKS_HEADER.size + 8 * i,
                                     f"chunk {i} has an impossible stored size {stored}")

    def chunk(self, i: int, cache: bool = True) -> bytes:
        """Chunk `i` decompressed (checked against its CRC when read from the file). Cached
        reads go through the shard's ChunkCache when it is set, else through this reader's own
        few chunks; `cache` False (scans, compactions) keeps the chunk out of both."""
        if self.data is None:
            raise SSTableStateError(f"SSTable {self.path} is closed")
        shared = _shared_cache
        if shared is not None:
            if not cache:
                return self._read(i)
            raw = shared.get(self.number, i)
            if raw is None:
                raw = self._read(i)
                shared.put(self.number, i, raw)
            return raw
        cached = self.cache.get(i)
        if cached is not None:
            self.cache.move_to_end(i)
            return cached
        raw = self._read(i)
        if cache:
            self.cache[i] = raw
            if len(self.cache) > CHUNK_CACHE_CHUNKS:
                self.cache.popitem(last=False)
        return raw

    def _read(self, i: int) -> bytes:
        start, end = self.offsets[i], self.offsets[i + 1]
        record = self._pread(end - start, start)
        self.reads += 1
        if len(record) != end - start:
            raise CorruptSSTable(self.path, start + len(record),
                                 f"chunk {i} cut short: read {len(record)} of {end - start} bytes")
        stored = end - start - CRC.size
        # A view, not a slice: checking and decompressing the payload copies none of it.
        payload = memoryview(record)[:stored]
        if crc32(payload) != CRC.unpack_from(record, stored)[0]:
            raise CorruptSSTable(self.path, start, f"chunk {i} checksum mismatch")
        size = min(self.chunk_bytes, self.length - i * self.chunk_bytes)
        if stored == size:
            return record[:stored]
        if self.decompress is None:
            raise CorruptSSTable(self.path, start, f"chunk {i} is {len(payload)} bytes, "
                                                   f"expected {size} uncompressed")
        try:
            raw = self.decompress(payload, size)
        except Exception as exc:  # lz4 and zstd raise their own types
            raise CorruptSSTable(self.path, start, f"chunk {i} does not decompress: "
                                                   f"{exc}") from None
        if len(raw) != size:
            raise CorruptSSTable(self.path, start, f"chunk {i} decompressed to {len(raw)} "
                                                   f"bytes, expected {size}")
        return raw

    def replace_data(self, data: DataSource) -> None:
        """Read from `data` from now on (the same bytes elsewhere: Data was evicted)."""
        old, self.data, self._pread = self.data, data, data.pread
        if old is not None:
            old.close()

    def close(self) -> None:
        if self.data is not None:
            self.data.close()
            self.data = None
        self.cache.clear()
        if _shared_cache is not None:
            _shared_cache.drop(self.number)

    def verify(self) -> None:
        """Read and check every chunk (bypassing the cache): a scrub."""
        for i in range(self.count):
            self._read(i)
