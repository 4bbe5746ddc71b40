"""Literal text -> Python value, for a receiver of a known native type (Cassandra's fromString rules).

What it is: the conversion Cassandra performs when a CQL constant meets the column it is assigned
to: which constant kinds a type accepts (Constants.Literal.testAssignment) and how each type reads
its text (the AbstractType.fromString implementations of Cassandra 5.0, with their error texts,
which are what the client sees: Constants.Literal turns a MarshalException into InvalidRequest).

What it must not do: serialize (ferrosa.protocol.values does), or know statements or schemas.

Python representations (those of ferrosa.protocol.values): integers for every integer type, counter,
timestamp (ms since the epoch), date (days since the epoch, signed) and time (ns since midnight);
float for float/double; decimal.Decimal; str; bytes; bool; uuid.UUID; ipaddress objects;
values.Duration; values.EMPTY for the empty value some types make of an empty string.

Theory of operation for the temporal types, which Cassandra parses with java.time:
* timestamp (TimestampSerializer): 'now', a millisecond count, or the first of these forms that
  parses: (A) ``y-M-d('T'| )H:m[:s][.fraction]`` followed by nothing (the server's zone, UTC here)
  or a zone, (B) ``yyyy-MM-dd`` followed by a zone, (C) ISO_DATE (``yyyy-MM-dd[offset]``). A zone is
  ``X`` (``Z``, ``+HH``, ``+HHmm``), ``XXX`` (``Z``, ``+HH:MM``), `` X`` or `` z`` (a space, then
  ``+HH:MM[:ss]``, UTC/UT/GMT with such an offset, GMT0, Z or a zone region such as Europe/Paris).
  Fields of one-letter patterns take any number of digits; the fraction keeps whole milliseconds.
  The SMART resolver clamps the day to the month's length and reads 24:00 as the next midnight.
* date (SimpleDateSerializer): an unsigned day number (epoch at 2**31) or STRICT ISO_LOCAL_DATE,
  whose year has 4 digits, or 5 to 10 after a '+', or 4 to 10 after a '-'.
* time (TimeSerializer): nanoseconds, or hh:mm:ss[.fffffffff] read like java.sql.Timestamp.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import ipaddress
import math
import re
import struct
import time
import uuid
import zoneinfo
from collections.abc import Callable

from ferrosa.cql.ast import Constant, ConstantType
from ferrosa.protocol.values import EMPTY, Duration, parse_time_of_day

K = ConstantType

# Which constant kinds each native type accepts (Cassandra's Constants.Literal.testAssignment).
ACCEPTS: dict[str, frozenset[ConstantType]] = {
    "ascii": frozenset({K.STRING}),
    "text": frozenset({K.STRING}),
    "inet": frozenset({K.STRING}),
    "blob": frozenset({K.HEX}),
    "boolean": frozenset({K.BOOLEAN}),
    "uuid": frozenset({K.UUID}),
    "timeuuid": frozenset({K.UUID}),
    "bigint": frozenset({K.INTEGER}),
    "counter": frozenset({K.INTEGER}),
    "int": frozenset({K.INTEGER}),
    "smallint": frozenset({K.INTEGER}),
    "tinyint": frozenset({K.INTEGER}),
    "varint": frozenset({K.INTEGER}),
    "decimal": frozenset({K.INTEGER, K.FLOAT}),
    "double": frozenset({K.INTEGER, K.FLOAT}),
    "float": frozenset({K.INTEGER, K.FLOAT}),
    "timestamp": frozenset({K.STRING, K.INTEGER}),
    "date": frozenset({K.STRING, K.INTEGER}),
    "time": frozenset({K.STRING, K.INTEGER}),
    "duration": frozenset({K.DURATION, K.INTEGER}),
}

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
# Integer types: (Java class named in fromString's message, bit width).
_INT_TYPES = {"tinyint": ("byte", 8), "smallint": ("short", 16), "int": ("int", 32),
              "bigint": ("long", 64), "counter": ("long", 64)}
NANOS_PER_DAY = 86_400_000_000_000
MILLIS_PER_DAY = 86_400_000
# java.time's year limits (Year.MIN_VALUE/MAX_VALUE) and ZoneOffset's limit of +-18 hours.
MAX_YEAR = 999_999_999
MAX_OFFSET_SECONDS = 18 * 3600
# Unsigned day numbers of the date type run up to 2**32 - 1, with the epoch at 2**31.
MAX_RAW_DAY = (1 << 32) - 1
DATE_EPOCH_OFFSET = 1 << 31
# The dates SimpleDateSerializer names as its limits (day numbers Integer.MIN_VALUE/MAX_VALUE).
_MIN_DATE_TEXT, _MAX_DATE_TEXT = "-5877641-06-23T00:00Z", "+5881580-07-11T00:00Z"

_F32, _U32 = struct.Struct(">f"), struct.Struct(">I")
_FLOAT_MAX = _F32.unpack(b"\x7f\x7f\xff\xff")[0]
# Halfway between Float.MAX_VALUE and 2**128: from here on a float literal rounds to Infinity.
_FLOAT_OVERFLOW = 2.0**128 - 2.0**103


class LiteralError(ValueError):
    """The literal does not fit the receiver's type (answered as InvalidRequest)."""


