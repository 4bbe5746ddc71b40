"""Golden tables for the time, uuid, blob conversion, math, floor and token functions."""

from __future__ import annotations

import datetime
import decimal
import math
import struct
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa import partitioner
from ferrosa.functions import FunctionError, FunctionServerError, InvalidRequest, resolve
from ferrosa.functions.scalar import max_timeuuid, min_timeuuid, timeuuid_millis
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from tests.functions.strategies import NATIVE_VALUES

S = V.serialize
D = decimal.Decimal
# TimeFctsTest's instant: 2019-08-03T11:03:02Z
DATE_TIME_MS = 1_564_830_182_000
DATE_MS = 1_564_790_400_000
UUID_EPOCH_MS = -12_219_292_800_000


def call(name: str, arg_types: list, *args: bytes | None) -> bytes | None:
    return resolve(name, arg_types).call(list(args))


def expected_timeuuid(ms: int, lsb: int, extra_100ns: int = 0) -> bytes:
    """An independent version 1 layout: time_low, time_mid, version|time_hi, then the low bits."""
    ts = (ms - UUID_EPOCH_MS) * 10_000 + extra_100ns
    fields = (ts & 0xFFFFFFFF, (ts >> 32) & 0xFFFF, ((ts >> 48) & 0x0FFF) | 0x1000)
    return struct.pack(">IHHQ", *fields, lsb)


def test_min_and_max_timeuuid() -> None:
    assert min_timeuuid(DATE_TIME_MS) == expected_timeuuid(DATE_TIME_MS, 0x8080808080808080)
    assert max_timeuuid(DATE_TIME_MS) == expected_timeuuid(DATE_TIME_MS, 0x7F7F7F7F7F7F7F7F, 9999)
    assert min_timeuuid(DATE_TIME_MS).hex() == "42d2f700b5de11e98080808080808080"
    assert call("min_timeuuid", [T.TIMESTAMP], S(T.TIMESTAMP, DATE_TIME_MS)) == min_timeuuid(DATE_TIME_MS)
    assert call("maxtimeuuid", [T.BIGINT], S(T.BIGINT, DATE_TIME_MS)) == max_timeuuid(DATE_TIME_MS)
    assert call("min_timeuuid", [T.TIMESTAMP], b"") is None
    assert call("max_timeuuid", [T.TIMESTAMP], None) is None


@given(st.integers(UUID_EPOCH_MS, 10**13))
def test_timeuuid_millis_inverts_min_and_max(ms: int) -> None:
    assert timeuuid_millis(min_timeuuid(ms)) == ms
    # TimeUUID.unix(MILLISECONDS) truncates toward zero, so before the epoch the max reads 1 ms later
    assert timeuuid_millis(max_timeuuid(ms)) == (ms if ms >= 0 else ms + 1)
    assert uuid.UUID(bytes=min_timeuuid(ms)).version == 1


TIME_CONVERSIONS = [
    ("to_timestamp", T.TIMEUUID, min_timeuuid(DATE_TIME_MS), T.TIMESTAMP, DATE_TIME_MS),
    ("totimestamp", T.TIMEUUID, min_timeuuid(DATE_TIME_MS), T.TIMESTAMP, DATE_TIME_MS),
    ("to_unix_timestamp", T.TIMEUUID, min_timeuuid(DATE_TIME_MS), T.BIGINT, DATE_TIME_MS),
    ("to_date", T.TIMEUUID, min_timeuuid(DATE_TIME_MS), T.DATE, 18111),
    ("to_timestamp", T.DATE, S(T.DATE, 18111), T.TIMESTAMP, DATE_MS),
    ("to_unix_timestamp", T.DATE, S(T.DATE, 18111), T.BIGINT, DATE_MS),
    ("to_date", T.TIMESTAMP, S(T.TIMESTAMP, DATE_TIME_MS), T.DATE, 18111),
    ("to_date", T.BIGINT, S(T.BIGINT, DATE_MS), T.DATE, 18111),
    ("to_unix_timestamp", T.TIMESTAMP, S(T.TIMESTAMP, DATE_TIME_MS), T.BIGINT, DATE_TIME_MS),
    # Duration.ofMillis(...).toDays() truncates toward zero: one millisecond before the epoch is day 0
    ("to_date", T.TIMESTAMP, S(T.TIMESTAMP, -1), T.DATE, 0),
    ("to_date", T.TIMESTAMP, S(T.TIMESTAMP, -86_400_001), T.DATE, -1),
    ("to_timestamp", T.TIMEUUID, min_timeuuid(-1), T.TIMESTAMP, -1),
]


