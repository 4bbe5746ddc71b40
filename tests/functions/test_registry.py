"""Resolution of native function calls: overload choice and Cassandra 5.0's error messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.cql import ast
from ferrosa.functions import (
    NATIVE_FUNCTIONS, FunctionError, InvalidRequest, TypedArg, argument_receiver_name,
    check_result_assignable, resolve, resolve_aggregate,
)
from ferrosa.functions.registry import (
    EXACT, NOT, WEAK, as_argument, is_value_compatible, type_assignment,
)
from ferrosa.protocol import types as T

K = ast.ConstantType


def lit(kind: ast.ConstantType, text: str) -> ast.Constant:
    return ast.Constant(kind, text)


# (call, argument descriptions, receiver, expected signature)
RESOLVED = [
    ("totimestamp", [T.TIMEUUID], None, "system.totimestamp : (timeuuid) -> timestamp"),
    ("to_timestamp", [T.DATE], None, "system.to_timestamp : (date) -> timestamp"),
    ("to_timestamp", [lit(K.STRING, "2019-08-03")], None, "system.to_timestamp : (date) -> timestamp"),
    ("abs", [lit(K.INTEGER, "-5")], None, "system.abs : (int) -> int"),
    ("abs", [lit(K.INTEGER, "5000000000")], None, "system.abs : (bigint) -> bigint"),
    ("abs", [lit(K.INTEGER, "50000000000000000000")], None, "system.abs : (varint) -> varint"),
    ("abs", [lit(K.FLOAT, "1.5")], None, "system.abs : (double) -> double"),
    ("abs", [lit(K.FLOAT, "0.12345678901234567890")], None, "system.abs : (decimal) -> decimal"),
    ("abs", [None], T.INT, "system.abs : (int) -> int"),
    ("abs", [T.COUNTER], None, "system.abs : (counter) -> counter"),
    ("cast_as_int", [lit(K.FLOAT, "1.3")], None, "system.cast_as_int : (double) -> int"),
    ("cast_as_float", [lit(K.INTEGER, "5")], None, "system.cast_as_float : (int) -> float"),
    ("castAsInt", [T.BIGINT], None, "system.castAsInt : (bigint) -> int"),
    ("min_timeuuid", [lit(K.STRING, "2013-02-02 10:00+0000")], None,
     "system.min_timeuuid : (timestamp) -> timeuuid"),
    ("mintimeuuid", [T.BIGINT], None, "system.mintimeuuid : (timestamp) -> timeuuid"),
    ("blob_as_int", [lit(K.HEX, "0x00000001")], None, "system.blob_as_int : (blob) -> int"),
    ("blobasvarchar", [T.BLOB], None, "system.blobasvarchar : (blob) -> text"),
    ("counter_as_blob", [T.COUNTER], None, "system.counter_as_blob : (counter) -> blob"),
    ("now", [], None, "system.now : () -> timeuuid"),
    ("currenttimestamp", [], None, "system.currenttimestamp : () -> timestamp"),
    ("floor", [T.TIMESTAMP, lit(K.DURATION, "1h")], None, "system.floor : (timestamp, duration) -> timestamp"),
    ("floor", [T.TIMEUUID, T.DURATION, T.TIMESTAMP], None,
     "system.floor : (timeuuid, duration, timestamp) -> timestamp"),
    ("floor", [T.TIME, lit(K.DURATION, "1m")], None, "system.floor : (time, duration) -> time"),
    ("map_keys", [T.MapType(T.TEXT, T.INT)], None, "system.map_keys : (map<text, int>) -> set<text>"),
    ("map_values", [T.MapType(T.TEXT, T.INT, frozen=True)], None,
     "system.map_values : (frozen<map<text, int>>) -> list<int>"),
    ("collection_sum", [T.SetType(T.DECIMAL)], None, "system.collection_sum : (set<decimal>) -> decimal"),
    ("to_json", [lit(K.INTEGER, "1234")], None, "system.to_json : (int) -> text"),
    ("from_json", [lit(K.STRING, "[1]")], T.ListType(T.INT), "system.from_json : (text) -> list<int>"),
    ("max", [T.TEXT], None, "system.max : (text) -> text"),
    ("min", [None], T.INT, "system.min : (int) -> int"),
    ("sum", [T.VARINT], None, "system.sum : (varint) -> varint"),
    ("count", [T.MapType(T.INT, T.INT)], None, "system.count : (blob) -> bigint"),
    ("count", [lit(K.INTEGER, "1")], None, "system.count_rows : () -> bigint"),
    ("countRows", [], None, "system.countRows : () -> bigint"),
    ("mask_inner", [lit(K.STRING, "abc"), lit(K.INTEGER, "1"), lit(K.INTEGER, "1")], None,
     "system.mask_inner : (ascii, int, int) -> ascii"),
    ("mask_replace", [T.INT, lit(K.INTEGER, "0")], None, "system.mask_replace : (int, int) -> int"),
    ("mask_hash", [T.UUID, lit(K.STRING, "MD5")], None, "system.mask_hash : (uuid, text) -> blob"),
    ("similarity_cosine", [T.VectorType(T.FLOAT, 2), ast.ListLiteral((lit(K.FLOAT, "1.0"), lit(K.FLOAT, "2.0")))],
     None, "system.similarity_cosine : (vector<float, 2>, vector<float, 2>) -> float"),
    ("to_date", [T.TIMEUUID], None, "system.to_date : (timeuuid) -> date"),
]


@pytest.mark.parametrize("name, args, receiver, signature", RESOLVED)
def test_resolves_to_cassandras_overload(name, args, receiver, signature) -> None:
    assert resolve(name, args, receiver).signature() == signature


def test_system_qualified_names_and_token() -> None:
    assert resolve("abs", [T.INT], keyspace="system").signature() == "system.abs : (int) -> int"
    token = resolve("token", [T.INT, TypedArg(T.TEXT, "b")], partition_key_types=[T.INT, T.TEXT])
    assert token.signature() == "system.token : (int, text) -> bigint"


ERRORS = [
    ("foo", [], None, {}, "Unknown function 'foo'"),
    ("foo", [], T.INT, {}, "Unknown function foo called"),
    ("abs", [T.INT], None, {"keyspace": "ks"}, "Unknown function 'ks.abs'"),
    ("toTimestamp", [T.TIMEUUID], None, {}, "Unknown function 'toTimestamp'"),  # quoted names are exact
    ("uuid", [T.INT], None, {},
     "Invalid number of arguments in call to function system.uuid: 0 required but 1 provided"),
    ("min_timeuuid", [TypedArg(T.TEXT, "v")], None, {},
     "Type error: v cannot be passed as argument 0 of function system.min_timeuuid of type timestamp"),
    ("min_timeuuid", [lit(K.BOOLEAN, "true")], None, {},
     "Type error: true cannot be passed as argument 0 of function system.min_timeuuid of type timestamp"),
    ("to_date", [lit(K.STRING, "x"), T.INT], None, {},
     "Invalid call to function to_date, none of its type signatures match (known type signatures: "
     "system.to_date : (timeuuid) -> date, system.to_date : (timestamp) -> date)"),
    ("system.abs", [None], None, {}, "Unknown function 'system.abs'"),
    ("to_json", [None], None, {},
     "Cannot infer type of argument ? in call to function system.to_json(any): use type casts to disambiguate"),
    ("to_json", [T.INT, T.INT], None, {}, "Invalid number of arguments for function system.to_json(any)"),
    ("from_json", [T.TEXT], None, {}, "from_json() cannot be used in the selection clause of a SELECT statement"),
    ("from_json", [T.INT], T.INT, {},
     "Function system.from_json requires an argument of type text, but found argument int of type int"),
    ("map_keys", [TypedArg(T.INT, "c")], None, {},
     "Function system.map_keys requires a map argument, but found argument c of type int"),
    ("collection_min", [T.MapType(T.INT, T.INT)], None, {},
     "Function system.collection_min requires a set or list argument, but found argument map<int, int> of "
     "type map<int, int>"),
    ("collection_avg", [T.ListType(T.TEXT)], None, {},
     "Function system.collection_avg requires a numeric set/list argument, but found argument list<text> "
     "of type list<text>"),
    ("collection_count", [T.INT], None, {},
     "Function system.collection_count requires a collection argument, but found argument int of type int"),
    ("mask_inner", [T.INT, T.INT, T.INT], None, {},
     "Function system.mask_inner requires an argument of type [text|varchar|ascii], but found argument int "
     "of type int"),
    ("mask_inner", [T.TEXT], None, {},
     "Invalid number of arguments for function system.mask_inner([text|varchar|ascii], int, int, [text])"),
    ("max", [None], None, {},
     "Cannot infer type of argument ? in call to function system.max(any): use type casts to disambiguate"),
    ("similarity_dot_product", [T.VectorType(T.FLOAT, 2), T.VectorType(T.FLOAT, 3)], None, {},
     "All arguments must have the same vector dimensions"),
    ("similarity_cosine", [T.VectorType(T.INT, 2), T.VectorType(T.INT, 2)], None, {},
     "Function system.similarity_cosine requires a float vector argument, but found argument "
     "vector<int, 2> of type vector<int, 2>"),
    ("token", [T.INT], None, {}, "No receiver table has been specified for function system.token"),
    ("token", [T.TEXT], None, {"partition_key_types": [T.INT]},
     "Type error: text cannot be passed as argument 0 of function system.token of type int"),
]


@pytest.mark.parametrize("name, args, receiver, options, message", ERRORS)
def test_resolution_errors_use_cassandras_messages(name, args, receiver, options, message) -> None:
    with pytest.raises(InvalidRequest) as info:
        resolve(name, args, receiver, **options)
    assert info.value.message == message


def test_ambiguous_call_lists_compatible_signatures() -> None:
    with pytest.raises(InvalidRequest) as info:
        resolve("abs", [None])
    assert info.value.message.startswith(
        "Ambiguous call to function abs (can be matched by following signatures: system.abs : (tinyint) -> "
        "tinyint, system.abs : (smallint) -> smallint, ")
    assert info.value.message.endswith("): use type casts to disambiguate")


def test_receiver_type_disambiguates_markers() -> None:
    assert resolve("abs", [None], T.BIGINT).return_type is T.BIGINT
    # varint accepts int and bigint results, so both are weak matches there
    with pytest.raises(InvalidRequest, match="Ambiguous call to function abs"):
        resolve("abs", [None], T.VARINT)


def test_literal_assignment_follows_constants_literal() -> None:
    assert as_argument(lit(K.INTEGER, "1")).test(T.INT) is EXACT
    assert as_argument(lit(K.INTEGER, "1")).test(T.DURATION) is WEAK
    assert as_argument(lit(K.INTEGER, "1")).test(T.TEXT) is NOT
    assert as_argument(lit(K.STRING, "é")).test(T.TEXT) is EXACT
    assert as_argument(lit(K.STRING, "e")).test(T.TEXT) is WEAK
    assert as_argument(lit(K.HEX, "0x01")).test(T.BLOB) is WEAK  # HEX prefers tinyint in Cassandra
    assert as_argument(lit(K.UUID, "6bddc89a-5644-11e4-97fc-56847afe9799")).test(T.TIMEUUID) is EXACT
    assert as_argument(lit(K.FLOAT, "NaN")).test(T.DOUBLE) is EXACT
    assert as_argument(lit(K.STRING, "x")).test(T.ListType(T.TEXT)) is NOT
    assert as_argument(ast.NULL).test(T.COUNTER) is NOT
    assert as_argument(ast.NULL).test(T.INT) is WEAK


def test_type_compatibility_matches_is_value_compatible_with() -> None:
    assert is_value_compatible(T.TEXT, T.ASCII) and not is_value_compatible(T.ASCII, T.TEXT)
    assert is_value_compatible(T.BLOB, T.MapType(T.INT, T.INT))
    assert is_value_compatible(T.VARINT, T.TIMESTAMP) and is_value_compatible(T.TIMESTAMP, T.BIGINT)
    assert is_value_compatible(T.DATE, T.INT) and not is_value_compatible(T.INT, T.DATE)
    assert is_value_compatible(T.ListType(T.TEXT, frozen=True), T.ListType(T.ASCII, frozen=True))
    assert not is_value_compatible(T.SetType(T.VARINT, frozen=True), T.SetType(T.INT, frozen=True))
    assert type_assignment(T.ListType(T.INT, frozen=True), T.ListType(T.INT)) is EXACT
    assert type_assignment(T.TupleType([T.INT]), T.TupleType([T.INT, T.TEXT])) is WEAK


def test_result_assignment_check_and_receiver_names() -> None:
    fn = resolve("abs", [T.INT])
    check_result_assignable(fn, T.VARINT, "v")
    with pytest.raises(InvalidRequest) as info:
        check_result_assignable(fn, T.TEXT, "v")
    assert info.value.message == ("Type error: cannot assign result of function system.abs (type int) to v "
                                  "(type text)")
    assert argument_receiver_name(fn, 0) == "arg0(system.abs)"


def test_aggregate_resolution_and_column_names() -> None:
    assert resolve_aggregate("count_rows", []).column_name([]) == "count"
    assert resolve_aggregate("max", [T.INT]).column_name(["b"]) == "system.max(b)"
    with pytest.raises(InvalidRequest, match="system.abs is not an aggregate function"):
        resolve_aggregate("abs", [T.INT])


def test_purity_flags() -> None:
    assert not resolve("now", []).is_pure and not resolve("uuid", []).is_pure
    assert not resolve("current_date", []).is_pure
    assert resolve("abs", [T.INT]).is_pure


def test_cassandra_5_names_and_removed_ones() -> None:
    names = NATIVE_FUNCTIONS.names()
    for name in ("mask_null", "mask_default", "mask_replace", "mask_inner", "mask_outer", "mask_hash",
                 "collection_count", "collection_min", "collection_max", "collection_sum", "collection_avg",
                 "map_keys", "map_values", "log10", "round", "exp", "similarity_euclidean", "varchar_as_blob",
                 "blob_as_duration", "castAsVarint", "cast_as_date", "currenttimeuuid", "tounixtimestamp"):
        assert name in names, name
    for removed in ("dateof", "unixtimestampof", "blob_as_blob", "cast_as_blob", "cast_as_boolean"):
        assert removed not in names, removed


ARG_SHAPES = st.one_of(
    st.none(),
    st.sampled_from([T.INT, T.TEXT, T.BLOB, T.TIMEUUID, T.DOUBLE, T.COUNTER, T.MapType(T.INT, T.TEXT),
                     T.ListType(T.FLOAT, frozen=True), T.VectorType(T.FLOAT, 2), T.DURATION, T.DATE]),
    st.builds(ast.Constant, st.sampled_from(list(K)), st.sampled_from(["1", "-1", "1.5", "x", "NaN", "0x01", "1h",
                                                                        "99999999999999999999"])),
    st.just(ast.NULL),
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(NATIVE_FUNCTIONS.names()) + ["token", "nope"]), st.lists(ARG_SHAPES, max_size=4),
       st.one_of(st.none(), st.sampled_from([T.INT, T.TEXT, T.BIGINT])))
def test_resolution_raises_our_error_and_nothing_else(name, args, receiver) -> None:
    try:
        found = resolve(name, args, receiver, partition_key_types=[T.INT])
    except FunctionError:
        return
    assert len(found.arg_types) == len(args) or found.name == "count_rows"  # count(<literal>)
