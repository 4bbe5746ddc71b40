"""Byte-comparable clustering keys against a reference comparator written from Cassandra's rules."""

from __future__ import annotations

import decimal
import itertools
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.protocol import types as T
from ferrosa.protocol.values import EMPTY, InvalidValue, fixed_length, read_uvint, serialize
from ferrosa.schema.bytecomparable import (
    BOUND_AFTER, ClusteringEncoder, bound, clustering_encoder, comparable_key, encode_clustering,
)
from tests.protocol import value_strategies as vs

FUZZ = settings(max_examples=120, deadline=None)


# ------------------------------------------------------------------ reference comparator (Cassandra)

def _sign(x: int | float) -> int:
    return (x > 0) - (x < 0)


def _empty_first(a: bytes, b: bytes) -> int | None:
    """AbstractType.compare for CUSTOM comparators: an empty value sorts before any other."""
    if not a or not b:
        return _sign(len(a) - len(b)) if not (a and b) else None
    return None


def _java_float_compare(x: float, y: float) -> int:
    """Float.compare / Double.compare: -0.0 < 0.0, NaN greater than everything and equal to itself."""
    if math.isnan(x) or math.isnan(y):
        return int(math.isnan(x)) - int(math.isnan(y))
    if x == y == 0.0:
        return int(math.copysign(1, x) > 0) - int(math.copysign(1, y) > 0)
    return _sign(x - y) if x != y else 0


def _reorder(msb: int) -> int:  # TimeUUIDType.reorderTimestampBytes
    return ((msb << 48) | ((msb << 16) & 0xFFFF00000000) | (msb >> 32)) & 0xFFFFFFFFFFFFFFFF


def _uuid_compare(a: bytes, b: bytes) -> int:  # UUIDType.compareCustom
    msb1, msb2 = int.from_bytes(a[:8], "big"), int.from_bytes(b[:8], "big")
    v1, v2 = (msb1 >> 12) & 0xF, (msb2 >> 12) & 0xF
    if v1 != v2:
        return _sign(v1 - v2)
    c = _sign(_reorder(msb1) - _reorder(msb2)) if v1 == 1 else _sign(msb1 - msb2)
    return c or _sign(int.from_bytes(a[8:], "big") - int.from_bytes(b[8:], "big"))


def _timeuuid_compare(a: bytes, b: bytes) -> int:  # TimeUUIDType: timestamp, then signed bytes
    c = _sign(_reorder(int.from_bytes(a[:8], "big")) - _reorder(int.from_bytes(b[:8], "big")))
    if c:
        return c
    x, y = struct.unpack(">8b", a[8:]), struct.unpack(">8b", b[8:])
    return (x > y) - (x < y)


def _decimal(data: bytes) -> decimal.Decimal:
    scale = struct.unpack(">i", data[:4])[0]
    sign, digits, _ = decimal.Decimal(int.from_bytes(data[4:], "big", signed=True)).as_tuple()
    return decimal.Decimal((sign, digits, -scale))  # exact; Decimal comparison needs no context


def _items(data: bytes, width: int) -> list[bytes]:
    count, pos, out = struct.unpack_from(">i", data)[0], 4, []
    for _ in range(count * width):
        size = struct.unpack_from(">i", data, pos)[0]
        out.append(data[pos + 4:pos + 4 + size])
        pos += 4 + size
    return out


def _fields(data: bytes) -> list[bytes | None]:
    pos, out = 0, []
    while pos < len(data):
        size = struct.unpack_from(">i", data, pos)[0]
        pos += 4
        out.append(None if size < 0 else data[pos:pos + size])
        pos += max(size, 0)
    return out


def _vector_items(t: T.VectorType, data: bytes) -> list[bytes]:
    size = fixed_length(t.element)
    if size is not None:
        return [data[i:i + size] for i in range(0, len(data), size)]
    out, pos = [], 0
    while pos < len(data):
        n, pos = read_uvint(data, pos)
        out.append(data[pos:pos + n])
        pos += n
    return out


