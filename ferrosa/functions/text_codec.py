"""Native values as text, both ways, exactly as Cassandra 5.0's types print and parse them.

Printing (``literal_text``) is TypeSerializer.toCQLLiteralNoQuote: what CAST(x AS text) returns and
what the JSON codec builds on. Parsing (``from_string``) is AbstractType.fromString: what INSERT
JSON / from_json() apply to JSON strings, with Cassandra's MarshalException messages.

Theory of operation (the calendars): Cassandra prints timestamps with java.text.SimpleDateFormat,
whose GregorianCalendar switches to the Julian calendar before 1582-10-15 and prints the year of
era (no sign, so 1 BC prints as 0001). Dates (the ``date`` type) use java.time, which is proleptic
Gregorian and prints years outside 0000..9999 with a sign ("+10000", "-0001"). Both are reproduced
here from day counts with the usual Julian Day Number conversions. Timestamps without a zone are
read in the node's zone; Ferrosa nodes run in UTC, so UTC is used.

Not supported (raise MarshalError naming it): inet host names (Cassandra would resolve them with
DNS) and zone abbreviations other than UTC/GMT/UT/Z (IANA zone ids such as Europe/Paris work).

This module must NOT know about functions, JSON or collections.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import struct
import time
import uuid
import zoneinfo
from typing import Callable

from ferrosa.functions import java
from ferrosa.functions.errors import InvalidRequest, MarshalError
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V

MILLIS_PER_DAY = 86_400_000
NANOS_PER_DAY = 86_400_000_000_000
DATE_EPOCH_OFFSET = 1 << 31          # the date type stores days + 2**31 as an unsigned int
_UNIX_EPOCH_JDN = 2_440_588          # Julian Day Number of 1970-01-01
_GREGORIAN_CUTOVER_JDN = 2_299_161   # 1582-10-15, first day of the Gregorian calendar in Java
_MAX_DATE_DAYS = (1 << 32) - 1       # largest raw (unsigned) day count a date literal may give
# MILLIS range of the date type: Integer.MIN_VALUE / MAX_VALUE days around the epoch.
_MIN_DATE_MILLIS = java.INT32_MIN * MILLIS_PER_DAY
_MAX_DATE_MILLIS = java.INT32_MAX * MILLIS_PER_DAY

_I8, _I16, _I32, _I64 = struct.Struct(">b"), struct.Struct(">h"), struct.Struct(">i"), struct.Struct(">q")
_U32, _F32, _F64 = struct.Struct(">I"), struct.Struct(">f"), struct.Struct(">d")


# ---------------------------------------------------------------------------------------- calendars

def civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Hinnant)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def days_from_civil(year: int, month: int, day: int) -> int:
    """Inverse of civil_from_days."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _julian_from_days(days: int) -> tuple[int, int, int]:
    c = days + _UNIX_EPOCH_JDN + 32_082
    d = (4 * c + 3) // 1461
    e = c - (1461 * d) // 4
    m = (5 * e + 2) // 153
    return d - 4800 + m // 10, m + 3 - 12 * (m // 10), e - (153 * m + 2) // 5 + 1


def _month_length(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# ----------------------------------------------------------------------------------------- printing

def timestamp_text(ms: int, separator: str) -> str:
    """SimpleDateFormat("yyyy-MM-dd{sep}HH:mm:ss.SSSX") in UTC (JSON uses ' ', CAST uses 'T')."""
    days, rest = divmod(ms, MILLIS_PER_DAY)
    if days + _UNIX_EPOCH_JDN >= _GREGORIAN_CUTOVER_JDN:
        year, month, day = civil_from_days(days)
    else:
        year, month, day = _julian_from_days(days)
    if year <= 0:
        year = 1 - year  # year of era; the era itself is not printed
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return (f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}:{second:02d}."
            f"{millis:03d}Z")


def iso_year(year: int) -> str:
    """java.time's year field: 4 digits, '+' above 9999, '-' below 0."""
    if year > 9999:
        return f"+{year}"
    if year < 0:
        return f"-{-year:04d}"
    return f"{year:04d}"


def date_text(raw: int) -> str:
    """SimpleDateSerializer.toString of the stored unsigned day count."""
    year, month, day = civil_from_days(raw - DATE_EPOCH_OFFSET)
    return f"{iso_year(year)}-{month:02d}-{day:02d}"


def _pad(value: int, digits: int) -> str:
    # TimeSerializer.leftPadZeros: one '0' per power of ten the value stays below (negatives too)
    return "".join("0" for i in range(1, digits) if value < 10**i) + str(value)


