"""Data.db as a sequence of checked, decompressed chunks: CompressionInfo.db and the chunk codecs.

Theory of operation
-------------------
A compressed Data.db is the uncompressed partition stream cut into chunks of ``chunk_length`` bytes
(the last one shorter), each compressed on its own and followed by the CRC32 of its compressed bytes
(big-endian). CompressionInfo.db says how to find them::

    compressor class name   (Java writeUTF: u16 length + bytes)
    option count (i32), then that many (key, value) writeUTF pairs
    chunk_length (i32)
    max_compressed_length (i32)          -- only from BIG "na" / BTI "da" on
    data_length (i64)                    -- length of the uncompressed stream
    chunk_count (i32), then chunk_count chunk offsets (i64) into Data.db

From "na" on, a chunk whose stored length is >= max_compressed_length was written uncompressed
(compression did not pay). Codecs, by Cassandra compressor class:

* LZ4Compressor: 4-byte little-endian uncompressed length, then a raw LZ4 block.
* SnappyCompressor: a raw Snappy block (not the framed format).
* DeflateCompressor: a zlib stream (java.util.zip.Deflater's default wrapper).
* ZstdCompressor: one Zstandard frame.
* NoopCompressor: the bytes themselves.

An uncompressed Data.db (no CompressionInfo.db) is served in pieces of the same interface; when
CRC.db exists, each piece is one of its checksummed chunks and is verified.

Every chunk is verified (CRC32, exact decompressed length) before any byte of it is returned.

This module must NOT interpret the decompressed bytes (unfiltered.py does).
"""

from __future__ import annotations

import mmap
import os
import zlib
from collections.abc import Callable
from typing import Self

import cramjam
import lz4.block
import msgspec
import zstandard

from ferrosa.checksum import crc32
from ferrosa.importer.errors import CorruptSSTable, Truncated, UnsupportedFormat
from ferrosa.importer.files import ChunkChecksums, FormatVersion
from ferrosa.importer.varint import I32, I64, U16, U32, unpack_at

COMPRESSOR_PACKAGE = "org.apache.cassandra.io.compress."
# Pieces an uncompressed Data.db without CRC.db is served in (no checksum boundaries to follow).
UNCOMPRESSED_PIECE = 1 << 20
# Cassandra caps chunk_length_in_kb well below this; a larger value means a damaged header.
MAX_CHUNK_LENGTH = 1 << 30
CHUNK_CRC_SIZE = 4
LZ4_LENGTH_PREFIX = 4

Codec = Callable[[bytes, int], bytes]


def _lz4(data: bytes, size: int) -> bytes:
    if len(data) < LZ4_LENGTH_PREFIX:
        raise ValueError("LZ4 chunk shorter than its length prefix")
    declared = int.from_bytes(data[:LZ4_LENGTH_PREFIX], "little")
    if declared != size:
        raise ValueError(f"LZ4 chunk declares {declared} uncompressed bytes, expected {size}")
    return lz4.block.decompress(data[LZ4_LENGTH_PREFIX:], uncompressed_size=size)


def _snappy(data: bytes, size: int) -> bytes:
    return bytes(cramjam.snappy.decompress_raw(data))


def _deflate(data: bytes, size: int) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, size + 1)
    if not d.eof:
        raise ValueError("Deflate stream does not end where the chunk ends")
    return out


def _zstd(data: bytes, size: int) -> bytes:
    return zstandard.ZstdDecompressor().decompress(data, max_output_size=size)


def _noop(data: bytes, size: int) -> bytes:
    return data


CODECS: dict[str, Codec] = {
    "LZ4Compressor": _lz4,
    "SnappyCompressor": _snappy,
    "DeflateCompressor": _deflate,
    "ZstdCompressor": _zstd,
    "NoopCompressor": _noop,
}
_CODEC_ERRORS = (ValueError, zlib.error, lz4.block.LZ4BlockError, zstandard.ZstdError,
                 cramjam.DecompressionError, MemoryError)


class CompressionInfo(msgspec.Struct, frozen=True):
    compressor: str                  # simple class name, e.g. "LZ4Compressor"
    options: dict[str, str]
    chunk_length: int
    max_compressed_length: int
    data_length: int
    chunk_offsets: tuple[int, ...]


def _read_utf(buf: bytes, pos: int, path: str) -> tuple[str, int]:
    (n,) = unpack_at(U16, buf, pos, path)
    end = pos + 2 + n
    if end > len(buf):
        raise Truncated(path, "end of file inside a string", pos)
    try:
        return buf[pos + 2:end].decode("utf-8"), end
    except UnicodeDecodeError:
        raise CorruptSSTable(path, "string is not UTF-8", pos) from None