def reference_compare(t: T.CqlType, a: bytes, b: bytes) -> int:
    """AbstractType.compare of Cassandra's comparator for ``t``, on serialized values."""
    byte_order = (T.ASCII, T.TEXT, T.BLOB, T.INET, T.DATE, T.TIME, T.DURATION)
    if t in byte_order or isinstance(t, T.CustomType):
        return _sign((a > b) - (a < b))
    first = _empty_first(a, b)
    if first is not None:
        return first
    if t in vs.INT_RANGES:
        return _sign(int.from_bytes(a, "big", signed=True) - int.from_bytes(b, "big", signed=True))
    if t is T.VARINT:
        return _sign(int.from_bytes(a, "big", signed=True) - int.from_bytes(b, "big", signed=True))
    if t is T.BOOLEAN:
        return (a[0] != 0) - (b[0] != 0)
    if t in (T.FLOAT, T.DOUBLE):
        fmt = ">f" if t is T.FLOAT else ">d"
        return _java_float_compare(struct.unpack(fmt, a)[0], struct.unpack(fmt, b)[0])
    if t is T.UUID:
        return _uuid_compare(a, b)
    if t is T.TIMEUUID:
        return _timeuuid_compare(a, b)
    if t is T.DECIMAL:
        x, y = _decimal(a), _decimal(b)
        return (x > y) - (x < y)
    if isinstance(t, (T.ListType, T.SetType, T.MapType)):  # compareListOrSet / compareMaps
        width = 2 if isinstance(t, T.MapType) else 1
        xs, ys = _items(a, width), _items(b, width)
        for i, (x, y) in enumerate(zip(xs, ys)):
            c = reference_compare(t.subtypes[i % width], x, y)
            if c:
                return c
        return _sign(len(xs) - len(ys))
    if isinstance(t, (T.TupleType, T.UserType)):
        # TupleType.compareCustom, except that a trailing *empty* component counts as present (the
        # documented deviation from Cassandra's non-transitive handling of trailing empties)
        xs, ys = _fields(a), _fields(b)
        for sub, x, y in zip(t.subtypes, xs, ys):
            if x is None or y is None:
                if x is None and y is None:
                    continue
                return -1 if x is None else 1
            c = reference_compare(sub, x, y)
            if c:
                return c
        if any(x is not None for x in xs[len(ys):]):
            return 1
        if any(y is not None for y in ys[len(xs):]):
            return -1
        return 0
    if isinstance(t, T.VectorType):
        for x, y in zip(_vector_items(t, a), _vector_items(t, b)):
            c = reference_compare(t.element, x, y)
            if c:
                return c
        return 0
    raise AssertionError(f"no reference comparator for {T.cql_name(t)}")


# ------------------------------------------------------------------------------------- generators

# Raw serialized values that canonical serialization never produces but Cassandra accepts.
NON_CANONICAL = {
    T.BOOLEAN: [b"\x02", b"\xff"],
    T.FLOAT: [bytes.fromhex("7fc00001"), bytes.fromhex("ffc00000"), bytes.fromhex("80000000")],
    T.DOUBLE: [bytes.fromhex("fff8000000000001"), bytes.fromhex("8000000000000000")],
    T.VARINT: [b"\x00\x00\x01", b"\xff\xff", b"\x00"],
    T.DECIMAL: [bytes.fromhex("00000001" "0a"), bytes.fromhex("00000002" "0064"), bytes.fromhex("fffffffe" "00")],
    T.TIME: [bytes.fromhex("ffffffffffffffff")],
    T.UUID: [bytes.fromhex("00000000000000000000000000000000"), bytes.fromhex("ffffffffffff1fffffffffffffffffff")],
}


# Time-based UUIDs sharing one timestamp, so that the low 8 bytes decide (signed in TimeUUIDType,
# unsigned in UUIDType).
SAME_TIMESTAMP = st.binary(min_size=8, max_size=8).map(lambda low: bytes.fromhex("0123456789ab1def") + low)


def serialized(t: T.CqlType) -> st.SearchStrategy[bytes]:
    canonical = vs.values(t).map(lambda v: serialize(t, v))
    extra = NON_CANONICAL.get(t)  # type: ignore[call-overload]
    if t in (T.UUID, T.TIMEUUID):
        canonical = canonical | SAME_TIMESTAMP
    return st.one_of(canonical, st.sampled_from(extra)) if extra else canonical


ORDERABLE = vs.types(max_depth=2, allow_duration=False)


def _check_order(t: T.CqlType, items: list[bytes], desc: bool = False) -> None:
    enc = ClusteringEncoder([t], [desc])
    keys = [enc.encode([x]) for x in items]
    for (a, ka), (b, kb) in itertools.combinations(zip(items, keys), 2):
        expected = reference_compare(t, a, b) * (-1 if desc else 1)
        assert _sign((ka > kb) - (ka < kb)) == expected, (T.cql_name(t), a.hex(), b.hex())