def time_text(nanos: int) -> str:
    """TimeSerializer.toString: HH:MM:SS.nnnnnnnnn (Java remainder arithmetic for odd values)."""
    parts = []
    for unit in (1000, 1000, 1000, 60, 60, 24):
        rem = nanos - int(nanos / unit) * unit  # Java's % truncates toward zero
        parts.append(rem)
        nanos = (nanos - rem) // unit
    nano, micro, milli, second, minute, hour = parts
    return (f"{_pad(hour, 2)}:{_pad(minute, 2)}:{_pad(second, 2)}."
            f"{_pad(milli, 3)}{_pad(micro, 3)}{_pad(nano, 3)}")


def duration_text(d: V.Duration) -> str:
    """org.apache.cassandra.cql3.Duration.toString (a zero duration prints as the empty string)."""
    out = ["-"] if d.months < 0 or d.days < 0 or d.nanoseconds < 0 else []

    def append(dividend: int, divisor: int, unit: str) -> int:
        if dividend == 0 or dividend < divisor:
            return dividend
        out.append(f"{dividend // divisor}{unit}")
        return dividend % divisor

    append(append(abs(d.months), 12, "y"), 1, "mo")
    append(abs(d.days), 1, "d")
    if d.nanoseconds:
        rest = abs(d.nanoseconds)
        for divisor, unit in ((3_600_000_000_000, "h"), (60_000_000_000, "m"), (1_000_000_000, "s"),
                              (1_000_000, "ms"), (1000, "us")):
            rest = append(rest, divisor, unit)
        append(rest, 1, "ns")
    return "".join(out)


def inet_text(data: bytes) -> str:
    """InetAddress.getHostAddress: dotted quad, or eight unabbreviated lower-case hex groups."""
    if len(data) == 4:
        return ".".join(str(b) for b in data)
    if data[:12] == b"\x00" * 10 + b"\xff\xff":  # Java reads IPv4-mapped addresses as IPv4
        return ".".join(str(b) for b in data[12:])
    return ":".join(f"{int.from_bytes(data[i:i + 2], 'big'):x}" for i in range(0, 16, 2))


def uuid_text(data: bytes) -> str:
    return str(uuid.UUID(bytes=bytes(data)))


def _decimal_text(data: bytes) -> str:
    return java.bigdecimal_to_string(V.deserialize(T.DECIMAL, data))


_LITERAL_TEXT: dict[T.NativeType, Callable[[bytes], str]] = {
    T.TINYINT: lambda b: str(_I8.unpack(b)[0]),
    T.SMALLINT: lambda b: str(_I16.unpack(b)[0]),
    T.INT: lambda b: str(_I32.unpack(b)[0]),
    T.BIGINT: lambda b: str(_I64.unpack(b)[0]),
    T.COUNTER: lambda b: str(_I64.unpack(b)[0]),
    T.VARINT: lambda b: V.int_text(int.from_bytes(b, "big", signed=True)),
    T.FLOAT: lambda b: java.float_to_string(_F32.unpack(b)[0]),
    T.DOUBLE: lambda b: java.double_to_string(_F64.unpack(b)[0]),
    T.DECIMAL: _decimal_text,
    T.BOOLEAN: lambda b: "true" if b[0] else "false",
    T.INET: inet_text,
    T.UUID: uuid_text,
    T.TIMEUUID: uuid_text,
    T.TIMESTAMP: lambda b: timestamp_text(_I64.unpack(b)[0], "T"),
    T.DATE: lambda b: date_text(_U32.unpack(b)[0]),
    T.TIME: lambda b: time_text(_I64.unpack(b)[0]),
    T.TEXT: lambda b: V.deserialize(T.TEXT, b).replace("'", "''"),
    T.ASCII: lambda b: V.deserialize(T.ASCII, b).replace("'", "''"),
    T.BLOB: lambda b: "0x" + bytes(b).hex(),
    T.DURATION: lambda b: duration_text(V.deserialize(T.DURATION, b)),
}


def literal_text(t: T.NativeType, data: bytes) -> str:
    """toCQLLiteralNoQuote of a non-empty, valid serialized value."""
    return _LITERAL_TEXT[t](data)


# ------------------------------------------------------------------------------------------ parsing

def _marshal(message: str) -> MarshalError:
    return MarshalError(message)


