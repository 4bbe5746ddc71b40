"""CAST: the allowed conversions with Java semantics, text renderings and errors (CastFctsTest)."""

from __future__ import annotations

import decimal
import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.functions import FunctionError, FunctionServerError, InvalidRequest, cast_function
from ferrosa.functions.casts import NUMERIC_INPUTS, NUMERIC_OUTPUTS
from ferrosa.functions.scalar import min_timeuuid
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from tests.functions.strategies import NATIVE_VALUES

S = V.serialize
D = decimal.Decimal


def cast(from_type: T.CqlType, to_type: T.CqlType, value: object) -> object:
    result = cast_function(from_type, to_type).call([S(from_type, value)])
    return result if result is None else V.deserialize(to_type, result)


# CastFctsTest.testNumericCastsInSelectionClause: a=1 (tinyint), b=2 (smallint), c=3, d=4 (bigint),
# e=5.2f, f=6.3 (double), g=6.3 (decimal), h=4 (varint)
ROW = [(T.TINYINT, 1), (T.SMALLINT, 2), (T.INT, 3), (T.BIGINT, 4), (T.FLOAT, 5.2), (T.DOUBLE, 6.3),
       (T.DECIMAL, D("6.3")), (T.VARINT, 4)]
EXPECTED = {
    T.TINYINT: [1, 2, 3, 4, 5, 6, 6, 4],
    T.SMALLINT: [1, 2, 3, 4, 5, 6, 6, 4],
    T.INT: [1, 2, 3, 4, 5, 6, 6, 4],
    T.BIGINT: [1, 2, 3, 4, 5, 6, 6, 4],
    T.FLOAT: [1.0, 2.0, 3.0, 4.0, 5.199999809265137, 6.300000190734863, 6.300000190734863, 4.0],
    T.DOUBLE: [1.0, 2.0, 3.0, 4.0, 5.199999809265137, 6.3, 6.3, 4.0],
    T.DECIMAL: [D(1), D(2), D(3), D(4), D("5.2"), D("6.3"), D("6.3"), D(4)],
    T.ASCII: ["1", "2", "3", "4", "5.2", "6.3", "6.3", "4"],
    T.TEXT: ["1", "2", "3", "4", "5.2", "6.3", "6.3", "4"],
}


@pytest.mark.parametrize("target", list(EXPECTED))
def test_numeric_casts_of_cassandras_row(target) -> None:
    got = [cast(t, target, v) for t, v in ROW]
    assert got == EXPECTED[target]
    if target is T.DECIMAL:
        assert [str(x) for x in got] == ["1", "2", "3", "4", "5.2", "6.3", "6.3", "4"]


GOLDEN = [
    # narrowing wraps; float/double saturate through int, NaN is 0
    (T.INT, T.TINYINT, 300, 44),
    (T.BIGINT, T.INT, 2**40 + 5, 5),
    (T.DOUBLE, T.INT, 1e20, 2**31 - 1),
    (T.DOUBLE, T.TINYINT, 300.7, 44),
    (T.DOUBLE, T.TINYINT, 1e20, -1),         # (byte)Integer.MAX_VALUE
    (T.FLOAT, T.BIGINT, float("nan"), 0),
    (T.DOUBLE, T.BIGINT, -1e30, -(2**63)),
    (T.DECIMAL, T.INT, D("-4294967297.9"), -1),
    (T.VARINT, T.SMALLINT, 65537, 1),
    (T.DECIMAL, T.VARINT, D("1E+20"), 7766279631452241920),  # through longValue(), which wraps
    (T.DOUBLE, T.VARINT, 1e30, 2**63 - 1),
    (T.COUNTER, T.DOUBLE, 3, 3.0),
    (T.BIGINT, T.DECIMAL, 2**63 - 1, D(2**63 - 1)),
    (T.VARINT, T.DECIMAL, 1234567890123456789, D(1234567890123456789)),
    (T.DOUBLE, T.DECIMAL, 1e10, D("1.0E+10")),
    (T.FLOAT, T.DECIMAL, 0.1, D("0.1")),
    (T.BIGINT, T.FLOAT, 2**53 + 1, 9007199254740992.0),
    (T.VARINT, T.DOUBLE, 10**400, math.inf),
    (T.DECIMAL, T.FLOAT, D("3.4028235677973366E38"), 3.4028234663852886e38),
    # to text: toCQLLiteralNoQuote
    (T.DOUBLE, T.TEXT, 1.0, "1.0"),
    (T.DOUBLE, T.TEXT, 1e7, "1.0E7"),
    (T.DOUBLE, T.TEXT, 0.001, "0.001"),
    (T.DOUBLE, T.TEXT, 1e-4, "1.0E-4"),
    (T.DOUBLE, T.TEXT, float("nan"), "NaN"),
    (T.FLOAT, T.TEXT, float("-inf"), "-Infinity"),
    (T.DECIMAL, T.TEXT, D("-1.23E-12"), "-1.23E-12"),
    (T.VARINT, T.ASCII, -(10**25), "-10000000000000000000000000"),
    (T.TIMESTAMP, T.TEXT, 1_296_705_900_000, "2011-02-03T04:05:00.000Z"),
    (T.TIMESTAMP, T.TEXT, -1, "1969-12-31T23:59:59.999Z"),
    (T.TIMESTAMP, T.TEXT, -12_219_292_800_001, "1582-10-04T23:59:59.999Z"),  # Julian before 1582-10-15
    (T.DATE, T.TEXT, 16576, "2015-05-21"),
    (T.DATE, T.TEXT, -(2**31), "-5877641-06-23"),
    (T.TIME, T.TEXT, 39_782_000_000_000, "11:03:02.000000000"),
    (T.INET, T.TEXT, "127.0.0.1", "127.0.0.1"),
    (T.INET, T.TEXT, "::1", "0:0:0:0:0:0:0:1"),
    (T.INET, T.TEXT, "2001:db8::ff00:42:8329", "2001:db8:0:0:0:ff00:42:8329"),
    (T.BOOLEAN, T.ASCII, True, "true"),
    (T.UUID, T.TEXT, "6BDDC89A-5644-11E4-97FC-56847AFE9799", "6bddc89a-5644-11e4-97fc-56847afe9799"),
    (T.ASCII, T.TEXT, "test", "test"),
    # temporal conversions
    (T.TIMESTAMP, T.DATE, 1_432_206_182_000, 16576),
    (T.DATE, T.TIMESTAMP, 16576, 1_432_166_400_000),
]


