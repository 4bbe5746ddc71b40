"""Collection functions, vector similarity functions and the masking functions (CollectionFctsTest,
VectorFctsTest, masking/*FunctionTest)."""

from __future__ import annotations

import decimal
import hashlib
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.cql import ast
from ferrosa.functions import FunctionError, FunctionServerError, InvalidRequest, TypedArg, resolve
from ferrosa.functions.masking import masked_value, partial_mask
from ferrosa.functions.scalar import min_timeuuid
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from tests.functions.strategies import serialized, types

S = V.serialize
D = decimal.Decimal
K = ast.ConstantType


def call(name: str, arg_types: list, *args: bytes | None, receiver: T.CqlType | None = None) -> object:
    fn = resolve(name, arg_types, receiver)
    result = fn.call(list(args))
    return None if result is None else V.deserialize(fn.return_type, result)


MAP = T.MapType(T.TEXT, T.INT)
COLLECTIONS = [
    ("map_keys", MAP, {"b": 2, "a": 1}, ["a", "b"]),
    ("map_values", MAP, {"b": 2, "a": 1}, [1, 2]),
    ("map_keys", MAP, {}, []),
    ("collection_count", MAP, {"a": 1, "b": 2}, 2),
    ("collection_count", T.ListType(T.INT), [1, 1, 1], 3),
    ("collection_count", T.SetType(T.TEXT), [], 0),
    ("collection_min", T.SetType(T.TEXT), ["b", "a"], "a"),
    ("collection_max", T.ListType(T.INT), [3, 9, 1], 9),
    ("collection_min", T.ListType(T.INT), [], None),
    ("collection_sum", T.ListType(T.INT), [2**31 - 1, 1], -(2**31)),
    ("collection_sum", T.SetType(T.DECIMAL), [D("1.5"), D("2.25")], D("3.75")),
    ("collection_avg", T.ListType(T.INT), [1, 2], 1),
    ("collection_avg", T.ListType(T.DOUBLE), [1.0, 2.0], 1.5),
    ("collection_avg", T.ListType(T.TINYINT), [], 0),
    ("collection_sum", T.ListType(T.FLOAT), [], 0.0),
]


@pytest.mark.parametrize("name, t, value, expected", COLLECTIONS)
def test_collection_functions(name, t, value, expected) -> None:
    assert call(name, [t], S(t, value)) == expected


def test_collection_functions_of_null() -> None:
    for name in ("map_keys", "map_values", "collection_count"):
        assert call(name, [MAP], None) is None
    assert call("collection_max", [T.ListType(T.INT)], None) is None
    assert resolve("map_keys", [MAP]).return_type == T.SetType(T.TEXT)
    assert resolve("map_values", [T.MapType(T.INT, T.ListType(T.INT, frozen=True))]).return_type == \
        T.ListType(T.ListType(T.INT, frozen=True))


VECTORS = [
    ("similarity_cosine", [1.0, 2.0], [1.0, 2.0], 1.0),
    ("similarity_cosine", [1.0, 0.0], [-1.0, 0.0], 0.0),
    ("similarity_cosine", [1.0, 0.0], [0.0, 1.0], 0.5),
    ("similarity_euclidean", [1.0, 2.0], [1.0, 2.0], 1.0),
    ("similarity_euclidean", [0.0, 0.0], [3.0, 4.0], 1 / 26),
    ("similarity_dot_product", [0.6, 0.8], [0.6, 0.8], 1.0),
    ("similarity_dot_product", [0.0, 0.0], [0.0, 0.0], 0.5),
]


@pytest.mark.parametrize("name, a, b, expected", VECTORS)
def test_vector_similarity(name, a, b, expected) -> None:
    t = T.VectorType(T.FLOAT, len(a))
    result = call(name, [t, t], S(t, a), S(t, b))
    assert math.isclose(result, expected, rel_tol=1e-6)
    assert result == struct.unpack(">f", struct.pack(">f", result))[0]


def test_vector_similarity_literals_and_errors() -> None:
    t = T.VectorType(T.FLOAT, 2)
    array = ast.ListLiteral((ast.Constant(K.FLOAT, "1.0"), ast.Constant(K.FLOAT, "2.0")))
    assert resolve("similarity_cosine", [array, t]).arg_types == (t, t)
    with pytest.raises(InvalidRequest) as info:
        call("similarity_cosine", [t, t], S(t, [0.0, 0.0]), S(t, [1.0, 2.0]))
    assert info.value.message == "Function similarity_cosine doesn't support all-zero vectors."
    assert call("similarity_dot_product", [t, t], None, S(t, [1.0, 2.0])) is None


MASKED = [
    (T.TEXT, b"****"), (T.ASCII, b"****"), (T.INT, bytes(4)), (T.BOOLEAN, b"\x00"), (T.BLOB, b""),
    (T.DECIMAL, bytes(5)), (T.VARINT, b"\x00"), (T.DATE, b"\x80\x00\x00\x00"), (T.TIMESTAMP, bytes(8)),
    (T.DURATION, bytes(3)), (T.INET, bytes(4)), (T.UUID, bytes(16)), (T.TIMEUUID, min_timeuuid(0)),
    (T.ListType(T.INT), bytes(4)), (T.MapType(T.INT, T.INT, frozen=True), bytes(4)),
    (T.TupleType([T.INT, T.TEXT]), b"\x00\x00\x00\x04" + bytes(4) + b"\x00\x00\x00\x04****"),
    (T.VectorType(T.FLOAT, 2), bytes(8)), (T.VectorType(T.TEXT, 2), b"\x04****\x04****"),
]


