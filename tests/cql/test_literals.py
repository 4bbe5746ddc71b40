"""Literal conversion: golden tables of Cassandra 5.0's fromString results and messages, and fuzzing.

The timestamp, date and float expectations were produced by java.time / Float.parseFloat (JDK 17) with
the formatter list of TimestampSerializer and SimpleDateSerializer; the messages are those of the
*Type.fromString methods, Duration.from and the serializers named beside each table."""

from __future__ import annotations

import ipaddress
import math
import struct
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.cql.ast import Constant, ConstantType
from ferrosa.cql.literals import ACCEPTS, LiteralError, literal_value
from ferrosa.protocol.values import EMPTY, Duration

K = ConstantType
FUZZ = settings(max_examples=200, deadline=None)
H, M, S = 3_600_000_000_000, 60_000_000_000, 1_000_000_000


def value(type_name: str, text: str, kind: ConstantType = K.STRING) -> object:
    return literal_value(Constant(kind, text), type_name, "c")


def error(type_name: str, text: str, kind: ConstantType = K.STRING) -> str:
    with pytest.raises(LiteralError) as caught:
        value(type_name, text, kind)
    return str(caught.value)


def _has_region(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


needs_tzdata = pytest.mark.skipif(not _has_region("Europe/Paris"), reason="no time zone database")

# TimestampSerializer.dateStringToTimestamp (server zone UTC): (text, epoch milliseconds).
TIMESTAMPS = [
    ("2024-1-2 3:4:5+0000", 1704164645000),
    ("2024-01-02T03:04:05.678Z", 1704164645678),
    ("2024-01-02 03:04:05.123456789+01:00", 1704161045123),  # whole milliseconds kept
    ("2024-01-02 03:04:05.6789 +0130", 1704159245678),
    ("2024-01-02 03:04", 1704164640000),
    ("2024-01-02 24:00+0000", 1704240000000),  # SMART: 24:00 is the next midnight
    ("2024-01-02 24:00:00.0001Z", 1704240000000),
    ("2024-02-30 01:00+0000", 1709168400000),  # SMART: the day is clamped to the month
    ("2023-02-29T00:00Z", 1677542400000),
    ("2024-01-02 03:04:05 UTC+01:00", 1704161045000),
    ("2024-01-02 03:04:05 GMT-01:30", 1704170045000),
    ("2024-01-02 03:04:05 GMT0", 1704164645000),
    ("2024-01-02 03:04:05 UT", 1704164645000),
    ("2024-01-02 03:04:05 +01:00:30", 1704161015000),
    ("12024-01-02 03:04:05Z", 317273684645000),
    ("2024-01-02+01:00", 1704150000000),
    ("2024-01-02z", 1704153600000),  # ISO_DATE reads its offset case-insensitively
    ("-0001-01-01", -62198755200000),
    ("+10000-01-01", 253402300800000),
    ("0000-01-01", -62167219200000),
    ("-9223372036854775808", -9223372036854775808),
]
REGION_TIMESTAMPS = [
    ("2024-07-02 03:04:05 Europe/Paris", 1719882245000),
    ("2024-07-02 03:04:05 EST", 1719903845000),  # java.time reads EST as New York's time
    ("2024-03-31 02:30:00 Europe/Paris", 1711848600000),  # in the spring gap
    ("2024-10-27 02:30:00 Europe/Paris", 1729989000000),  # in the autumn overlap: earlier offset
]
BAD_TIMESTAMPS = [
    "-0000-01-01", "2024-13-01 01:00+0000", "2024-01-02 03:04.5+0000", "2024-01-02 03:04:05.1234567890Z",
    "2024-01-02 03:04:05 utc", "2024-01-02 03:04:05 Etc/GMT+1", "2024-01-02 03:04:05+24:00",
    "2024-01-02 03:04:05 UTC+19:00", "2024-01-02 03:04:05+1", "2024-01-02t03:04:05Z", " 2024-01-02",
    "0000-01-01 00:00Z", "2024-1-2", "garbage", "2024-01-02 03:04:05 Nowhere/Special",
]


@pytest.mark.parametrize("text,millis", TIMESTAMPS)
def test_timestamp_forms(text, millis):
    assert value("timestamp", text) == millis


@needs_tzdata
@pytest.mark.parametrize("text,millis", REGION_TIMESTAMPS)
def test_timestamp_zone_regions(text, millis):
    assert value("timestamp", text) == millis


@pytest.mark.parametrize("text", BAD_TIMESTAMPS)
def test_timestamp_refusals(text):
    assert error("timestamp", text) == f"Unable to parse a date/time from '{text}'"


def test_timestamp_special_values():
    assert value("timestamp", "") is EMPTY
    assert abs(value("timestamp", "NOW") - value("timestamp", "now")) < 60_000
    assert error("timestamp", "9223372036854775808", K.INTEGER) == (
        "Unable to make long (for date) from: '9223372036854775808'")


# SimpleDateSerializer.dateStringToDays: (text, days since the epoch).
DATES = [("-0001-01-01", -719893), ("+10000-01-01", 2932897), ("2024-02-29", 19782), ("0000-01-01", -719528),
         ("+5881580-07-11", 2147483647), ("-5877641-06-23", -2147483648), ("2147483648", 0), ("0", -2**31)]
BAD_DATES = ["10000-01-01", "2024-02-30", "2023-02-29", "+2024-01-01", "-0000-01-01", "+0000-01-01", "2024-1-01",
             " 2024-01-01", "+300000000-01-01", "2024-01-01Z", ""]


@pytest.mark.parametrize("text,days", DATES)
def test_date_forms(text, days):
    assert value("date", text) == days


@pytest.mark.parametrize("text", BAD_DATES)
def test_date_refusals(text):
    assert error("date", text) == f"Unable to coerce '{text}' to a formatted date (long)"


def test_date_limits():
    assert error("date", "+5881580-07-12") == (
        "Input date +5881580-07-12 is greater than max supported date +5881580-07-11T00:00Z")
    assert error("date", "-5877641-06-22") == (
        "Input date -5877641-06-22 is less than min supported date -5877641-06-23T00:00Z")
    for raw in ("-1", "4294967296", "99999999999999999999"):
        assert error("date", raw, K.INTEGER) == f"Unable to make unsigned int (for date) from: '{raw}'"


# TimeSerializer.timeStringToLong.
TIMES = [("13:45:00.123456789", 49500123456789), ("1:2:3", 3723 * S), ("+1:2:3", 3723 * S),
         (" 12:00:00\t", 12 * H), ("12:34:56.7", 45296700000000), ("86399999999999", 86399999999999), ("-0", 0)]
BAD_TIMES = ["13:45", "24:00:00", "12:60:00", "12:00:60", "12:00:00.1234567890", "12:00:00.", "12:00:00.x",
             "12::00", ":12:00", "12:00:", "1 2:00:00", "", "12:00:00:00", "-1:00:00"]


@pytest.mark.parametrize("text,nanos", TIMES)
def test_time_forms(text, nanos):
    assert value("time", text) == nanos


@pytest.mark.parametrize("text", BAD_TIMES)
def test_time_refusals(text):
    assert error("time", text) == f"(TimeType) Unable to coerce '{text}' to a formatted time (long)"


@pytest.mark.parametrize("text", ["86400000000000", "-1", "9223372036854775808"])
def test_time_raw_out_of_range(text):
    assert error("time", text) == f"Unable to make long (for time) from: '{text}'"


# Duration.from and DurationTest.testInvalidDurations.
DURATIONS = [("1y2mo", Duration(14, 0, 0)), ("-1Y2MO", Duration(-14, 0, 0)), ("2w3d", Duration(0, 17, 0)),
             ("1950µS", Duration(0, 0, 1_950_000)), ("1h1m1s1ms1us1ns", Duration(0, 0, H + M + S + 1_001_001)),
             ("P1Y2M3DT4H5M6S", Duration(14, 3, 4 * H + 5 * M + 6 * S)), ("P", Duration(0, 0, 0)),
             ("-P2W", Duration(0, -14, 0)), ("P0001-02-03T04:05:06", Duration(14, 3, 4 * H + 5 * M + 6 * S)),
             ("2147483647d", Duration(0, 2147483647, 0)), ("178956970y7mo", Duration(2147483647, 0, 0))]
BAD_DURATIONS = [
    ("12s3s", "Invalid duration. The seconds are specified multiple times"),
    ("12s3m", "Invalid duration. The seconds should be after minutes"),
    ("1Y3M4D", "Invalid duration. The minutes should be after days"),
    ("1d1w", "Invalid duration. The days should be after weeks"),
    ("1mo1y5x", "Invalid duration. The months should be after years"),
    ("9223372036854775807d", "Invalid duration. The total number of days must be less or equal to 2147483647"),
    ("178956970y8mo", "Invalid duration. The total number of months must be less or equal to 2147483647"),
    ("2562048h", "Invalid duration. The total number of nanoseconds must be less or equal to 2147483647"),
    ("9" * 5000 + "d", "Invalid duration. The total number of days must be less or equal to 2147483647"),
    ("-2µ", "Unable to convert '2µ' to a duration"),
    ("2m12.5s", "Unable to convert '2m12.5s' to a duration"),
    ("5", "Unable to convert '5' to a duration"),
    ("P2Y3W", "Unable to convert 'P2Y3W' to a duration"),
    ("P0002-00-20", "Unable to convert 'P0002-00-20' to a duration"),
    ("p1y", "Unable to convert 'p1y' to a duration"),
]


@pytest.mark.parametrize("text,expected", DURATIONS)
def test_durations(text, expected):
    assert value("duration", text, K.DURATION) == expected


@pytest.mark.parametrize("text,message", BAD_DURATIONS, ids=[m[:40] for _, m in BAD_DURATIONS])
def test_duration_refusals(text, message):
    assert error("duration", text, K.DURATION) == message


def _f32_bits(x: float) -> str:
    return struct.pack(">f", x).hex()


# Float.parseFloat: the float nearest the exact decimal (hex of the IEEE bits), Infinity past the top.
FLOATS = [("1e39", "7f800000"), ("-1e39", "ff800000"), ("3.4028235e38", "7f7fffff"),
          ("3.4028236e38", "7f800000"), ("340282356779733661637539395458142568447", "7f7fffff"),
          ("340282356779733661637539395458142568448", "7f800000"), ("7.006492321624085e-46", "00000000"),
          ("7.006492321624086e-46", "00000001"), ("1e-46", "00000000"), ("-0.0", "80000000"), ("1.5", "3fc00000")]


@pytest.mark.parametrize("text,bits", FLOATS)
def test_float_rounding(text, bits):
    assert _f32_bits(value("float", text, K.FLOAT)) == bits


def test_double_keeps_double_range():
    assert value("double", "1e39", K.FLOAT) == 1e39
    assert value("double", "1e400", K.FLOAT) == math.inf


INTEGER_ERRORS = [("tinyint", "128", "byte"), ("smallint", "-32769", "short"), ("int", "2147483648", "int"),
                  ("bigint", "9223372036854775808", "long"), ("counter", "-9223372036854775809", "long"),
                  ("smallint", "9" * 5000, "short")]


@pytest.mark.parametrize("type_name,text,java_name", INTEGER_ERRORS)
def test_integer_range_messages(type_name, text, java_name):
    assert error(type_name, text, K.INTEGER) == f"Unable to make {java_name} from '{text}'"


def test_varint_has_no_digit_limit():
    assert value("varint", "9" * 5000, K.INTEGER) == 10**5000 - 1


@pytest.mark.parametrize("text,scale", [("1e2147483647", -2147483647), ("1e-2147483647", 2147483647),
                                         ("10e2147483647", -2147483647), ("1.50", 2)])
def test_decimal_scales(text, scale):
    assert -value("decimal", text, K.FLOAT).as_tuple().exponent == scale


@pytest.mark.parametrize("text", ["1e2147483648", "1e-2147483648", "1.5e-2147483647", "1.0e2147483648",
                                  "NaN", "-Infinity", "1e" + "9" * 5000])
def test_decimal_refusals(text):
    assert error("decimal", text, K.FLOAT) == f"unable to make BigDecimal from '{text}'"


def test_blob_odd_length():
    assert error("blob", "0xabc", K.HEX) == "cannot parse 'abc' as hex bytes"
    assert value("blob", "0X0a", K.HEX) == b"\n"


def test_timeuuid_version():
    assert error("timeuuid", "f47ac10b-58cc-4372-a567-0e02b2c3d479", K.UUID) == (
        "TimeUUID supports only version 1 UUIDs")
    # The version nibble decides, whatever the variant bits say.
    odd_variant = "50554d6e-29bb-11e5-3345-feff819cdc9f"
    assert value("timeuuid", odd_variant, K.UUID) == uuid.UUID(odd_variant)


INETS = [("", EMPTY), ("1.2.3.4", ipaddress.IPv4Address("1.2.3.4")), ("127.1", ipaddress.IPv4Address("127.0.0.1")),
         ("1", ipaddress.IPv4Address("0.0.0.1")), ("010.1.1.1", ipaddress.IPv4Address("10.1.1.1")),
         ("::ffff:1.2.3.4", ipaddress.IPv4Address("1.2.3.4")), ("[::1]", ipaddress.IPv6Address("::1")),
         ("2001:db8::1", ipaddress.IPv6Address("2001:db8::1"))]


@pytest.mark.parametrize("text,expected", INETS)
def test_inet_forms(text, expected):
    assert value("inet", text) == expected


@pytest.mark.parametrize("text", ["1.2.3.4.5", "256.1.1.1", "[1.2.3.4]", "0x7f.1", "localhost", "[::1", ":::"])
def test_inet_refusals(text):
    assert error("inet", text) == f"Unable to make inet address from '{text}'"


@pytest.mark.parametrize("text,tail", [("é", "UnmappableCharacterException: Input length = 1"),
                                       ("a\U0001f600", "UnmappableCharacterException: Input length = 2")])
def test_ascii_refusal(text, tail):
    assert error("ascii", text) == f"Invalid ASCII character in string literal: java.nio.charset.{tail}"


def test_constant_kind_mismatch():
    assert error("int", "abc") == 'Invalid STRING constant (abc) for "c" of type int'


TEXTS = st.text(alphabet=st.sampled_from("0123456789-+:. TZzUCGMPWDHSYmosµn/abcé"), max_size=30)


@FUZZ
@given(type_name=st.sampled_from(sorted(ACCEPTS)), text=TEXTS)
def test_parses_or_raises_literal_error(type_name, text):
    for kind in ACCEPTS[type_name]:
        try:
            value(type_name, text, kind)
        except LiteralError:
            pass
        except ValueError as exc:  # the constant kinds' own syntax errors (the lexer never makes these)
            assert type_name in ("uuid", "timeuuid", "blob", "varint"), exc


@FUZZ
@given(st.floats(allow_nan=False, width=32))
def test_float_text_round_trips(x):
    assert _f32_bits(value("float", repr(x), K.FLOAT)) == _f32_bits(x)


@FUZZ
@given(st.integers(-(2**31), 2**31 - 1))
def test_date_day_numbers_round_trip_through_iso_text(days):
    from ferrosa.protocol.scalar_values import _civil_from_days
    year, month, day = _civil_from_days(days)
    sign = "+" if year > 9999 else ("-" if year < 0 else "")
    assert value("date", f"{sign}{abs(year):04d}-{month:02d}-{day:02d}") == days


def test_decimal_literal_keeps_scale():
    assert value("decimal", "1.500", K.FLOAT) == Decimal("1.500")
