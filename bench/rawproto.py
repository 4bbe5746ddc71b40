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

v5's segment framing is not spoken: ``FrameCodec`` refuses it by name. The codec is apart from
ferrosa.protocol on purpose: a generator built on the server's own codec would share its bugs.

This module must NOT do I/O or import the server's packages.
"""

from __future__ import annotations

import struct
from typing import Any, Callable

import cramjam
import lz4.block

# Protocol versions this codec speaks.
VERSIONS = (3, 4)
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

    __slots__ = ("query", "id_part", "encoders", "returns_rows")

    def __init__(self, query: str, query_id: bytes, types: list[int], returns_rows: bool) -> None:
        unknown = [t for t in types if t not in ENCODERS]
        if unknown:
            raise RawProtocolError(f"the raw generator cannot bind type option 0x{unknown[0]:04x} "
                                   f"of {query!r}")
        self.query = query
        self.id_part = _SHORT.pack(len(query_id)) + query_id
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
    return b"".join((stmt.id_part, _SHORT.pack(consistency), bytes((flags,)),
                     stmt.values(params), _INT.pack(PAGE_ROWS), _LONG.pack(timestamp)))


def batch_body(stmt: Prepared, rows: list, consistency: int, timestamp: int) -> bytes:
    """An UNLOGGED batch of ``stmt`` once per row of values."""
    parts = [bytes((UNLOGGED,)), _SHORT.pack(len(rows))]
    for row in rows:
        parts += (bytes((PREPARED_KIND,)), stmt.id_part, stmt.values(row))
    parts += (_SHORT.pack(consistency), bytes((DEFAULT_TIMESTAMP,)), _LONG.pack(timestamp))
    return b"".join(parts)


def string_map(entries: dict[str, str]) -> bytes:
    parts = [_SHORT.pack(len(entries))]
    for key, value in entries.items():
        parts += (_string(key), _string(value))
    return b"".join(parts)


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
            raise RawProtocolError(f"the raw generator speaks protocol v3 and v4, not v{version} "
                                   "(v5's segment framing is not implemented)")
        if compression != "none" and compression not in COMPRESSORS:
            raise RawProtocolError(f"unknown compression {compression!r}")
        self.version = version
        self.compression = compression
        self._compress: Callable[[bytes], bytes] | None = None
        self._decompress: Callable[[bytes], bytes] | None = None
        self._buffer = b""

    def start_compressing(self) -> None:
        """After READY: every later body is compressed (STARTUP itself never is)."""
        if self.compression != "none":
            self._compress, self._decompress = COMPRESSORS[self.compression]

    def frame(self, stream: int, opcode: int, body: bytes) -> bytes:
        flags = 0
        if self._compress is not None:
            body, flags = self._compress(body), COMPRESSED
        return HEADER.pack(self.version, flags, stream, opcode, len(body)) + body

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        """The complete frames in the bytes so far: (stream, opcode, body without the
        tracing id, warnings and custom payload a response may carry)."""
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
        flags, columns = _TWO_INTS.unpack_from(body, 6 + size)
        pos = 14 + size
        if version >= 4:
            (pk_count,) = _INT.unpack_from(body, pos)
            pos += 4 + 2 * pk_count
        types: list[int] = []
        pos = _skip_specs(body, pos, flags, columns, types)
        result_flags, result_columns = _TWO_INTS.unpack_from(body, pos)
    except struct.error as exc:
        raise RawProtocolError(f"PREPARE {query!r}: malformed result: {exc}") from None
    return Prepared(query, query_id, types, returns_rows=result_columns > 0
                    and not result_flags & NO_METADATA)


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
