"""The native-protocol codec of the lean load generator (bench/rawclient.py): request frames for
STARTUP, PREPARE, EXECUTE and BATCH, and replies parsed only as far as a load generator needs
(which stream, ok or the error's text, how many rows).

Theory of operation
-------------------
Protocol v3 and v4 (native_protocol_v4.spec): every message is one frame, a 9-byte header
(version, flags, stream, opcode, body length) and a body, compressed with lz4 or snappy once
STARTUP negotiated it. ``FrameCodec.frame`` builds a request frame; ``FrameCodec.feed`` takes
received bytes and returns the complete reply frames as ``(stream, opcode, body)``, keeping a
partial frame for the next call. ``outcome`` reduces a reply to the rows it returned (an int)
or the error text (a str). A prepared statement's bind types come from its PREPARE result and
choose each value's encoder, so the values are checked against the server's metadata once,
not trusted.

Protocol v5 (native_protocol_v5.spec section 2): after READY every envelope (a v4-style frame,
never compressed itself) travels in a segment: a header of 3 little-endian bytes (payload
length, bit 17 self-contained) or with lz4 5 bytes (compressed length, uncompressed length, bit
34 self-contained; an uncompressed length of 0 means the payload is sent as is), the header's
CRC24, the payload, and the payload's CRC32 (seeded with FA 2D 55 CA). Each request goes in its
own self-contained segment, as the Python driver sends them. Replies' CRCs are checked, and
their payloads joined into one envelope stream (a large reply spans several segments). v5 also
sends a query's flags as an [int] and the result metadata id in EXECUTE.

The codec is apart from ferrosa.protocol on purpose: a generator built on the server's own
codec would share its bugs.

This module must NOT do I/O or import the server's packages.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Callable

import cramjam
import lz4.block

# Protocol versions this codec speaks.
VERSIONS = (3, 4, 5)
SEGMENTED = 5  # the first version that frames envelopes in segments
RESPONSE_BIT = 0x80
# Opcodes (spec section 2.4).
ERROR, STARTUP, READY, AUTHENTICATE = 0x00, 0x01, 0x02, 0x03
RESULT, PREPARE, EXECUTE, BATCH = 0x08, 0x09, 0x0A, 0x0D
# Frame flags (section 2.2).
COMPRESSED, TRACING, CUSTOM_PAYLOAD, WARNING = 0x01, 0x02, 0x04, 0x08
# RESULT kinds (section 4.2.5).
VOID, ROWS, SET_KEYSPACE, PREPARED, SCHEMA_CHANGE = 1, 2, 3, 4, 5
# Rows metadata flags (section 4.2.5.2).
GLOBAL_TABLES_SPEC, HAS_MORE_PAGES, NO_METADATA = 0x0001, 0x0002, 0x0004
# Rows flag of v5 (section 4.2.5.2): a new result metadata id follows the paging state.
METADATA_CHANGED = 0x0008
# Query parameter flags (section 4.1.4).
VALUES, SKIP_METADATA, PAGE_SIZE, DEFAULT_TIMESTAMP = 0x01, 0x02, 0x04, 0x20
UNLOGGED = 1  # batch type
PREPARED_KIND = 1  # a batch member that is a prepared statement
# The driver's default fetch size: reads ask for pages of this many rows, as the driver's do.
PAGE_ROWS = 5000
# Largest body accepted from the server: a reply longer than this is a broken stream, not a
# result (the spec's own limit is 256 MB).
MAX_BODY = 256 * 2**20
CONSISTENCY = {"ANY": 0, "ONE": 1, "TWO": 2, "THREE": 3, "QUORUM": 4, "ALL": 5,
               "LOCAL_QUORUM": 6, "EACH_QUORUM": 7, "SERIAL": 8, "LOCAL_SERIAL": 9,
               "LOCAL_ONE": 10}

HEADER = struct.Struct(">BBhBi")
_INT = struct.Struct(">i")
_SHORT = struct.Struct(">H")
_TWO_INTS = struct.Struct(">ii")
_LONG = struct.Struct(">q")
_NULL = _INT.pack(-1)
# What a damaged compressed body or prefix raises while being unwrapped.
_BAD_BODY = (struct.error, ValueError, lz4.block.LZ4BlockError, cramjam.DecompressionError)


class RawProtocolError(Exception):
    """The server's bytes do not follow the protocol, or a request cannot be encoded."""