@pytest.mark.parametrize("t, expected", MASKED)
def test_mask_default(t, expected) -> None:
    assert masked_value(t) == expected
    fn = resolve("mask_default", [t])
    assert fn.call([None]) == expected and fn.return_type == t


def test_mask_null_and_replace() -> None:
    assert resolve("mask_null", [T.INT]).call([S(T.INT, 5)]) is None
    replace = resolve("mask_replace", [T.INT, ast.Constant(K.INTEGER, "0")])
    assert replace.call([S(T.INT, 5), S(T.INT, 0)]) == S(T.INT, 0)
    assert replace.call([None, S(T.INT, 0)]) == S(T.INT, 0)
    with pytest.raises(InvalidRequest, match="Type error: 'x' cannot be passed as argument 1 of function "
                                             "system.mask_replace of type int"):
        resolve("mask_replace", [T.INT, ast.Constant(K.STRING, "x")])


PARTIAL = [
    # value, begin, end, padding, inner, outer (PartialMaskingFunctionTest)
    ("abcdef", 1, 2, "*", "a***ef", "*bcd**"),
    ("abcdef", 0, 0, "#", "######", "abcdef"),
    ("abcdef", 10, 10, "*", "abcdef", "******"),
    ("abcdef", -1, -1, "*", "******", "abcdef"),
    ("", 1, 1, "*", "", ""),
]


@pytest.mark.parametrize("value, begin, end, padding, inner, outer", PARTIAL)
def test_partial_mask(value, begin, end, padding, inner, outer) -> None:
    assert partial_mask(value, begin, end, padding, True) == inner
    assert partial_mask(value, begin, end, padding, False) == outer


def test_mask_inner_outer_functions() -> None:
    inner = resolve("mask_inner", [T.TEXT, T.INT, T.INT, T.TEXT])
    assert inner.call([b"abcdef", S(T.INT, 1), S(T.INT, 2), b"#"]) == b"a###ef"
    assert inner.call([b"abcdef", None, None, None]) == b"******"
    assert inner.call([None, S(T.INT, 1), S(T.INT, 1), b"#"]) is None
    # Java chars: the emoji is two UTF-16 units; masking one half leaves a lone surrogate, written '?'
    outer = resolve("mask_outer", [T.TEXT, T.INT, T.INT])
    assert outer.call(["😀b".encode(), S(T.INT, 1), S(T.INT, 0)]) == b"*?b"
    with pytest.raises(InvalidRequest) as info:
        inner.call([b"abc", S(T.INT, 1), S(T.INT, 1), b"ab"])
    assert info.value.message == ("The padding argument for function system.mask_inner should be "
                                  "single-character, but 'ab' has 2 characters.")
    ascii_inner = resolve("mask_inner", [T.ASCII, T.INT, T.INT, T.TEXT])
    with pytest.raises(FunctionServerError, match="is not a valid value for its declared return type ascii"):
        ascii_inner.call([b"abc", S(T.INT, 0), S(T.INT, 0), "é".encode()])


def test_mask_hash() -> None:
    default = resolve("mask_hash", [T.INT])
    assert default.call([S(T.INT, 1)]) == hashlib.sha256(S(T.INT, 1)).digest()
    assert default.call([None]) is None
    md5 = resolve("mask_hash", [TypedArg(T.TEXT, "v"), ast.Constant(K.STRING, "MD5")])
    assert md5.call([b"abc", b"md5"]) == hashlib.md5(b"abc").digest()
    assert md5.call([b"abc", None]) == hashlib.sha256(b"abc").digest()
    with pytest.raises(InvalidRequest) as info:
        md5.call([b"abc", b"NOPE"])
    assert info.value.message == "Hash algorithm not found: NOPE"


@settings(max_examples=150, deadline=None)
@given(types(max_depth=1).flatmap(lambda t: st.tuples(st.just(t), serialized(t))))
def test_masking_and_counts_on_any_type(case) -> None:
    t, value = case
    default = resolve("mask_default", [t]).call([value])
    V.validate(t, default)
    assert resolve("mask_hash", [t]).call([value]) == hashlib.sha256(value).digest()
    if isinstance(t, (T.ListType, T.SetType, T.MapType)):
        count = resolve("collection_count", [t]).call([value])
        assert V.deserialize(T.INT, count) == len(V.deserialize(t, value))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["collection_min", "collection_max", "collection_sum", "collection_avg"]),
       st.sampled_from([T.INT, T.DOUBLE, T.DECIMAL, T.VARINT, T.TINYINT, T.FLOAT]).flatmap(
           lambda e: st.tuples(st.just(T.ListType(e)), serialized(T.ListType(e)))))
def test_collection_aggregations_give_valid_values_or_our_error(name, case) -> None:
    t, value = case
    try:
        result = resolve(name, [t]).call([value])
    except FunctionError:
        return
    if result is not None:
        V.validate(t.element, result)