def literal_value(const: Constant, type_name: str, receiver: str) -> object:
    """The Python value of `const` assigned to `receiver` of native type `type_name`."""
    accepted = ACCEPTS.get(type_name)
    if accepted is None or const.type not in accepted:
        raise LiteralError(f"Invalid {const.type.name} constant ({const.text}) for \"{receiver}\" "
                           f"of type {type_name}")
    try:
        return _PARSERS[type_name](const.text)
    except LiteralError:
        raise
    except (ValueError, ArithmeticError, OverflowError) as exc:
        raise LiteralError(f"Invalid {const.type.name} constant ({const.text}) for \"{receiver}\" "
                           f"of type {type_name}: {exc}") from None


# ------------------------------------------------------------------------------------------ numbers

def _integer(type_name: str) -> Callable[[str], int]:
    java_name, bits = _INT_TYPES[type_name]
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise LiteralError(f"Unable to make {java_name} from '{text}'")
        return value
    return parse


def _varint(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # beyond Python's int/str digit limit; BigInteger has none
        return int(decimal.Decimal(text))


def _float(text: str) -> float:
    """Float.parseFloat: the float32 nearest to the exact decimal value, overflowing to Infinity."""
    try:
        x = float(text)
    except ValueError:
        raise LiteralError(f"Unable to make float from '{text}'") from None
    a = abs(x)
    if math.isnan(a) or math.isinf(a):
        return x
    if a >= _FLOAT_OVERFLOW:
        to_infinity = a > _FLOAT_OVERFLOW or decimal.Decimal(text).copy_abs() >= decimal.Decimal(a)
        return math.copysign(math.inf if to_infinity else _FLOAT_MAX, x)
    f = _F32.unpack(_F32.pack(a))[0]
    if f != a:
        bits = _U32.unpack(_F32.pack(f))[0]
        g = _F32.unpack(_U32.pack(bits + 1 if a > f else bits - 1))[0]
        if 2 * a == f + g:  # the double is a float32 midpoint: decide on the exact decimal instead
            exact, double = decimal.Decimal(text).copy_abs(), decimal.Decimal(a)
            if exact != double:
                f = max(f, g) if exact > double else min(f, g)
    return math.copysign(f, x)


def _double(text: str) -> float:
    try:
        return float(text)  # correctly rounded, like Double.valueOf
    except ValueError:
        raise LiteralError(f"Unable to make double from '{text}'") from None


_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)\Z")


def _decimal(text: str) -> decimal.Decimal:
    """new BigDecimal(text): finite, with an exponent and a resulting scale that fit an int."""
    exponent = _EXPONENT.search(text)
    try:
        fits = exponent is None or INT32_MIN <= int(exponent[1]) <= INT32_MAX
        value = decimal.Decimal(text) if fits else None
    except (ValueError, decimal.InvalidOperation):
        value = None
    if value is None or not value.is_finite() or not INT32_MIN <= -value.as_tuple().exponent <= INT32_MAX:
        raise LiteralError(f"unable to make BigDecimal from '{text}'")
    return value


# ------------------------------------------------------------------------- bytes, uuids, addresses