@pytest.mark.parametrize("t", vs.ORDERABLE_NATIVES, ids=lambda t: t.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_native_order_matches_cassandra(t: T.NativeType, data: st.DataObject) -> None:
    items = data.draw(st.lists(serialized(t), min_size=2, max_size=8))
    _check_order(t, items, desc=data.draw(st.booleans()))


@FUZZ
@given(st.data())
def test_composite_order_matches_cassandra(data: st.DataObject) -> None:
    t = data.draw(ORDERABLE).freeze()
    items = data.draw(st.lists(serialized(t), min_size=2, max_size=6))
    _check_order(t, items, desc=data.draw(st.booleans()))


def test_known_orders() -> None:
    def order(t: T.CqlType, values: list) -> list:
        key = comparable_key(t)
        return sorted(values, key=lambda v: key(serialize(t, v)))
    assert order(T.INT, [3, -1, EMPTY, 0]) == [EMPTY, -1, 0, 3]
    assert order(T.TEXT, ["b", "", "a\x00", "a"]) == ["", "a", "a\x00", "b"]
    assert order(T.DOUBLE, [math.nan, math.inf, 0.0, -0.0, -math.inf]) == [-math.inf, -0.0, 0.0, math.inf, math.nan]
    assert order(T.ListType(T.INT, frozen=True), [[1, 2], [1], [0, 9], []]) == [[], [0, 9], [1], [1, 2]]
    d = comparable_key(T.DECIMAL)
    assert d(serialize(T.DECIMAL, decimal.Decimal("1.0"))) == d(serialize(T.DECIMAL, decimal.Decimal("1.00")))
    tup = T.TupleType([T.INT, T.INT])
    assert comparable_key(tup)(serialize(tup, (1, None))) == comparable_key(tup)(serialize(tup, (1,)))
    assert order(tup, [(1, 2), (1, None), (None, 5), (0,)]) == [(None, 5), (0,), (1, None), (1, 2)]


# -------------------------------------------------------------------------- keys, prefixes, bounds

KEY_TYPES = [T.INT, T.TEXT, T.TIMEUUID, T.DOUBLE, T.ListType(T.TEXT, frozen=True)]


def _ref_key_compare(types: list[T.CqlType], flags: list[bool], a: list[bytes], b: list[bytes]) -> int:
    """Compare (possibly prefix) keys column by column in storage order; shorter prefix first."""
    for t, desc, x, y in zip(types, flags, a, b):
        c = reference_compare(t, x, y) * (-1 if desc else 1)
        if c:
            return c
    return _sign(len(a) - len(b))


@st.composite
def clustering(draw: st.DrawFn) -> tuple[list[T.CqlType], list[bool], list[list[bytes]]]:
    n = draw(st.integers(1, 3))
    types = [draw(st.sampled_from(KEY_TYPES)) for _ in range(n)]
    flags = [draw(st.booleans()) for _ in range(n)]
    # few distinct values per column so that keys share prefixes
    pools = [draw(st.lists(serialized(t), min_size=1, max_size=3)) for t in types]
    keys = draw(st.lists(st.tuples(*(st.sampled_from(p) for p in pools)).map(list), min_size=2, max_size=8))
    return types, flags, keys


@FUZZ
@given(clustering())
def test_multi_column_keys_order_like_cassandra(case: tuple) -> None:
    types, flags, keys = case
    for a, b in itertools.combinations(keys, 2):
        for cut_a in range(1, len(a) + 1):  # prefixes too: a prefix sorts before its extensions
            pa = a[:cut_a]
            ka, kb = encode_clustering(types, flags, pa), encode_clustering(types, flags, b)
            assert _sign((ka > kb) - (ka < kb)) == _ref_key_compare(types, flags, pa, b)


@FUZZ
@given(clustering(), st.data())
def test_slice_bounds_select_exactly_the_right_keys(case: tuple, data: st.DataObject) -> None:
    types, flags, keys = case
    start_key, end_key = data.draw(st.sampled_from(keys)), data.draw(st.sampled_from(keys))
    start = start_key[:data.draw(st.integers(0, len(types)))]
    end = end_key[:data.draw(st.integers(0, len(types)))]
    start_incl, end_incl = data.draw(st.booleans()), data.draw(st.booleans())
    lo = bound(types, flags, start, start_incl, True)
    hi = bound(types, flags, end, end_incl, False)
    for key in keys:
        k = encode_clustering(types, flags, key)
        c_lo = _ref_key_compare(types, flags, key[:len(start)], start) if start else 0
        c_hi = _ref_key_compare(types, flags, key[:len(end)], end) if end else 0
        after_start = c_lo > 0 or (c_lo == 0 and (start_incl or not start))
        before_end = c_hi < 0 or (c_hi == 0 and (end_incl or not end))
        assert (lo <= k < hi) == (after_start and before_end)


def test_bound_contract_by_example() -> None:
    types, flags = [T.INT, T.TEXT], [False, True]
    one = serialize(T.INT, 1)
    prefix = encode_clustering(types, flags, [one])
    assert bound(types, flags, [one], True, True) == prefix
    assert bound(types, flags, [one], False, True) == prefix + BOUND_AFTER
    assert bound(types, flags, [one], True, False) == prefix + BOUND_AFTER
    assert bound(types, flags, [one], False, False) == prefix
    assert bound(types, flags, [], True, True) == b""
    full = encode_clustering(types, flags, [one, serialize(T.TEXT, "x")])
    assert prefix < full < prefix + BOUND_AFTER
    assert clustering_encoder(tuple(types), tuple(flags)) is clustering_encoder(tuple(types), tuple(flags))


def test_invalid_inputs() -> None:
    enc = ClusteringEncoder([T.INT], [False])
    for bad in ([b"\x00\x00"], [None], [b"\x00\x00\x00\x01", b"\x00"]):
        with pytest.raises(InvalidValue):
            enc.encode(bad)  # type: ignore[arg-type]
    with pytest.raises(T.InvalidType):
        ClusteringEncoder([T.INT], [])


def test_reference_comparator_sanity() -> None:
    assert reference_compare(T.TIMEUUID, bytes.fromhex("00000000000010000000000000000000"),
                             bytes.fromhex("00000000000010008000000000000000")) == 1  # signed bytes
    assert reference_compare(T.UUID, bytes.fromhex("00000000000010000000000000000000"),
                             bytes.fromhex("00000000000010008000000000000000")) == -1  # unsigned
