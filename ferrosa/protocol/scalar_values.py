"""Codecs for CQL's native (scalar) types and custom types, plus the shared value primitives.

Holds what every value codec needs: InvalidValue, the EMPTY value, Duration, Cassandra's vints, the
Codec record, and one Codec per native type with Cassandra's validation rules and messages
(TypeSerializer.validate of each type). values.py builds collection, tuple, user-type and vector codecs
on top of these and is the public entry point; see its docstring for the Python representations.

This module must NOT know about frames, schema or storage, and must not do I/O.
"""

from __future__ import annotations

import codecs
import datetime
import decimal
import ipaddress
import math
import struct
import uuid
from typing import Any, Callable

import msgspec

from ferrosa.protocol.types import (
    ASCII, BIGINT, BLOB, BOOLEAN, COUNTER, DATE, DECIMAL, DOUBLE, DURATION, FLOAT, INET, INT,
    SMALLINT, TEXT, TIME, TIMESTAMP, TIMEUUID, TINYINT, UUID, VARINT, CqlType, CustomType, NativeType,
    cql_name,
)


class InvalidValue(ValueError):
    """Bytes or a Python value that is not a valid value of the type (message is Cassandra's)."""


class Duration(msgspec.Struct, frozen=True):
    """A CQL duration: months and days (32-bit) and nanoseconds (64-bit), all of one sign."""

    months: int
    days: int
    nanoseconds: int


class _Empty:
    """The zero-length "empty value" that int, uuid, boolean, ... accept; not the same as null."""

    __slots__ = ()
    _instance: _Empty | None = None

    def __new__(cls) -> _Empty:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "EMPTY"

    def __reduce__(self) -> tuple:
        return (_Empty, ())


EMPTY = _Empty()

# date is an unsigned day count with the Unix epoch at 2**31.
DATE_EPOCH_OFFSET = 2**31
# time is nanoseconds since midnight; Cassandra's literals and our serialize() stay below one day.
NANOS_PER_DAY = 86_400_000_000_000
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# A vint carries at most a 64-bit value (9 bytes on the wire).
MAX_VINT_BITS = 64

_I8, _I16, _I32, _I64 = struct.Struct(">b"), struct.Struct(">h"), struct.Struct(">i"), struct.Struct(">q")
_U32, _F32, _F64 = struct.Struct(">I"), struct.Struct(">f"), struct.Struct(">d")
_LEADING_ONES = bytes(8 - (b ^ 0xFF).bit_length() for b in range(256))
# States of Cassandra's UTF-8 validator; _U8_CONT_n expects n more continuation bytes.
_U8_START, _U8_CONT_1, _U8_CONT_2, _U8_CONT_3 = 0, 1, 2, 3
_U8_TWO_80, _U8_THREE_A0BF, _U8_FOUR_90BF = 10, 11, 12
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_utf8_decode = codecs.utf_8_decode
_ascii_decode = codecs.ascii_decode

Bytes = bytes | bytearray | memoryview


# ---------------------------------------------------------------------------------------- vints

def encode_uvint(value: int) -> bytes:
    """Cassandra's unsigned vint: leading 1-bits of the first byte count the extra bytes."""
    if 0 <= value < 0x80:
        return bytes((value,))
    bits = value.bit_length()
    if value < 0 or bits > MAX_VINT_BITS:
        raise InvalidValue(f"Value {value} does not fit an unsigned vint")
    size = (bits + 6) // 7
    if size > 8:
        return b"\xff" + value.to_bytes(8, "big")
    data = value.to_bytes(size, "big")
    return bytes((data[0] | (0xFF00 >> (size - 1)) & 0xFF,)) + data[1:]


def read_uvint(buf: Bytes, pos: int) -> tuple[int, int]:
    """Decode an unsigned vint at ``pos``; returns (value, next position)."""
    if pos >= len(buf):
        raise InvalidValue("Not enough bytes to read a vint")
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    extra = _LEADING_ONES[first]
    end = pos + 1 + extra
    if end > len(buf):
        raise InvalidValue("Not enough bytes to read a vint")
    high = first & (0xFF >> extra)
    return (high << (8 * extra)) | int.from_bytes(buf[pos + 1:end], "big"), end


