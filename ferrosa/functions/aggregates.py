"""Cassandra 5.0's native aggregates (AggregateFcts): count, count_rows, sum, avg, min, max.

Results and overflow are Cassandra's, which are Java's:

* count(*) / count_rows() and count(x) are bigint; count(x) counts non-null values (an empty value
  counts), for any type (its parameter is blob, which accepts everything).
* sum keeps the argument's type and wraps on overflow (sum of ints is an int); float and double
  sums are Kahan-compensated in double precision, a float sum rounded to float at the end.
* avg keeps the argument's type: integer types divide an exact sum by the count truncating toward
  zero, then wrap to the type; varint likewise; decimal is a running average
  avg += (x - avg) / count rounded half-even at the scale of (x - avg); float/double average the
  compensated double sum (switching to exact decimal arithmetic if the sum overflows). The avg of
  no rows is 0, the sum of no rows is 0, min/max of no rows are null.
* min/max work on any type with its comparator (schema.bytecomparable gives Cassandra's order:
  text as UTF-8 bytes, timeuuid by time, decimal numerically...); counters compare as longs.
* nulls are skipped; so are empty values of the types where empty means nothing (int, bigint,
  float, double, decimal, varint, counter), except by count(x), min and max which see raw bytes.

This module must NOT register aggregates (natives.py) or resolve calls (registry.py).
"""

from __future__ import annotations

import decimal
import math
import struct
from typing import Callable

from ferrosa.functions import java
from ferrosa.functions.errors import FunctionServerError, InvalidRequest
from ferrosa.functions.registry import Aggregate, AggregateState, AnyType, Factory
from ferrosa.functions.scalar import is_null
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from ferrosa.schema.bytecomparable import comparable_key

_I8, _I16, _I32, _I64 = struct.Struct(">b"), struct.Struct(">h"), struct.Struct(">i"), struct.Struct(">q")
_F32, _F64 = struct.Struct(">f"), struct.Struct(">d")
# Exact decimal addition and subtraction: no rounding at any size.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
# Digits an exact decimal sum may span (1E+1000000000 + 1E-1000000000 would need two billion):
# Cassandra would try and exhaust its heap; Ferrosa refuses such a sum instead.
MAX_EXACT_DECIMAL_DIGITS = 100_000

_INTEGRAL: dict[T.NativeType, tuple[int, struct.Struct]] = {
    T.TINYINT: (8, _I8), T.SMALLINT: (16, _I16), T.INT: (32, _I32), T.BIGINT: (64, _I64), T.COUNTER: (64, _I64),
}
NUMERIC_TYPES = (T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.FLOAT, T.DOUBLE, T.DECIMAL, T.VARINT, T.COUNTER)
_BIGINT_ZERO = _I64.pack(0)


def exact_add(a: decimal.Decimal, b: decimal.Decimal) -> decimal.Decimal:
    """a + b without rounding (BigDecimal.add), bounded by MAX_EXACT_DECIMAL_DIGITS."""
    span = max(a.adjusted(), b.adjusted()) - min(a.as_tuple().exponent, b.as_tuple().exponent)
    if span > MAX_EXACT_DECIMAL_DIGITS:
        raise InvalidRequest(f"Decimal sum spanning more than {MAX_EXACT_DECIMAL_DIGITS} digits is refused "
                             f"by Ferrosa")
    return _EXACT.add(a, b)


class CountRows(AggregateState):
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def add(self, args: list) -> None:
        self.count += 1

    def result(self) -> bytes:
        return _I64.pack(self.count)


class CountValues(CountRows):
    __slots__ = ()

    def add(self, args: list) -> None:
        if args[0] is not None:
            self.count += 1


class IntegralSum(AggregateState):
    """sum/avg of tinyint..bigint and counter: an exact running sum (Java's wrapping is applied
    once at the end, which gives the same bits)."""

    __slots__ = ("t", "total", "count")

    def __init__(self, t: T.NativeType) -> None:
        self.t, self.total, self.count = t, 0, 0

    def add(self, args: list) -> None:
        value = args[0]
        if is_null(self.t, value):
            return
        self.total += int.from_bytes(value, "big", signed=True)
        self.count += 1

    def result(self) -> bytes:
        bits, st = _INTEGRAL[self.t]
        return st.pack(java.wrap(self.total, bits))