@pytest.mark.parametrize("source, target, value, expected", GOLDEN)
def test_cast_golden(source, target, value, expected) -> None:
    got = cast(source, target, value)
    assert got == expected and type(got) is type(expected)
    if isinstance(expected, D):
        assert str(got) == str(expected)


def test_timeuuid_casts() -> None:
    stamp = 1_432_206_182_000
    assert cast(T.TIMEUUID, T.TIMESTAMP, uuid.UUID(bytes=min_timeuuid(stamp))) == stamp
    assert cast(T.TIMEUUID, T.DATE, uuid.UUID(bytes=min_timeuuid(stamp))) == 16576
    assert cast(T.TIMEUUID, T.TEXT, uuid.UUID(bytes=min_timeuuid(0))) == "13814000-1dd2-11b2-8080-808080808080"


def test_nulls_empty_values_and_identity() -> None:
    assert cast_function(T.INT, T.TEXT).call([None]) is None
    assert cast_function(T.INT, T.TEXT).call([b""]) is None
    assert cast_function(T.DOUBLE, T.INT).call([b""]) is None
    same = cast_function(T.INT, T.INT, "c")
    assert same.call([S(T.INT, 5)]) == S(T.INT, 5) and same.column_name(["c"]) == "c"
    assert cast_function(T.BIGINT, T.INT).column_name(["b"]) == "cast(b as int)"


def test_disallowed_casts() -> None:
    with pytest.raises(InvalidRequest) as info:
        cast_function(T.INT, T.BOOLEAN, "a")
    assert info.value.message == "a cannot be cast to boolean"
    with pytest.raises(InvalidRequest) as info:
        cast_function(T.BLOB, T.INT, "b")
    assert info.value.message.startswith("Invalid call to function system.cast_as_int, none of its type "
                                         "signatures match (known type signatures: system.cast_as_int : "
                                         "(tinyint) -> int, ")
    for target in (T.BLOB, T.UUID, T.TIMEUUID, T.INET, T.TIME, T.DURATION, T.COUNTER):
        with pytest.raises(InvalidRequest, match="cannot be cast to"):
            cast_function(T.TEXT, target)


def test_nan_to_decimal_fails_like_java() -> None:
    with pytest.raises(FunctionServerError) as info:
        cast(T.DOUBLE, T.DECIMAL, float("nan"))
    assert info.value.message.startswith("java.lang.NumberFormatException: Character N is neither")
    with pytest.raises(FunctionServerError, match="Character I is neither"):
        cast(T.FLOAT, T.DECIMAL, float("-inf"))


PAIRS = [(s, t) for s in NUMERIC_INPUTS for t in NUMERIC_OUTPUTS + (T.TEXT,) if s is not t]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PAIRS).flatmap(
    lambda p: st.tuples(st.just(p), NATIVE_VALUES[T.BIGINT if p[0] is T.COUNTER else p[0]])))
def test_numeric_casts_give_valid_values_or_our_error(case) -> None:
    (source, target), value = case
    try:
        result = cast_function(source, target).call([S(source, value)])
    except FunctionError:
        return
    V.validate(target, result)