def encode_vint(value: int) -> bytes:
    """Signed vint: zigzag, then unsigned vint."""
    return encode_uvint(value << 1 if value >= 0 else ((-value) << 1) - 1)


def read_vint(buf: Bytes, pos: int) -> tuple[int, int]:
    raw, pos = read_uvint(buf, pos)
    return (-((raw >> 1) + 1) if raw & 1 else raw >> 1), pos


class Codec:
    """The three operations for one type, plus its CQL literal renderer."""

    __slots__ = ("validate", "serialize", "deserialize", "literal")

    def __init__(self, validate: Callable, serialize: Callable, deserialize: Callable,
                 literal: Callable):
        self.validate, self.serialize, self.deserialize, self.literal = (
            validate, serialize, deserialize, literal)


def bad_value(t: CqlType | str, value: Any) -> InvalidValue:
    name = t if isinstance(t, str) else cql_name(t)
    return InvalidValue(f"Invalid {name} value: {value!r}")


# ------------------------------------------------------------------------------- fixed-size natives

def _size_check(size: int, allow_empty: bool, message: str) -> Callable[[Bytes], None]:
    if allow_empty:
        def check(data: Bytes) -> None:
            n = len(data)
            if n != size and n:
                raise InvalidValue(message % n)
    else:
        def check(data: Bytes) -> None:
            n = len(data)
            if n != size:
                raise InvalidValue(message % n)
    # Every value of exactly `size` bytes passes: a caller that has measured the value may
    # skip the call (a batch's clustering ints, coordinator/dml.py). Only on these checks, not
    # on those with an extra check of the bytes.
    check.any_value_of_size = size  # type: ignore[attr-defined]
    return check


def _fixed(t: NativeType, size: int, allow_empty: bool, message: str, st: struct.Struct,
           to_py: Callable | None = None, from_py: Callable | None = None,
           literal: Callable = str, extra_check: Callable | None = None) -> Codec:
    check = _size_check(size, allow_empty, message)
    if extra_check is not None:
        size_check = check

        def check(data: Bytes) -> None:
            size_check(data)
            if data:
                extra_check(data)
    unpack = st.unpack

    def deser(data: Bytes) -> Any:
        check(data)
        if not data:
            return EMPTY
        value = unpack(data)[0]
        return to_py(value) if to_py is not None else value

    def ser(value: Any) -> bytes:
        if value is EMPTY and allow_empty:
            return b""
        try:
            data = st.pack(from_py(value) if from_py is not None else value)
        except (struct.error, OverflowError, TypeError, ValueError) as exc:
            raise bad_value(t, value) from exc
        if extra_check is not None:
            extra_check(data)
        return data

    def lit(value: Any) -> str:
        return "null" if value is EMPTY else literal(value)
    return Codec(check, ser, deser, lit)


