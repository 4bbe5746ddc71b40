"""Cassandra 5.0's collection functions (CollectionFcts) and vector similarity functions (VectorFcts).

* map_keys(map<k, v>) -> set<k>, map_values(map<k, v>) -> list<v> (in key order);
* collection_count(collection) -> int;
* collection_min / collection_max (set or list) -> element type, by the element comparator;
* collection_sum / collection_avg (numeric set or list) -> element type, with the sum/avg
  aggregates' rules (wrapping sums, truncating integer averages, 0 for an empty collection);
* similarity_cosine / similarity_euclidean / similarity_dot_product(vector<float, n>, same) -> float,
  jvector's formulas (cosine and dot product map to [0, 1] as (1 + x) / 2, euclidean is
  1 / (1 + squared distance)) evaluated step by step in float32 arithmetic; cosine refuses all-zero
  vectors.

All are built by factories from the argument types. A null collection gives null; so does a
zero-length value (Cassandra has no empty collection value distinct from null).

This module must NOT register functions (natives.py) or resolve calls (registry.py).
"""

from __future__ import annotations

import math
import struct
from typing import Callable

from ferrosa.functions import aggregates, java
from ferrosa.functions.errors import InvalidRequest
from ferrosa.functions.registry import (
    Factory, FloatVector, Function, KindParameter, Overload, SameAs,
)
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V

_I32 = struct.Struct(">i")


def _pack(items: list, count: int) -> bytes:
    parts = [_I32.pack(count)]
    for item in items:
        parts.append(_I32.pack(len(item)))
        parts.append(bytes(item))
    return b"".join(parts)


def _map_keys(t: T.MapType) -> Function:
    def body(args: list, protocol_version: int = 5) -> bytes | None:
        if not args[0]:
            return None
        items = V.split_collection(args[0], "map", 2)
        return _pack(items[0::2], len(items) // 2)
    return Function("map_keys", T.SetType(t.key), (t,), body)


def _map_values(t: T.MapType) -> Function:
    def body(args: list, protocol_version: int = 5) -> bytes | None:
        if not args[0]:
            return None
        items = V.split_collection(args[0], "map", 2)
        return _pack(items[1::2], len(items) // 2)
    return Function("map_values", T.ListType(t.value), (t,), body)


def _collection_count(t: T.CqlType) -> Function:
    width = 2 if isinstance(t, T.MapType) else 1
    kind = t.kind

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        if not args[0]:
            return None
        return _I32.pack(len(V.split_collection(args[0], kind, width)) // width)
    return Function("collection_count", T.INT, (t,), body)


def _collection_aggregation(name: str, t: T.ListType | T.SetType, result: T.CqlType,
                            new_state: Callable) -> Function:
    kind = t.kind

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        if not args[0]:
            return None
        state = new_state()
        add = state.add
        for element in V.split_collection(args[0], kind, 1):
            add([element])
        return state.result()
    return Function(name, result, (t,), body)


def _is_collection(t: T.CqlType) -> bool:
    return isinstance(t, (T.ListType, T.SetType, T.MapType))


def _is_set_or_list(t: T.CqlType) -> bool:
    return isinstance(t, (T.ListType, T.SetType))


def _is_numeric_set_or_list(t: T.CqlType) -> bool:
    return _is_set_or_list(t) and t.element in aggregates.NUMERIC_TYPES


def collection_factories() -> list[Factory]:
    any_map = KindParameter("map", lambda t: isinstance(t, T.MapType), "a map")
    any_collection = KindParameter("collection", _is_collection, "a collection")
    set_or_list = KindParameter("numeric_set_or_list", _is_set_or_list, "a set or list")
    numeric = KindParameter("numeric_set_or_list", _is_numeric_set_or_list, "a numeric set/list")

    def extreme(want_max: bool) -> Callable:
        def build(name: str, types: list, receiver: T.CqlType | None) -> Overload:
            element = types[0].element
            return _collection_aggregation(name, types[0], element, aggregates.extreme_state(element, want_max))
        return build

    def numeric_build(state: Callable) -> Callable:
        def build(name: str, types: list, receiver: T.CqlType | None) -> Overload:
            element = types[0].element
            return _collection_aggregation(name, types[0], element, state(element))
        return build

    return [
        Factory("map_keys", (any_map,), lambda name, types, receiver: _map_keys(types[0])),
        Factory("map_values", (any_map,), lambda name, types, receiver: _map_values(types[0])),
        Factory("collection_count", (any_collection,), lambda name, types, receiver: _collection_count(types[0])),
        Factory("collection_min", (set_or_list,), extreme(False)),
        Factory("collection_max", (set_or_list,), extreme(True)),
        Factory("collection_sum", (numeric,), numeric_build(aggregates.sum_state)),
        Factory("collection_avg", (numeric,), numeric_build(aggregates.avg_state)),
    ]


# ------------------------------------------------------------------------------------------ vectors

_f32 = java.f32


def _floats(data: bytes, dimension: int) -> list[float]:
    return list(struct.unpack(f">{dimension}f", data))


def _dot_product(a: list[float], b: list[float]) -> float:
    total = 0.0
    for x, y in zip(a, b):
        total = _f32(total + _f32(x * y))
    return total


def _square_distance(a: list[float], b: list[float]) -> float:
    total = 0.0
    for x, y in zip(a, b):
        diff = _f32(x - y)
        total = _f32(total + _f32(diff * diff))
    return total


def _cosine(a: list[float], b: list[float]) -> float:
    dot = norm_a = norm_b = 0.0
    for x, y in zip(a, b):
        dot = _f32(dot + _f32(x * y))
        norm_a = _f32(norm_a + _f32(x * x))
        norm_b = _f32(norm_b + _f32(y * y))
    denominator = math.sqrt(norm_a * norm_b)
    if denominator == 0.0:
        return math.nan if dot == 0.0 else math.copysign(math.inf, dot)
    return _f32(dot / denominator)


_SIMILARITIES: dict[str, tuple[Callable[[list, list], float], bool]] = {
    # name -> (score, supports all-zero vectors)
    "similarity_cosine": (lambda a, b: _f32(_f32(1.0 + _cosine(a, b)) / 2.0), False),
    "similarity_euclidean": (lambda a, b: _f32(1.0 / _f32(1.0 + _square_distance(a, b))), True),
    "similarity_dot_product": (lambda a, b: _f32(_f32(1.0 + _dot_product(a, b)) / 2.0), True),
}


def _similarity(name: str, t: T.VectorType) -> Function:
    score, zero_ok = _SIMILARITIES[name]
    dimension = t.dimension

    def body(args: list, protocol_version: int = 5) -> bytes | None:
        if args[0] is None or args[1] is None:
            return None
        a, b = _floats(args[0], dimension), _floats(args[1], dimension)
        if not zero_ok and (not any(a) or not any(b)):
            raise InvalidRequest(f"Function {name} doesn't support all-zero vectors.")
        return struct.pack(">f", score(a, b))
    return Function(name, T.FLOAT, (t, t), body)


def vector_factories() -> list[Factory]:
    def build(name: str, types: list, receiver: T.CqlType | None) -> Overload:
        if types[0].dimension != types[1].dimension:
            raise InvalidRequest("All arguments must have the same vector dimensions")
        return _similarity(name, types[0])

    return [Factory(name, (SameAs(1, False, FloatVector()), SameAs(0, False, FloatVector())), build)
            for name in _SIMILARITIES]