class IntegralAvg(IntegralSum):
    __slots__ = ()

    def result(self) -> bytes:
        bits, st = _INTEGRAL[self.t]
        mean = java.jdiv(self.total, self.count) if self.count else 0
        return st.pack(java.wrap(java.wrap(mean, 64), bits))


class VarintSum(IntegralSum):
    __slots__ = ()

    def result(self) -> bytes:
        return V.varint_bytes(self.total)


class VarintAvg(IntegralSum):
    __slots__ = ()

    def result(self) -> bytes:
        return V.varint_bytes(java.jdiv(self.total, self.count) if self.count else 0)


class DecimalSum(AggregateState):
    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total = decimal.Decimal(0)

    def add(self, args: list) -> None:
        value = args[0]
        if value:  # null and the empty value are skipped
            self.total = exact_add(self.total, V.deserialize(T.DECIMAL, value))

    def result(self) -> bytes:
        return V.serialize(T.DECIMAL, self.total)


def _divide_half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


class DecimalAvg(AggregateState):
    """avg = avg + (x - avg).divide(count, HALF_EVEN), the quotient at the scale of (x - avg)."""

    __slots__ = ("avg", "count")

    def __init__(self) -> None:
        self.avg, self.count = decimal.Decimal(0), 0

    def add(self, args: list) -> None:
        value = args[0]
        if not value:
            return
        self.count += 1
        diff = exact_add(V.deserialize(T.DECIMAL, value), self.avg.copy_negate())
        sign, digits, exponent = diff.as_tuple()
        unscaled = int("".join(map(str, digits))) * (-1 if sign else 1)
        quotient = _divide_half_even(unscaled, self.count)
        self.avg = exact_add(self.avg, decimal.Decimal(quotient).scaleb(exponent, _EXACT))

    def result(self) -> bytes:
        return V.serialize(T.DECIMAL, self.avg)


class FloatSum(AggregateState):
    """FloatSumAggregate: Kahan summation in doubles, with the plain sum kept for infinities."""

    __slots__ = ("single", "total", "compensation", "simple", "count")

    def __init__(self, single: bool) -> None:
        self.single = single
        self.total = self.compensation = self.simple = 0.0
        self.count = 0

    def _decode(self, value: bytes) -> float:
        return (_F32 if self.single else _F64).unpack(value)[0]

    def add(self, args: list) -> None:
        value = args[0]
        if not value:
            return
        d = self._decode(value)
        self.count += 1
        self.simple += d
        tmp = d - self.compensation
        rounded = self.total + tmp
        self.compensation = (rounded - self.total) - tmp
        self.total = rounded

    def _compute(self) -> float:
        tmp = self.total + self.compensation
        if math.isnan(tmp) and math.isinf(self.simple):
            return self.simple
        return tmp

    def _pack(self, x: float) -> bytes:
        return _F32.pack(java.f32(x)) if self.single else _F64.pack(x)

    def result(self) -> bytes:
        return self._pack(self._compute())


def _big_decimal_of(d: float) -> decimal.Decimal:
    """BigDecimal.valueOf(double), which refuses NaN and infinities."""
    if math.isnan(d) or math.isinf(d):
        letter = "N" if math.isnan(d) else "I"
        raise FunctionServerError(f"java.lang.NumberFormatException: Character {letter} is neither a "
                                  f"decimal digit number, decimal point, nor \"e\" notation exponential mark.")
    return decimal.Decimal(java.double_to_string(d))


