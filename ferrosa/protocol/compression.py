"""Frame body compression for protocol v3/v4 (LZ4 and Snappy) and raw LZ4 blocks for v5 segments.

Wire formats:
  * v3/v4 "lz4":    [4-byte big-endian uncompressed length][raw LZ4 block]  (not the LZ4 frame format)
  * v3/v4 "snappy": a raw Snappy block (its own varint length prefix), NOT the framed Snappy format
  * v5 segments:    a raw LZ4 block whose uncompressed length travels in the segment header

Decompression never trusts the announced size beyond ``max_bytes`` and turns every codec error
into ``ProtocolError``. This module must NOT know about frames, segments or connections.
"""

from __future__ import annotations

import cramjam
import lz4.block

from ferrosa.protocol.errors import ProtocolError
from ferrosa.protocol.primitives import UINT

# The spec's own bound on an envelope body ("currently an envelope body is limited to 256MB",
# v5 spec 2.4.1.5). A decompressed body larger than this cannot be valid, so we refuse before
# allocating. The wire-level limit (16 MiB by default) is checked separately by the frame decoder.
MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024

# Bodies (v3/v4) and segment payloads (v5) shorter than this are sent uncompressed even on a
# connection that negotiated compression: v3/v4 flag compression per frame and v5 per segment
# (an uncompressed length of 0), and drivers decompress only what is flagged. LZ4 cannot shrink
# so few bytes by more than a few (under 13 bytes a block is all literals and grows), while
# each compression costs about a microsecond, most of it LZ4 clearing its 16 KiB table: a
# fifth of the front's work for a write, whose VOID result body is 4 bytes.
MIN_COMPRESSED_BYTES = 64

LZ4 = "lz4"
SNAPPY = "snappy"
# Algorithms accepted in STARTUP's COMPRESSION option, per protocol version (v5: LZ4 only,
# Cassandra answers "Snappy compression is not supported in protocol V5").
FRAME_COMPRESSIONS: tuple[str, ...] = (SNAPPY, LZ4)
SEGMENT_COMPRESSIONS: tuple[str, ...] = (LZ4,)


def lz4_compress_body(body: bytes) -> bytes:
    return UINT.pack(len(body)) + lz4.block.compress(body, store_size=False)


def lz4_decompress_body(data: bytes, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    if len(data) < 4:
        raise ProtocolError("Compressed LZ4 body is shorter than its 4-byte length prefix")
    (size,) = UINT.unpack_from(data, 0)
    return lz4_decompress_block(memoryview(data)[4:], size, max_bytes)


def lz4_decompress_block(block: bytes | memoryview, size: int,
                         max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Decompress a raw LZ4 block that must expand to exactly ``size`` bytes."""
    if size > max_bytes:
        raise ProtocolError(f"Decompressed size {size} exceeds the limit of {max_bytes} bytes")
    try:
        out = lz4.block.decompress(block, uncompressed_size=size)
    except (lz4.block.LZ4BlockError, ValueError, MemoryError) as exc:
        raise ProtocolError(f"Corrupt LZ4 block: {exc}") from None
    if len(out) != size:
        raise ProtocolError(f"Corrupt LZ4 block: expanded to {len(out)} bytes, expected {size}")
    return out


def lz4_compress_block(data: bytes | memoryview) -> bytes:
    return lz4.block.compress(data, store_size=False)


def snappy_compress_body(body: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(body))


def snappy_decompress_body(data: bytes, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    try:
        size = cramjam.snappy.decompress_raw_len(data)
    except Exception as exc:  # cramjam raises its own DecompressionError and plain errors
        raise ProtocolError(f"Corrupt Snappy block: {exc}") from None
    if size > max_bytes:
        raise ProtocolError(f"Decompressed size {size} exceeds the limit of {max_bytes} bytes")
    try:
        return bytes(cramjam.snappy.decompress_raw(data))
    except Exception as exc:
        raise ProtocolError(f"Corrupt Snappy block: {exc}") from None


_COMPRESSORS = {LZ4: lz4_compress_body, SNAPPY: snappy_compress_body}
_DECOMPRESSORS = {LZ4: lz4_decompress_body, SNAPPY: snappy_decompress_body}


def compress_body(algorithm: str, body: bytes) -> bytes:
    """Compress a v3/v4 frame body with the negotiated algorithm ("lz4" or "snappy")."""
    try:
        return _COMPRESSORS[algorithm](body)
    except KeyError:
        raise ValueError(f"Unsupported compression algorithm: {algorithm}") from None


def decompress_body(algorithm: str, data: bytes, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """Decompress a v3/v4 frame body; corrupt or oversized input raises ``ProtocolError``."""
    try:
        decompress = _DECOMPRESSORS[algorithm]
    except KeyError:
        raise ValueError(f"Unsupported compression algorithm: {algorithm}") from None
    return decompress(data, max_bytes)