def _blob(text: str) -> bytes:
    digits = text[2:]
    if len(digits) % 2:
        raise LiteralError(f"cannot parse '{digits}' as hex bytes")
    return bytes.fromhex(digits)


def _timeuuid(text: str) -> uuid.UUID:
    value = uuid.UUID(text)
    if (value.int >> 76) & 0xF != 1:  # the version nibble, whatever the variant says
        raise LiteralError("TimeUUID supports only version 1 UUIDs")
    return value


def _inet(text: str) -> object:
    """InetAddress.getByName for address literals (host names would need a DNS lookup: refused)."""
    if not text:
        return EMPTY
    host, bracketed = text, text.startswith("[")
    if bracketed:
        host = text[1:-1] if len(text) > 2 and text.endswith("]") else ""
    address = None if bracketed else _java_ipv4(host)
    if address is None and host:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            address = None
        if address is not None and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # Java answers ::ffff:a.b.c.d with an Inet4Address
    if address is None:
        raise LiteralError(f"Unable to make inet address from '{text}'")
    return address


# Java's IPv4 literal forms: 1 to 4 decimal parts, the last filling the remaining bytes (127.1).
_IPV4_JAVA = re.compile(r"(?:[0-9]+\.){0,3}[0-9]+\Z")
MAX_IPV4_TEXT = 15  # IPAddressUtil.textToNumericFormatV4 refuses anything longer