@pytest.mark.parametrize("name, arg_type, arg, result_type, expected", TIME_CONVERSIONS)
def test_time_conversions(name, arg_type, arg, result_type, expected) -> None:
    assert V.deserialize(result_type, call(name, [arg_type], arg)) == expected


@pytest.mark.parametrize("name, arg_type", [("to_date", T.TIMESTAMP), ("to_unix_timestamp", T.TIMESTAMP),
                                            ("to_timestamp", T.TIMEUUID)])
def test_time_conversions_of_empty_values_are_null(name, arg_type) -> None:
    assert call(name, [arg_type], b"") is None
    assert call(name, [arg_type], None) is None


def test_now_functions() -> None:
    before = int(time.time() * 1000)
    stamp = V.deserialize(T.TIMESTAMP, call("current_timestamp", []))
    assert before <= stamp <= int(time.time() * 1000)
    now = call("now", [])
    assert uuid.UUID(bytes=now).version == 1 and now != call("current_timeuuid", [])
    assert abs(timeuuid_millis(now) - stamp) < 5000
    today = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.date(1970, 1, 1)).days
    assert V.deserialize(T.DATE, call("currentdate", [])) in (today, today + 1)
    assert 0 <= V.deserialize(T.TIME, call("current_time", [])) < 86_400 * 10**9
    assert uuid.UUID(bytes=call("uuid", [])).version == 4


BLOBS = [
    ("int_as_blob", T.INT, S(T.INT, 1), b"\x00\x00\x00\x01"),
    ("intasblob", T.INT, b"", b""),
    ("text_as_blob", T.TEXT, b"abc", b"abc"),
    ("blob_as_int", T.BLOB, b"\x00\x00\x00\x05", b"\x00\x00\x00\x05"),
    ("blob_as_int", T.BLOB, b"", b""),
    ("blob_as_text", T.BLOB, None, None),
    ("blob_as_varchar", T.BLOB, "é".encode(), "é".encode()),
    ("blob_as_timeuuid", T.BLOB, min_timeuuid(0), min_timeuuid(0)),
    ("blob_as_duration", T.BLOB, S(T.DURATION, V.Duration(1, 2, 3)), S(T.DURATION, V.Duration(1, 2, 3))),
]


@pytest.mark.parametrize("name, arg_type, arg, expected", BLOBS)
def test_blob_conversions_pass_bytes_through(name, arg_type, arg, expected) -> None:
    assert call(name, [arg_type], arg) == expected


@pytest.mark.parametrize("name, data, type_name", [
    ("blob_as_int", b"abc", "int"),
    ("blob_as_smallint", b"", "smallint"),
    ("blob_as_timeuuid", bytes(16), "timeuuid"),
    ("blobasvarchar", b"\xff", "varchar"),
    ("blob_as_ascii", b"\x80", "ascii"),
])
def test_blob_as_type_validates(name, data, type_name) -> None:
    with pytest.raises(InvalidRequest) as info:
        call(name, [T.BLOB], data)
    assert info.value.message == (f"In call to function system.{name}, value 0x{data.hex()} is not a valid "
                                  f"binary representation for type {type_name}")