# --- compression (section 5) ------------------------------------------------------------------

def _lz4_compress(body: bytes) -> bytes:
    return _INT.pack(len(body)) + lz4.block.compress(body, store_size=False)


def _lz4_decompress(body: bytes) -> bytes:
    (size,) = _INT.unpack_from(body)
    return lz4.block.decompress(body[4:], uncompressed_size=size) if size else b""


COMPRESSORS: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
    "lz4": (_lz4_compress, _lz4_decompress),
    "snappy": (lambda b: bytes(cramjam.snappy.compress_raw(b)),
               lambda b: bytes(cramjam.snappy.decompress_raw(b))),
}


# --- v5 segments (native_protocol_v5.spec section 2) -------------------------------------------

# Payload lengths are 17-bit fields.
MAX_SEGMENT_PAYLOAD = (1 << 17) - 1
_LENGTH_MASK = MAX_SEGMENT_PAYLOAD
_CRC24_INIT, _CRC24_POLY = 0x875060, 0x1974F0B
_CRC32_SEED = zlib.crc32(b"\xfa\x2d\x55\xca")
_U32LE = struct.Struct("<I")


def _crc24_byte_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc = (crc << 1) ^ (_CRC24_POLY if crc & 0x800000 else 0)
        table.append(crc & 0xFFFFFF)
    return tuple(table)


_CRC24_BYTE = _crc24_byte_table()


def crc24(data: bytes) -> int:
    """The CRC24 of a segment header's fields: register 0x875060, polynomial 0x1974F0B."""
    crc = _CRC24_INIT
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC24_BYTE[(crc >> 16) ^ byte]
    return crc


def segment(payload: bytes, compress: bool) -> bytes:
    """One self-contained segment holding ``payload`` (at most MAX_SEGMENT_PAYLOAD bytes)."""
    if len(payload) > MAX_SEGMENT_PAYLOAD:
        raise RawProtocolError(f"a request of {len(payload)} bytes needs several segments, "
                               "which the raw generator does not send")
    if compress:
        packed = lz4.block.compress(payload, store_size=False)
        if len(packed) < len(payload):
            fields, body = len(packed) | len(payload) << 17 | 1 << 34, packed
        else:
            fields, body = len(payload) | 1 << 34, payload
        head = fields.to_bytes(5, "little")
    else:
        body, head = payload, (len(payload) | 1 << 17).to_bytes(3, "little")
    return b"".join((head, crc24(head).to_bytes(3, "little"), body,
                     _U32LE.pack(zlib.crc32(body, _CRC32_SEED))))


def segment_payloads(buf: bytes, compressed: bool) -> tuple[bytes, int]:
    """The payloads of the whole segments at the start of ``buf``, joined, and the bytes they
    took; raises RawProtocolError on a CRC mismatch or an undecodable payload."""
    fields_size = 5 if compressed else 3
    header_size = fields_size + 3
    payloads = []
    pos, end = 0, len(buf)
    while end - pos >= header_size:
        head = buf[pos:pos + fields_size]
        if crc24(head) != int.from_bytes(buf[pos + fields_size:pos + header_size], "little"):
            raise RawProtocolError("a reply segment's header CRC24 does not match")
        fields = int.from_bytes(head, "little")
        length = fields & _LENGTH_MASK
        stop = pos + header_size + length
        if end - stop < 4:
            break
        body = buf[pos + header_size:stop]
        if zlib.crc32(body, _CRC32_SEED) != _U32LE.unpack_from(buf, stop)[0]:
            raise RawProtocolError("a reply segment's payload CRC32 does not match")
        size = fields >> 17 & _LENGTH_MASK if compressed else 0
        if size:
            try:
                body = lz4.block.decompress(body, uncompressed_size=size)
            except lz4.block.LZ4BlockError as exc:
                raise RawProtocolError(f"a reply segment does not decompress: {exc}") from None
        payloads.append(body)
        pos = stop + 4
    return b"".join(payloads), pos


