"""Java number semantics and the fromString/toString text of native types."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.functions import FunctionError, InvalidRequest, MarshalError, java, text_codec
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from tests.functions.strategies import NATIVE_VALUES

DOUBLE_TEXT = [
    (1.0, "1.0"), (-0.0, "-0.0"), (100.0, "100.0"), (1e7, "1.0E7"), (9999999.0, "9999999.0"),
    (0.001, "0.001"), (1e-4, "1.0E-4"), (123123.123123, "123123.123123"), (5e-324, "4.9E-324"),
    (1.7976931348623157e308, "1.7976931348623157E308"), (0.1 + 0.2, "0.30000000000000004"),
    (-1.5e300, "-1.5E300"), (math.nan, "NaN"), (-math.inf, "-Infinity"),
]


@pytest.mark.parametrize("value, expected", DOUBLE_TEXT)
def test_double_to_string(value, expected) -> None:
    assert java.double_to_string(value) == expected


@pytest.mark.parametrize("value, expected", [
    (5.2, "5.2"), (6.3, "6.3"), (123.123, "123.123"), (1e10, "1.0E10"), (1.4e-45, "1.4E-45"),
    (3.4028234663852886e38, "3.4028235E38"), (0.1, "0.1"), (16777216.0, "1.6777216E7"),
])
def test_float_to_string(value, expected) -> None:
    assert java.float_to_string(java.f32(value)) == expected


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False))
def test_double_text_reads_back(x: float) -> None:
    assert java.parse_double(java.double_to_string(x)) == x


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=False))
def test_float_text_reads_back(x: float) -> None:
    assert java.parse_float(java.float_to_string(x)) == x


def test_java_arithmetic() -> None:
    assert java.wrap(2**31, 32) == -(2**31) and java.wrap(-129, 8) == 127
    assert java.d2i(math.nan) == 0 and java.d2i(-1e300) == -(2**31) and java.d2l(math.inf) == 2**63 - 1
    assert java.math_round_double(-2.5) == -2 and java.math_round_double(2.5) == 3
    assert java.math_round_float(math.nan) == 0 and java.math_round_float(1e30) == 2**31 - 1
    assert java.jdiv(-7, 2) == -3 and java.jrem(-7, 2) == -1
    assert java.int_to_f32(2**53 + 1) == 9007199254740992.0
    assert java.parse_float("1.1") == struct.unpack(">f", struct.pack(">f", 1.1))[0]
    assert java.parse_double(" 1e5d ") == 100000.0 and java.parse_double("0x1p3") == 8.0
    assert java.parse_double("1e999999999999") == math.inf and java.parse_float("-1e-99999") == 0.0
    for bad in ("inf", "nan", "1_0", "", "1e", "--1"):
        with pytest.raises(ValueError):
            java.parse_double(bad)


FROM_STRING = [
    (T.INT, "12", 12), (T.INT, "+12", 12), (T.INT, "", V.EMPTY), (T.TINYINT, "-128", -128),
    (T.BIGINT, "-9223372036854775808", -(2**63)), (T.VARINT, "-1234567890123456789012345", -1234567890123456789012345),
    (T.FLOAT, "1.5f", 1.5), (T.DOUBLE, "NaN", math.nan), (T.DECIMAL, "1.20E-3", "0.00120"),
    (T.BOOLEAN, "True", True), (T.BOOLEAN, "", False), (T.TEXT, "é", "é"), (T.BLOB, "0a0B", b"\x0a\x0b"),
    (T.UUID, "", V.EMPTY), (T.INET, "127.1", "127.0.0.1"), (T.INET, "[::1]", "::1"),
    (T.TIMESTAMP, "2011-02-03", 1_296_691_200_000),
    (T.TIMESTAMP, "2011-02-03T04:05", 1_296_705_900_000),
    (T.TIMESTAMP, "2011-02-03 04:05:06.7", 1_296_705_906_700),
    (T.TIMESTAMP, "2011-02-03 04:05:06.789123456+0000", 1_296_705_906_789),
    (T.TIMESTAMP, "2011-02-03 04:05:06 UTC", 1_296_705_906_000),
    (T.TIMESTAMP, "2011-02-03 04:05:06 Europe/Paris", 1_296_702_306_000),
    (T.TIMESTAMP, "2011-02-03 04:05-03:00", 1_296_716_700_000),
    (T.TIMESTAMP, "2011-02-03+0100", 1_296_687_600_000),
    (T.TIMESTAMP, "2011-02-30 00:00", 1_298_851_200_000),  # SMART resolution clamps to Feb 28
    (T.TIMESTAMP, "-1", -1),
    (T.DATE, "2019-08-03", 18111), (T.DATE, "-0001-01-01", -719893), (T.DATE, "+10000-01-01", 2932897),
    (T.DATE, "2147483648", 0), (T.TIME, "1:2:3.4", 3_723_400_000_000), (T.TIME, " 07:35:07 ", 27_307_000_000_000),
    (T.DURATION, "1h30m", V.Duration(0, 0, 5_400_000_000_000)), (T.DURATION, "-2w", V.Duration(0, -14, 0)),
    (T.DURATION, "P0001-02-03T04:05:06", V.Duration(14, 3, 14_706_000_000_000)),
    (T.DURATION, "3µs", V.Duration(0, 0, 3000)),
]


@pytest.mark.parametrize("t, text, expected", FROM_STRING)
def test_from_string(t, text, expected) -> None:
    value = V.deserialize(t, text_codec.from_string(t, text))
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(value)
    elif t in (T.DECIMAL, T.INET):
        assert str(value) == expected
    else:
        assert value == expected


FROM_STRING_ERRORS = [
    (T.INT, "2147483648", "Unable to make int from '2147483648'"),
    (T.INT, " 1", "Unable to make int from ' 1'"),
    (T.SMALLINT, "1.0", "Unable to make short from '1.0'"),
    (T.FLOAT, "inf", "Unable to make float from 'inf'"),
    (T.DECIMAL, "NaN", "unable to make BigDecimal from 'NaN'"),
    (T.BOOLEAN, "yes", "Unable to make boolean from 'yes'"),
    (T.BLOB, "0g", "cannot parse '0g' as hex bytes"),
    (T.UUID, "xyz", "Unable to make UUID from 'xyz'"),
    (T.TIMEUUID, "xyz", "Unknown timeuuid representation: xyz"),
    (T.INET, "localhost", "Unable to make inet address from 'localhost'"),
    (T.TIMESTAMP, "2011-13-01", "Unable to parse a date/time from '2011-13-01'"),
    (T.TIMESTAMP, "9223372036854775808", "Unable to make long (for date) from: '9223372036854775808'"),
    (T.DATE, "4294967296", "Unable to make unsigned int (for date) from: '4294967296'"),
    (T.DATE, "-5877642-01-01", "Input date -5877642-01-01 is less than min supported date -5877641-06-23T00:00Z"),
    (T.DATE, "+5881581-01-01", "Input date +5881581-01-01 is greater than max supported date "
                               "+5881580-07-11T00:00Z"),
    (T.TIME, "86400000000000", "Unable to make long (for time) from: '86400000000000'"),
    (T.TIME, "24:00:00", "(TimeType) Unable to coerce '24:00:00' to a formatted time (long)"),
    (T.SMALLINT, "", "Expected 2 bytes for a smallint (0)"),
]


@pytest.mark.parametrize("t, text, message", FROM_STRING_ERRORS)
def test_from_string_errors(t, text, message) -> None:
    with pytest.raises(MarshalError) as info:
        text_codec.from_string(t, text)
    assert info.value.message == message


@pytest.mark.parametrize("text, message", [
    ("1h2h", "Invalid duration. The hours are specified multiple times"),
    ("1m1h", "Invalid duration. The minutes should be after hours"),
    ("1x", "Unable to convert '1x' to a duration"),
    ("-P1Q", "Unable to convert 'P1Q' to a duration"),
    ("2147483648mo", "Invalid duration. The total number of months must be less or equal to 2147483647"),
])
def test_duration_errors(text, message) -> None:
    with pytest.raises(InvalidRequest) as info:
        text_codec.parse_duration(text)
    assert info.value.message == message


def test_renderings() -> None:
    assert text_codec.timestamp_text(0, " ") == "1970-01-01 00:00:00.000Z"
    # proleptic 0000-01-01 is Julian 1 BC January 3rd, printed without its era
    assert text_codec.timestamp_text(-62_167_219_200_000, "T") == "0001-01-03T00:00:00.000Z"
    assert text_codec.timestamp_text(253_402_300_800_000, " ") == "10000-01-01 00:00:00.000Z"
    assert text_codec.date_text(0) == "-5877641-06-23" and text_codec.date_text(2**32 - 1) == "+5881580-07-11"
    assert text_codec.time_text(-5) == "00:00:00.00000000-5"  # out-of-range values print as Java does
    assert text_codec.duration_text(V.Duration(0, 0, 0)) == ""
    assert text_codec.inet_text(bytes(10) + b"\xff\xff\x01\x02\x03\x04") == "1.2.3.4"


NATIVES = sorted(NATIVE_VALUES, key=lambda t: t.name)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NATIVES), st.text(max_size=25))
def test_from_string_raises_our_error_and_nothing_else(t, text) -> None:
    try:
        data = text_codec.from_string(t, text)
    except FunctionError:
        return
    V.validate(t, data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([t for t in NATIVES if t not in (T.TEXT, T.ASCII, T.BLOB)]).flatmap(
    lambda t: st.tuples(st.just(t), NATIVE_VALUES[t])))
def test_literal_text_reads_back(case) -> None:
    t, value = case
    data = V.serialize(t, value)
    text = text_codec.literal_text(t, data)
    if t is T.DURATION and not any((value.months, value.days, value.nanoseconds)):
        return
    assert text_codec.from_string(t, text) == data or t in (T.FLOAT, T.DOUBLE, T.DECIMAL)