def _java_ipv4(text: str) -> ipaddress.IPv4Address | None:
    if len(text) > MAX_IPV4_TEXT or not _IPV4_JAVA.match(text):
        return None
    *head, last = (int(part) for part in text.split("."))
    if any(part > 0xFF for part in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    return ipaddress.IPv4Address(bytes(head) + last.to_bytes(4 - len(head), "big"))


def _ascii(text: str) -> str:
    if text.isascii():
        return text
    code = next(ord(c) for c in text if ord(c) > 0x7F)
    # AsciiType appends the CharsetEncoder's exception, which counts UTF-16 units.
    kind = "MalformedInputException" if 0xD800 <= code <= 0xDFFF else "UnmappableCharacterException"
    raise LiteralError(f"Invalid ASCII character in string literal: java.nio.charset.{kind}: "
                       f"Input length = {2 if code > 0xFFFF else 1}")


# ------------------------------------------------------------------------------- calendar helpers

def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _month_length(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


_RAW_NUMBER = re.compile(r"-?[0-9]+\Z")


def _long(text: str) -> int | None:
    """Long.parseLong of a raw number's digits, None when it overflows."""
    try:
        value = int(text)
    except ValueError:  # more digits than Python converts: far beyond a long anyway
        return None
    return value if INT64_MIN <= value <= INT64_MAX else None


# -------------------------------------------------------------------------------------- timestamp

# (A) y-M-d('T'| )H:m[:s][.fraction]; (B) yyyy-MM-dd; (C) ISO_LOCAL_DATE inside ISO_DATE.
# One-letter fields read at most 19 digits (a long), as java.time's value parser does.
_LOCAL_DATE_TIME = re.compile(r"([0-9]{1,19})-([0-9]{1,19})-([0-9]{1,19})[T ]([0-9]{1,19}):([0-9]{1,19})"
                              r"(?::([0-9]{1,19}))?(?:\.([0-9]{0,9}))?")
_YYYY_MM_DD = re.compile(r"([0-9]{4}|\+[0-9]{5,19})-([0-9]{2})-([0-9]{2})")
_ISO_YEAR_DATE = re.compile(r"([0-9]{4}|\+[0-9]{5,10}|-[0-9]{4,10})-([0-9]{2})-([0-9]{2})")
# Offsets: X is +HH[mm], XXX is +HH:MM, ISO_DATE's and zone text's is +HH:MM[:ss].
_OFFSET_X = re.compile(r"([+-])([0-9]{2})()([0-9]{2})?()\Z")
_OFFSET_XXX = re.compile(r"([+-])([0-9]{2})(:)([0-9]{2})()\Z")
_OFFSET_ID = re.compile(r"([+-])([0-9]{2})(:)([0-9]{2})(?::([0-9]{2}))?\Z")
# Zone names java.time reads as metazones rather than as tzdb's fixed-offset zones.
_ZONE_ALIASES = {"EST": "America/New_York", "MST": "America/Denver"}
_NO_REGION = re.compile(r"Etc/GMT.|GMT[+-]0|right/|posix/|Factory|localtime|posixrules|ROC\Z")
_EPOCH = datetime.datetime(1970, 1, 1)
_LAST_PYTHON_SECOND = (datetime.datetime(9999, 1, 1) - _EPOCH) // datetime.timedelta(seconds=1)
_CYCLE_SECONDS = 146_097 * 86_400  # 400 Gregorian years
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*\Z")


def _offset(pattern: re.Pattern, text: str) -> int | None:
    match = pattern.match(text)
    if match is None:
        return None
    sign, hours, _, minutes, seconds = match.groups()
    h, m, s = int(hours), int(minutes or 0), int(seconds or 0)
    if h > 23 or m > 59 or s > 59 or h * 3600 + m * 60 + s > MAX_OFFSET_SECONDS:
        return None
    return (-1 if sign == "-" else 1) * (h * 3600 + m * 60 + s)


@functools.lru_cache(maxsize=256)
def _region(name: str) -> zoneinfo.ZoneInfo | None:
    name = _ZONE_ALIASES.get(name, name)
    if not _ZONE_NAME.match(name) or _NO_REGION.match(name):
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _zone_text(text: str) -> object:
    """The `z` pattern: an offset, a UTC/UT/GMT prefixed offset, GMT0, a region ID or Z."""
    if text[:1] in ("+", "-"):
        return _offset(_OFFSET_ID, text)
    prefix = next((p for p in ("UTC", "UT", "GMT") if text.startswith(p)), None)
    if prefix is not None:
        rest = text[len(prefix):]
        if not rest or text == "GMT0":
            return 0
        return _offset(_OFFSET_ID, rest)
    region = _region(text)
    if region is not None:
        return region
    return 0 if text == "Z" else None


def _zone(suffix: str, local_allowed: bool) -> object:
    """The zone after a date-time: X, XXX, ' X' or ' z' (None when none of them parses it)."""
    if not suffix:
        return 0 if local_allowed else None
    if suffix == "Z":
        return 0
    if suffix[0] == " ":
        zone = _offset(_OFFSET_X, suffix[1:])
        return zone if zone is not None else _zone_text(suffix[1:])
    zone = _offset(_OFFSET_X, suffix)
    return zone if zone is not None else _offset(_OFFSET_XXX, suffix)


def _epoch_millis(year: int, month: int, day: int, hour: int, minute: int, second: int,
                  millis: int, zone: object) -> int | None:
    """The instant of a local date-time resolved by java.time's SMART resolver, or None."""
    if not 1 <= month <= 12 or not 1 <= day <= 31 or minute > 59:
        return None
    day = min(day, _month_length(year, month))
    days = _days_from_civil(year, month, day)
    if hour == 24 and minute == 0 and second == 0 and millis == 0:
        days, hour = days + 1, 0  # 24:00 is the end of the day
    elif hour > 23 or second > 59:
        return None
    local = days * 86400 + hour * 3600 + minute * 60 + second
    if not isinstance(zone, int):
        zone = _region_offset(local, zone)
        if zone is None:
            return None
    instant = (local - zone) * 1000 + millis
    return instant if INT64_MIN <= instant <= INT64_MAX else None


def _region_offset(local_seconds: int, region: zoneinfo.ZoneInfo) -> int | None:
    """The region's offset at a local time; for a time skipped or repeated by a transition, the
    offset before it (as java.time's ZonedDateTime.ofLocal). Times after Python's year 9999 use the
    same day of a 400-year cycle earlier: the calendar repeats, and so do a region's last rules."""
    if local_seconds > _LAST_PYTHON_SECOND:
        local_seconds -= ((local_seconds - _LAST_PYTHON_SECOND) // _CYCLE_SECONDS + 1) * _CYCLE_SECONDS
    try:
        moment = _EPOCH + datetime.timedelta(seconds=local_seconds)
    except OverflowError:
        return None
    return int(region.utcoffset(moment).total_seconds())


def _timestamp_parts(text: str) -> int | None:
    match = _LOCAL_DATE_TIME.match(text)
    if match is not None:
        y, mo, d, h, mi, s, fraction = match.groups()
        zone = _zone(text[match.end():], True)
        # A fraction needs seconds: minute-of-hour plus nano-of-second alone do not resolve.
        if zone is not None and not (fraction is not None and s is None) and 1 <= int(y) <= MAX_YEAR:
            millis = int((fraction or "").ljust(3, "0")[:3])
            found = _epoch_millis(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), millis, zone)
            if found is not None:
                return found
    match = _YYYY_MM_DD.match(text)
    if match is not None:
        zone = _zone(text[match.end():], False)
        y, mo, d = (int(g) for g in match.groups())
        if zone is not None and 1 <= y <= MAX_YEAR:
            found = _epoch_millis(y, mo, d, 0, 0, 0, 0, zone)
            if found is not None:
                return found
    match = _ISO_YEAR_DATE.match(text)
    if match is not None:
        suffix = text[match.end():]
        zone = 0 if suffix in ("", "Z", "z") else _offset(_OFFSET_ID, suffix)
        y, mo, d = (int(g) for g in match.groups())
        if zone is not None and abs(y) <= MAX_YEAR and match[1] != "-" + "0" * (len(match[1]) - 1):
            return _epoch_millis(y, mo, d, 0, 0, 0, 0, zone)
    return None


def _timestamp(text: str) -> object:
    if not text:
        return EMPTY
    if text.lower() == "now":
        return time.time_ns() // 1_000_000
    if _RAW_NUMBER.match(text):
        value = _long(text)
        if value is None:
            raise LiteralError(f"Unable to make long (for date) from: '{text}'")
        return value
    found = _timestamp_parts(text)
    if found is None:
        raise LiteralError(f"Unable to parse a date/time from '{text}'")
    return found


# ------------------------------------------------------------------------------------ date, time

def _date(text: str) -> int:
    if _RAW_NUMBER.match(text):
        raw = _long(text)
        if raw is None or not 0 <= raw <= MAX_RAW_DAY:
            raise LiteralError(f"Unable to make unsigned int (for date) from: '{text}'")
        return raw - DATE_EPOCH_OFFSET
    match = _ISO_YEAR_DATE.fullmatch(text)
    days = None
    if match is not None and match[1] != "-" + "0" * (len(match[1]) - 1):
        year, month, day = (int(g) for g in match.groups())
        if abs(year) <= MAX_YEAR and 1 <= month <= 12 and 1 <= day <= _month_length(year, month):
            days = _days_from_civil(year, month, day)
    # STRICT resolution refuses impossible dates; the millisecond count must fit a long.
    if days is None or not INT64_MIN <= days * MILLIS_PER_DAY <= INT64_MAX:
        raise LiteralError(f"Unable to coerce '{text}' to a formatted date (long)")
    if days < INT32_MIN:
        raise LiteralError(f"Input date {text} is less than min supported date {_MIN_DATE_TEXT}")
    if days > INT32_MAX:
        raise LiteralError(f"Input date {text} is greater than max supported date {_MAX_DATE_TEXT}")
    return days


def _time(text: str) -> int:
    if _RAW_NUMBER.match(text):
        nanos = _long(text)
        if nanos is None or not 0 <= nanos < NANOS_PER_DAY:
            raise LiteralError(f"Unable to make long (for time) from: '{text}'")
        return nanos
    try:
        return parse_time_of_day(text)
    except ValueError:
        raise LiteralError(f"(TimeType) Unable to coerce '{text}' to a formatted time (long)") from None


# ---------------------------------------------------------------------------------------- duration

_MONTHS, _DAYS, _NANOS = 0, 1, 2
_FIELD_NAMES = ("months", "days", "nanoseconds")
_FIELD_LIMITS = (INT32_MAX, INT32_MAX, INT64_MAX)
# Units in the order Duration.Builder demands, each at most once: (name, field, size).
_UNITS = (None, ("years", _MONTHS, 12), ("months", _MONTHS, 1), ("weeks", _DAYS, 7), ("days", _DAYS, 1),
          ("hours", _NANOS, 3_600_000_000_000), ("minutes", _NANOS, 60_000_000_000),
          ("seconds", _NANOS, 1_000_000_000), ("milliseconds", _NANOS, 1_000_000),
          ("microseconds", _NANOS, 1000), ("nanoseconds", _NANOS, 1))
_SYMBOLS = {"y": 1, "mo": 2, "w": 3, "d": 4, "h": 5, "m": 6, "s": 7, "ms": 8, "us": 9, "µs": 9, "ns": 10}
_STANDARD = re.compile(r"([0-9]+)([yY]|[mM][oO]|[wW]|[dD]|[hH]|[sS]|[mM][sS]|[uU][sS]|µ[sS]|[nN][sS]|[mM])")
_ISO_DESIGNATORS = re.compile(
    r"P(?:([0-9]+)Y)?(?:([0-9]+)M)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?\Z")
_ISO_WEEKS = re.compile(r"P([0-9]+)W\Z")
_ISO_ALTERNATIVE = re.compile(r"P([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\Z")
_ISO_UNITS = (1, 2, 4, 5, 6, 7)  # what the designator and alternative forms' groups count
MAX_AMOUNT_DIGITS = 40  # longer counts exceed every field's limit; spare Python the conversion


def _amount(digits: str) -> int:
    return int(digits) if len(digits) <= MAX_AMOUNT_DIGITS else INT64_MAX + 1


def _build_duration(amounts: list[tuple[int, int]], negative: bool) -> Duration:
    """Duration.Builder: units in order, each once, every total within its field's range."""
    totals = [0, 0, 0]
    current = 0
    for unit, count in amounts:
        if unit == current:
            raise LiteralError(f"Invalid duration. The {_UNITS[unit][0]} are specified multiple times")
        if unit < current:
            raise LiteralError(f"Invalid duration. The {_UNITS[current][0]} should be after "
                               f"{_UNITS[unit][0]}")
        current = unit
        _, field, size = _UNITS[unit]
        if count > (_FIELD_LIMITS[field] - totals[field]) // size:
            raise LiteralError(f"Invalid duration. The total number of {_FIELD_NAMES[field]} must be "
                               f"less or equal to {INT32_MAX}")
        totals[field] += count * size
    sign = -1 if negative else 1
    return Duration(sign * totals[_MONTHS], sign * totals[_DAYS], sign * totals[_NANOS])


def _duration(text: str) -> Duration:
    """Duration.from: the unit form (1h30m), ISO 8601 designators, weeks or alternative form."""
    negative = text.startswith("-")
    source = text[1:] if negative else text
    if source.startswith("P"):
        if source.endswith("W"):
            match = _ISO_WEEKS.match(source)
            units = (3,)
        else:
            match = (_ISO_ALTERNATIVE if "-" in source else _ISO_DESIGNATORS).match(source)
            units = _ISO_UNITS
        if match is None:
            raise LiteralError(f"Unable to convert '{source}' to a duration")
        amounts = [(unit, _amount(g)) for unit, g in zip(units, match.groups()) if g is not None]
        return _build_duration(amounts, negative)
    amounts, pos = [], 0
    while (match := _STANDARD.match(source, pos)) is not None:
        amounts.append((_SYMBOLS[match[2].lower()], _amount(match[1])))
        pos = match.end()
    if not amounts or pos != len(source):
        _build_duration(amounts, negative)  # Cassandra reports misplaced units before the rest
        raise LiteralError(f"Unable to convert '{source}' to a duration")
    return _build_duration(amounts, negative)


_PARSERS = {
    "ascii": _ascii,
    "text": lambda text: text,
    "inet": _inet,
    "blob": _blob,
    "boolean": lambda text: text.lower() == "true",
    "uuid": uuid.UUID,
    "timeuuid": _timeuuid,
    "bigint": _integer("bigint"),
    "counter": _integer("counter"),
    "int": _integer("int"),
    "smallint": _integer("smallint"),
    "tinyint": _integer("tinyint"),
    "varint": _varint,
    "decimal": _decimal,
    "double": _double,
    "float": _float,
    "timestamp": _timestamp,
    "date": _date,
    "time": _time,
    "duration": _duration,
}
