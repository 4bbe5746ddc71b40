"""CAST(x AS type): Cassandra 5.0's CastFcts, one ``cast_as_<type>`` overload per allowed pair.

Allowed conversions (nothing else; other targets give "<x> cannot be cast to <type>"):

* between the numeric types tinyint, smallint, int, bigint, float, double, decimal, varint (and
  from counter), with Java's Number conversions: integral narrowing wraps, float/double to an
  integral type saturates through int/long (NaN -> 0), decimal truncates then wraps, to varint
  goes through a long (BigInteger.valueOf(x.longValue())), float to decimal reads Float.toString,
  double to decimal reads Double.toString (NaN/Infinity fail as Java's NumberFormatException);
* every numeric type, inet, boolean, timeuuid, timestamp, date, time and uuid to ascii and text,
  printed as toCQLLiteralNoQuote (CAST(1.0 AS text) = '1.0', timestamps as 2011-02-03T04:05:00.000Z);
* ascii to text; timeuuid to date/timestamp; timestamp to date; date to timestamp.

Casting a type to itself is no function at all in Cassandra (the column keeps its name); here it
is an identity overload whose column name is the argument's.

This module must NOT register functions (natives.py does) or resolve calls (registry.py).
"""

from __future__ import annotations

import decimal
import math
import struct
from typing import Any, Callable, Sequence

from ferrosa.functions import java, scalar, text_codec
from ferrosa.functions.errors import FunctionServerError
from ferrosa.functions.registry import Function
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V

_I8, _I16, _I32, _I64 = struct.Struct(">b"), struct.Struct(">h"), struct.Struct(">i"), struct.Struct(">q")
_F32, _F64 = struct.Struct(">f"), struct.Struct(">d")

CAST_PREFIX = "cast_as_"
LEGACY_CAST_PREFIX = "castAs"


class CastFunction(Function):
    """A cast_as_<type> overload; its result column is named ``cast(x as type)``."""

    __slots__ = ()

    def column_name(self, arg_names: Sequence[str]) -> str:
        return f"cast({arg_names[0]} as {T.cql_name(self.return_type)})"


class IdentityCast(CastFunction):
    """CAST of a value to its own type: the value and the column name are unchanged."""

    __slots__ = ()

    def column_name(self, arg_names: Sequence[str]) -> str:
        return arg_names[0]


def cast_name(target: T.CqlType) -> str:
    return CAST_PREFIX + T.cql_name(target)


def legacy_cast_name(target: T.CqlType) -> str:
    return LEGACY_CAST_PREFIX + T.cql_name(target).capitalize()


# -------------------------------------------------------------------------- numeric conversions

# Input decoders: serialized value -> the Java Number it reads as, tagged with its kind.
_INTEGRAL, _FLOAT, _DOUBLE, _DECIMAL, _BIGINT = "integral", "float", "double", "decimal", "biginteger"
_DECODERS: dict[T.NativeType, tuple[str, Callable[[bytes], Any]]] = {
    T.TINYINT: (_INTEGRAL, lambda b: _I8.unpack(b)[0]),
    T.SMALLINT: (_INTEGRAL, lambda b: _I16.unpack(b)[0]),
    T.INT: (_INTEGRAL, lambda b: _I32.unpack(b)[0]),
    T.BIGINT: (_INTEGRAL, lambda b: _I64.unpack(b)[0]),
    T.COUNTER: (_INTEGRAL, lambda b: _I64.unpack(b)[0]),
    T.FLOAT: (_FLOAT, lambda b: _F32.unpack(b)[0]),
    T.DOUBLE: (_DOUBLE, lambda b: _F64.unpack(b)[0]),
    T.DECIMAL: (_DECIMAL, lambda b: V.deserialize(T.DECIMAL, b)),
    T.VARINT: (_BIGINT, lambda b: int.from_bytes(b, "big", signed=True)),
}
NUMERIC_INPUTS = (T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.FLOAT, T.DOUBLE, T.DECIMAL, T.COUNTER, T.VARINT)
NUMERIC_OUTPUTS = (T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.FLOAT, T.DOUBLE, T.DECIMAL, T.VARINT)


def _long_value(kind: str, x: Any) -> int:
    """Number.longValue()."""
    if kind in (_FLOAT, _DOUBLE):
        return java.d2l(x)
    if kind == _DECIMAL:
        return java.decimal_wrap(x, 64)
    return java.wrap(x, 64)


def _narrow(bits: int) -> Callable[[str, Any], int]:
    """byteValue() / shortValue() / intValue(): float and double go through a saturating int."""
    def convert(kind: str, x: Any) -> int:
        if kind in (_FLOAT, _DOUBLE):
            return java.wrap(java.d2i(x), bits)
        if kind == _DECIMAL:
            return java.decimal_wrap(x, bits)
        return java.wrap(x, bits)
    return convert