def _float32_literal(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    for digits in range(1, 10):  # shortest text that reads back as the same float32
        text = f"{x:.{digits}g}"
        if _F32.unpack(_F32.pack(float(text)))[0] == x:
            break
    return text if any(c in text for c in ".e") else text + ".0"


def _float64_literal(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return repr(x)


def _timestamp_from_py(value: Any) -> int:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        delta = value - _EPOCH
        return (delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds) // 1000
    if isinstance(value, int):
        return value
    raise TypeError(value)


def _timestamp_literal(ms: int) -> str:
    try:
        moment = _EPOCH + datetime.timedelta(milliseconds=ms)
    except OverflowError:
        return str(ms)  # outside datetime's years 1..9999: the millisecond count is a valid literal
    return moment.strftime("'%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z'"


def _date_from_py(value: Any) -> int:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = value.toordinal() - _EPOCH_ORDINAL
    if not isinstance(value, int) or not INT32_MIN <= value <= INT32_MAX:
        raise ValueError(value)
    return value + DATE_EPOCH_OFFSET


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) for any day count (Hinnant's algorithm)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def _date_literal(days: int) -> str:
    year, month, day = _civil_from_days(days)
    if year > 9999:  # ISO-8601 expanded years, as java.time prints them
        year_text = f"+{year}"
    elif year < 0:
        year_text = f"-{-year:04d}"
    else:
        year_text = f"{year:04d}"
    return f"'{year_text}-{month:02d}-{day:02d}'"


def _time_from_py(value: Any) -> int:
    if isinstance(value, datetime.time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * 10**9 + value.microsecond * 1000
    if isinstance(value, int):
        return value
    raise TypeError(value)


# String.trim() strips every char <= ' '.
_JAVA_WHITESPACE = "".join(map(chr, range(0x21)))


def _java_int(text: str) -> int:
    """Integer.parseInt: an optional sign, decimal digits, an int's range."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isdecimal() or max(body) > "\uffff":
        raise ValueError(text)
    value = int(text)
    if not INT32_MIN <= value <= INT32_MAX:
        raise ValueError(text)
    return value


def _bounded(text: str, limit: int) -> int:
    value = _java_int(text)
    if not 0 <= value < limit:
        raise ValueError(text)
    return value


def parse_time_of_day(text: str) -> int:
    """TimeSerializer.parseTimeStrictly (CQL time literals, CAST and JSON text): nanoseconds of
    hh:mm:ss[.fffffffff], trimmed as String.trim() does; ValueError otherwise."""
    s = text.strip(_JAVA_WHITESPACE)
    first = s.find(":")
    second = s.find(":", first + 1)
    if not (first > 0 and second > 0 and second < len(s) - 1):
        raise ValueError(text)
    period = s.find(".", second + 1)
    hours, minutes = _bounded(s[:first], 24), _bounded(s[first + 1:second], 60)
    nanos = 0
    if 0 < period < len(s) - 1:
        seconds, fraction = _bounded(s[second + 1:period], 60), s[period + 1:]
        if len(fraction) > 9 or not fraction[0].isdecimal():
            raise ValueError(text)
        nanos = _java_int(fraction.ljust(9, "0"))
    elif period > 0:
        raise ValueError(text)
    else:
        seconds = _bounded(s[second + 1:], 60)
    return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000_000 + nanos


def _time_literal(nanos: int) -> str:
    if not 0 <= nanos < NANOS_PER_DAY:
        return str(nanos)  # Cassandra accepts out-of-range times on the wire; keep them exact
    seconds, frac = divmod(nanos, 10**9)
    minutes, sec = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"'{hour:02d}:{minute:02d}:{sec:02d}.{frac:09d}'"


def _uuid_from_py(value: Any) -> bytes:
    if isinstance(value, uuid.UUID):
        return value.bytes
    if isinstance(value, str):
        return uuid.UUID(value).bytes
    raise TypeError(value)


def _check_timeuuid(data: Bytes) -> None:
    if data[6] & 0xF0 != 0x10:
        raise InvalidValue("Invalid version for TimeUUID type.")


_UUID16 = struct.Struct("16s")


def _bool_codec() -> Codec:
    check = _size_check(1, True, "Expected 1 or 0 byte value (%d)")

    def deser(data: Bytes) -> Any:
        check(data)
        return data[0] != 0 if data else EMPTY

    def ser(value: Any) -> bytes:
        if value is EMPTY:
            return b""
        if not isinstance(value, int):  # bool is an int; strings like 'false' must not pass
            raise bad_value(BOOLEAN, value)
        return b"\x01" if value else b"\x00"
    return Codec(check, ser, deser, lambda v: "null" if v is EMPTY else ("true" if v else "false"))


NATIVE_CODECS: dict[NativeType, Codec] = {
    INT: _fixed(INT, 4, True, "Expected 4 or 0 byte int (%d)", _I32),
    BIGINT: _fixed(BIGINT, 8, True, "Expected 8 or 0 byte long (%d)", _I64),
    COUNTER: _fixed(COUNTER, 8, True, "Expected 8 or 0 byte long (%d)", _I64),
    SMALLINT: _fixed(SMALLINT, 2, False, "Expected 2 bytes for a smallint (%d)", _I16),
    TINYINT: _fixed(TINYINT, 1, False, "Expected 1 byte for a tinyint (%d)", _I8),
    FLOAT: _fixed(FLOAT, 4, True, "Expected 4 or 0 byte value for a float (%d)", _F32,
                  literal=_float32_literal),
    DOUBLE: _fixed(DOUBLE, 8, True, "Expected 8 or 0 byte value for a double (%d)", _F64,
                   literal=_float64_literal),
    TIMESTAMP: _fixed(TIMESTAMP, 8, True, "Expected 8 or 0 byte long for date (%d)", _I64,
                      from_py=_timestamp_from_py, literal=_timestamp_literal),
    DATE: _fixed(DATE, 4, False, "Expected 4 byte long for date (%d)", _U32,
                 to_py=lambda raw: raw - DATE_EPOCH_OFFSET, from_py=_date_from_py, literal=_date_literal),
    TIME: _fixed(TIME, 8, False, "Expected 8 byte long for time (%d)", _I64,
                 from_py=_time_from_py, literal=_time_literal),
    UUID: _fixed(UUID, 16, True, "UUID should be 16 or 0 bytes (%d)", _UUID16,
                 to_py=lambda raw: uuid.UUID(bytes=raw), from_py=_uuid_from_py),
    TIMEUUID: _fixed(TIMEUUID, 16, True, "UUID should be 16 or 0 bytes (%d)", _UUID16,
                     to_py=lambda raw: uuid.UUID(bytes=raw), from_py=_uuid_from_py,
                     extra_check=_check_timeuuid),
    BOOLEAN: _bool_codec(),
}


# ---------------------------------------------------------------------------- variable-size natives

def _text_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _cassandra_utf8_ok(data: bytes) -> bool:
    """Cassandra's UTF8Validator state machine, which is laxer than Python's decoder (it lets
    surrogates, C0 80 and F5..F7 lead bytes through); consulted only when Python's decoder refuses."""
    state = _U8_START
    for b in data:
        if state == _U8_START:
            if b < 0x80:
                continue
            if 0xC0 <= b <= 0xDF:
                if b == 0xC0:
                    state = _U8_TWO_80
                elif b & 0x1E == 0:
                    return False
                else:
                    state = _U8_CONT_1
            elif 0xE0 <= b <= 0xEF:
                state = _U8_THREE_A0BF if b == 0xE0 else _U8_CONT_2
            elif 0xF0 <= b <= 0xF7:
                state = _U8_FOUR_90BF if b == 0xF0 else _U8_CONT_3
            else:
                return False
        elif state == _U8_TWO_80:
            if b != 0x80:
                return False
            state = _U8_START
        elif state == _U8_THREE_A0BF:
            if b & 0xE0 == 0x80:
                return False
            state = _U8_CONT_1
        elif state == _U8_FOUR_90BF:
            if b & 0x30 == 0:
                return False
            state = _U8_CONT_2
        else:  # _U8_CONT_n: a continuation byte, then n - 1 more
            if b & 0xC0 != 0x80:
                return False
            state -= 1
    return state == _U8_START


def _validate_text(data: Bytes) -> None:
    try:
        _utf8_decode(data, "strict", True)
    except UnicodeDecodeError:
        if not _cassandra_utf8_ok(bytes(data)):
            raise InvalidValue("String didn't validate.") from None


def _deserialize_text(data: Bytes) -> str:
    try:
        return _utf8_decode(data, "strict", True)[0]
    except UnicodeDecodeError:
        _validate_text(data)  # Cassandra-valid but not decodable: Java's decoder refuses it too
        raise InvalidValue("Invalid UTF-8 bytes " + bytes(data).hex()) from None


def _validate_ascii(data: Bytes) -> None:
    try:
        _ascii_decode(data, "strict")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise InvalidValue(f"Invalid byte for ascii: {bad - 256 if bad > 127 else bad}") from None


def _deserialize_ascii(data: Bytes) -> str:
    _validate_ascii(data)
    return _ascii_decode(data, "strict")[0]


def _ser_text(t: NativeType) -> Callable[[Any], bytes]:
    encoding = "ascii" if t is ASCII else "utf-8"

    def ser(value: Any) -> bytes:
        if not isinstance(value, str):
            raise bad_value(t, value)
        try:
            return value.encode(encoding)
        except UnicodeEncodeError as exc:
            raise bad_value(t, value) from exc
    return ser


def _ser_blob(t: CqlType) -> Callable[[Any], bytes]:
    def ser(value: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise bad_value(t, value)
        return bytes(value)
    return ser


def varint_bytes(value: int) -> bytes:
    """Minimal two's-complement big-endian encoding (Java's BigInteger.toByteArray)."""
    bits = value.bit_length() if value >= 0 else (~value).bit_length()
    return value.to_bytes(bits // 8 + 1, "big", signed=True)


def int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than Python's str() limit: convert in exact chunks
        chunk, width = 10**1000, 1000
        sign, value, parts = "-" if value < 0 else "", abs(value), []
        while value:
            value, rest = divmod(value, chunk)
            parts.append(f"{rest:0{width}d}")
        return sign + "".join(reversed(parts)).lstrip("0")


def _varint_codec() -> Codec:
    def deser(data: Bytes) -> Any:
        return int.from_bytes(data, "big", signed=True) if data else EMPTY

    def ser(value: Any) -> bytes:
        if value is EMPTY:
            return b""
        if not isinstance(value, int):
            raise bad_value(VARINT, value)
        return varint_bytes(value)
    return Codec(lambda data: None, ser, deser, lambda v: "null" if v is EMPTY else int_text(v))


def _check_decimal(data: Bytes) -> None:
    if 0 < len(data) < 4:
        raise InvalidValue(f"Expected 0 or at least 4 bytes ({len(data)})")


def _decimal_codec() -> Codec:
    def deser(data: Bytes) -> Any:
        _check_decimal(data)
        if not data:
            return EMPTY
        if len(data) == 4:  # Java's BigInteger refuses a zero-length magnitude
            raise InvalidValue("Invalid decimal: no unscaled value after the scale")
        scale = _I32.unpack_from(data, 0)[0]
        sign, digits, _ = decimal.Decimal(int.from_bytes(data[4:], "big", signed=True)).as_tuple()
        return decimal.Decimal((sign, digits, -scale))

    def ser(value: Any) -> bytes:
        if value is EMPTY:
            return b""
        if isinstance(value, int):
            value = decimal.Decimal(value)
        if not isinstance(value, decimal.Decimal) or not value.is_finite():
            raise bad_value(DECIMAL, value)
        sign, digits, exponent = value.as_tuple()
        scale = -int(exponent)  # finite, so the exponent is an int
        if not INT32_MIN <= scale <= INT32_MAX:
            raise bad_value(DECIMAL, value)
        return _I32.pack(scale) + varint_bytes(int(decimal.Decimal((sign, digits, 0))))

    def lit(value: Any) -> str:
        if value is EMPTY:
            return "null"
        exponent = value.as_tuple().exponent
        # plain notation like Java's toPlainString, unless that would spell out huge zero runs
        return format(value, "f") if -100 <= exponent <= 100 else str(value)
    return Codec(_check_decimal, ser, deser, lit)


def _check_inet(data: Bytes) -> None:
    if len(data) not in (0, 4, 16):
        raise InvalidValue(f"Expected 4 or 16 byte inetaddress; got {bytes(data).hex()}")


def _inet_codec() -> Codec:
    def deser(data: Bytes) -> Any:
        _check_inet(data)
        if not data:
            return EMPTY
        return ipaddress.IPv4Address(bytes(data)) if len(data) == 4 else ipaddress.IPv6Address(bytes(data))

    def ser(value: Any) -> bytes:
        if value is EMPTY:
            return b""
        try:
            if isinstance(value, str):
                value = ipaddress.ip_address(value)
            return value.packed
        except (AttributeError, ValueError) as exc:
            raise bad_value(INET, value) from exc
    return Codec(_check_inet, ser, deser, lambda v: "null" if v is EMPTY else f"'{v}'")


def _read_duration(data: Bytes) -> Duration:
    if len(data) < 3:
        raise InvalidValue(f"Expected at least 3 bytes for a duration ({len(data)})")
    months, pos = read_vint(data, 0)
    days, pos = read_vint(data, pos)
    nanos, pos = read_vint(data, pos)
    if pos != len(data):
        raise InvalidValue("Unexpected extraneous bytes after duration value")
    if not INT32_MIN <= months <= INT32_MAX:
        raise InvalidValue(f"The duration months must be a 32 bits integer but was: {months}")
    if not INT32_MIN <= days <= INT32_MAX:
        raise InvalidValue(f"The duration days must be a 32 bits integer but was: {days}")
    if not ((months >= 0 and days >= 0 and nanos >= 0) or (months <= 0 and days <= 0 and nanos <= 0)):
        raise InvalidValue("The duration months, days and nanoseconds must be all of the same sign "
                           f"({months}, {days}, {nanos})")
    return Duration(months, days, nanos)


def _duration_literal(d: Duration) -> str:
    """Cassandra's Duration.toString (1y2mo3d4h5m6s7ms8us9ns); zero prints as 0s to stay valid CQL."""
    parts = ["-"] if d.months < 0 or d.days < 0 or d.nanoseconds < 0 else []
    months, days, nanos = abs(d.months), abs(d.days), abs(d.nanoseconds)
    for amount, unit in ((months // 12, "y"), (months % 12, "mo"), (days, "d")):
        if amount:
            parts.append(f"{amount}{unit}")
    for size, unit in ((3_600_000_000_000, "h"), (60_000_000_000, "m"), (1_000_000_000, "s"),
                       (1_000_000, "ms"), (1000, "us"), (1, "ns")):
        if nanos >= size:
            parts.append(f"{nanos // size}{unit}")
            nanos %= size
    return "".join(parts) if len(parts) > (parts[:1] == ["-"]) else "0s"


def _duration_codec() -> Codec:
    def ser(value: Any) -> bytes:
        if not isinstance(value, Duration):
            raise bad_value(DURATION, value)
        data = encode_vint(value.months) + encode_vint(value.days) + encode_vint(value.nanoseconds)
        if not INT64_MIN <= value.nanoseconds <= INT64_MAX:
            raise bad_value(DURATION, value)
        _read_duration(data)  # range and sign rules, with Cassandra's messages
        return data
    return Codec(_read_duration, ser, _read_duration, _duration_literal)


NATIVE_CODECS.update({
    TEXT: Codec(_validate_text, _ser_text(TEXT), _deserialize_text, _text_literal),
    ASCII: Codec(_validate_ascii, _ser_text(ASCII), _deserialize_ascii, _text_literal),
    BLOB: Codec(lambda data: None, _ser_blob(BLOB), bytes, lambda v: "0x" + bytes(v).hex()),
    VARINT: _varint_codec(),
    DECIMAL: _decimal_codec(),
    INET: _inet_codec(),
    DURATION: _duration_codec(),
})


def custom_codec(t: CustomType) -> Codec:
    # Unknown Java classes: opaque bytes; Cassandra prints their literals as blobs too.
    return Codec(lambda data: None, _ser_blob(t), bytes, lambda v: "0x" + bytes(v).hex())

