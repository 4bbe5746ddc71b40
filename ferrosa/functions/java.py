"""Java semantics Cassandra's functions inherit: fixed-width arithmetic, casts, number text.

Cassandra's native functions are thin Java code, so their results carry the JVM's rules: integer
arithmetic wraps at 8/16/32/64 bits; a double cast to int/long saturates (NaN gives 0) while a cast
to byte/short goes through int first; Math.round rounds half up; Float/Double.toString print the
shortest digits that read back, in plain notation for 1e-3 <= |x| < 1e7 and "d.dddEn" otherwise;
BigDecimal.toString is the General Decimal Arithmetic scientific string (exactly Python's
``str(Decimal)``). The parsers accept what Integer.parseInt, Double.valueOf, new BigDecimal(String)
and new BigInteger(String) accept (ASCII digits only).

JSON values reach the codec as Python objects; ``simple_name``/``to_java_string`` name and print
them as the Java objects Jackson would have built (Integer/Long/BigInteger by range, Double,
Boolean, String, ArrayList, LinkedHashMap), for Cassandra's error messages.

This module must NOT know about CQL types or serialized values.
"""

from __future__ import annotations

import decimal
import math
import re
import struct
from fractions import Fraction
from typing import Any

INT8_MIN, INT8_MAX = -(1 << 7), (1 << 7) - 1
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

_F32 = struct.Struct(">f")
_U32 = struct.Struct(">I")
# Doubles at or above this magnitude round to float infinity (2**128 - 2**103, the float32 midpoint).
_F32_OVERFLOW = 2.0**128 - 2.0**103
_F32_MAX = _F32.unpack(b"\x7f\x7f\xff\xff")[0]
# Doubles of this magnitude are integers already (no fraction bits left), so rounding is the identity.
_DOUBLE_INTEGRAL = 2.0**52
_FLOAT_INTEGRAL = 2.0**23

_INTEGER_RE = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_JAVA_FLOAT_RE = re.compile(
    r"(?P<sign>[+-]?)(?:(?P<special>NaN|Infinity)"
    r"|(?P<dec>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFdD]?"
    r"|(?P<hex>0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)[fFdD]?)\Z")
# Java's String.trim() strips every char <= ' ' from both ends.
_JAVA_TRIM = "".join(chr(c) for c in range(33))


def wrap(value: int, bits: int) -> int:
    """Two's complement truncation to ``bits`` (Java's narrowing of integral values)."""
    half = 1 << (bits - 1)
    return ((value + half) & ((half << 1) - 1)) - half


def jdiv(a: int, b: int) -> int:
    """Java's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def jrem(a: int, b: int) -> int:
    """Java's % (the sign of the dividend)."""
    return a - jdiv(a, b) * b


def d2i(x: float) -> int:
    """Java's (int) of a double: NaN -> 0, saturating at the int range, truncating toward zero."""
    if x != x:
        return 0
    if x >= INT32_MAX:
        return INT32_MAX
    if x <= INT32_MIN:
        return INT32_MIN
    return int(x)


def d2l(x: float) -> int:
    """Java's (long) of a double."""
    if x != x:
        return 0
    if x >= 9.223372036854775807e18:
        return INT64_MAX
    if x <= -9.223372036854775808e18:
        return INT64_MIN
    return int(x)


def round_half_up(x: float, integral_from: float) -> int:
    """floor(x + 1/2) computed exactly (Java 7+ Math.round before clamping)."""
    if abs(x) >= integral_from:
        return int(x)
    low = math.floor(x)
    return low + 1 if x - low >= 0.5 else low


def math_round_float(x: float) -> int:
    """Math.round(float) -> int."""
    if x != x:
        return 0
    if math.isinf(x):
        return INT32_MAX if x > 0 else INT32_MIN
    return max(INT32_MIN, min(INT32_MAX, round_half_up(x, _FLOAT_INTEGRAL)))


def math_round_double(x: float) -> int:
    """Math.round(double) -> long."""
    if x != x:
        return 0
    if math.isinf(x):
        return INT64_MAX if x > 0 else INT64_MIN
    return max(INT64_MIN, min(INT64_MAX, round_half_up(x, _DOUBLE_INTEGRAL)))