# --- values ([value] of section 3, by the bind marker's type option) --------------------------

def _blob(v: Any) -> bytes:
    return _INT.pack(len(v)) + v


def _text(v: Any) -> bytes:
    return _blob(v.encode())


_BIGINT_VALUE = struct.Struct(">iq")
ENCODERS: dict[int, Callable[[Any], bytes]] = {
    0x0001: _text,  # ascii
    0x0002: lambda v: _BIGINT_VALUE.pack(8, v),  # bigint
    0x0003: _blob,  # blob
    0x0009: lambda v: _TWO_INTS.pack(4, v),  # int: its length, then its value
    0x000D: _text,  # varchar
}


class Prepared:
    """A prepared statement: its id and one value encoder per bind marker."""

    __slots__ = ("query", "id_part", "execute_id", "flags", "encoders", "returns_rows")

    def __init__(self, query: str, query_id: bytes, types: list[int], returns_rows: bool,
                 version: int = 4, metadata_id: bytes = b"") -> None:
        unknown = [t for t in types if t not in ENCODERS]
        if unknown:
            raise RawProtocolError(f"the raw generator cannot bind type option 0x{unknown[0]:04x} "
                                   f"of {query!r}")
        self.query = query
        self.id_part = _SHORT.pack(len(query_id)) + query_id
        # What an EXECUTE names the statement by: v5 adds the result metadata id.
        self.execute_id = self.id_part + (_SHORT.pack(len(metadata_id)) + metadata_id
                                          if version >= SEGMENTED else b"")
        # Query and batch flags: a [byte] before v5, an [int] from v5.
        self.flags: Callable[[int], bytes] = (_INT.pack if version >= SEGMENTED
                                              else lambda flags: bytes((flags,)))
        self.encoders = [ENCODERS[t] for t in types]
        self.returns_rows = returns_rows

    def values(self, params: tuple | list) -> bytes:
        if len(params) != len(self.encoders):
            raise RawProtocolError(f"{self.query!r} takes {len(self.encoders)} values, "
                                   f"got {len(params)}")
        return _SHORT.pack(len(params)) + b"".join(
            _NULL if v is None else enc(v) for enc, v in zip(self.encoders, params))


def execute_body(stmt: Prepared, params: tuple | list, consistency: int, timestamp: int) -> bytes:
    """EXECUTE with values, a page size and a client timestamp, as the python driver sends it;
    statements that return rows ask to skip the metadata the client already has."""
    flags = VALUES | PAGE_SIZE | DEFAULT_TIMESTAMP | (SKIP_METADATA if stmt.returns_rows else 0)
    return b"".join((stmt.execute_id, _SHORT.pack(consistency), stmt.flags(flags),
                     stmt.values(params), _INT.pack(PAGE_ROWS), _LONG.pack(timestamp)))


def batch_body(stmt: Prepared, rows: list, consistency: int, timestamp: int) -> bytes:
    """An UNLOGGED batch of ``stmt`` once per row of values."""
    parts = [bytes((UNLOGGED,)), _SHORT.pack(len(rows))]
    for row in rows:
        parts += (bytes((PREPARED_KIND,)), stmt.id_part, stmt.values(row))
    parts += (_SHORT.pack(consistency), stmt.flags(DEFAULT_TIMESTAMP), _LONG.pack(timestamp))
    return b"".join(parts)


def string_map(entries: dict[str, str]) -> bytes:
    parts = [_SHORT.pack(len(entries))]
    for key, value in entries.items():
        parts += (_string(key), _string(value))
    return b"".join(parts)


def prepare_body(query: str, version: int) -> bytes:
    """PREPARE of ``query`` (section 4.1.5); v5 adds its [int] flags (none: no keyspace)."""
    return long_string(query) + (_INT.pack(0) if version >= SEGMENTED else b"")


def long_string(text: str) -> bytes:
    raw = text.encode()
    return _INT.pack(len(raw)) + raw


def _string(text: str) -> bytes:
    raw = text.encode()
    return _SHORT.pack(len(raw)) + raw


# --- frames -----------------------------------------------------------------------------------

