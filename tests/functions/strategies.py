"""Hypothesis strategies shared by the function-library tests: CQL types (nested) and Python values
that ferrosa.protocol.values.serialize accepts for them."""

from __future__ import annotations

import decimal
import ipaddress

from hypothesis import strategies as st

from ferrosa.functions import java
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V

# Timestamps whose text renders and parses back (SimpleDateFormat switches to the Julian calendar
# before 1582 while the parsers are proleptic Gregorian, in Cassandra as here).
MIN_ROUND_TRIP_MS = -12_212_553_600_000   # 1583-01-01T00:00:00Z
MAX_ROUND_TRIP_MS = 253_402_300_799_999   # 9999-12-31T23:59:59.999Z

_INT32 = st.integers(java.INT32_MIN, java.INT32_MAX)


def _durations() -> st.SearchStrategy:
    positive = st.tuples(st.integers(0, java.INT32_MAX), st.integers(0, java.INT32_MAX),
                         st.integers(0, java.INT64_MAX))
    return positive.filter(any).flatmap(
        lambda parts: st.sampled_from([V.Duration(*parts), V.Duration(*(-p for p in parts))]))


def _inets() -> st.SearchStrategy:
    v4 = st.ip_addresses(v=4)
    v6 = st.ip_addresses(v=6).filter(lambda a: a.ipv4_mapped is None)
    return st.one_of(v4, v6).map(ipaddress.ip_address)


NATIVE_VALUES: dict[T.NativeType, st.SearchStrategy] = {
    T.ASCII: st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=8),
    T.TEXT: st.text(max_size=8),
    T.BLOB: st.binary(max_size=8),
    T.BOOLEAN: st.booleans(),
    T.TINYINT: st.integers(java.INT8_MIN, java.INT8_MAX),
    T.SMALLINT: st.integers(java.INT16_MIN, java.INT16_MAX),
    T.INT: _INT32,
    T.BIGINT: st.integers(java.INT64_MIN, java.INT64_MAX),
    T.VARINT: st.integers(-(10**40), 10**40),
    T.FLOAT: st.floats(width=32, allow_nan=False, allow_infinity=False),
    T.DOUBLE: st.floats(allow_nan=False, allow_infinity=False),
    T.DECIMAL: st.floats(allow_nan=False, allow_infinity=False).map(
        lambda f: decimal.Decimal(java.double_to_string(f))),
    T.DATE: _INT32,
    T.TIME: st.integers(0, 86_400_000_000_000 - 1),
    T.TIMESTAMP: st.integers(MIN_ROUND_TRIP_MS, MAX_ROUND_TRIP_MS),
    T.UUID: st.uuids(),
    T.TIMEUUID: st.uuids(version=1),
    T.INET: _inets(),
    T.DURATION: _durations(),
}
# Types that can be set elements / map keys (durations have no order; counters are not allowed).
KEY_NATIVES = [t for t in NATIVE_VALUES if t is not T.DURATION]
_FIELD_NAME = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,5}", fullmatch=True)


def types(max_depth: int = 2, key: bool = False) -> st.SearchStrategy:
    """CQL types (frozen below the top level), nested up to ``max_depth`` levels."""
    natives = st.sampled_from(KEY_NATIVES if key else list(NATIVE_VALUES))
    if max_depth == 0:
        return natives
    inner = types(max_depth - 1)
    inner_key = types(max_depth - 1, key=True)
    composite = st.one_of(
        inner.map(lambda e: T.ListType(e.freeze(), frozen=True)),
        inner_key.map(lambda e: T.SetType(e.freeze(), frozen=True)),
        st.tuples(inner_key, inner).map(lambda kv: T.MapType(kv[0].freeze(), kv[1].freeze(), frozen=True)),
        st.lists(inner, min_size=1, max_size=3).map(T.TupleType),
        st.lists(st.tuples(_FIELD_NAME, inner), min_size=1, max_size=3, unique_by=lambda f: f[0].lower()).map(
            lambda fields: T.UserType("ks", "u", [n for n, _ in fields], [t.freeze() for _, t in fields], True)),
        st.tuples(st.sampled_from([T.FLOAT, T.INT, T.TEXT, T.BIGINT]), st.integers(1, 3)).map(
            lambda p: T.VectorType(*p)),
    )
    return st.one_of(natives, composite)


def values(t: T.CqlType) -> st.SearchStrategy:
    """Python values of ``t`` accepted by values.serialize (no nulls inside collections)."""
    if isinstance(t, T.NativeType):
        return NATIVE_VALUES[t]
    if isinstance(t, T.ListType):
        return st.lists(values(t.element), max_size=3)
    if isinstance(t, T.SetType):
        return st.lists(values(t.element), max_size=3)
    if isinstance(t, T.MapType):
        return st.lists(st.tuples(values(t.key), values(t.value)), max_size=3)
    if isinstance(t, T.TupleType):
        return st.tuples(*(st.one_of(st.none(), values(e)) for e in t.elements))
    if isinstance(t, T.UserType):
        return st.fixed_dictionaries({n: st.one_of(st.none(), values(ft))
                                      for n, ft in zip(t.field_names, t.field_types)})
    if isinstance(t, T.VectorType):
        return st.lists(values(t.element), min_size=t.dimension, max_size=t.dimension)
    raise AssertionError(t)


def serialized(t: T.CqlType) -> st.SearchStrategy:
    return values(t).map(lambda v: V.serialize(t, v))