def _integer_parser(t: T.NativeType, name: str, st: struct.Struct, lo: int, hi: int) -> Callable:
    def parse(text: str) -> bytes:
        if not text:
            return b""
        try:
            return st.pack(java.parse_integer(text, lo, hi))
        except ValueError:
            raise _marshal(f"Unable to make {name} from '{text}'") from None
    return parse


def _float_parser(name: str, parse_number: Callable[[str], float], st: struct.Struct) -> Callable:
    def parse(text: str) -> bytes:
        if not text:
            return b""
        try:
            return st.pack(parse_number(text))
        except (ValueError, OverflowError):
            raise _marshal(f"Unable to make {name} from '{text}'") from None
    return parse


def _parse_decimal(text: str) -> bytes:
    if not text:
        return b""
    try:
        return V.serialize(T.DECIMAL, java.parse_bigdecimal(text))
    except (ValueError, V.InvalidValue):
        raise _marshal(f"unable to make BigDecimal from '{text}'") from None


def _parse_varint(text: str) -> bytes:
    if not text:
        return b""
    try:
        return V.varint_bytes(java.parse_biginteger(text))
    except ValueError:
        raise _marshal(f"Unable to make int from '{text}'") from None


def _parse_boolean(text: str) -> bytes:
    lowered = text.lower()
    if not text or lowered == "false":
        return b"\x00"
    if lowered == "true":
        return b"\x01"
    raise _marshal(f"Unable to make boolean from '{text}'")


def _parse_ascii(text: str) -> bytes:
    if text.isascii():
        return text.encode("ascii")
    for char in text:
        if ord(char) > 0x7F:
            kind = "MalformedInputException" if 0xD800 <= ord(char) <= 0xDFFF else "UnmappableCharacterException"
            size = 2 if ord(char) > 0xFFFF else 1
            raise _marshal(f"Invalid ASCII character in string literal: java.nio.charset.{kind}: "
                           f"Input length = {size}")
    return text.encode("ascii")


_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")


def _parse_blob(text: str) -> bytes:
    if not _HEX_RE.match(text):  # odd length or a non-hex character (Hex.hexToBytes)
        raise _marshal(f"cannot parse '{text}' as hex bytes")
    return bytes.fromhex(text)


_UUID_RE = re.compile(r"[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}\Z")


def _parse_uuid(text: str) -> bytes:
    if not text:
        return b""
    if _UUID_RE.match(text):
        return uuid.UUID(text).bytes
    raise _marshal(f"Unable to make UUID from '{text}'")


def _parse_timeuuid(text: str) -> bytes:
    if not text:
        return b""
    if not _UUID_RE.match(text):
        raise _marshal(f"Unknown timeuuid representation: {text}")
    data = uuid.UUID(text).bytes
    if data[6] >> 4 != 1:
        raise _marshal("TimeUUID supports only version 1 UUIDs")
    return data


_IPV4_PART = re.compile(r"[0-9]+\Z")