class FrameCodec:
    """Request frames out, reply frames in, for one connection."""

    def __init__(self, version: int, compression: str = "none") -> None:
        if version not in VERSIONS:
            raise RawProtocolError(f"the raw generator speaks protocol v3, v4 and v5, "
                                   f"not v{version}")
        if compression != "none" and compression not in COMPRESSORS:
            raise RawProtocolError(f"unknown compression {compression!r}")
        if version >= SEGMENTED and compression not in ("none", "lz4"):
            raise RawProtocolError(f"protocol v5 compresses with lz4 only, not {compression}")
        self.version = version
        self.compression = compression
        self._compress: Callable[[bytes], bytes] | None = None
        self._decompress: Callable[[bytes], bytes] | None = None
        self._segments = False  # v5 after READY: envelopes travel in segments
        self._segment_buffer = b""
        self._buffer = b""

    def start_compressing(self) -> None:
        """After READY: every later body is compressed (STARTUP itself never is), or in v5
        every later envelope travels in a segment, compressed if lz4 was negotiated."""
        if self.version >= SEGMENTED:
            self._segments = True
        elif self.compression != "none":
            self._compress, self._decompress = COMPRESSORS[self.compression]

    def frame(self, stream: int, opcode: int, body: bytes) -> bytes:
        flags = 0
        if self._compress is not None:
            body, flags = self._compress(body), COMPRESSED
        envelope = HEADER.pack(self.version, flags, stream, opcode, len(body)) + body
        if self._segments:
            return segment(envelope, self.compression == "lz4")
        return envelope

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        """The complete frames in the bytes so far: (stream, opcode, body without the
        tracing id, warnings and custom payload a response may carry)."""
        if self._segments:
            buf = self._segment_buffer + data if self._segment_buffer else data
            data, taken = segment_payloads(buf, self.compression == "lz4")
            self._segment_buffer = buf[taken:]
        buf = self._buffer + data if self._buffer else data
        out = []
        pos, end = 0, len(buf)
        unpack = HEADER.unpack_from
        while end - pos >= 9:
            version, flags, stream, opcode, length = unpack(buf, pos)
            if version != self.version | RESPONSE_BIT or not 0 <= length <= MAX_BODY:
                raise RawProtocolError(f"bad reply header: version 0x{version:02x}, "
                                       f"body length {length}")
            if end - pos - 9 < length:
                break
            body = buf[pos + 9:pos + 9 + length]
            pos += 9 + length
            if flags:
                try:
                    body = self._unwrap(flags, body)
                except _BAD_BODY as exc:
                    raise RawProtocolError(f"bad reply body (flags 0x{flags:02x}): {exc}") from None
            out.append((stream, opcode, body))
        self._buffer = buf[pos:]
        return out

    def _unwrap(self, flags: int, body: bytes) -> bytes:
        if flags & COMPRESSED:
            if self._decompress is None:
                raise RawProtocolError("a compressed reply on a connection without compression")
            body = self._decompress(body)
        pos = 16 if flags & TRACING else 0
        if flags & WARNING:
            (count,) = _SHORT.unpack_from(body, pos)
            pos += 2
            for _ in range(count):
                pos = _skip_string(body, pos)
        if flags & CUSTOM_PAYLOAD:
            (count,) = _SHORT.unpack_from(body, pos)
            pos += 2
            for _ in range(count):
                pos = _skip_string(body, pos)
                (size,) = _INT.unpack_from(body, pos)
                pos += 4 + max(0, size)
        return body[pos:]


# --- replies ----------------------------------------------------------------------------------

def outcome(opcode: int, body: bytes) -> int | str:
    """Rows returned (0 for results without rows), or the error's text."""
    try:
        if opcode == RESULT:
            kind = _INT.unpack_from(body)[0]
            return _rows_count(body) if kind == ROWS else 0
        if opcode == ERROR:
            code = _INT.unpack_from(body)[0]
            return f"error 0x{code:04x}: {_read_string(body, 4)[0]}"
    except (struct.error, ValueError) as exc:
        raise RawProtocolError(f"malformed reply (opcode 0x{opcode:02x}): {exc}") from None
    raise RawProtocolError(f"unexpected reply opcode 0x{opcode:02x}")


