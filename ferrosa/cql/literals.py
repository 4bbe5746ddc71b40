"""Literal text -> Python value, for a receiver of a known native type (Cassandra's fromString rules).

What it is: the conversion Cassandra performs when a CQL constant meets the column it is assigned
to: which constant kinds a type accepts (Constants.Literal.testAssignment) and how each type reads
its text (the TypeSerializer/AbstractType.fromString implementations).

What it must not do: serialize (ferrosa.protocol.values does), or know statements or schemas.

Python representations (those of ferrosa.protocol.values): integers for every integer type, counter,
timestamp (ms since the epoch), date (days since the epoch, signed) and time (ns since midnight);
float for float/double; decimal.Decimal; str; bytes; bool; uuid.UUID; ipaddress objects;
values.Duration.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import re
import uuid

from ferrosa.cql.ast import Constant, ConstantType
from ferrosa.protocol.values import Duration

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

_INT_RANGES = {
    "tinyint": (-(1 << 7), (1 << 7) - 1),
    "smallint": (-(1 << 15), (1 << 15) - 1),
    "int": (-(1 << 31), (1 << 31) - 1),
    "bigint": (-(1 << 63), (1 << 63) - 1),
    "counter": (-(1 << 63), (1 << 63) - 1),
}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_EPOCH_DATE = datetime.date(1970, 1, 1)


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


def _integer(type_name: str):
    lo, hi = _INT_RANGES[type_name]

    def parse(text: str) -> int:
        value = int(text)
        if not lo <= value <= hi:
            raise LiteralError(f"Unable to make {type_name} from '{text}'")
        return value
    return parse


def _float(text: str) -> float:
    return float(text)


def _decimal(text: str) -> decimal.Decimal:
    value = decimal.Decimal(text)
    if not value.is_finite():
        raise LiteralError(f"Unable to make BigDecimal from '{text}'")
    return value


def _blob(text: str) -> bytes:
    digits = text[2:]
    if len(digits) % 2:
        raise LiteralError(f"Hex string is odd length: {text}")
    return bytes.fromhex(digits)


def _uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


def _timeuuid(text: str) -> uuid.UUID:
    value = uuid.UUID(text)
    if value.version != 1:
        raise LiteralError(f"Unsupported UUID version {value.version} for timeuuid (only v1)")
    return value


def _inet(text: str) -> ipaddress._BaseAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise LiteralError(f"Unable to make inet address from '{text}'") from None


# Cassandra's TimestampSerializer accepts a date, an optional time, optional fractions and zone.
_TIMESTAMP_RE = re.compile(
    r"(?P<date>\d{4}-\d{1,2}-\d{1,2})"
    r"(?:[ T](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.(?P<frac>\d{1,9}))?)?))?"
    r"\s*(?P<zone>Z|z|[+-]\d{2}:?\d{2}|UTC|GMT)?\Z")


def _zone(text: str | None) -> datetime.tzinfo:
    if text is None or text.upper() in ("Z", "UTC", "GMT"):
        return datetime.timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]),
                                                       minutes=int(digits[2:])))


def _timestamp(text: str) -> int:
    stripped = text.strip()
    if re.fullmatch(r"-?\d+", stripped):
        return int(stripped)
    match = _TIMESTAMP_RE.match(stripped)
    if match is None:
        raise LiteralError(f"Unable to parse a date/time from '{text}'")
    year, month, day = (int(p) for p in match["date"].split("-"))
    hour = minute = second = 0
    if match["time"]:
        parts = match["time"].split(":")
        hour, minute = int(parts[0]), int(parts[1])
        if len(parts) > 2:
            second = int(parts[2].split(".")[0])
    millis = int((match["frac"] or "0").ljust(3, "0")[:3])
    moment = datetime.datetime(year, month, day, hour, minute, second,
                               tzinfo=_zone(match["zone"]))
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + millis


def _date(text: str) -> int:
    stripped = text.strip()
    if re.fullmatch(r"-?\d+", stripped):
        # An integer literal is the raw unsigned day count, with the epoch at 2**31.
        raw = int(stripped)
        if not 0 <= raw <= 0xFFFFFFFF:
            raise LiteralError(f"Unable to make unsigned int (for date) from: '{text}'")
        return raw - (1 << 31)
    match = re.fullmatch(r"(-?\d{1,})-(\d{1,2})-(\d{1,2})", stripped)
    if match is None:
        raise LiteralError(f"Unable to coerce '{text}' to a formatted date (long)")
    year, month, day = (int(g) for g in match.groups())
    return (datetime.date(year, month, day) - _EPOCH_DATE).days


def _time(text: str) -> int:
    stripped = text.strip()
    if re.fullmatch(r"-?\d+", stripped):
        nanos = int(stripped)
    else:
        match = re.fullmatch(r"(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?", stripped)
        if match is None:
            raise LiteralError("Timestamp format must be hh:mm:ss[.fffffffff]")
        hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3])
        if hours > 23 or minutes > 59 or seconds > 59:
            raise LiteralError(f"Hour/minute/second out of bounds in '{text}'")
        nanos = ((hours * 60 + minutes) * 60 + seconds) * 1_000_000_000
        nanos += int((match[4] or "0").ljust(9, "0"))
    if not 0 <= nanos < 86_400_000_000_000:
        raise LiteralError("Input long out of bounds: %d" % nanos)
    return nanos


_DURATION_UNITS = {
    "y": (12, 0, 0), "mo": (1, 0, 0), "w": (0, 7, 0), "d": (0, 1, 0),
    "h": (0, 0, 3_600_000_000_000), "m": (0, 0, 60_000_000_000), "s": (0, 0, 1_000_000_000),
    "ms": (0, 0, 1_000_000), "us": (0, 0, 1000), "µs": (0, 0, 1000), "ns": (0, 0, 1),
}
_DURATION_RE = re.compile(r"(\d+)(mo|ms|us|µs|ns|y|w|d|h|m|s)", re.IGNORECASE)
_ISO_RE = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?\Z")
_ISO_WEEK_RE = re.compile(r"P(\d+)W\Z")
_ISO_ALT_RE = re.compile(r"P(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\Z")


def _duration(text: str) -> Duration:
    negative = text.startswith("-")
    body = text[1:] if negative else text
    months = days = nanos = 0
    if body.upper().startswith("P"):
        months, days, nanos = _iso_duration(body.upper(), text)
    else:
        pos = 0
        for match in _DURATION_RE.finditer(body):
            if match.start() != pos:
                raise LiteralError(f"Unable to convert '{text}' to a duration")
            mo, d, ns = _DURATION_UNITS[match[2].lower()]
            count = int(match[1])
            months, days, nanos = months + mo * count, days + d * count, nanos + ns * count
            pos = match.end()
        if pos != len(body) or not body:
            raise LiteralError(f"Unable to convert '{text}' to a duration")
    sign = -1 if negative else 1
    return Duration(sign * months, sign * days, sign * nanos)


def _iso_duration(body: str, text: str) -> tuple[int, int, int]:
    if match := _ISO_WEEK_RE.match(body):
        return 0, int(match[1]) * 7, 0
    if match := _ISO_ALT_RE.match(body):
        y, mo, d, h, mi, s = (int(g) for g in match.groups())
        return y * 12 + mo, d, ((h * 60 + mi) * 60 + s) * 1_000_000_000
    match = _ISO_RE.match(body)
    if match is None or body in ("P", "PT") or body.endswith("T"):
        raise LiteralError(f"Unable to convert '{text}' to a duration")
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
    return y * 12 + mo, d, ((h * 60 + mi) * 60 + s) * 1_000_000_000


def _duration_literal(text: str) -> Duration:
    if re.fullmatch(r"-?\d+", text):
        raise LiteralError("Durations must be given with units, e.g. 1h30m")
    return _duration(text)


_PARSERS = {
    "ascii": lambda text: text if text.isascii() else _fail_ascii(text),
    "text": lambda text: text,
    "inet": _inet,
    "blob": _blob,
    "boolean": lambda text: text.lower() == "true",
    "uuid": _uuid,
    "timeuuid": _timeuuid,
    "bigint": _integer("bigint"),
    "counter": _integer("counter"),
    "int": _integer("int"),
    "smallint": _integer("smallint"),
    "tinyint": _integer("tinyint"),
    "varint": int,
    "decimal": _decimal,
    "double": _float,
    "float": _float,
    "timestamp": _timestamp,
    "date": _date,
    "time": _time,
    "duration": _duration_literal,
}


def _fail_ascii(text: str) -> str:
    raise LiteralError(f"Invalid ASCII character in string literal {text!r}")
