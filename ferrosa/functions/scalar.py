"""Cassandra 5.0's native scalar functions: time (TimeFcts), uuid (UuidFcts), blob conversions
(BytesConversionFcts), math (MathFcts) and token (TokenFct).

Bodies take the argument bytes (None for null) and return the result bytes, with Cassandra's
null rules: a null argument, or an empty one for types where "empty" means nothing (int, bigint,
timestamp, uuid...), gives a null result, except for the functions that pass bytes through
untouched (the blob conversions). Arithmetic follows the JVM (see java.py): abs(-2147483648) is
-2147483648, exp of a big int saturates, log of a negative int is 0 (NaN cast to int).

Functions that are NOT here: dateOf/unixTimestampOf (removed in 5.0), the arithmetic operators
(_add, _substract, ...; not part of this library), user-defined functions.

This module must NOT resolve overloads (registry.py) or register them (natives.py).
"""

from __future__ import annotations

import decimal
import math
import struct
import time
import uuid
from typing import Callable

from ferrosa import partitioner
from ferrosa.functions import java
from ferrosa.functions.errors import FunctionServerError, InvalidRequest
from ferrosa.functions.registry import Function
from ferrosa.functions.text_codec import (
    DATE_EPOCH_OFFSET, MILLIS_PER_DAY, NANOS_PER_DAY, civil_from_days, days_from_civil, days_to_millis,
    duration_text, millis_to_days,
)
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V

_I8, _I16, _I32, _I64 = struct.Struct(">b"), struct.Struct(">h"), struct.Struct(">i"), struct.Struct(">q")
_U32, _F32, _F64 = struct.Struct(">I"), struct.Struct(">f"), struct.Struct(">d")
_U64 = struct.Struct(">Q")
_MASK64 = (1 << 64) - 1

# Types whose zero-length value reads as null in function arguments (isEmptyValueMeaningless).
EMPTY_IS_NULL = frozenset({T.TIMEUUID, T.BOOLEAN, T.COUNTER, T.DECIMAL, T.DOUBLE, T.FLOAT, T.INET, T.INT,
                           T.VARINT, T.BIGINT, T.TIMESTAMP, T.UUID})


def is_null(t: T.CqlType, data: bytes | None) -> bool:
    """Whether a function argument of type ``t`` counts as null."""
    return data is None or (not data and t in EMPTY_IS_NULL)


# ------------------------------------------------------------------------------------- time uuids

UUID_EPOCH_UNIX_MILLIS = -12_219_292_800_000  # 1582-10-15, the start of version 1 UUID time
_MIN_CLOCK_SEQ_AND_NODE = 0x8080808080808080
_MAX_CLOCK_SEQ_AND_NODE = 0x7F7F7F7F7F7F7F7F


def _raw_to_msb(raw: int) -> int:
    raw &= _MASK64
    return (0x1000 | (raw >> 48) | ((raw & 0xFFFF00000000) >> 16) | (raw << 32)) & _MASK64


def min_timeuuid(ms: int) -> bytes:
    """TimeUUID.minAtUnixMillis (64-bit wrapping, as in Java)."""
    raw = java.wrap(ms * 10000 - UUID_EPOCH_UNIX_MILLIS * 10000, 64)
    return _U64.pack(_raw_to_msb(raw)) + _U64.pack(_MIN_CLOCK_SEQ_AND_NODE)


def max_timeuuid(ms: int) -> bytes:
    """TimeUUID.maxAtUnixMillis."""
    raw = java.wrap(java.wrap(ms + 1, 64) * 10000 - UUID_EPOCH_UNIX_MILLIS * 10000 - 1, 64)
    return _U64.pack(_raw_to_msb(raw)) + _U64.pack(_MAX_CLOCK_SEQ_AND_NODE)


