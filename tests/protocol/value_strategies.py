"""Hypothesis strategies for CQL types and values, shared by the type, value and clustering tests.

Also converts our Python representations to what the datastax driver's cqltypes serializers accept,
so tests can compare both serializations byte for byte. Test support only: production code must NOT
import it.
"""

from __future__ import annotations

import decimal
import functools
import io
from typing import Any

from cassandra import util as driver_util
from cassandra.protocol import ResultMessage
from hypothesis import strategies as st

from ferrosa.protocol import types as T
from ferrosa.protocol.values import EMPTY, Duration, fixed_length

INT_RANGES = {T.TINYINT: 8, T.SMALLINT: 16, T.INT: 32, T.BIGINT: 64, T.COUNTER: 64, T.TIMESTAMP: 64}
NANOS_PER_DAY = 86_400_000_000_000
# Types whose zero-length "empty value" Cassandra's validator accepts.
EMPTY_OK = {T.INT, T.BIGINT, T.COUNTER, T.FLOAT, T.DOUBLE, T.TIMESTAMP, T.BOOLEAN, T.UUID,
            T.TIMEUUID, T.INET, T.DECIMAL, T.VARINT}
ORDERABLE_NATIVES = [t for t in T.NATIVE_TYPES.values() if t is not T.COUNTER]

identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


def decimals() -> st.SearchStrategy[decimal.Decimal]:
    def build(unscaled: int, scale: int) -> decimal.Decimal:
        sign, digits, _ = decimal.Decimal(unscaled).as_tuple()
        return decimal.Decimal((sign, digits, -scale))
    return st.builds(build, st.integers(-(10**30), 10**30) | st.integers(-999, 999),
                     st.integers(-40, 40) | st.sampled_from([-(2**31), 2**31 - 1]))


def durations() -> st.SearchStrategy[Duration]:
    def build(months: int, days: int, nanos: int, negative: bool) -> Duration:
        sign = -1 if negative else 1
        return Duration(sign * months, sign * days, sign * nanos)
    return st.builds(build, st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1),
                     st.integers(0, 2**63 - 1), st.booleans())


def native_values(t: T.NativeType, with_empty: bool = True) -> st.SearchStrategy[Any]:
    if t in INT_RANGES:
        bits = INT_RANGES[t]
        base = st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    else:
        base = {
            T.ASCII: st.text(st.characters(max_codepoint=127)),
            T.TEXT: st.text(),
            T.BLOB: st.binary(max_size=20),
            T.BOOLEAN: st.booleans(),
            T.FLOAT: st.floats(width=32),
            T.DOUBLE: st.floats(),
            T.DECIMAL: decimals(),
            T.VARINT: st.integers() | st.integers(-(2**200), 2**200),
            T.DATE: st.integers(-(2**31), 2**31 - 1),
            T.TIME: st.integers(0, NANOS_PER_DAY - 1),
            T.UUID: st.uuids(),
            T.TIMEUUID: st.uuids(version=1),
            T.INET: st.ip_addresses(),
            T.DURATION: durations(),
        }[t]
    if with_empty and t in EMPTY_OK:
        return base | st.just(EMPTY)
    return base


@st.composite
def _composite_type(draw: st.DrawFn, children: st.SearchStrategy[T.CqlType]) -> T.CqlType:
    kind = draw(st.sampled_from(["list", "set", "map", "tuple", "udt", "vector"]))
    frozen = draw(st.booleans())

    def kid(keyable: bool = False) -> T.CqlType:
        t = draw(children.filter(lambda c: c is not T.DURATION) if keyable else children)
        return t.freeze()
    if kind == "list":
        return T.ListType(kid(), frozen)
    if kind == "set":
        return T.SetType(kid(True), frozen)
    if kind == "map":
        return T.MapType(kid(True), kid(), frozen)
    if kind == "vector":
        return T.VectorType(kid(), draw(st.integers(1, 3)))
    kids = [kid() for _ in range(draw(st.integers(1, 3)))]
    if kind == "tuple":
        return T.TupleType(kids)
    names = draw(st.lists(identifiers, min_size=len(kids), max_size=len(kids), unique=True))
    return T.UserType("ks", "u_" + "_".join(names), names, kids, frozen)


@functools.lru_cache(maxsize=None)
def types(max_depth: int = 2, natives: tuple[T.NativeType, ...] | None = None,
          allow_duration: bool = True) -> st.SearchStrategy[T.CqlType]:
    """Random valid type trees (frozen where Cassandra requires it)."""
    pool = natives or tuple(t for t in T.NATIVE_TYPES.values()
                            if t is not T.COUNTER and (allow_duration or t is not T.DURATION))
    return st.recursive(st.sampled_from(pool), _composite_type, max_leaves=max_depth * 3)


def values(t: T.CqlType, with_empty: bool = True) -> st.SearchStrategy[Any]:
    """Canonical Python values of ``t`` (what serialize() accepts)."""
    if isinstance(t, T.NativeType):
        return native_values(t, with_empty)
    if isinstance(t, T.CustomType):
        return st.binary(max_size=10)
    # fixed-size vector elements are fixed slices: they cannot be empty
    inner_empty = with_empty and not (isinstance(t, T.VectorType) and fixed_length(t.element) is not None)
    sub = [values(s, inner_empty) for s in t.subtypes]
    if isinstance(t, (T.ListType, T.SetType)):
        return st.lists(sub[0], max_size=4)
    if isinstance(t, T.MapType):
        return st.lists(st.tuples(sub[0], sub[1]), max_size=4)
    if isinstance(t, T.VectorType):
        return st.lists(sub[0], min_size=t.dimension, max_size=t.dimension)
    fields = st.tuples(*(st.none() | s for s in sub))
    if isinstance(t, T.TupleType):
        return fields
    return fields.map(lambda vs: dict(zip(t.field_names, vs)))


class PairsMap(list):
    """A list of pairs that the driver's MapType.serialize accepts (it calls items())."""

    def items(self) -> list:
        return list(self)


def to_driver(t: T.CqlType, v: Any) -> Any:
    """Our Python representation -> what cassandra.cqltypes serializers take."""
    if v is None:
        return None
    if t is T.DATE:
        return v + 2**31  # the driver treats ints as the raw unsigned day count
    if t is T.DURATION:
        return driver_util.Duration(v.months, v.days, v.nanoseconds)
    if t is T.INET:
        return str(v)
    if isinstance(t, (T.ListType, T.SetType, T.VectorType)):
        return [to_driver(t.subtypes[0], x) for x in v]
    if isinstance(t, T.MapType):
        pairs = v.items() if isinstance(v, dict) else v
        return PairsMap((to_driver(t.key, k), to_driver(t.value, x)) for k, x in pairs)
    if isinstance(t, T.TupleType):
        return tuple(to_driver(s, x) for s, x in zip(t.elements, v))
    if isinstance(t, T.UserType):
        return tuple(to_driver(s, v.get(n)) for s, n in zip(t.field_types, t.field_names))
    return v


def driver_type(t: T.CqlType) -> Any:
    """The driver's cqltypes class for ``t``, learned from our [option] bytes as a client would."""
    return ResultMessage.read_type(io.BytesIO(T.option_bytes(t)), {})
