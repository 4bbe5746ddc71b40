"""Aggregates: result types, Java overflow, averaging rules, comparators and nulls (AggregationTest)."""

from __future__ import annotations

import decimal
import math
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.cql import ast
from ferrosa.functions import FunctionError, InvalidRequest, resolve_aggregate
from ferrosa.functions.scalar import min_timeuuid
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from tests.functions.strategies import NATIVE_VALUES

D = decimal.Decimal
F32_MAX = 3.4028234663852886e38
F64_MAX = 1.7976931348623157e308
BIG_DECIMAL = decimal.Context(prec=400).add(D(repr(F64_MAX)), 2)  # BigDecimal.valueOf(MAX).add(2), exact


def aggregate(name: str, t: T.CqlType, values: list) -> object:
    agg = resolve_aggregate(name, [t])
    state = agg.new_state()
    for value in values:
        raw = value if isinstance(value, bytes) or value is None else V.serialize(t, value)
        agg.add(state, [raw])
    result = agg.result(state)
    return None if result is None else V.deserialize(agg.return_type, result)


GOLDEN = [
    # empty input: sums and averages are 0, min/max null (AggregationTest.testFunctions)
    ("sum", T.INT, [], 0), ("avg", T.INT, [], 0), ("avg", T.DOUBLE, [], 0.0), ("sum", T.DECIMAL, [], D(0)),
    ("max", T.INT, [], None), ("min", T.TEXT, [], None),
    # 1, 2, 3 / 11.5, 9.5, 9.0 / decimals 11.5, 1.5, 2.0
    ("sum", T.INT, [1, 2, 3], 6), ("avg", T.INT, [1, 2, 3], 2), ("max", T.INT, [1, 2, 3], 3),
    ("sum", T.DOUBLE, [11.5, 9.5, 9.0], 30.0), ("avg", T.DOUBLE, [11.5, 9.5, 9.0], 10.0),
    ("sum", T.DECIMAL, [D("11.5"), D("1.5"), D("2.0")], D("15.0")),
    ("avg", T.DECIMAL, [D("11.5"), D("1.5"), D("2.0")], D("5.0")),
    ("sum", T.SMALLINT, [1, 2, 3], 6), ("avg", T.TINYINT, [1, 2, 3], 2),
    # testArithmeticCorrectness: running average at the scale of each step
    ("avg", T.DECIMAL, [D("0.25"), D("0.25"), D("0.5")], D("0.33")),
    ("avg", T.DECIMAL, [D(1), D(2)], D(1)),
    # testAggregatesWithoutOverflow / testAggregateOverflow
    ("avg", T.TINYINT, [43, 44, 45], 44),
    ("avg", T.BIGINT, [2**63 // 3 + 1, 2**63 // 3 + 2, 2**63 // 3 + 3], 2**63 // 3 + 2),
    ("avg", T.VARINT, [2**63, 2**63 + 1, 2**63 + 2], 2**63 + 1),
    ("avg", T.TINYINT, [127, 127, 127], 127), ("avg", T.SMALLINT, [-(2**15)] * 3, -(2**15)),
    ("avg", T.INT, [2**31 - 1] * 3, 2**31 - 1), ("avg", T.BIGINT, [2**63 - 1] * 3, 2**63 - 1),
    ("avg", T.BIGINT, [-(2**63)] * 3, -(2**63)),
    ("avg", T.VARINT, [(2**63 - 1) * 2] * 3, (2**63 - 1) * 2),
    ("avg", T.INT, [-1, -2], -1),  # truncates toward zero
    # testDoubleAggregatesPrecision
    ("avg", T.FLOAT, [F32_MAX] * 3, F32_MAX), ("avg", T.DOUBLE, [F64_MAX] * 3, F64_MAX),
    ("avg", T.DECIMAL, [BIG_DECIMAL] * 3, BIG_DECIMAL),
    ("avg", T.FLOAT, [100.10, 110.11, 120.12], 110.11000061035156),
    ("avg", T.DOUBLE, [100.10, 110.11, 120.12], 110.11),
    # testSumPrecision: Kahan summation
    ("sum", T.FLOAT, [i / 10.0 for i in range(1, 18)], 15.300000190734863),
    ("sum", T.DOUBLE, [i / 10.0 for i in range(1, 18)], 15.3),
    ("sum", T.DECIMAL, [D(repr(i / 10.0)) for i in range(1, 18)], D("15.3")),
    # overflow wraps (sum keeps the argument type)
    ("sum", T.INT, [2**31 - 1, 1], -(2**31)), ("sum", T.TINYINT, [100, 100], -56),
    ("sum", T.BIGINT, [2**63 - 1, 2], -(2**63) + 1), ("sum", T.COUNTER, [2, 3], 5),
    # nulls and empty values are skipped
    ("sum", T.INT, [1, None, b"", 2], 3), ("avg", T.INT, [1, None, b"", 2], 1),
    # comparators: text as UTF-8 bytes, timeuuid by time, decimal numerically, blob bytewise
    ("max", T.TEXT, ["b", "a", "é"], "é"), ("min", T.ASCII, ["b", "B", "a"], "B"),
    ("max", T.DECIMAL, [D("1.0"), D("1.00"), D("0.5")], D("1.0")),  # the first of equal values
    ("min", T.VARINT, [5, -(10**30), 7], -(10**30)),
    ("max", T.BLOB, [b"\x01", b"\x80", b"\x7f"], b"\x80"),
    ("max", T.DOUBLE, [1.0, float("nan"), 2.0], float("nan")),
    ("min", T.COUNTER, [3, -2, 5], -2),
    ("max", T.INT, [b"", 1], 1), ("min", T.INT, [1, b""], V.EMPTY),  # empty sorts first
]


@pytest.mark.parametrize("name, t, values, expected", GOLDEN)
def test_aggregate_golden(name, t, values, expected) -> None:
    got = aggregate(name, t, values)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected and type(got) is type(expected)
        if isinstance(expected, D):
            assert str(got) == str(expected)


def test_nan_and_infinity() -> None:
    values = [float(i) for i in range(1, 11) if i != 5]
    assert math.isnan(aggregate("avg", T.FLOAT, values + [math.nan]))
    assert math.isnan(aggregate("sum", T.DOUBLE, values + [math.nan]))
    for inf in (math.inf, -math.inf):
        assert aggregate("avg", T.FLOAT, values + [inf]) == inf
        assert aggregate("sum", T.FLOAT, values + [inf]) == inf
        assert aggregate("avg", T.DOUBLE, values + [inf, inf]) == inf


def test_timeuuid_order_is_by_time() -> None:
    early, late = min_timeuuid(1000), min_timeuuid(2000)
    assert aggregate("max", T.TIMEUUID, [uuid.UUID(bytes=late), uuid.UUID(bytes=early)]) == uuid.UUID(bytes=late)
    # the random uuid v4 ordering is by version first, then bytes
    assert aggregate("min", T.UUID, [uuid.UUID(int=1 << 76 | 5), uuid.UUID(bytes=early)]) == uuid.UUID(int=1 << 76 | 5)


def test_counts() -> None:
    count = resolve_aggregate("count", [T.TEXT])
    state = count.new_state()
    for value in (b"a", None, b"", b"b"):
        count.add(state, [value])
    assert V.deserialize(T.BIGINT, count.result(state)) == 3
    rows = resolve_aggregate("count", [ast.Constant(ast.ConstantType.INTEGER, "1")])
    state = rows.new_state()
    for _ in range(4):
        rows.add(state, [])
    assert V.deserialize(T.BIGINT, rows.result(state)) == 4 and rows.column_name([]) == "count"
    assert resolve_aggregate("count", [ast.NULL]).arg_types == (T.BLOB,)  # null is no literal here


def test_result_types() -> None:
    for t in (T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.FLOAT, T.DOUBLE, T.DECIMAL, T.VARINT, T.COUNTER):
        assert resolve_aggregate("sum", [t]).return_type is t
        assert resolve_aggregate("avg", [t]).return_type is t
    assert resolve_aggregate("max", [T.ListType(T.INT, frozen=True)]).return_type == T.ListType(T.INT, frozen=True)
    with pytest.raises(InvalidRequest, match="Invalid call to function sum"):
        resolve_aggregate("sum", [T.TEXT])


def test_huge_decimal_spans_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="spanning more than"):
        aggregate("sum", T.DECIMAL, [D("1E+1000000"), D("1E-1000000")])


NUMERIC = [T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.FLOAT, T.DOUBLE, T.DECIMAL, T.VARINT]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["sum", "avg", "min", "max"]), st.sampled_from(NUMERIC).flatmap(
    lambda t: st.tuples(st.just(t), st.lists(st.one_of(st.none(), NATIVE_VALUES[t]), max_size=6))))
def test_aggregates_give_valid_results_or_our_error(name, case) -> None:
    t, values = case
    try:
        aggregate(name, t, values)
    except FunctionError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=8))
def test_int_sum_and_avg_are_java_ints(values) -> None:
    total = sum(values)
    assert aggregate("sum", T.INT, values) == (total + 2**31) % 2**32 - 2**31
    mean = abs(total) // len(values) * (1 if total >= 0 else -1)
    assert aggregate("avg", T.INT, values) == mean