MATH = [
    ("abs", T.INT, -(2**31), -(2**31)),
    ("abs", T.TINYINT, -128, -128),
    ("abs", T.BIGINT, -5, 5),
    ("abs", T.FLOAT, -1.5, 1.5),
    ("abs", T.DECIMAL, D("-1.50"), D("1.50")),
    ("abs", T.VARINT, -(10**30), 10**30),
    ("exp", T.INT, 2, 7),
    ("exp", T.INT, 100, 2**31 - 1),
    ("exp", T.TINYINT, 10, 10),            # (byte) 22026
    ("exp", T.BIGINT, 1000, 2**63 - 1),
    ("exp", T.DOUBLE, 1.0, math.e),
    ("exp", T.VARINT, 100, 26881171418161354484126255515800000000000000),
    ("exp", T.DECIMAL, D(1), D("2.7182818284590452353602874713527")),
    ("log", T.INT, 100, 4),
    ("log", T.INT, -1, 0),                 # NaN cast to int
    ("log", T.INT, 0, -(2**31)),           # -Infinity cast to int
    ("log", T.SMALLINT, 0, 0),             # (short)(int)-Infinity
    ("log", T.DOUBLE, -1.0, math.nan),
    ("log", T.FLOAT, 0.0, -math.inf),
    ("log10", T.BIGINT, 1000, 3),
    ("log10", T.VARINT, 12345, 4),
    ("log10", T.DECIMAL, D(100), D(2)),
    ("round", T.INT, 7, 7),
    ("round", T.DOUBLE, 2.5, 3.0),
    ("round", T.DOUBLE, -2.5, -2.0),
    ("round", T.DOUBLE, 0.49999999999999994, 0.0),
    ("round", T.FLOAT, 1e20, 2147483648.0),  # Math.round(float) saturates at Integer.MAX_VALUE
    ("round", T.DECIMAL, D("2.5"), D(3)),
    ("round", T.DECIMAL, D("-2.5"), D(-3)),
    ("round", T.DECIMAL, D("1.2E+3"), D("1200")),  # setScale(0) of a negative scale
    ("round", T.COUNTER, 5, 5),
]


@pytest.mark.parametrize("name, t, value, expected", MATH)
def test_math_functions_follow_java(name, t, value, expected) -> None:
    result = V.deserialize(t, call(name, [t], S(t, value)))
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == expected and str(result) == str(expected)


def test_math_null_handling_and_failures() -> None:
    assert call("abs", [T.INT], b"") is None
    assert call("exp", [T.DECIMAL], None) is None
    with pytest.raises(FunctionServerError) as info:
        call("log", [T.VARINT], S(T.VARINT, 0))
    assert info.value.message == "java.lang.ArithmeticException: Natural log of number zero or less"
    with pytest.raises(FunctionServerError, match="Log10 of number zero or less"):
        call("log10", [T.DECIMAL], S(T.DECIMAL, D(-1)))
    with pytest.raises(InvalidRequest, match="more than 100000 digits"):
        call("exp", [T.VARINT], S(T.VARINT, 10**7))


FLOORS = [
    # floor(timestamp, 1h)
    ([T.TIMESTAMP, T.DURATION], [S(T.TIMESTAMP, 1_564_830_182_123), S(T.DURATION, V.Duration(0, 0, 3600 * 10**9))],
     T.TIMESTAMP, 1_564_830_000_000),
    # floor(timestamp, 2mo, epoch): 2019-08-03 -> 2019-07-01
    ([T.TIMESTAMP, T.DURATION, T.TIMESTAMP],
     [S(T.TIMESTAMP, 1_564_830_182_123), S(T.DURATION, V.Duration(2, 0, 0)), S(T.TIMESTAMP, 0)],
     T.TIMESTAMP, 1_561_939_200_000),
    # floor(2016-03-24, 1mo10d, 2016-01-31): Jan 31 + 2 months = Mar 31, + 20 days is too far; one
    # month back (clamped: Feb 29) + 10 days = 2016-03-10
    ([T.TIMESTAMP, T.DURATION, T.TIMESTAMP],
     [S(T.TIMESTAMP, 1_458_777_600_000), S(T.DURATION, V.Duration(1, 10, 0)), S(T.TIMESTAMP, 1_454_198_400_000)],
     T.TIMESTAMP, 1_457_568_000_000),
    ([T.DATE, T.DURATION], [S(T.DATE, 18111), S(T.DURATION, V.Duration(0, 7, 0))], T.DATE, 18109),
    ([T.TIMEUUID, T.DURATION], [min_timeuuid(1_564_830_182_123), S(T.DURATION, V.Duration(0, 1, 0))],
     T.TIMESTAMP, DATE_MS),
    ([T.TIME, T.DURATION], [S(T.TIME, 3 * 3600 * 10**9 + 5), S(T.DURATION, V.Duration(0, 0, 3600 * 10**9))],
     T.TIME, 3 * 3600 * 10**9),
    ([T.TIME, T.DURATION], [S(T.TIME, 7), S(T.DURATION, V.Duration(0, 0, 0))], T.TIME, 7),
]


