"""Protocol v5 outer framing: "segments" (called frames in the v5 spec, section 2).

Theory of operation
-------------------
After the STARTUP handshake a v5 connection wraps its envelopes in segments. All integers of
the segment layer are little-endian:

  uncompressed: header = 3 bytes (payload length: 17 bits, self-contained flag: bit 17)
                + CRC24 of those 3 bytes (3 bytes), payload, CRC32 of the payload (4 bytes)
  LZ4:          header = 5 bytes (compressed length: 17 bits, uncompressed length: 17 bits,
                self-contained flag: bit 34) + CRC24 (3 bytes), payload, CRC32 of the
                compressed payload. Uncompressed length 0 means "payload sent as is".

CRC24 (Cassandra's Crc.crc24): register initialised to 0x875060, polynomial 0x1974F0B, bytes fed
in wire order, each XORed into bits 16..23 then shifted out MSB-first. CRC32: ordinary CRC32
(zlib) whose state is first fed the four bytes FA 2D 55 CA (Cassandra's Crc.crc32()).
A header's CRC24 covers a fixed number of bytes (3, or 5 compressed), and a CRC over a fixed
length is affine in its input bits: the CRC of the whole is the XOR of the CRCs of each byte
alone at its position (with the register's start folded into the first). So headers are
checked by one lookup per byte in tables built at import (``crc24_of_fields``), not by the
bit-serial loop, which stays as the definition (``crc24``) the tables are built from.

A self-contained segment carries one or more complete envelopes. An envelope larger than a
segment's payload (128 KiB - 1) is cut into consecutive non-self-contained segments; the first
one starts with the envelope header, whose length tells the receiver when it is complete.
``SegmentDecoder.feed`` returns payloads: each self-contained payload as is (possibly several
envelopes) and each reassembled large envelope once its last segment arrived.

A CRC mismatch is fatal (``ChecksumError``). A large envelope over ``max_envelope_bytes`` raises
the non-fatal ``FrameTooLargeError``; its remaining segments are then skipped.

This module must NOT parse envelope bodies or perform I/O.
"""

from __future__ import annotations

import struct
import zlib
from zlib import crc32 as _zlib_crc32

from ferrosa.protocol.compression import (
    MIN_COMPRESSED_BYTES,
    lz4_compress_block,
    lz4_decompress_block,
)
from ferrosa.protocol.errors import ChecksumError, FrameTooLargeError, ProtocolError
from ferrosa.protocol.frame import HEADER_SIZE, MAX_FRAME_BYTES

# 17-bit length fields: a payload holds at most 2**17 - 1 bytes (Cassandra's FrameEncoderLZ4
# rejects uncompressed payloads >= 1 << 17; the python driver's Segment.MAX_PAYLOAD_LENGTH).
MAX_SEGMENT_PAYLOAD = 128 * 1024 - 1
UNCOMPRESSED_HEADER_SIZE = 6  # 3 bytes of fields + CRC24
COMPRESSED_HEADER_SIZE = 8  # 5 bytes of fields + CRC24
TRAILER_SIZE = 4  # CRC32

CRC24_INIT = 0x875060
CRC24_POLY = 0x1974F0B
CRC32_SEED_BYTES = b"\xfa\x2d\x55\xca"
CRC32_SEED = zlib.crc32(CRC32_SEED_BYTES)

_LENGTH_MASK = 0x1FFFF
_U32LE = struct.Struct("<I")
_ENVELOPE_STREAM_LENGTH = struct.Struct(">hBi")  # stream, opcode, length at offset 2 of a header
# A segment header in one unpack: its fields (3 bytes, or 5 compressed), then their CRC24 (3
# bytes), each as a low and a high part (int.from_bytes of a slice cost twice as much).
_UNCOMPRESSED_HEADER = struct.Struct("<HBHB")
_COMPRESSED_HEADER = struct.Struct("<IBHB")


def _crc24_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= CRC24_POLY
        table.append(crc)
    return tuple(table)


_CRC24_TABLE = _crc24_table()


def crc24(data: bytes | bytearray | memoryview) -> int:
    """Cassandra's CRC24 of segment header bytes, in wire order (table form of Crc.crc24)."""
    crc = CRC24_INIT
    table = _CRC24_TABLE
    for byte in data:
        crc = ((crc & 0xFFFF) << 8) ^ table[((crc >> 16) ^ byte) & 0xFF]
    return crc


