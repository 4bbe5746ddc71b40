"""Readers and writers for the notations of the native protocol spec (section 3): [int] [long]
[byte] [short] [string] [long string] [uuid] [string list] [bytes] [value] [short bytes]
[unsigned vint] [vint] [option] [option list] [inet] [inetaddr] [consistency] [string map]
[string multimap] [bytes map].

``Reader`` is a cursor over a memoryview; every read checks bounds and raises ``ProtocolError``
on truncation, bad UTF-8, negative lengths or unknown codes -- never IndexError, struct.error or
UnicodeDecodeError. Writers append to a ``bytearray``; misuse on the encoding side (a string too
long for a [string], a value that is not bytes) raises ``ValueError``/``TypeError``.

This module must NOT know about messages or frames, and must NOT interpret CQL values: a column
type [option] is returned as its raw bytes (the type model lives in ``types.py``).
"""

from __future__ import annotations

import ipaddress
import struct
import uuid
from typing import Any

import msgspec

from ferrosa.protocol.constants import Q_VALUES, ConsistencyLevel
from ferrosa.protocol.errors import ProtocolError
from ferrosa.protocol.valueshapes import state_for

BYTE = struct.Struct(">B")
SHORT = struct.Struct(">H")
INT = struct.Struct(">i")
UINT = struct.Struct(">I")
LONG = struct.Struct(">q")
_INT_LONG = struct.Struct(">iq")
# <query_parameters>' <consistency> and <flags> (a [byte] before v5, an [int] from v5), then
# the [short] n of values when the flags have VALUES; without it, for parameters that end the
# body (a BATCH's, a QUERY's without values).
_QUERY_HEAD_V4 = struct.Struct(">HBH")
_QUERY_HEAD_V5 = struct.Struct(">HIH")
_SHORT_QUERY_HEAD_V4 = struct.Struct(">HB")
_SHORT_QUERY_HEAD_V5 = struct.Struct(">HI")
_COUNT_SIZE = SHORT.size

pack_byte = BYTE.pack
pack_short = SHORT.pack
pack_int = INT.pack
pack_uint = UINT.pack
pack_long = LONG.pack

# A [value] of length -2: "not set", leave the bound column unchanged (v4+). msgspec's own
# sentinel is reused so the marker survives being placed in msgspec Structs.
UNSET: Any = msgspec.UNSET

NULL_VALUE = pack_int(-1)
UNSET_VALUE = pack_int(-2)

# [short]-prefixed items cannot be longer than this.
MAX_SHORT = 0xFFFF
# Nesting limit for type [option]s (list<map<int, frozen<tuple<...>>>>). Cassandra has none, but
# real schemas nest a handful of levels; 64 keeps recursion bounded against hostile input.
MAX_TYPE_NESTING = 64

# Type [option] ids (spec 4.2.5.2). 0x000A was v1's "text"; Cassandra still knows it.
TYPE_CUSTOM = 0x0000
TYPE_LIST = 0x0020
TYPE_MAP = 0x0021
TYPE_SET = 0x0022
TYPE_UDT = 0x0030
TYPE_TUPLE = 0x0031
_NATIVE_TYPE_IDS = frozenset(range(0x0001, 0x0016))

_CONSISTENCY_BY_CODE: dict[int, ConsistencyLevel] = {int(cl): cl for cl in ConsistencyLevel}
_EMPTY: list[Any] = []


def _truncated(what: str) -> ProtocolError:
    return ProtocolError(f"Not enough bytes to read {what}")


