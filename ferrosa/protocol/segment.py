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
(zlib's, computed by ferrosa.checksum) whose state is first fed the four bytes FA 2D 55 CA
(Cassandra's Crc.crc32()).
A header's CRC24 covers a fixed number of bytes (3, or 5 compressed), and a CRC over a fixed
length is affine in its input bits: the CRC of the whole is the XOR of the CRCs of each byte
alone at its position (with the register's start folded into the first). So headers are
checked by one lookup per byte in tables built at import (``crc24_of_fields``), not by the
bit-serial loop, which stays as the definition (``crc24``) the tables are built from.

A payload's CRC32 is checked by its residue: the CRC of the payload followed by its own CRC
(little-endian, as the trailer carries it) is the constant CRC32_RESIDUE exactly when the
trailer is right, so one call over payload and trailer checks both, without reading the trailer.

A self-contained segment carries one or more complete envelopes. An envelope larger than a
segment's payload (128 KiB - 1) is cut into consecutive non-self-contained segments; the first
one starts with the envelope header, whose length tells the receiver when it is complete.
``SegmentDecoder.feed`` returns payloads: each self-contained payload as is (possibly several
envelopes) and each reassembled large envelope once its last segment arrived. Given the
``EnvelopeRules`` of the frame decoder that reads them, it takes the usual envelopes itself,
from the segment where it lies (a server's every request): an envelope whose header passes
those rules' quick test becomes a ``Frame`` at once, without a payload, a queue and a second
loop over them; the first that does not, the rest of its payload and every later payload are
returned as payloads, in order, for the frame decoder to read by its full rules.

A CRC mismatch is fatal (``ChecksumError``). A large envelope over ``max_envelope_bytes`` raises
the non-fatal ``FrameTooLargeError``; its remaining segments are then skipped.

This module must NOT parse envelope bodies (it reads envelope headers by the rules it is
given, no more) or perform I/O.
"""

from __future__ import annotations

import struct

from ferrosa.checksum import crc32 as _crc32
from ferrosa.protocol.compression import (
    MIN_COMPRESSED_BYTES,
    lz4_compress_block,
    lz4_decompress_block,
)
from ferrosa.protocol.errors import ChecksumError, FrameTooLargeError, ProtocolError
from ferrosa.protocol.frame import (
    HEADER,
    HEADER_SIZE,
    MAX_FRAME_BYTES,
    EnvelopeRules,
    Frame,
)

# 17-bit length fields: a payload holds at most 2**17 - 1 bytes (Cassandra's FrameEncoderLZ4
# rejects uncompressed payloads >= 1 << 17; the python driver's Segment.MAX_PAYLOAD_LENGTH).
MAX_SEGMENT_PAYLOAD = 128 * 1024 - 1
UNCOMPRESSED_HEADER_SIZE = 6  # 3 bytes of fields + CRC24
COMPRESSED_HEADER_SIZE = 8  # 5 bytes of fields + CRC24
TRAILER_SIZE = 4  # CRC32

CRC24_INIT = 0x875060
CRC24_POLY = 0x1974F0B
CRC32_SEED_BYTES = b"\xfa\x2d\x55\xca"
CRC32_SEED = _crc32(CRC32_SEED_BYTES)
# zlib's CRC32 of any bytes followed by their CRC32 in little-endian (module docstring).
CRC32_RESIDUE = 0x2144DF1C

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
    return _crc32(data, CRC32_SEED)


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
    return b"".join((header.to_bytes(field_bytes + 3, "little"), body,
                     _U32LE.pack(_crc32(body, CRC32_SEED))))


def encode_segments(frames: bytes | bytearray | memoryview | list[bytes], compressed: bool) -> bytes:
    """Pack encoded envelopes into segments.

    ``frames`` is ONE envelope (bytes) or a list of envelopes. Consecutive small envelopes share a
    self-contained segment; an envelope over ``MAX_SEGMENT_PAYLOAD`` gets its own run of
    non-self-contained segments.
    """
    if isinstance(frames, (bytes, bytearray, memoryview)):
        frames = [frames]
    if sum(map(len, frames)) <= MAX_SEGMENT_PAYLOAD:  # the usual pass's responses: one segment
        return encode_segment(b"".join(frames), True, compressed)
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


def _payload_checksum_error(payload: bytes, data: bytes, end: int) -> ChecksumError:
    """The error of a payload whose trailer's CRC32 does not match, with both values."""
    (expected,) = _U32LE.unpack_from(data, end)
    return ChecksumError(f"Segment payload CRC32 mismatch: read {expected:#010x}, "
                         f"computed {crc32(payload):#010x}")


# The rules of a feed that takes no envelope itself: every payload is returned.
_NO_RULES = EnvelopeRules(frozenset(), 0)


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

    def feed(self, data: bytes | bytearray | memoryview = b"", frames: list[Frame] | None = None,
             rules: EnvelopeRules | None = None) -> list[bytes]:
        """The payloads completed by `data`. With `frames` and `rules`, the usual envelopes of
        self-contained segments are appended to `frames` instead, and only what follows the
        first envelope the rules' quick test refuses is returned (module docstring)."""
        if self._failed:
            raise ProtocolError("The connection's byte stream is unusable after a fatal protocol error")
        if data:
            self._buf += data
        out: list[bytes] = []
        if not self._buf:
            return out
        try:
            self._parse(out, frames if rules is not None else None, rules or _NO_RULES)
        except ProtocolError as err:
            err.frames = out
            if err.fatal:
                self._failed = True
                self._buf.clear()
            raise
        return out

    def _parse(self, out: list[bytes], frames: list[Frame] | None, rules: EnvelopeRules) -> None:
        buf = self._buf
        n = len(buf)
        hsize = self._header_size
        compressed = self.compressed
        unpack = _COMPRESSED_HEADER.unpack_from if compressed else _UNCOMPRESSED_HEADER.unpack_from
        t0, t1, t2 = _CRC24_BY_POSITION[3]
        envelope = HEADER.unpack_from
        fast, limit = rules
        # Payloads and envelope bodies are sliced from one bytes copy of the buffer, made at
        # the first complete segment: a bytes object cannot be resized under a view, so nothing
        # is exported from `buf`, and a slice of bytes is one copy where a memoryview's slice
        # and tobytes() were two objects. Headers are read from `buf` itself, so a large
        # segment arriving in pieces is not copied at each piece.
        data = b""
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
                start = pos + hsize
                end = start + (fields & _LENGTH_MASK)
                if end + TRAILER_SIZE > n:
                    return
                if not data:
                    data = bytes(buf)
                if _crc32(data[start:end + TRAILER_SIZE], CRC32_SEED) != CRC32_RESIDUE:
                    raise _payload_checksum_error(data[start:end], data, end)
                pos = end + TRAILER_SIZE
                source = data
                if uncompressed:
                    source = lz4_decompress_block(data[start:end], uncompressed, uncompressed)
                    start, end = 0, uncompressed
                if not self_contained or self._large is not None or self._discard:
                    self._accept(source[start:end], bool(self_contained), out)
                    frames = None  # what comes after keeps its place behind the payloads
                    continue
                if frames is not None:
                    while end - start >= HEADER_SIZE:
                        first, flags, stream, opcode, length = envelope(source, start)
                        stop = start + HEADER_SIZE + length
                        if not ((first << 8) | opcode in fast and length >= 0
                                and stop - start <= limit and stop <= end):
                            break
                        frames.append(Frame(first & 0x7F, flags, stream, opcode,
                                            source[start + HEADER_SIZE:stop]))
                        start = stop
                    if start == end:
                        continue
                    frames = None  # the rest goes by the full rules, and the payloads after it
                if start != end:  # an empty self-contained payload carries nothing
                    out.append(source[start:end])
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