def _crc24_position_tables(size: int) -> tuple[tuple[int, ...], ...]:
    """Per byte position of a `size`-byte input, the CRC24 contribution of each byte value
    there: crc24 of the input is the XOR of its bytes' entries (module docstring). crc24 of
    all zeros, the constant part, is folded into position 0's table."""
    zero = crc24(bytes(size))
    tables = []
    for position in range(size):
        offset = 0 if position == 0 else zero
        tables.append(tuple(
            crc24(bytes(position) + bytes((byte,)) + bytes(size - position - 1)) ^ offset
            for byte in range(256)))
    return tuple(tables)


# Segment header fields: 3 bytes, or 5 when the connection compresses (module docstring).
_HEADER_FIELDS_SIZES = (UNCOMPRESSED_HEADER_SIZE - 3, COMPRESSED_HEADER_SIZE - 3)
_CRC24_BY_POSITION = {size: _crc24_position_tables(size) for size in _HEADER_FIELDS_SIZES}


def crc24_of_fields(fields: int, size: int) -> int:
    """crc24(fields.to_bytes(size, "little")) for a header's fields (size 3 or 5), by table."""
    crc = 0
    for table in _CRC24_BY_POSITION[size]:
        crc ^= table[fields & 0xFF]
        fields >>= 8
    return crc


def crc32(data: bytes | bytearray | memoryview) -> int:
    """Cassandra's seeded CRC32 of a segment payload."""
    return zlib.crc32(data, CRC32_SEED)


def encode_segment(payload: bytes | memoryview, self_contained: bool, compressed: bool) -> bytes:
    """One segment. With ``compressed``, a payload LZ4 cannot shrink, or one too short to be
    worth it (MIN_COMPRESSED_BYTES), is sent raw (uncompressed length 0)."""
    size = len(payload)
    if size > MAX_SEGMENT_PAYLOAD:
        raise ValueError(f"segment payload of {size} bytes exceeds {MAX_SEGMENT_PAYLOAD}")
    if compressed:
        body = lz4_compress_block(payload) if size >= MIN_COMPRESSED_BYTES else payload
        if len(body) < size:
            fields = len(body) | (size << 17)
        else:
            body, fields = bytes(payload), size
        if self_contained:
            fields |= 1 << 34
        field_bytes = 5
    else:
        body = bytes(payload)
        fields = size | (1 << 17) if self_contained else size
        field_bytes = 3
    header = fields | crc24_of_fields(fields, field_bytes) << (8 * field_bytes)
    return b"".join((header.to_bytes(field_bytes + 3, "little"), body, _U32LE.pack(crc32(body))))


def encode_segments(frames: bytes | bytearray | memoryview | list[bytes], compressed: bool) -> bytes:
    """Pack encoded envelopes into segments.

    ``frames`` is ONE envelope (bytes) or a list of envelopes. Consecutive small envelopes share a
    self-contained segment; an envelope over ``MAX_SEGMENT_PAYLOAD`` gets its own run of
    non-self-contained segments.
    """
    if isinstance(frames, (bytes, bytearray, memoryview)):
        frames = [frames]
    out: list[bytes] = []
    batch: list[bytes] = []
    batch_size = 0
    for envelope in frames:
        size = len(envelope)
        if size > MAX_SEGMENT_PAYLOAD:
            if batch:
                out.append(encode_segment(b"".join(batch), True, compressed))
                batch, batch_size = [], 0
            view = memoryview(envelope)
            for start in range(0, size, MAX_SEGMENT_PAYLOAD):
                out.append(encode_segment(view[start:start + MAX_SEGMENT_PAYLOAD], False, compressed))
            continue
        if batch_size + size > MAX_SEGMENT_PAYLOAD:
            out.append(encode_segment(b"".join(batch), True, compressed))
            batch, batch_size = [], 0
        batch.append(envelope)
        batch_size += size
    if batch:
        out.append(encode_segment(b"".join(batch), True, compressed))
    return b"".join(out)