class Reader:
    """Bounds-checked cursor over a protocol body. ``pos`` is public so callers can slice."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        # Bytes, not a memoryview over them: a slice of bytes is the value itself, where a
        # memoryview makes a view and then a copy (a tenth of an EXECUTE's decoding).
        self.buf = data if type(data) is bytes else bytes(data)
        self.pos = pos
        self.end = len(self.buf)

    def remaining(self) -> int:
        return self.end - self.pos

    def _take(self, n: int, what: str) -> int:
        """Reserve ``n`` bytes and return their start offset."""
        pos = self.pos
        if n < 0 or pos + n > self.end:
            raise _truncated(what)
        self.pos = pos + n
        return pos

    def skip(self, n: int) -> None:
        self._take(n, f"{n} bytes")

    def read_raw(self, n: int) -> bytes:
        pos = self._take(n, f"{n} bytes")
        return self.buf[pos:pos + n]

    def read_byte(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise _truncated("a [byte]")
        self.pos = pos + 1
        return self.buf[pos]

    def read_short(self) -> int:
        pos = self.pos
        try:
            (v,) = SHORT.unpack_from(self.buf, pos)
        except struct.error:
            raise _truncated("a [short]") from None
        self.pos = pos + 2
        return v

    def read_int(self) -> int:
        pos = self.pos
        try:
            (v,) = INT.unpack_from(self.buf, pos)
        except struct.error:
            raise _truncated("an [int]") from None
        self.pos = pos + 4
        return v

    def read_uint(self) -> int:
        pos = self.pos
        try:
            (v,) = UINT.unpack_from(self.buf, pos)
        except struct.error:
            raise _truncated("an [int]") from None
        self.pos = pos + 4
        return v

    def read_long(self) -> int:
        pos = self.pos
        try:
            (v,) = LONG.unpack_from(self.buf, pos)
        except struct.error:
            raise _truncated("a [long]") from None
        self.pos = pos + 8
        return v

    def read_int_and_long(self) -> tuple[int, int]:
        """An [int] then a [long], in one unpack; with too few bytes, the error of the field
        that is short."""
        pos = self.pos
        try:
            pair = _INT_LONG.unpack_from(self.buf, pos)
        except struct.error:
            return self.read_int(), self.read_long()
        self.pos = pos + _INT_LONG.size
        return pair

    def read_uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.read_raw(16))

    def _prefixed(self, prefix: struct.Struct, what: str) -> tuple[int, int]:
        """(start, stop) of a length-prefixed item; advances past it."""
        pos = self.pos
        try:
            (n,) = prefix.unpack_from(self.buf, pos)
        except struct.error:
            raise _truncated(what) from None
        start = pos + prefix.size
        stop = start + n
        if n < 0:
            raise ProtocolError(f"Negative length {n} for {what}")
        if stop > self.end:
            raise _truncated(what)
        self.pos = stop
        return start, stop

    def read_string(self) -> str:
        start, stop = self._prefixed(SHORT, "a [string]")
        try:
            return str(self.buf[start:stop], "utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"Invalid UTF-8 in a [string]: {exc.reason}") from None

    def read_long_string(self) -> str:
        start, stop = self._prefixed(INT, "a [long string]")
        try:
            return str(self.buf[start:stop], "utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"Invalid UTF-8 in a [long string]: {exc.reason}") from None

    def read_string_list(self) -> list[str]:
        read = self.read_string
        return [read() for _ in range(self.read_short())]

    def read_bytes(self) -> bytes | None:
        n = self.read_int()
        if n < 0:
            return None
        pos = self._take(n, "[bytes]")
        return self.buf[pos:pos + n]

    def read_value(self, allow_unset: bool = True) -> Any:
        """A [value]: bytes, ``None`` for null (-1) or ``UNSET`` for not-set (-2, v4+)."""
        n = self.read_int()
        if n >= 0:
            pos = self._take(n, "a [value]")
            return self.buf[pos:pos + n]
        if n == -1:
            return None
        if n == -2 and allow_unset:
            return UNSET
        if n == -2:
            raise ProtocolError("Unset values are not supported before protocol version 4")
        raise ProtocolError(f"Invalid [value] length {n}")

    def read_values(self, count: int, allow_unset: bool = True) -> list[Any]:
        """``count`` consecutive [value]s (the bound variables of QUERY/EXECUTE/BATCH): in one
        unpack when they have the layout last seen for ``count`` values (valueshapes)."""
        state = state_for(count)
        if state is None:
            return self._read_values(count, allow_unset)
        if state.skip:
            state.skip -= 1
            return self._read_values(count, allow_unset)
        shape = state.shape
        if shape is not None:
            pos = self.pos
            if pos + shape.size <= self.end:
                t = shape.unpack(self.buf, pos)
                if t[::2] == shape.expected:
                    self.pos = pos + shape.size
                    state.backoff = 0
                    return list(t[1::2])
        values = self._read_values(count, allow_unset)
        state.read_by_loop(values, missed=shape is not None)
        return values

    def _read_values(self, count: int, allow_unset: bool) -> list[Any]:
        buf, end, unpack = self.buf, self.end, INT.unpack_from
        pos = self.pos
        out: list[Any] = []
        append = out.append
        for _ in range(count):
            if pos + 4 > end:
                raise _truncated("a [value]")
            (n,) = unpack(buf, pos)
            pos += 4
            if n >= 0:
                stop = pos + n
                if stop > end:
                    raise _truncated("a [value]")
                append(buf[pos:stop])
                pos = stop
            elif n == -1:
                append(None)
            else:
                self.pos = pos - 4
                append(self.read_value(allow_unset))
                pos = self.pos
        self.pos = pos
        return out

    def read_named_values(self, count: int, allow_unset: bool = True) -> tuple[list[str], list[Any]]:
        names: list[str] = []
        values: list[Any] = []
        for _ in range(count):
            names.append(self.read_string())
            values.append(self.read_value(allow_unset))
        return names, values

    def read_short_bytes(self) -> bytes:
        # _prefixed's work, without its call: an [unsigned short] length cannot be negative.
        # (Every EXECUTE starts with one: its query id.)
        pos = self.pos
        try:
            (n,) = SHORT.unpack_from(self.buf, pos)
        except struct.error:
            raise _truncated("[short bytes]") from None
        stop = pos + 2 + n
        if stop > self.end:
            raise _truncated("[short bytes]")
        self.pos = stop
        return self.buf[pos + 2:stop]

    def read_unsigned_vint(self) -> int:
        first = self.read_byte()
        extra = 8 - ((~first) & 0xFF).bit_length()
        value = first & (0xFF >> extra)
        if extra:
            pos = self._take(extra, "an [unsigned vint]")
            value = (value << (8 * extra)) | int.from_bytes(self.buf[pos:pos + extra], "big")
        return value

    def read_vint(self) -> int:
        n = self.read_unsigned_vint()
        return (n >> 1) ^ -(n & 1)

    def read_option(self) -> bytes:
        """A type [option] (the only kind the spec defines), returned as its raw encoded bytes."""
        start = self.pos
        self._skip_type_option(0)
        return self.buf[start:self.pos]

    read_type_option = read_option

    def read_option_list(self) -> list[bytes]:
        return [self.read_option() for _ in range(self.read_short())]

    def _skip_type_option(self, depth: int) -> None:
        if depth > MAX_TYPE_NESTING:
            raise ProtocolError(f"Type options nested deeper than {MAX_TYPE_NESTING} levels")
        type_id = self.read_short()
        if type_id in _NATIVE_TYPE_IDS:
            return
        if type_id == TYPE_CUSTOM:
            self.read_string()
        elif type_id == TYPE_LIST or type_id == TYPE_SET:
            self._skip_type_option(depth + 1)
        elif type_id == TYPE_MAP:
            self._skip_type_option(depth + 1)
            self._skip_type_option(depth + 1)
        elif type_id == TYPE_UDT:
            self.read_string()
            self.read_string()
            for _ in range(self.read_short()):
                self.read_string()
                self._skip_type_option(depth + 1)
        elif type_id == TYPE_TUPLE:
            for _ in range(self.read_short()):
                self._skip_type_option(depth + 1)
        else:
            raise ProtocolError(f"Unknown type option id 0x{type_id:04x}")

    def read_inetaddr(self) -> str:
        size = self.read_byte()
        if size != 4 and size != 16:
            raise ProtocolError(f"Invalid [inetaddr] size {size} (must be 4 or 16)")
        return str(ipaddress.ip_address(self.read_raw(size)))

    def read_inet(self) -> tuple[str, int]:
        address = self.read_inetaddr()
        return address, self.read_int()

    def read_consistency(self) -> ConsistencyLevel:
        code = self.read_short()
        try:
            return _CONSISTENCY_BY_CODE[code]
        except KeyError:
            raise ProtocolError(f"Unknown code {code} for a consistency level") from None

    def read_query_head(self, version: int) -> tuple[ConsistencyLevel, int, int]:
        """The <consistency> and <flags> that open QUERY's, EXECUTE's and BATCH's parameters,
        and the number of values that follows when the flags have VALUES (else 0), in one
        unpack (four calls fewer per request). A body too short for them, or an unknown
        consistency, takes the field by field reads, which raise the errors that name what is
        wrong. (Sizes are checked, not caught: an exception costs more than the reads.)"""
        head = _QUERY_HEAD_V5 if version >= 5 else _QUERY_HEAD_V4
        pos = self.pos
        if pos + head.size <= self.end:
            code, flags, count = head.unpack_from(self.buf, pos)
            if not flags & Q_VALUES:
                count = 0
                pos -= _COUNT_SIZE
        else:  # parameters that end the body: no values
            head = _SHORT_QUERY_HEAD_V5 if version >= 5 else _SHORT_QUERY_HEAD_V4
            if pos + head.size > self.end:
                return self._query_head_by_field(version)
            code, flags = head.unpack_from(self.buf, pos)
            if flags & Q_VALUES:
                return self._query_head_by_field(version)
            count = 0
        consistency = _CONSISTENCY_BY_CODE.get(code)
        if consistency is None:
            return self._query_head_by_field(version)
        self.pos = pos + head.size
        return consistency, flags, count

    def _query_head_by_field(self, version: int) -> tuple[ConsistencyLevel, int, int]:
        consistency = self.read_consistency()
        flags = self.read_uint() if version >= 5 else self.read_byte()
        return consistency, flags, self.read_short() if flags & Q_VALUES else 0

    def read_string_map(self) -> dict[str, str]:
        read = self.read_string
        out: dict[str, str] = {}
        for _ in range(self.read_short()):
            key = read()
            out[key] = read()
        return out

    def read_string_multimap(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for _ in range(self.read_short()):
            key = self.read_string()
            out[key] = self.read_string_list()
        return out

    def read_bytes_map(self) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for _ in range(self.read_short()):
            key = self.read_string()
            out[key] = self.read_bytes()
        return out


# --- writers: append to a bytearray -------------------------------------------------------------


def write_byte(out: bytearray, v: int) -> None:
    out += BYTE.pack(v)


def write_short(out: bytearray, v: int) -> None:
    out += SHORT.pack(v)


def write_int(out: bytearray, v: int) -> None:
    out += INT.pack(v)


def write_uint(out: bytearray, v: int) -> None:
    out += UINT.pack(v)


def write_long(out: bytearray, v: int) -> None:
    out += LONG.pack(v)


def write_uuid(out: bytearray, v: uuid.UUID | bytes) -> None:
    raw = v.bytes if isinstance(v, uuid.UUID) else bytes(v)
    if len(raw) != 16:
        raise ValueError(f"a [uuid] is 16 bytes, got {len(raw)}")
    out += raw


def string_bytes(s: str) -> bytes:
    """The encoded form of a [string]."""
    raw = s.encode("utf-8")
    if len(raw) > MAX_SHORT:
        raise ValueError(f"string of {len(raw)} bytes does not fit a [string]")
    return SHORT.pack(len(raw)) + raw


def write_string(out: bytearray, s: str) -> None:
    raw = s.encode("utf-8")
    if len(raw) > MAX_SHORT:
        raise ValueError(f"string of {len(raw)} bytes does not fit a [string]")
    out += SHORT.pack(len(raw))
    out += raw


def write_long_string(out: bytearray, s: str) -> None:
    raw = s.encode("utf-8")
    out += INT.pack(len(raw))
    out += raw


def write_string_list(out: bytearray, items: list[str] | tuple[str, ...]) -> None:
    if len(items) > MAX_SHORT:
        raise ValueError(f"{len(items)} strings do not fit a [string list]")
    out += SHORT.pack(len(items))
    for s in items:
        write_string(out, s)


def bytes_value(v: bytes | bytearray | memoryview | None) -> bytes:
    """The encoded form of a [bytes] (null for ``None``); rows are concatenations of these."""
    if v is None:
        return NULL_VALUE
    return INT.pack(len(v)) + bytes(v)


def write_bytes(out: bytearray, v: bytes | bytearray | memoryview | None) -> None:
    if v is None:
        out += NULL_VALUE
    else:
        out += INT.pack(len(v))
        out += v


def write_value(out: bytearray, v: Any) -> None:
    """A [value]: bytes, ``None`` (null) or ``UNSET`` (not set)."""
    if v is None:
        out += NULL_VALUE
    elif v is UNSET:
        out += UNSET_VALUE
    else:
        out += INT.pack(len(v))
        out += v


def write_short_bytes(out: bytearray, v: bytes) -> None:
    if len(v) > MAX_SHORT:
        raise ValueError(f"{len(v)} bytes do not fit [short bytes]")
    out += SHORT.pack(len(v))
    out += v


def unsigned_vint_bytes(v: int) -> bytes:
    if v < 0 or v >= 1 << 64:
        raise ValueError(f"{v} is out of range for an [unsigned vint]")
    bits = v.bit_length() or 1
    if bits > 56:
        return b"\xff" + v.to_bytes(8, "big")
    size = (bits + 6) // 7
    raw = bytearray(v.to_bytes(size, "big"))
    raw[0] |= (0xFF << (9 - size)) & 0xFF
    return bytes(raw)


def write_unsigned_vint(out: bytearray, v: int) -> None:
    out += unsigned_vint_bytes(v)


def write_vint(out: bytearray, v: int) -> None:
    if v < -(1 << 63) or v >= 1 << 63:
        raise ValueError(f"{v} is out of range for a [vint]")
    out += unsigned_vint_bytes(((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF)


def write_option(out: bytearray, raw_option: bytes) -> None:
    """Append an already encoded [option] (the type model produces these)."""
    out += raw_option


def write_option_list(out: bytearray, options: list[bytes]) -> None:
    out += SHORT.pack(len(options))
    for raw in options:
        out += raw


def write_inetaddr(out: bytearray, address: str) -> None:
    raw = ipaddress.ip_address(address).packed
    out += BYTE.pack(len(raw))
    out += raw


def write_inet(out: bytearray, address: str, port: int) -> None:
    write_inetaddr(out, address)
    out += INT.pack(port)


def write_consistency(out: bytearray, cl: int) -> None:
    out += SHORT.pack(cl)


def write_string_map(out: bytearray, m: dict[str, str]) -> None:
    out += SHORT.pack(len(m))
    for k, v in m.items():
        write_string(out, k)
        write_string(out, v)


def write_string_multimap(out: bytearray, m: dict[str, list[str]]) -> None:
    out += SHORT.pack(len(m))
    for k, v in m.items():
        write_string(out, k)
        write_string_list(out, v)


def write_bytes_map(out: bytearray, m: dict[str, bytes | None]) -> None:
    out += SHORT.pack(len(m))
    for k, v in m.items():
        write_string(out, k)
        write_bytes(out, v)