def _float_value(kind: str, x: Any) -> float:
    if kind == _FLOAT:
        return x
    if kind == _DOUBLE:
        return java.f32(x)
    if kind == _DECIMAL:
        return java.decimal_to_f32(x)
    return java.int_to_f32(x)


def _double_value(kind: str, x: Any) -> float:
    if kind in (_FLOAT, _DOUBLE):
        return x
    try:
        return float(x)
    except OverflowError:  # BigInteger.doubleValue saturates to infinity
        return math.inf if x > 0 else -math.inf


def _decimal_of_text(text: str) -> decimal.Decimal:
    if text[-1] in "yN":  # Infinity / NaN: new BigDecimal(String) refuses the first letter
        letter = "N" if text.endswith("N") else "I"
        raise FunctionServerError(f"java.lang.NumberFormatException: Character {letter} is neither a "
                                  f"decimal digit number, decimal point, nor \"e\" notation exponential mark.")
    return decimal.Decimal(text)


def _decimal_value(kind: str, x: Any) -> decimal.Decimal:
    if kind == _FLOAT:
        return _decimal_of_text(java.float_to_string(x))
    if kind == _DOUBLE:
        return _decimal_of_text(java.double_to_string(x))
    if kind == _DECIMAL:
        return x
    return decimal.Decimal(x)


_ENCODERS: dict[T.NativeType, Callable[[str, Any], bytes]] = {
    T.TINYINT: lambda k, x: _I8.pack(_narrow(8)(k, x)),
    T.SMALLINT: lambda k, x: _I16.pack(_narrow(16)(k, x)),
    T.INT: lambda k, x: _I32.pack(_narrow(32)(k, x)),
    T.BIGINT: lambda k, x: _I64.pack(_long_value(k, x)),
    T.FLOAT: lambda k, x: _F32.pack(_float_value(k, x)),
    T.DOUBLE: lambda k, x: _F64.pack(_double_value(k, x)),
    T.DECIMAL: lambda k, x: V.serialize(T.DECIMAL, _decimal_value(k, x)),
    T.VARINT: lambda k, x: V.varint_bytes(_long_value(k, x)),
}


def _numeric_cast(source: T.NativeType, target: T.NativeType) -> Callable:
    kind, decode = _DECODERS[source]
    encode = _ENCODERS[target]
    is_null = scalar.is_null

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        value = args[0]
        if is_null(source, value):
            return None
        return encode(kind, decode(value))
    return body


def _text_cast(source: T.NativeType, target: T.NativeType) -> Callable:
    render = text_codec.literal_text
    empty_is_null = source in scalar.EMPTY_IS_NULL

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        value = args[0]
        if value is None or (not value and empty_is_null):
            return None
        if not value:
            return b"null"  # toCQLLiteralNoQuote of an empty value
        return render(source, value).encode("ascii" if target is T.ASCII else "utf-8")
    return body


def _identity(args: list, protocol_version: int = 5) -> bytes | None:
    return args[0]


_TEMPORAL_CASTS: tuple[tuple[T.NativeType, T.NativeType], ...] = (
    (T.TIMEUUID, T.DATE), (T.TIMEUUID, T.TIMESTAMP), (T.TIMESTAMP, T.DATE), (T.DATE, T.TIMESTAMP))
_TEXT_SOURCES = (T.INET, T.BOOLEAN, T.TIMEUUID, T.TIMESTAMP, T.DATE, T.TIME, T.UUID)


def _temporal_cast(source: T.NativeType, target: T.NativeType) -> Callable:
    return scalar.temporal_conversion(source, target)


def cast_overloads() -> list[CastFunction]:
    """Every cast_as_<type> overload, in CastFcts' registration order."""
    out: list[CastFunction] = []

    def add(source: T.NativeType, target: T.NativeType, body: Callable) -> None:
        out.append(CastFunction(cast_name(target), target, (source,), body))

    for source in NUMERIC_INPUTS:
        for target in NUMERIC_OUTPUTS:
            if source is not target:
                add(source, target, _numeric_cast(source, target))
        add(source, T.ASCII, _text_cast(source, T.ASCII))
        add(source, T.TEXT, _text_cast(source, T.TEXT))
    add(T.ASCII, T.TEXT, _identity)
    for source in _TEXT_SOURCES:
        for target in (T.ASCII, T.TEXT):
            add(source, target, _text_cast(source, target))
    for source, target in _TEMPORAL_CASTS:
        add(source, target, _temporal_cast(source, target))
    return out


def identity_cast(t: T.CqlType) -> IdentityCast:
    return IdentityCast(cast_name(t), t, (t,), _identity)