class SegmentDecoder:
    """Incremental segment decoder; ``feed`` returns envelope-bearing payloads (see module doc).

    On error, ``err.frames`` holds the payloads (bytes) completed before it in the same call.
    """

    __slots__ = ("compressed", "max_envelope_bytes", "_header_size", "_buf", "_large",
                 "_large_total", "_discard", "_failed")

    def __init__(self, compressed: bool, max_envelope_bytes: int = MAX_FRAME_BYTES) -> None:
        self.compressed = compressed
        self.max_envelope_bytes = max_envelope_bytes
        self._header_size = COMPRESSED_HEADER_SIZE if compressed else UNCOMPRESSED_HEADER_SIZE
        self._buf = bytearray()
        self._large: bytearray | None = None
        self._large_total = 0
        self._discard = 0
        self._failed = False

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview = b"") -> list[bytes]:
        if self._failed:
            raise ProtocolError("The connection's byte stream is unusable after a fatal protocol error")
        if data:
            self._buf += data
        out: list[bytes] = []
        if not self._buf:
            return out
        try:
            self._parse(out)
        except ProtocolError as err:
            err.frames = out
            if err.fatal:
                self._failed = True
                self._buf.clear()
            raise
        return out

    def _parse(self, out: list[bytes]) -> None:
        buf = self._buf
        n = len(buf)
        hsize = self._header_size
        compressed = self.compressed
        unpack = _COMPRESSED_HEADER.unpack_from if compressed else _UNCOMPRESSED_HEADER.unpack_from
        t0, t1, t2 = _CRC24_BY_POSITION[3]
        append = out.append
        # Payloads are sliced from one bytes copy of the buffer, made at the first complete
        # segment: a bytes object cannot be resized under a view, so nothing is exported from
        # `buf`, and a slice of bytes is one copy where a memoryview's slice and tobytes()
        # were two objects. Headers are read from `buf` itself, so a large segment arriving
        # in pieces is not copied at each piece.
        data = None
        pos = 0
        try:
            while n - pos >= hsize:
                low, high, crc_low, crc_high = unpack(buf, pos)
                expected = crc_low | crc_high << 16
                if compressed:
                    fields = low | high << 32
                    actual = crc24_of_fields(fields, 5)
                    uncompressed = (fields >> 17) & _LENGTH_MASK
                    self_contained = fields >> 34 & 1
                else:
                    fields = low | high << 16
                    actual = t0[low & 0xFF] ^ t1[low >> 8] ^ t2[high]
                    uncompressed = 0
                    self_contained = high >> 1 & 1
                if actual != expected:
                    raise ChecksumError(
                        f"Segment header CRC24 mismatch: read {expected:#08x}, computed {actual:#08x}")
                end = pos + hsize + (fields & _LENGTH_MASK)
                if end + TRAILER_SIZE > n:
                    return
                if data is None:
                    data = bytes(buf)
                payload = data[pos + hsize:end]
                (expected,) = _U32LE.unpack_from(data, end)
                actual = _zlib_crc32(payload, CRC32_SEED)
                if actual != expected:
                    raise ChecksumError(
                        f"Segment payload CRC32 mismatch: read {expected:#010x}, computed {actual:#010x}")
                if uncompressed:
                    payload = lz4_decompress_block(payload, uncompressed, uncompressed)
                pos = end + TRAILER_SIZE
                if self_contained and self._large is None and not self._discard:
                    if payload:  # the usual segment: whole envelopes, nothing large pending
                        append(payload)
                else:
                    self._accept(payload, bool(self_contained), out)
        finally:
            if pos:
                del buf[:pos]

    def _accept(self, payload: bytes, self_contained: bool, out: list[bytes]) -> None:
        if self._discard:
            if self_contained:
                raise ProtocolError("Self-contained segment inside a skipped multi-segment envelope")
            self._discard -= len(payload)
            if self._discard < 0:
                raise ProtocolError("Multi-segment envelope has more bytes than its header announces")
            return
        if self_contained:
            if self._large is not None:
                raise ProtocolError("Self-contained segment while a multi-segment envelope is incomplete")
            if payload:
                out.append(payload)
            return
        large = self._large
        if large is None:
            large = self._large = bytearray()
        large += payload
        if not self._large_total and len(large) >= HEADER_SIZE:
            self._start_large(large)
        total = self._large_total
        if total and len(large) >= total:
            if len(large) > total:
                raise ProtocolError("Multi-segment envelope has more bytes than its header announces")
            out.append(bytes(large))
            self._large = None
            self._large_total = 0

    def _start_large(self, large: bytearray) -> None:
        stream, _, length = _ENVELOPE_STREAM_LENGTH.unpack_from(large, 2)
        if length < 0:
            raise ProtocolError(f"Invalid value for envelope header body length field: {length}",
                                stream=stream)
        total = HEADER_SIZE + length
        if total > self.max_envelope_bytes:
            self._large = None
            self._discard = total - len(large)
            if self._discard < 0:
                raise ProtocolError("Multi-segment envelope has more bytes than its header announces")
            raise FrameTooLargeError(
                f"Request is too big: length {total} exceeds maximum allowed length "
                f"{self.max_envelope_bytes}.", stream=stream)
        self._large_total = total