def f32(x: float) -> float:
    """Java's (float) of a double: round to nearest even float32, overflowing to infinity."""
    try:
        return _F32.unpack(_F32.pack(x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _f32_bits(x: float) -> int:
    return _U32.unpack(_F32.pack(x))[0]


def _f32_from_bits(bits: int) -> float:
    return _F32.unpack(_U32.pack(bits & 0xFFFFFFFF))[0]


def nearest_f32(exact: Fraction) -> float:
    """The float32 nearest to an exact rational, ties to even (Float.parseFloat, long -> float)."""
    try:
        d = float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf
    if abs(d) >= _F32_OVERFLOW:
        if abs(d) == _F32_OVERFLOW and abs(exact) < Fraction(_F32_OVERFLOW):
            return math.copysign(_F32_MAX, d)
        return math.copysign(math.inf, d)
    f = f32(d)
    if not exact or Fraction(f) == exact:
        return f
    bits = _f32_bits(f)
    best, best_gap = f, abs(Fraction(f) - exact)
    for other_bits in (bits - 1, bits + 1):
        other = _f32_from_bits(other_bits)
        if math.isinf(other) or other != other:
            continue
        gap = abs(Fraction(other) - exact)
        if gap < best_gap or (gap == best_gap and other_bits % 2 == 0):
            best, best_gap = other, gap
    return best


def int_to_f32(value: int) -> float:
    """Java's (float) of a long or BigInteger.floatValue(): one correctly rounded step."""
    if -(1 << 24) <= value <= 1 << 24:
        return float(value)
    return nearest_f32(Fraction(value))


# Decimal exponents beyond these give infinity / zero in any binary floating-point format used here;
# checking them first keeps exact rational arithmetic off astronomically large powers of ten.
_FLOAT_EXPONENT_LIMIT, _FLOAT_EXPONENT_FLOOR = 400, -800


def _bounded_fraction(value: decimal.Decimal) -> Fraction | float:
    """Fraction(value), or a signed infinity/zero when the exponent is out of any float's range."""
    if value and value.adjusted() > _FLOAT_EXPONENT_LIMIT:
        return -math.inf if value < 0 else math.inf
    if value and value.adjusted() < _FLOAT_EXPONENT_FLOOR:
        return -0.0 if value < 0 else 0.0
    return Fraction(value)


def decimal_to_f32(value: decimal.Decimal) -> float:
    """BigDecimal.floatValue(): the decimal correctly rounded to float32."""
    exact = _bounded_fraction(value)
    return exact if isinstance(exact, float) else nearest_f32(exact)


def decimal_wrap(value: decimal.Decimal, bits: int) -> int:
    """BigDecimal.intValue()/longValue(): truncate the fraction, keep the low ``bits`` bits."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(value)
    unscaled = int("".join(map(str, digits)))
    if exponent >= 0:
        magnitude = unscaled * pow(10, exponent, 1 << bits)
    elif -exponent > len(digits):
        magnitude = 0
    else:
        magnitude = unscaled // 10**-exponent
    return wrap(-magnitude if sign else magnitude, bits)


# ------------------------------------------------------------------------------------------- text

def _shortest_digits(x: float, single: bool) -> tuple[str, int]:
    """(digits, exponent) with x = d.ddd * 10**exponent, shortest that reads back as x."""
    if single:
        for precision in range(1, 10):
            text = f"{x:.{precision - 1}e}"
            if f32(float(text)) == x:
                break
    else:
        text = repr(x)
    mantissa, _, exponent = text.lower().partition("e")
    int_part, _, frac = mantissa.lstrip("-").partition(".")
    digits = int_part + frac
    exp = int(exponent or "0") + len(int_part) - 1
    stripped = digits.lstrip("0")
    exp -= len(digits) - len(stripped)
    stripped = stripped.rstrip("0") or "0"
    if len(stripped) == 1:
        # Java picks the closest two-digit decimal when one digit suffices (4.9E-324, not 5E-324)
        two = f"{x:.1e}"
        if two[2] != "0":
            return two[0] + two[2], int(two[4:])
    return stripped, exp


def _java_float_text(x: float, single: bool) -> str:
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    digits, exp = _shortest_digits(abs(x), single)
    sign = "-" if x < 0 else ""
    if -3 <= exp < 7:
        if exp >= 0:
            int_part = digits[:exp + 1].ljust(exp + 1, "0")
            frac = digits[exp + 1:] or "0"
        else:
            int_part, frac = "0", "0" * (-exp - 1) + digits
        return f"{sign}{int_part}.{frac}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exp}"


def double_to_string(x: float) -> str:
    """Double.toString."""
    return _java_float_text(x, False)


def float_to_string(x: float) -> str:
    """Float.toString of a float32 value."""
    return _java_float_text(x, True)


def bigdecimal_to_string(value: decimal.Decimal) -> str:
    """BigDecimal.toString (Python's str(Decimal) follows the same specification)."""
    return str(value)


# ---------------------------------------------------------------------------------------- parsing

def parse_integer(text: str, lo: int, hi: int) -> int:
    """Integer.parseInt / Long.parseLong / Short.parseShort / Byte.parseByte; ValueError if bad."""
    if not _INTEGER_RE.match(text):
        raise ValueError(text)
    value = int(text)
    if not lo <= value <= hi:
        raise ValueError(text)
    return value


def parse_biginteger(text: str) -> int:
    """new BigInteger(String)."""
    if not _INTEGER_RE.match(text):
        raise ValueError(text)
    return int(text)


def parse_bigdecimal(text: str) -> decimal.Decimal:
    """new BigDecimal(String): plain or scientific notation, no NaN/Infinity, no blanks."""
    if not _DECIMAL_RE.match(text):
        raise ValueError(text)
    value = decimal.Decimal(text)
    if not INT32_MIN <= -value.as_tuple().exponent <= INT32_MAX:  # BigDecimal's scale is an int
        raise ValueError(text)
    return value


def _parse_java_number(text: str) -> tuple[float, Fraction | None]:
    match = _JAVA_FLOAT_RE.match(text.strip(_JAVA_TRIM))
    if match is None:
        raise ValueError(text)
    negative = match["sign"] == "-"
    if match["special"]:
        value = math.nan if match["special"] == "NaN" else math.inf
        return (-value if negative else value), None
    if match["hex"]:
        value = float.fromhex(match["hex"])
        return (-value if negative else value), None
    exact = _bounded_fraction(decimal.Decimal(match["dec"]))
    if isinstance(exact, float) or not exact:
        value = float(exact)
        return (-value if negative else value), None
    if negative:
        exact = -exact
    return float(exact), exact


def parse_double(text: str) -> float:
    """Double.valueOf(String)."""
    try:
        return _parse_java_number(text)[0]
    except OverflowError:
        return -math.inf if text.strip(_JAVA_TRIM).startswith("-") else math.inf


def parse_float(text: str) -> float:
    """Float.parseFloat(String), rounded once from the decimal text."""
    try:
        value, exact = _parse_java_number(text)
    except OverflowError:
        return -math.inf if text.strip(_JAVA_TRIM).startswith("-") else math.inf
    if exact is None or value == 0.0:
        return f32(value)
    return nearest_f32(exact)


# ---------------------------------------------------------------------- Jackson-built JSON objects

def simple_name(obj: Any) -> str:
    """getClass().getSimpleName() of the Java object Jackson builds for a JSON value."""
    if isinstance(obj, bool):
        return "Boolean"
    if isinstance(obj, int):
        if INT32_MIN <= obj <= INT32_MAX:
            return "Integer"
        return "Long" if INT64_MIN <= obj <= INT64_MAX else "BigInteger"
    if isinstance(obj, float):
        return "Double"
    if isinstance(obj, str):
        return "String"
    if isinstance(obj, list):
        return "ArrayList"
    if isinstance(obj, dict):
        return "LinkedHashMap"
    return type(obj).__name__


def to_java_string(obj: Any) -> str:
    """String.valueOf / toString() of the Java object Jackson builds for a JSON value."""
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, float):
        return double_to_string(obj)
    if isinstance(obj, list):
        return "[" + ", ".join(map(to_java_string, obj)) + "]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{to_java_string(k)}={to_java_string(v)}" for k, v in obj.items()) + "}"
    return str(obj)


def class_cast_message(obj: Any, target: str) -> str:
    """ClassCastException.getMessage() of a JDK 11+ cast of a JSON value to ``target``."""
    source = "java.util." + simple_name(obj) if isinstance(obj, (list, dict)) else (
        ("java.math." if simple_name(obj) == "BigInteger" else "java.lang.") + simple_name(obj))
    return (f"class {source} cannot be cast to class {target} ({source} and {target} are in module "
            f"java.base of loader 'bootstrap')")