def _rows_count(body: bytes) -> int:
    flags, columns = _TWO_INTS.unpack_from(body, 4)
    pos = 12
    if flags & HAS_MORE_PAGES:
        pos = _skip_bytes(body, pos)
    if flags & METADATA_CHANGED:
        pos = _skip_string(body, pos)  # the new metadata id, a [short bytes]
    if not flags & NO_METADATA:
        pos = _skip_specs(body, pos, flags, columns)
    return _INT.unpack_from(body, pos)[0]


def prepared(query: str, opcode: int, body: bytes, version: int) -> Prepared:
    """The Prepared statement of a PREPARE reply (section 4.2.5.4)."""
    result = outcome(opcode, body)
    if isinstance(result, str):
        raise RawProtocolError(f"PREPARE {query!r}: {result}")
    try:
        if _INT.unpack_from(body)[0] != PREPARED:
            raise RawProtocolError(f"PREPARE {query!r}: not a Prepared result")
        (size,) = _SHORT.unpack_from(body, 4)
        query_id = body[6:6 + size]
        pos = 6 + size
        metadata_id = b""
        if version >= SEGMENTED:
            end = _skip_string(body, pos)  # a [short bytes], laid out as a [string]
            metadata_id, pos = body[pos + 2:end], end
        flags, columns = _TWO_INTS.unpack_from(body, pos)
        pos += 8
        if version >= 4:
            (pk_count,) = _INT.unpack_from(body, pos)
            pos += 4 + 2 * pk_count
        types: list[int] = []
        pos = _skip_specs(body, pos, flags, columns, types)
        result_flags, result_columns = _TWO_INTS.unpack_from(body, pos)
    except struct.error as exc:
        raise RawProtocolError(f"PREPARE {query!r}: malformed result: {exc}") from None
    return Prepared(query, query_id, types, returns_rows=result_columns > 0
                    and not result_flags & NO_METADATA, version=version, metadata_id=metadata_id)


def _skip_specs(body: bytes, pos: int, flags: int, columns: int,
                types: list[int] | None = None) -> int:
    """Past the table spec and column specs; the columns' top-level type ids into ``types``."""
    if flags & GLOBAL_TABLES_SPEC:
        pos = _skip_string(body, _skip_string(body, pos))  # keyspace, table
    for _ in range(columns):
        if not flags & GLOBAL_TABLES_SPEC:
            pos = _skip_string(body, _skip_string(body, pos))
        pos = _skip_string(body, pos)  # the column's name
        if types is not None:
            types.append(_SHORT.unpack_from(body, pos)[0])
        pos = _skip_option(body, pos)
    return pos


def _skip_option(body: bytes, pos: int) -> int:
    (type_id,) = _SHORT.unpack_from(body, pos)
    pos += 2
    if type_id == 0x0000:  # custom: the class name
        return _skip_string(body, pos)
    if type_id in (0x0020, 0x0022):  # list, set
        return _skip_option(body, pos)
    if type_id == 0x0021:  # map
        return _skip_option(body, _skip_option(body, pos))
    if type_id == 0x0030:  # UDT: keyspace, name, then (field name, type) pairs
        pos = _skip_string(body, _skip_string(body, pos))
        (count,) = _SHORT.unpack_from(body, pos)
        pos += 2
        for _ in range(count):
            pos = _skip_option(body, _skip_string(body, pos))
        return pos
    if type_id == 0x0031:  # tuple
        (count,) = _SHORT.unpack_from(body, pos)
        pos += 2
        for _ in range(count):
            pos = _skip_option(body, pos)
        return pos
    return pos


def _skip_string(body: bytes, pos: int) -> int:
    (size,) = _SHORT.unpack_from(body, pos)
    if pos + 2 + size > len(body):
        raise struct.error("string past the end of the body")
    return pos + 2 + size


def _skip_bytes(body: bytes, pos: int) -> int:
    (size,) = _INT.unpack_from(body, pos)
    return pos + 4 + max(0, size)


def _read_string(body: bytes, pos: int) -> tuple[str, int]:
    end = _skip_string(body, pos)
    return body[pos + 2:end].decode(), end