class FloatAvg(FloatSum):
    """FloatAvgAggregate: like FloatSum, but an overflowing sum continues in exact decimals."""

    __slots__ = ("big",)

    def __init__(self, single: bool) -> None:
        super().__init__(single)
        self.big: decimal.Decimal | None = None

    def add(self, args: list) -> None:
        value = args[0]
        if not value:
            return
        d = self._decode(value)
        self.count += 1
        if self.big is not None:
            self.big = exact_add(self.big, _big_decimal_of(d))
            return
        self.simple += d
        previous = self.total
        tmp = d - self.compensation
        rounded = self.total + tmp
        self.compensation = (rounded - self.total) - tmp
        self.total = rounded
        if math.isinf(self.total) and not math.isinf(d):
            self.big = exact_add(_big_decimal_of(previous), _big_decimal_of(d))

    def result(self) -> bytes:
        if self.count == 0:
            return self._pack(0.0)
        if self.big is not None:
            sign, digits, exponent = self.big.as_tuple()
            unscaled = int("".join(map(str, digits))) * (-1 if sign else 1)
            mean = decimal.Decimal(_divide_half_even(unscaled, self.count)).scaleb(exponent, _EXACT)
            return self._pack(float(mean))
        return self._pack(self._compute() / self.count)


class CounterExtreme(AggregateState):
    """min/max of counters: compared as longs."""

    __slots__ = ("best", "want_max")

    def __init__(self, want_max: bool) -> None:
        self.best: int | None = None
        self.want_max = want_max

    def add(self, args: list) -> None:
        value = args[0]
        if not value:
            return
        number = _I64.unpack(value)[0]
        best = self.best
        if best is None or (number > best if self.want_max else number < best):
            self.best = number

    def result(self) -> bytes | None:
        return None if self.best is None else _I64.pack(self.best)


class Extreme(AggregateState):
    """min/max of any type by its comparator; the first of equal values is kept."""

    __slots__ = ("key", "best", "best_key", "want_max")

    def __init__(self, t: T.CqlType, want_max: bool) -> None:
        self.key = comparable_key(t)
        self.best: bytes | None = None
        self.best_key: bytes | None = None
        self.want_max = want_max

    def add(self, args: list) -> None:
        value = args[0]
        if value is None:
            return
        key = self.key(bytes(value))
        best_key = self.best_key
        if best_key is None or (key > best_key if self.want_max else key < best_key):
            self.best, self.best_key = value, key

    def result(self) -> bytes | None:
        return None if self.best is None else bytes(self.best)


# ---------------------------------------------------------------------------------- constructors

def sum_state(t: T.NativeType) -> Callable[[], AggregateState]:
    """A new_state() for sum over ``t`` (also used by collection_sum)."""
    if t in _INTEGRAL:
        return lambda: IntegralSum(t)
    return {T.VARINT: lambda: VarintSum(t), T.DECIMAL: DecimalSum,
            T.FLOAT: lambda: FloatSum(True), T.DOUBLE: lambda: FloatSum(False)}[t]


def avg_state(t: T.NativeType) -> Callable[[], AggregateState]:
    if t in _INTEGRAL:
        return lambda: IntegralAvg(t)
    return {T.VARINT: lambda: VarintAvg(t), T.DECIMAL: DecimalAvg,
            T.FLOAT: lambda: FloatAvg(True), T.DOUBLE: lambda: FloatAvg(False)}[t]


def extreme_state(t: T.CqlType, want_max: bool) -> Callable[[], AggregateState]:
    if t is T.COUNTER:
        return lambda: CounterExtreme(want_max)
    return lambda: Extreme(t, want_max)


def extreme_aggregate(name: str, t: T.CqlType) -> Aggregate:
    """makeMaxFunction / makeMinFunction (or the counter variants)."""
    return Aggregate(name, t, (t,), extreme_state(t, name == "max"))


COUNT_ROWS = Aggregate("count_rows", T.BIGINT, (), CountRows, column="count")


def aggregate_overloads() -> list[tuple[Aggregate, str | None]]:
    """AggregateFcts' fixed overloads: (overload, legacy name)."""
    out: list[tuple[Aggregate, str | None]] = [(COUNT_ROWS, "countRows")]
    out.extend((Aggregate("sum", t, (t,), sum_state(t)), None) for t in NUMERIC_TYPES)
    out.extend((Aggregate("avg", t, (t,), avg_state(t)), None) for t in NUMERIC_TYPES)
    out.append((Aggregate("count", T.BIGINT, (T.BLOB,), CountValues), None))
    return out


def aggregate_factories() -> list[Factory]:
    return [Factory(name, (AnyType(True),), lambda fname, types, receiver: extreme_aggregate(fname, types[0]))
            for name in ("max", "min")]