def timeuuid_millis(data: bytes) -> int:
    """TimeUUID.unix(MILLISECONDS) of a serialized timeuuid (Java divisions truncate)."""
    msb = _U64.unpack_from(data, 0)[0] & ~0x1000
    raw = ((msb & 0xFFFF) << 48) | ((msb & 0xFFFF0000) << 16) | (msb >> 32)
    micros = java.wrap(raw // 10 + UUID_EPOCH_UNIX_MILLIS * 1000, 64)
    return java.jdiv(micros, 1000)


def _new_timeuuid() -> bytes:
    return uuid.uuid1().bytes


# Temporal argument -> milliseconds (TemporalType.toTimeInMillis).
_TO_MILLIS: dict[T.NativeType, Callable[[bytes], int]] = {
    T.TIMESTAMP: lambda b: _I64.unpack(b)[0],
    T.TIMEUUID: timeuuid_millis,
    T.DATE: lambda b: days_to_millis(_U32.unpack(b)[0]),
}
# Milliseconds -> result bytes (TemporalType.fromTimeInMillis).
_FROM_MILLIS: dict[T.NativeType, Callable[[int], bytes]] = {
    T.TIMESTAMP: lambda ms: _I64.pack(java.wrap(ms, 64)),
    T.DATE: lambda ms: _U32.pack(millis_to_days(ms)),
    T.BIGINT: lambda ms: _I64.pack(java.wrap(ms, 64)),
}


def temporal_conversion(arg: T.NativeType, result: T.NativeType) -> Callable:
    """The body converting one temporal type into another (to_date, to_timestamp, ...)."""
    to_millis, from_millis = _TO_MILLIS[arg], _FROM_MILLIS[result]

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        value = args[0]
        if is_null(arg, value):
            return None
        return from_millis(to_millis(value))
    return body


def _timeuuid_bound(make: Callable[[int], bytes]) -> Callable:
    def body(args: list, protocol_version: int = 5) -> bytes | None:
        value = args[0]
        return None if is_null(T.TIMESTAMP, value) else make(_I64.unpack(value)[0])
    return body


def _now(produce: Callable[[], bytes]) -> Callable:
    return lambda args, protocol_version=5: produce()


def _current_date() -> bytes:
    return _U32.pack(millis_to_days(int(time.time() * 1000)))


NOW_FUNCTIONS: dict[str, tuple[T.NativeType, Callable[[], bytes]]] = {
    "now": (T.TIMEUUID, _new_timeuuid),
    "current_timeuuid": (T.TIMEUUID, _new_timeuuid),
    "current_timestamp": (T.TIMESTAMP, lambda: _I64.pack(int(time.time() * 1000))),
    "current_date": (T.DATE, _current_date),
    "current_time": (T.TIME, lambda: _I64.pack(time.time_ns() % NANOS_PER_DAY)),
}


def time_functions() -> list[tuple[Function, str | None]]:
    """TimeFcts.addFunctionsTo: (overload, legacy name) pairs."""
    out: list[tuple[Function, str | None]] = []
    for name, (result, produce) in NOW_FUNCTIONS.items():
        legacy = name.replace("_", "") if "current" in name else None
        out.append((Function(name, result, (), _now(produce), pure=False), legacy))
    out.append((Function("min_timeuuid", T.TIMEUUID, (T.TIMESTAMP,), _timeuuid_bound(min_timeuuid)),
                "mintimeuuid"))
    out.append((Function("max_timeuuid", T.TIMEUUID, (T.TIMESTAMP,), _timeuuid_bound(max_timeuuid)),
                "maxtimeuuid"))
    for name, result, arg in (("to_date", T.DATE, T.TIMEUUID), ("to_timestamp", T.TIMESTAMP, T.TIMEUUID),
                              ("to_unix_timestamp", T.BIGINT, T.TIMEUUID),
                              ("to_unix_timestamp", T.BIGINT, T.TIMESTAMP), ("to_date", T.DATE, T.TIMESTAMP),
                              ("to_unix_timestamp", T.BIGINT, T.DATE), ("to_timestamp", T.TIMESTAMP, T.DATE)):
        out.append((Function(name, result, (arg,), temporal_conversion(arg, result)), name.replace("_", "")))
    out.extend((fn, None) for fn in floor_functions())
    return out


# ------------------------------------------------------------------------------------------ floor

def _add_months(ms: int, months: int) -> int:
    """Calendar.add(MONTH, n) in UTC: same time of day, day clamped to the target month."""
    days, rest = divmod(ms, MILLIS_PER_DAY)
    year, month, day = civil_from_days(days)
    index = year * 12 + (month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    length = 29 if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else (
        28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)
    return days_from_civil(year, month, min(day, length)) * MILLIS_PER_DAY + rest


def _duration_millis(d: V.Duration) -> int:
    return d.days * MILLIS_PER_DAY + java.jdiv(d.nanoseconds, 1_000_000)


def floor_timestamp(ms: int, d: V.Duration, start: int) -> int:
    """Duration.floorTimestamp."""
    if start > ms:
        raise InvalidRequest("The floor function starting time is greater than the provided time")
    if d.months < 0 or d.days < 0 or d.nanoseconds < 0:
        raise InvalidRequest("Negative durations are not supported by the floor function")
    if d.months == 0:
        step = _duration_millis(d)
        return ms if step == 0 else ms - (ms - start) % step
    year, month, _ = civil_from_days(ms // MILLIS_PER_DAY)
    start_year, start_month, _ = civil_from_days(start // MILLIS_PER_DAY)
    multiplier = ((year - start_year) * 12 + (month - start_month)) // d.months
    moment = _add_months(start, multiplier * d.months)
    if d.days == 0 and d.nanoseconds == 0:
        return moment
    step = _duration_millis(d)
    floor = moment + multiplier * step
    while floor > ms:
        multiplier -= 1
        moment = _add_months(moment, -d.months)
        floor = moment + multiplier * step
    return max(start, floor)


def _floor_body(arg: T.NativeType, result: T.NativeType, start_type: T.NativeType | None) -> Callable:
    to_millis, from_millis = _TO_MILLIS[arg], _FROM_MILLIS[result]
    start_millis = _TO_MILLIS[start_type] if start_type is not None else None

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        if is_null(arg, args[0]) or args[1] is None or (start_millis is not None
                                                         and is_null(start_type, args[2])):
            return None
        ms = to_millis(args[0])
        d = V.deserialize(T.DURATION, args[1])
        start = start_millis(args[2]) if start_millis is not None else 0
        if result is T.DATE:
            if d.nanoseconds != 0:
                raise InvalidRequest(f"The floor on date values cannot be computed for the "
                                     f"{duration_text(d)} duration as precision is below 1 day")
        elif d.nanoseconds % 1_000_000 != 0:
            raise InvalidRequest(f"The floor cannot be computed for the {duration_text(d)} duration as "
                                 f"precision is below 1 millisecond")
        return from_millis(floor_timestamp(ms, d, start))
    return body


def _floor_time(args: list, protocol_version: int = 5) -> bytes | None:
    if args[0] is None or args[1] is None:
        return None
    nanos = _I64.unpack(args[0])[0]
    d = V.deserialize(T.DURATION, args[1])
    if d.months < 0 or d.days < 0 or d.nanoseconds < 0:
        raise InvalidRequest("Negative durations are not supported by the floor function")
    if d.months != 0 or d.days != 0 or d.nanoseconds > NANOS_PER_DAY:
        raise InvalidRequest("For time values, the floor can only be computed for durations smaller that a day")
    if d.nanoseconds == 0:
        return args[0]
    return _I64.pack(nanos - java.jrem(nanos, d.nanoseconds))


def floor_functions() -> list[Function]:
    out = []
    for arg, result in ((T.TIMESTAMP, T.TIMESTAMP), (T.TIMEUUID, T.TIMESTAMP), (T.DATE, T.DATE)):
        start = T.DATE if arg is T.DATE else T.TIMESTAMP
        out.append(Function("floor", result, (arg, T.DURATION), _floor_body(arg, result, None)))
        out.append(Function("floor", result, (arg, T.DURATION, start), _floor_body(arg, result, start)))
    out.append(Function("floor", T.TIME, (T.TIME, T.DURATION), _floor_time))
    return out


# ------------------------------------------------------------------------------------------- uuid

def uuid_functions() -> list[tuple[Function, str | None]]:
    """UuidFcts: uuid() (random, version 4). Marked impure: each call differs."""
    return [(Function("uuid", T.UUID, (), _now(lambda: uuid.uuid4().bytes), pure=False), None)]


# ---------------------------------------------------------------------------------------- bytes

# CQL3Type.Native in declaration order, as BytesConversionFcts iterates it; varchar is text again
# under its own name. (The internal 'empty' type has no CQL column type here and is left out.)
BLOB_CONVERSION_TYPES: tuple[tuple[str, T.NativeType], ...] = tuple(
    (name, T.CQL_NATIVE_NAMES[name]) for name in (
        "ascii", "bigint", "boolean", "counter", "date", "decimal", "double", "duration", "float", "inet",
        "int", "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid", "varchar", "varint"))


def _identity(args: list, protocol_version: int = 5) -> bytes | None:
    return args[0]


def _from_blob(qualified: str, type_name: str, t: T.NativeType) -> Callable:
    validate = V.validate

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        value = args[0]
        if value is not None:
            try:
                validate(t, value)
            except V.InvalidValue:
                raise InvalidRequest(f"In call to function {qualified}, value 0x{bytes(value).hex()} is not "
                                     f"a valid binary representation for type {type_name}") from None
        return value
    return body


def blob_functions() -> list[Function]:
    """X_as_blob / blob_as_X and their legacy names Xasblob / blobasX, as separate overloads (the
    legacy blob_as_X reports its own name in errors)."""
    out = []
    for type_name, t in BLOB_CONVERSION_TYPES:
        for to_blob, from_blob in ((f"{type_name}_as_blob", f"blob_as_{type_name}"),
                                   (f"{type_name}asblob", f"blobas{type_name}")):
            out.append(Function(to_blob, T.BLOB, (t,), _identity))
            out.append(Function(from_blob, t, (T.BLOB,), _from_blob(f"system.{from_blob}", type_name, t)))
    return out


# ------------------------------------------------------------------------------------------- math

# Upper bound on the digits of exp() of a varint: Cassandra would build the whole BigInteger
# (exp(10**7) has 4.3 million digits); past this the call is refused instead of stalling the node.
MAX_EXP_RESULT_DIGITS = 100_000
# Decimal exp/log/log10 use max(32, precision of the argument) significant digits, capped at 10000
# (DecimalType.MIN_SIGNIFICANT_DIGITS and MAX_PRECISION).
MIN_SIGNIFICANT_DIGITS = 32
MAX_PRECISION = 10_000
_DECIMAL_CONTEXT = decimal.Context(prec=MAX_PRECISION, rounding=decimal.ROUND_HALF_EVEN,
                                   Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[decimal.Overflow,
                                   decimal.InvalidOperation, decimal.DivisionByZero])


def _arithmetic(message: str) -> FunctionServerError:
    return FunctionServerError(f"java.lang.ArithmeticException: {message}")


def _int_math(bits: int, st: struct.Struct) -> dict[str, Callable[[int], bytes]]:
    def narrow(x: float) -> int:
        wide = java.d2l(x) if bits == 64 else java.d2i(x)
        return java.wrap(wide, bits)

    def log(x: int, f: Callable[[float], float]) -> bytes:
        return st.pack(narrow(_java_log(float(x), f)))  # Math.log of a negative is NaN, cast to 0

    return {
        "abs": lambda x: st.pack(java.wrap(abs(x), bits)),
        "exp": lambda x: st.pack(narrow(_java_exp(float(x)))),
        "log": lambda x: log(x, math.log),
        "log10": lambda x: log(x, math.log10),
        "round": lambda x: st.pack(x),
    }


def _java_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _java_log(x: float, f: Callable[[float], float]) -> float:
    if x != x or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    return f(x)


def _float_math(single: bool) -> dict[str, Callable[[float], bytes]]:
    st = _F32 if single else _F64
    cast = java.f32 if single else (lambda v: v)
    round_ = java.math_round_float if single else java.math_round_double
    return {
        "abs": lambda x: st.pack(abs(x)),
        "exp": lambda x: st.pack(cast(_java_exp(x))),
        "log": lambda x: st.pack(cast(_java_log(x, math.log))),
        "log10": lambda x: st.pack(cast(_java_log(x, math.log10))),
        "round": lambda x: st.pack(cast(float(round_(x)))),
    }


def _decimal_context(value: decimal.Decimal) -> decimal.Context:
    precision = min(MAX_PRECISION, max(MIN_SIGNIFICANT_DIGITS, len(value.as_tuple().digits)))
    return _DECIMAL_CONTEXT.copy() if precision == MAX_PRECISION else decimal.Context(
        prec=precision, rounding=decimal.ROUND_HALF_EVEN, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
        traps=[decimal.Overflow, decimal.InvalidOperation, decimal.DivisionByZero])


def decimal_exp(value: decimal.Decimal) -> decimal.Decimal:
    try:
        return value.exp(_decimal_context(value))
    except decimal.Overflow:
        raise _arithmetic("Overflow") from None


def decimal_log(value: decimal.Decimal, base10: bool) -> decimal.Decimal:
    if value <= 0:
        raise _arithmetic("Log10 of number zero or less" if base10 else "Natural log of number zero or less")
    context = _decimal_context(value)
    return value.log10(context) if base10 else value.ln(context)


def _serialize_decimal(value: decimal.Decimal) -> bytes:
    try:
        return V.serialize(T.DECIMAL, value)
    except V.InvalidValue:
        raise _arithmetic("Overflow") from None


def _decimal_math() -> dict[str, Callable[[decimal.Decimal], bytes]]:
    return {
        "abs": lambda x: _serialize_decimal(x.copy_abs()),
        "exp": lambda x: _serialize_decimal(decimal_exp(x)),
        "log": lambda x: _serialize_decimal(decimal_log(x, False)),
        "log10": lambda x: _serialize_decimal(decimal_log(x, True)),
        "round": _decimal_round,
    }


def _decimal_round(x: decimal.Decimal) -> bytes:
    """setScale(0, HALF_UP), exact whatever the magnitude (up to the digit bound)."""
    if x.adjusted() >= MAX_EXP_RESULT_DIGITS:
        raise InvalidRequest(f"round() of a decimal with more than {MAX_EXP_RESULT_DIGITS} integer digits "
                             f"is refused by Ferrosa")
    context = decimal.Context(prec=max(x.adjusted() + 2, 1), rounding=decimal.ROUND_HALF_UP)
    return _serialize_decimal(x.quantize(decimal.Decimal(1), context=context))


def _varint_exp(x: int) -> bytes:
    result = decimal_exp(decimal.Decimal(x))
    if result.adjusted() >= MAX_EXP_RESULT_DIGITS:
        raise InvalidRequest(f"exp({x}) has more than {MAX_EXP_RESULT_DIGITS} digits; Ferrosa refuses "
                             f"to compute varint results that large")
    return V.varint_bytes(int(result))


def _varint_log(x: int, base10: bool) -> bytes:
    return V.varint_bytes(int(decimal_log(decimal.Decimal(x), base10)))


def _varint_math() -> dict[str, Callable[[int], bytes]]:
    return {
        "abs": lambda x: V.varint_bytes(abs(x)),
        "exp": _varint_exp,
        "log": lambda x: _varint_log(x, False),
        "log10": lambda x: _varint_log(x, True),
        "round": V.varint_bytes,
    }


# (type, decoder of a non-null argument, operations)
_MATH_TYPES: tuple[tuple[T.NativeType, Callable, dict[str, Callable]], ...] = (
    (T.TINYINT, lambda b: _I8.unpack(b)[0], _int_math(8, _I8)),
    (T.SMALLINT, lambda b: _I16.unpack(b)[0], _int_math(16, _I16)),
    (T.INT, lambda b: _I32.unpack(b)[0], _int_math(32, _I32)),
    (T.FLOAT, lambda b: _F32.unpack(b)[0], _float_math(True)),
    (T.BIGINT, lambda b: _I64.unpack(b)[0], _int_math(64, _I64)),
    (T.DOUBLE, lambda b: _F64.unpack(b)[0], _float_math(False)),
    (T.VARINT, lambda b: int.from_bytes(b, "big", signed=True), _varint_math()),
    (T.DECIMAL, lambda b: V.deserialize(T.DECIMAL, b), _decimal_math()),
    (T.COUNTER, lambda b: _I64.unpack(b)[0], _int_math(64, _I64)),
)
MATH_FUNCTION_NAMES = ("abs", "exp", "log", "log10", "round")


def _math_body(t: T.NativeType, decode: Callable, operation: Callable) -> Callable:
    def body(args: list, protocol_version: int = 5) -> bytes | None:
        value = args[0]
        if is_null(t, value):
            return None
        return operation(decode(value))
    return body


def math_functions() -> list[Function]:
    return [Function(name, t, (t,), _math_body(t, decode, ops[name]))
            for t, decode, ops in _MATH_TYPES for name in MATH_FUNCTION_NAMES]


# ------------------------------------------------------------------------------------------ token

def token_function(partition_key_types: tuple[T.CqlType, ...]) -> Function:
    """TokenFct for a table: token(pk...) -> bigint, Murmur3 over the (composite) partition key."""
    single = len(partition_key_types) == 1
    compose, token = partitioner.compose_partition_key, partitioner.token

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        if any(a is None for a in args):
            return None
        key = bytes(args[0]) if single else compose([bytes(a) for a in args])
        return _I64.pack(token(key))
    return Function("token", T.BIGINT, partition_key_types, body)


__all__ = ["EMPTY_IS_NULL", "is_null", "min_timeuuid", "max_timeuuid", "timeuuid_millis", "floor_timestamp",
           "time_functions", "uuid_functions", "blob_functions", "math_functions", "token_function",
           "decimal_exp", "decimal_log", "DATE_EPOCH_OFFSET"]