@pytest.mark.parametrize("arg_types, args, result_type, expected", FLOORS)
def test_floor(arg_types, args, result_type, expected) -> None:
    assert V.deserialize(result_type, call("floor", arg_types, *args)) == expected


@pytest.mark.parametrize("arg_types, args, message", [
    ([T.TIMESTAMP, T.DURATION], [S(T.TIMESTAMP, 0), S(T.DURATION, V.Duration(0, 0, 5))],
     "The floor cannot be computed for the 5ns duration as precision is below 1 millisecond"),
    ([T.DATE, T.DURATION], [S(T.DATE, 0), S(T.DURATION, V.Duration(0, 1, 3600 * 10**9))],
     "The floor on date values cannot be computed for the 1d1h duration as precision is below 1 day"),
    ([T.TIMESTAMP, T.DURATION, T.TIMESTAMP], [S(T.TIMESTAMP, 0), S(T.DURATION, V.Duration(0, 1, 0)),
                                              S(T.TIMESTAMP, 5)],
     "The floor function starting time is greater than the provided time"),
    ([T.TIMESTAMP, T.DURATION], [S(T.TIMESTAMP, 0), S(T.DURATION, V.Duration(0, -1, 0))],
     "Negative durations are not supported by the floor function"),
    ([T.TIME, T.DURATION], [S(T.TIME, 0), S(T.DURATION, V.Duration(0, 1, 0))],
     "For time values, the floor can only be computed for durations smaller that a day"),
])
def test_floor_errors(arg_types, args, message) -> None:
    with pytest.raises(InvalidRequest) as info:
        call("floor", arg_types, *args)
    assert info.value.message == message


def test_token_hashes_the_partition_key() -> None:
    single = resolve("token", [T.INT], partition_key_types=[T.INT])
    assert single.call([S(T.INT, 1)]) == struct.pack(">q", -4069959284402364209)
    composite = resolve("token", [T.INT, T.TEXT], partition_key_types=[T.INT, T.TEXT])
    key = partitioner.compose_partition_key([S(T.INT, 1), b"a"])
    assert composite.call([S(T.INT, 1), b"a"]) == struct.pack(">q", partitioner.token(key))
    assert composite.call([None, b"a"]) is None


SCALARS = sorted({(name, t) for name in ("abs", "exp", "log", "log10", "round")
                  for t in (T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.FLOAT, T.DOUBLE, T.VARINT, T.DECIMAL)},
                 key=str)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SCALARS).flatmap(lambda p: st.tuples(st.just(p), NATIVE_VALUES[p[1]])))
def test_math_returns_valid_values_or_our_error(case) -> None:
    (name, t), value = case
    try:
        result = call(name, [t], S(t, value))
    except FunctionError:
        return
    V.validate(t, result)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["blob_as_int", "blob_as_date", "blob_as_timeuuid", "blob_as_text", "blob_as_decimal",
                        "blob_as_duration", "blob_as_inet", "blob_as_ascii"]), st.binary(max_size=20))
def test_blob_conversions_accept_valid_bytes_or_raise_our_error(name, data) -> None:
    try:
        assert call(name, [T.BLOB], data) == data
    except FunctionError:
        pass