def _ipv4_bytes(text: str) -> bytes | None:
    """IPAddressUtil.textToNumericFormatV4: 1 to 4 decimal parts, the last filling the rest."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.match(p) for p in parts):
        return None
    values = [int(p) for p in parts]
    last_bytes = 5 - len(values)
    if any(v > 255 for v in values[:-1]) or values[-1] >= 1 << (8 * last_bytes):
        return None
    return bytes(values[:-1]) + values[-1].to_bytes(last_bytes, "big")


def _parse_inet(text: str) -> bytes:
    if not text:
        return b""
    literal = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    data = None if literal is not text else _ipv4_bytes(text)
    if data is None and ":" in literal:
        try:
            address = ipaddress.IPv6Address(literal.split("%", 1)[0])
        except ValueError:
            address = None
        if address is not None:
            mapped = address.ipv4_mapped
            data = mapped.packed if mapped is not None else address.packed
    if data is None:
        raise _marshal(f"Unable to make inet address from '{text}'")
    return data


_RAW_RE = re.compile(r"-?[0-9]+\Z")


def _parse_date(text: str) -> bytes:
    return _U32.pack(date_string_to_days(text) & 0xFFFFFFFF)


_ISO_LOCAL_DATE = re.compile(r"(?P<y>-?[0-9]{4}|[+-][0-9]{5,9})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})\Z")


def _zdt_text(ms: int) -> str:
    year, month, day = civil_from_days(ms // MILLIS_PER_DAY)
    return f"{iso_year(year)}-{month:02d}-{day:02d}T00:00Z"


def date_string_to_days(text: str) -> int:
    """SimpleDateSerializer.dateStringToDays: the stored (unsigned, epoch at 2**31) day count."""
    if _RAW_RE.match(text):
        raw = int(text)
        if not 0 <= raw <= _MAX_DATE_DAYS:
            raise _marshal(f"Unable to make unsigned int (for date) from: '{text}'")
        return raw
    match = _ISO_LOCAL_DATE.match(text)
    valid = False
    if match is not None:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
        valid = 1 <= month <= 12 and 1 <= day <= _month_length(year, month)
    if not valid:
        raise _marshal(f"Unable to coerce '{text}' to a formatted date (long)")
    millis = days_from_civil(year, month, day) * MILLIS_PER_DAY
    if millis < _MIN_DATE_MILLIS:
        raise _marshal(f"Input date {text} is less than min supported date {_zdt_text(_MIN_DATE_MILLIS)}")
    if millis > _MAX_DATE_MILLIS:
        raise _marshal(f"Input date {text} is greater than max supported date {_zdt_text(_MAX_DATE_MILLIS)}")
    return millis_to_days(millis)


def millis_to_days(millis: int) -> int:
    """SimpleDateSerializer.timeInMillisToDay: Duration.ofMillis(ms).toDays() + 2**31, as an int."""
    seconds = millis // 1000
    days = abs(seconds) // 86_400 * (1 if seconds >= 0 else -1)  # toDays() truncates toward zero
    return java.wrap(days + DATE_EPOCH_OFFSET, 32) & 0xFFFFFFFF


def days_to_millis(raw: int) -> int:
    """SimpleDateSerializer.dayToTimeInMillis of the stored day count."""
    return java.wrap(raw + java.INT32_MIN, 32) * MILLIS_PER_DAY


def _parse_time(text: str) -> bytes:
    return _I64.pack(time_string_to_nanos(text))


def time_string_to_nanos(text: str) -> int:
    """TimeSerializer.timeStringToLong."""
    if _RAW_RE.match(text):
        value = int(text)
        if not 0 <= value < NANOS_PER_DAY:
            raise _marshal(f"Unable to make long (for time) from: '{text}'")
        return value
    try:
        return V.parse_time_of_day(text)
    except ValueError:
        raise _marshal(f"(TimeType) Unable to coerce '{text}' to a formatted time (long)") from None


# Timestamps: the formats of TimestampSerializer, as one pattern per family.
_OFFSET_X = r"(?:Z|[+-][0-9]{2}(?:[0-9]{2})?)"        # pattern letter X
_OFFSET_XXX = r"(?:Z|[+-][0-9]{2}:[0-9]{2})"          # XXX
_ZONE_NAME = r"[A-Za-z][A-Za-z0-9_/+\-]*(?: [A-Za-z]+)*"  # z / zzzz (names, resolved below)
_ZONE = rf"(?: (?P<zname>{_ZONE_NAME})| (?P<sx>{_OFFSET_X})|(?P<x>{_OFFSET_X})|(?P<xxx>{_OFFSET_XXX}))?"
_DATE_TIME_RE = re.compile(
    r"(?P<y>[0-9]+)-(?P<mo>[0-9]+)-(?P<d>[0-9]+)[T ](?P<h>[0-9]+):(?P<mi>[0-9]+)(?::(?P<s>[0-9]+))?"
    r"(?:\.(?P<f>[0-9]{0,9}))?" + _ZONE + r"\Z")
_DATE_ONLY_RE = re.compile(
    r"(?P<y>[0-9]{4,})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    rf"(?: (?P<zname>{_ZONE_NAME})| (?P<sx>{_OFFSET_X})|(?P<x>{_OFFSET_X})|(?P<xxx>{_OFFSET_XXX}))?\Z")
_FULL_ZONE_NAMES = {"Coordinated Universal Time": 0, "Greenwich Mean Time": 0}


def _offset_minutes(match: re.Match, local: datetime.datetime) -> int | None:
    """Minutes east of UTC for the zone part of a timestamp (None: unknown zone)."""
    text = match["sx"] or match["x"] or match["xxx"]
    if text is not None:
        if text == "Z":
            return 0
        digits = text[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) > 2 else 0)
        return -minutes if text[0] == "-" else minutes
    name = match["zname"]
    if name is None or name in ("UTC", "GMT", "UT", "Z"):
        return 0
    if name in _FULL_ZONE_NAMES:
        return _FULL_ZONE_NAMES[name]
    try:
        zone = zoneinfo.ZoneInfo(name)
        offset = local.replace(tzinfo=zone).utcoffset()
    except (ValueError, zoneinfo.ZoneInfoNotFoundError, OverflowError, OSError):
        return None
    return None if offset is None else int(offset.total_seconds()) // 60


def _timestamp_millis(match: re.Match, with_time: bool) -> int | None:
    year, month, day = int(match["y"]), int(match["mo"]), int(match["d"])
    hour = minute = second = millis = 0
    if with_time:
        hour, minute = int(match["h"]), int(match["mi"])
        second = int(match["s"]) if match["s"] else 0
        millis = int((match["f"] or "").ljust(3, "0")[:3])
    if year < 1 or not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    day = min(day, _month_length(year, month))  # SMART resolution clamps to the month's end
    extra_day = 0
    if hour == 24 and minute == second == millis == 0:  # SMART accepts 24:00 as the next midnight
        hour, extra_day = 0, 1
    if hour > 23 or minute > 59 or second > 59:
        return None
    days = days_from_civil(year, month, day) + extra_day
    try:
        local = datetime.datetime(min(year, 9999), month, day, hour, minute, second)
    except ValueError:
        return None
    offset = _offset_minutes(match, local)
    if offset is None:
        return None
    return (days * 86_400 + hour * 3600 + minute * 60 + second - offset * 60) * 1000 + millis


def timestamp_string_to_millis(text: str) -> int:
    """TimestampSerializer.dateStringToTimestamp."""
    if text.lower() == "now":
        return int(time.time() * 1000)
    if _RAW_RE.match(text):
        try:
            return java.parse_integer(text, java.INT64_MIN, java.INT64_MAX)
        except ValueError:
            raise _marshal(f"Unable to make long (for date) from: '{text}'") from None
    for pattern, with_time in ((_DATE_TIME_RE, True), (_DATE_ONLY_RE, False)):
        match = pattern.match(text)
        if match is not None:
            millis = _timestamp_millis(match, with_time)
            if millis is not None and java.INT64_MIN <= millis <= java.INT64_MAX:
                return millis
    raise _marshal(f"Unable to parse a date/time from '{text}'")


def _parse_timestamp(text: str) -> bytes:
    if not text:
        return b""
    return _I64.pack(timestamp_string_to_millis(text))


# Durations: org.apache.cassandra.cql3.Duration.from (its errors are InvalidRequests, not marshal).
_DURATION_STANDARD = re.compile(
    r"([0-9]+)(y|Y|mo|MO|mO|Mo|w|W|d|D|h|H|s|S|ms|MS|mS|Ms|us|US|uS|Us|µs|µS|ns|NS|nS|Ns|m|M)")
_DURATION_ISO = re.compile(
    r"P(([0-9]+)Y)?(([0-9]+)M)?(([0-9]+)D)?(T(([0-9]+)H)?(([0-9]+)M)?(([0-9]+)S)?)?\Z")
_DURATION_ISO_WEEK = re.compile(r"P([0-9]+)W\Z")
_DURATION_ISO_ALT = re.compile(r"P([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\Z")
_UNIT_NAMES = ("", "years", "months", "weeks", "days", "hours", "minutes", "seconds", "milliseconds",
               "microseconds", "nanoseconds")
# unit index -> (component 0=months 1=days 2=nanos, multiplier)
_UNITS = {1: (0, 12), 2: (0, 1), 3: (1, 7), 4: (1, 1), 5: (2, 3_600_000_000_000), 6: (2, 60_000_000_000),
          7: (2, 1_000_000_000), 8: (2, 1_000_000), 9: (2, 1000), 10: (2, 1)}
_SYMBOLS = {"y": 1, "mo": 2, "w": 3, "d": 4, "h": 5, "m": 6, "s": 7, "ms": 8, "us": 9, "µs": 9, "ns": 10}
_COMPONENT_LIMITS = (java.INT32_MAX, java.INT32_MAX, java.INT64_MAX)
_COMPONENT_NAMES = ("months", "days", "nanoseconds")


class _DurationBuilder:
    __slots__ = ("negative", "values", "current")

    def __init__(self, negative: bool) -> None:
        self.negative, self.values, self.current = negative, [0, 0, 0], 0

    def add(self, unit: int, amount: int) -> None:
        if unit == self.current:
            raise InvalidRequest(f"Invalid duration. The {_UNIT_NAMES[unit]} are specified multiple times")
        if unit <= self.current:
            raise InvalidRequest(f"Invalid duration. The {_UNIT_NAMES[self.current]} should be after "
                                 f"{_UNIT_NAMES[unit]}")
        self.current = unit
        component, multiplier = _UNITS[unit]
        if amount > (_COMPONENT_LIMITS[component] - self.values[component]) // multiplier:
            raise InvalidRequest(f"Invalid duration. The total number of {_COMPONENT_NAMES[component]} "
                                 f"must be less or equal to {java.INT32_MAX}")
        self.values[component] += amount * multiplier

    def build(self) -> V.Duration:
        sign = -1 if self.negative else 1
        return V.Duration(sign * self.values[0], sign * self.values[1], sign * self.values[2])


def parse_duration(text: str) -> V.Duration:
    """Duration.from(String)."""
    negative = text.startswith("-")
    source = text[1:] if negative else text
    builder = _DurationBuilder(negative)
    bad = InvalidRequest(f"Unable to convert '{source}' to a duration")
    if source.startswith("P"):
        if source.endswith("W"):
            match = _DURATION_ISO_WEEK.match(source)
            if match is None:
                raise bad
            builder.add(3, int(match[1]))
        elif "-" in source:
            match = _DURATION_ISO_ALT.match(source)
            if match is None:
                raise bad
            for unit, group in ((1, 1), (2, 2), (4, 3), (5, 4), (6, 5), (7, 6)):
                builder.add(unit, int(match[group]))
        else:
            match = _DURATION_ISO.match(source)
            if match is None:
                raise bad
            for unit, outer, inner in ((1, 1, 2), (2, 3, 4), (4, 5, 6)):
                if match[outer] is not None:
                    builder.add(unit, int(match[inner]))
            if match[7] is not None:
                for unit, outer, inner in ((5, 8, 9), (6, 10, 11), (7, 12, 13)):
                    if match[outer] is not None:
                        builder.add(unit, int(match[inner]))
        return builder.build()
    pos = 0
    while pos < len(source):
        match = _DURATION_STANDARD.match(source, pos)
        if match is None:
            raise bad
        builder.add(_SYMBOLS[match[2].lower()], int(match[1]))
        pos = match.end()
    if pos == 0:
        raise bad
    return builder.build()


def _parse_duration_bytes(text: str) -> bytes:
    if not text:
        return b""
    try:
        return V.serialize(T.DURATION, parse_duration(text))
    except V.InvalidValue as exc:  # a component beyond the 64-bit range Java would have refused
        raise InvalidRequest(f"Unable to convert '{text}' to a duration") from exc


_FROM_STRING: dict[T.NativeType, Callable[[str], bytes]] = {
    T.TINYINT: _integer_parser(T.TINYINT, "byte", _I8, java.INT8_MIN, java.INT8_MAX),
    T.SMALLINT: _integer_parser(T.SMALLINT, "short", _I16, java.INT16_MIN, java.INT16_MAX),
    T.INT: _integer_parser(T.INT, "int", _I32, java.INT32_MIN, java.INT32_MAX),
    T.BIGINT: _integer_parser(T.BIGINT, "long", _I64, java.INT64_MIN, java.INT64_MAX),
    T.COUNTER: _integer_parser(T.COUNTER, "long", _I64, java.INT64_MIN, java.INT64_MAX),
    T.VARINT: _parse_varint,
    T.FLOAT: _float_parser("float", java.parse_float, _F32),
    T.DOUBLE: _float_parser("double", java.parse_double, _F64),
    T.DECIMAL: _parse_decimal,
    T.BOOLEAN: _parse_boolean,
    T.TEXT: lambda text: text.encode("utf-8", "surrogatepass"),
    T.ASCII: _parse_ascii,
    T.BLOB: _parse_blob,
    T.UUID: _parse_uuid,
    T.TIMEUUID: _parse_timeuuid,
    T.INET: _parse_inet,
    T.DATE: _parse_date,
    T.TIME: _parse_time,
    T.TIMESTAMP: _parse_timestamp,
    T.DURATION: _parse_duration_bytes,
}


# Types whose fromString("") gives an empty value their serializer then refuses.
_NO_EMPTY = frozenset({T.TINYINT, T.SMALLINT, T.DURATION})


def from_string(t: T.NativeType, text: str) -> bytes:
    """AbstractType.fromString: the serialized value, or MarshalError/InvalidRequest as Cassandra."""
    data = _FROM_STRING[t](text)
    if not data and t in _NO_EMPTY:
        try:
            V.validate(t, data)
        except V.InvalidValue as exc:
            raise _marshal(str(exc)) from None
    return data