def parse_compression_info(buf: bytes, version: FormatVersion, path: str) -> CompressionInfo:
    """Parse CompressionInfo.db; CorruptSSTable/UnsupportedFormat naming ``path`` on bad input."""
    name, pos = _read_utf(buf, 0, path)
    simple = name.removeprefix(COMPRESSOR_PACKAGE)
    if simple not in CODECS:
        raise UnsupportedFormat(path, f"compressor {name} is not supported (supported: {', '.join(CODECS)})")
    (count,) = unpack_at(I32, buf, pos, path)
    pos += 4
    if count < 0 or count > len(buf):
        raise CorruptSSTable(path, f"invalid compression option count {count}", pos - 4)
    options = {}
    for _ in range(count):
        key, pos = _read_utf(buf, pos, path)
        options[key], pos = _read_utf(buf, pos, path)
    (chunk_length,) = unpack_at(I32, buf, pos, path)
    if not 0 < chunk_length <= MAX_CHUNK_LENGTH:
        raise CorruptSSTable(path, f"invalid chunk length {chunk_length}", pos)
    pos += 4
    max_compressed = (1 << 31) - 1
    if version.max_compressed_length:
        (max_compressed,) = unpack_at(I32, buf, pos, path)
        pos += 4
    (data_length,) = unpack_at(I64, buf, pos, path)
    (chunk_count,) = unpack_at(I32, buf, pos + 8, path)
    pos += 12
    expected = -(-data_length // chunk_length) if data_length >= 0 else -1
    if chunk_count != expected:
        raise CorruptSSTable(path, f"{chunk_count} chunks of {chunk_length} cannot hold {data_length} bytes",
                             pos - 4)
    if pos + 8 * chunk_count != len(buf):
        raise CorruptSSTable(path, f"file length {len(buf)} does not fit {chunk_count} chunk offsets", pos)
    offsets = tuple(int.from_bytes(buf[p:p + 8], "big", signed=True) for p in range(pos, len(buf), 8))
    for i in range(1, chunk_count):
        if offsets[i] < offsets[i - 1] + CHUNK_CRC_SIZE:
            raise CorruptSSTable(path, f"chunk offsets {offsets[i - 1]} then {offsets[i]} overlap",
                                 pos + 8 * i)
    if offsets and offsets[0] != 0:
        raise CorruptSSTable(path, f"first chunk starts at {offsets[0]}, not 0", pos)
    return CompressionInfo(simple, options, chunk_length, max_compressed, data_length, offsets)


class ChunkedDataFile:
    """Data.db as numbered chunks of uncompressed bytes; chunk i covers [i * chunk_length, ...)."""

    def __init__(self, path: str, compression: CompressionInfo | None,
                 checksums: ChunkChecksums | None = None):
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        try:
            self.file_length = os.fstat(self._fd).st_size
            self._map = mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ) if self.file_length else b""
        except BaseException:
            os.close(self._fd)
            raise
        self.compression = compression
        self.checksums = checksums
        if compression is not None:
            self.chunk_length = compression.chunk_length
            self.data_length = compression.data_length
            self._codec = CODECS[compression.compressor]
            self._check_layout(compression)
        else:
            self.chunk_length = checksums.chunk_size if checksums is not None else UNCOMPRESSED_PIECE
            self.data_length = self.file_length
            if checksums is not None and len(checksums.crcs) != self.chunk_count:
                raise CorruptSSTable(path, f"CRC.db has {len(checksums.crcs)} checksums for "
                                           f"{self.chunk_count} chunks")

    def _check_layout(self, c: CompressionInfo) -> None:
        if c.chunk_offsets and c.chunk_offsets[-1] + CHUNK_CRC_SIZE > self.file_length:
            raise CorruptSSTable(self.path, f"file is {self.file_length} bytes but its last chunk starts at "
                                            f"{c.chunk_offsets[-1]} (truncated?)")

    @property
    def chunk_count(self) -> int:
        return -(-self.data_length // self.chunk_length)

    def close(self) -> None:
        if self._fd >= 0:
            if isinstance(self._map, mmap.mmap):
                self._map.close()
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunk_size(self, index: int) -> int:
        """Uncompressed length of chunk ``index``."""
        return min(self.chunk_length, self.data_length - index * self.chunk_length)

    def chunk(self, index: int) -> bytes:
        """The verified uncompressed bytes of chunk ``index``."""
        if not 0 <= index < self.chunk_count:
            raise IndexError(index)
        if self.compression is None:
            return self._plain_chunk(index)
        return self._compressed_chunk(index)

    def _plain_chunk(self, index: int) -> bytes:
        start = index * self.chunk_length
        data = self._map[start:start + self.chunk_size(index)]
        if self.checksums is not None and crc32(data) != self.checksums.crcs[index]:
            raise CorruptSSTable(self.path, f"CRC32 mismatch in chunk {index} (per CRC.db)", start)
        return data

    def _compressed_chunk(self, index: int) -> bytes:
        c = self.compression
        offsets = c.chunk_offsets
        start = offsets[index]
        end = offsets[index + 1] if index + 1 < len(offsets) else self.file_length
        stored_end = end - CHUNK_CRC_SIZE
        if stored_end < start or end > self.file_length:
            raise CorruptSSTable(self.path, f"chunk {index} extends past the end of the file", start)
        stored = self._map[start:stored_end]
        (expected_crc,) = U32.unpack_from(self._map, stored_end)
        if crc32(stored) != expected_crc:
            raise CorruptSSTable(self.path, f"CRC32 mismatch in compressed chunk {index}", start)
        size = self.chunk_size(index)
        if len(stored) >= c.max_compressed_length:
            data = stored  # written raw: compression would not have saved enough
        else:
            try:
                data = self._codec(stored, size)
            except _CODEC_ERRORS as exc:
                raise CorruptSSTable(self.path, f"chunk {index} does not decompress with "
                                                f"{c.compressor}: {exc}", start) from None
        if len(data) != size:
            raise CorruptSSTable(self.path, f"chunk {index} holds {len(data)} bytes, expected {size}", start)
        return data
