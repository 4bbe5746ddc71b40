"""The JSON codec: Cassandra's renderings and readings (JsonTest), SELECT JSON rows, INSERT JSON,
to_json()/from_json(), and round trips for every type."""

from __future__ import annotations

import decimal
import ipaddress
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.cql import ast
from ferrosa.functions import (
    FunctionError, FunctionFailure, InvalidRequest, MarshalError, from_json, parse_insert_json, parse_json,
    resolve, select_json_row, to_json,
)
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from tests.functions.strategies import serialized, types

S = V.serialize
D = decimal.Decimal
UDT = T.UserType("ks", "u", ["a", "b", "Foo"], [T.INT, T.ListType(T.TEXT, frozen=True), T.INT], frozen=True)
UUID_TEXT = "6bddc89a-5644-11e4-97fc-56847afe9799"

TO_JSON = [
    (T.ASCII, "ascii text", '"ascii text"'),
    (T.ASCII, "", '""'),
    (T.TEXT, "", '""'),
    (T.TEXT, "\u8422", '"\u8422"'),
    (T.TEXT, "\x00", '"\\u0000"'),
    (T.TEXT, 'q"b\\s\n\t\x1f/', '"q\\"b\\\\s\\n\\t\\u001F/"'),
    (T.BIGINT, 123123123123, "123123123123"),
    (T.BIGINT, -123123123123, "-123123123123"),
    (T.BLOB, b"\x00\x00\x00\x01", '"0x00000001"'),
    (T.BLOB, b"", '"0x"'),
    (T.BOOLEAN, True, "true"),
    (T.DATE, 6290, '"1987-03-23"'),
    (T.DECIMAL, D("123123.123123"), "123123.123123"),
    (T.DECIMAL, D("-1.23E-12"), "-1.23E-12"),
    (T.DOUBLE, 123123.123123, "123123.123123"),
    (T.DOUBLE, 123123.0, "123123.0"),
    (T.DOUBLE, float("nan"), "null"),
    (T.DOUBLE, float("-inf"), "null"),
    (T.FLOAT, 123.123, "123.123"),
    (T.FLOAT, 123123.0, "123123.0"),
    (T.FLOAT, 1e10, "1.0E10"),
    (T.INET, "127.0.0.1", '"127.0.0.1"'),
    (T.INET, "::1", '"0:0:0:0:0:0:0:1"'),
    (T.INT, 123123, "123123"),
    (T.SMALLINT, -32768, "-32768"),
    (T.TINYINT, 127, "127"),
    (T.TIME, 123, '"00:00:00.000000123"'),
    (T.TIME, 27_307_000_111_222, '"07:35:07.000111222"'),
    (T.TIMESTAMP, 1_388_534_400_000, '"2014-01-01 00:00:00.000Z"'),
    (T.TIMESTAMP, -62_135_596_800_000, '"0001-01-03 00:00:00.000Z"'),  # Julian calendar before 1582
    (T.TIMEUUID, UUID_TEXT, f'"{UUID_TEXT}"'),
    (T.UUID, UUID_TEXT.upper(), f'"{UUID_TEXT}"'),
    (T.VARINT, 123123123123123123123, "123123123123123123123"),
    (T.DURATION, V.Duration(0, 0, 12000), '"12us"'),
    (T.DURATION, V.Duration(13, 2, 36_300_000_000_000), '"1y1mo2d10h5m"'),
    (T.DURATION, V.Duration(-1, -2, -3), '"-1mo2d3ns"'),
    (T.ListType(T.INT), [1, 2, 3], "[1, 2, 3]"),
    (T.SetType(T.TEXT), ["b", "a"], '["a", "b"]'),
    (T.MapType(T.TEXT, T.INT), {"a": 1, "b": 2}, '{"a": 1, "b": 2}'),
    (T.MapType(T.INT, T.BOOLEAN), {0: True, 1: False}, '{"0": true, "1": false}'),
    (T.MapType(T.BOOLEAN, T.BOOLEAN), {False: False, True: True}, '{"false": false, "true": true}'),
    (T.MapType(T.FLOAT, T.BOOLEAN), [(1.23, True), (4.56, False)], '{"1.23": true, "4.56": false}'),
    (T.MapType(T.DECIMAL, T.BOOLEAN), {D("1.23"): True}, '{"1.23": true}'),
    (T.MapType(T.TupleType([T.INT, T.TEXT]), T.BOOLEAN), {(0, "a"): True, (1, "b"): False},
     '{"[0, \\"a\\"]": true, "[1, \\"b\\"]": false}'),
    (T.MapType(T.SetType(T.TEXT, frozen=True), T.BOOLEAN), [(["0", "1"], True)], '{"[\\"0\\", \\"1\\"]": true}'),
    (T.MapType(T.UserType("ks", "v", ["a"], [T.INT], True), T.BOOLEAN), [({"a": 0}, True)],
     '{"{\\"a\\": 0}": true}'),
    (T.TupleType([T.UUID, T.INT]), (uuid.UUID(UUID_TEXT), 2), f'["{UUID_TEXT}", 2]'),
    (T.TupleType([T.INT, T.TEXT]), (1, None), "[1, null]"),
    (UDT, {"a": 1, "b": ["1", "2"], "Foo": 0}, '{"a": 1, "b": ["1", "2"], "\\"Foo\\"": 0}'),
    (UDT, {"a": 0}, '{"a": 0, "b": null, "\\"Foo\\"": null}'),
    (T.VectorType(T.FLOAT, 2), [1.0, 2.5], "[1.0, 2.5]"),
    (T.VectorType(T.TEXT, 2), ["x", "y"], '["x", "y"]'),
]


@pytest.mark.parametrize("t, value, expected", TO_JSON)
def test_to_json_golden(t, value, expected) -> None:
    assert to_json(t, S(t, value)) == expected


def test_to_json_of_empty_and_null() -> None:
    assert to_json(T.INT, None) == "null"
    assert to_json(T.INT, b"") == '""' and to_json(T.DOUBLE, b"") == '""' and to_json(T.TIMESTAMP, b"") == '""'
    to_json_fn = resolve("to_json", [T.INT])
    assert to_json_fn.call([None]) == b"null" and to_json_fn.call([b""]) == b"null"
    assert resolve("to_json", [ast.Constant(ast.ConstantType.INTEGER, "-1234")]).call([S(T.INT, -1234)]) == b"-1234"
    assert resolve("tojson", [T.TEXT]).call([b""]) == b'""'


def test_select_json_row() -> None:
    row = select_json_row(["k", "Foo", "ttl(v)", "system.to_json(system.blob_as_int(system.int_as_blob(v)))"],
                          [T.INT, T.INT, T.INT, T.TEXT], [S(T.INT, 0), S(T.INT, 1), None, b'"0"'])
    assert row == ('{"k": 0, "\\"Foo\\"": 1, "ttl(v)": null, '
                   '"system.to_json(system.blob_as_int(system.int_as_blob(v)))": "\\"0\\""}')
    assert select_json_row(["count"], [T.BIGINT], [S(T.BIGINT, 2)]) == '{"count": 2}'


FROM_JSON = [
    (T.BIGINT, "123123123123", 123123123123),
    (T.BIGINT, '"123123123123"', 123123123123),
    (T.INT, '"-5"', -5),
    (T.INT, '""', V.EMPTY),
    (T.SMALLINT, "32767", 32767),
    (T.TINYINT, '"-128"', -128),
    (T.FLOAT, "1.5", 1.5),
    (T.FLOAT, "7", 7.0),
    (T.DOUBLE, '"1e3"', 1000.0),
    (T.DOUBLE, "12345678901234567890123", 1.2345678901234568e22),
    (T.DECIMAL, "123123.123123", D("123123.123123")),
    (T.DECIMAL, '"1.50"', D("1.50")),
    (T.DECIMAL, "1E+10", D("1.0E+10")),  # read as a Double, printed back by Double.toString
    (T.VARINT, '"1234567890123456789012345678901234567890"', 1234567890123456789012345678901234567890),
    (T.BOOLEAN, '"TRUE"', True), (T.BOOLEAN, '""', False), (T.BOOLEAN, "false", False),
    (T.BLOB, '"0x00000001"', b"\x00\x00\x00\x01"),
    (T.TIMESTAMP, "123123123123", 123123123123),
    (T.TIMESTAMP, '"2014-01-01"', 1_388_534_400_000),
    (T.TIMESTAMP, '"2011-02-03 04:05+0100"', 1_296_702_300_000),
    (T.TIMESTAMP, '"2011-02-03T04:05:00.9876Z"', 1_296_705_900_987),
    (T.DATE, '"1987-03-23"', 6290),
    (T.DATE, '"2147483648"', 0),
    (T.TIME, '"07:35:07.000111222"', 27_307_000_111_222),
    (T.TIME, '"123"', 123),
    (T.TIMEUUID, '"6BDDC89A-5644-11E4-97FC-56847AFE9799"', uuid.UUID(UUID_TEXT)),
    (T.INET, '"127.0.0.1"', ipaddress.ip_address("127.0.0.1")),
    (T.INET, '"::ffff:1.2.3.4"', ipaddress.ip_address("1.2.3.4")),  # Java reads it as IPv4
    (T.DURATION, '"1y2mo"', V.Duration(14, 0, 0)),
    (T.DURATION, '"P1W"', V.Duration(0, 7, 0)),
    (T.DURATION, '"-PT1H"', V.Duration(0, 0, -3_600_000_000_000)),
    (T.ListType(T.INT), "[1, 2, 3]", [1, 2, 3]),
    (T.ListType(T.INT), '"[1, 2]"', [1, 2]),
    (T.ListType(T.INT), "[]", []),
    (T.SetType(T.INT), "[3, 1, 3]", [1, 3]),
    (T.MapType(T.TEXT, T.INT), '{"b": 2, "a": 1, "b": 3}', {"a": 1, "b": 3}),
    (T.MapType(T.INT, T.TEXT), '{"2": "x", "1": "y"}', {1: "y", 2: "x"}),
    (T.MapType(T.ListType(T.INT, frozen=True), T.INT), '{"[1, 2]": 1}', [([1, 2], 1)]),
    (T.TupleType([T.INT, T.TEXT, T.DOUBLE]), '[1, "foobar", 2.0]', (1, "foobar", 2.0)),
    (T.TupleType([T.INT, T.TEXT]), "[null, null]", (None, None)),
    (UDT, '{"a": 1, "B": ["x"], "\\"Foo\\"": 2}', {"a": 1, "b": ["x"], "Foo": 2}),
    (UDT, '{"a": null}', {"a": None, "b": None, "Foo": None}),
    (T.VectorType(T.FLOAT, 2), "[1, 2.5]", [1.0, 2.5]),
]


@pytest.mark.parametrize("t, text, expected", FROM_JSON)
def test_from_json_golden(t, text, expected) -> None:
    assert V.deserialize(t, from_json(t, parse_json(text))) == expected


FROM_JSON_ERRORS = [
    (T.BIGINT, "9223372036854775808", "Expected a bigint value, but got a BigInteger: 9223372036854775808"),
    (T.BIGINT, "123.456", "Expected a bigint value, but got a Double: 123.456"),
    (T.BIGINT, '"abc"', "Unable to make long from 'abc'"),
    (T.BIGINT, '["abc"]', "Expected a bigint value, but got a ArrayList: [abc]"),
    (T.INT, "2147483648", "Expected an int value, but got a Long: 2147483648"),
    (T.INT, "true", "Expected an int value, but got a Boolean: true"),
    (T.SMALLINT, "123.0", "Unable to make short from '123.0'"),
    (T.TINYINT, "true", "Expected a byte value, but got a Boolean: true"),
    (T.ASCII, "123", "Expected an ascii string, but got a Integer: 123"),
    (T.ASCII, '"\u038e"', "Invalid ASCII character in string literal: "
                          "java.nio.charset.UnmappableCharacterException: Input length = 1"),
    (T.TEXT, "123", "Expected a UTF-8 string, but got a Integer: 123"),
    (T.BLOB, '"xyzz"', "Value 'xyzz' is not a valid blob representation: String representation of blob is "
                       "missing 0x prefix: xyzz"),
    (T.BLOB, '"0x123"', "Value '0x123' is not a valid blob representation: cannot parse '123' as hex bytes"),
    (T.BOOLEAN, '"xyz"', "Unable to make boolean from 'xyz'"),
    (T.BOOLEAN, "123", "Expected a boolean value, but got a Integer: 123"),
    (T.DATE, "123", "Expected a string representation of a date value, but got a Integer: 123"),
    (T.DATE, '"xyz"', "Unable to coerce 'xyz' to a formatted date (long)"),
    (T.DATE, '"2015-02-30"', "Unable to coerce '2015-02-30' to a formatted date (long)"),
    (T.DECIMAL, '"xyzz"', "Value 'xyzz' is not a valid representation of a decimal value"),
    (T.DECIMAL, "true", "Value 'true' is not a valid representation of a decimal value"),
    (T.DOUBLE, '"xyzz"', "Unable to make double from 'xyzz'"),
    (T.DOUBLE, "true", "Expected a double value, but got a Boolean: true"),
    (T.FLOAT, '"xyz"', "Unable to make float from 'xyz'"),
    (T.INET, '"xyzz"', "Unable to make inet address from 'xyzz'"),
    (T.INET, "123", "Expected a string representation of an inet value, but got a Integer: 123"),
    (T.TIME, '"xyz"', "(TimeType) Unable to coerce 'xyz' to a formatted time (long)"),
    (T.TIMESTAMP, "123.456", "Expected a long or a datestring representation of a timestamp value, but got a "
                             "Double: 123.456"),
    (T.TIMESTAMP, "1000", "Expected a long or a datestring representation of a timestamp value, but got a "
                          "Integer: 1000"),
    (T.TIMESTAMP, '"abcd"', "Unable to parse a date/time from 'abcd'"),
    (T.TIMEUUID, '"00000000-0000-0000-0000-000000000000"', "TimeUUID supports only version 1 UUIDs"),
    (T.TIMEUUID, "123", "Expected a string representation of a timeuuid, but got a Integer: 123"),
    (T.UUID, '"00000000-0000-0000-zzzz-000000000000"', "Unable to make UUID from "
                                                       "'00000000-0000-0000-zzzz-000000000000'"),
    (T.VARINT, "123123.123", "Value '123123.123' is not a valid representation of a varint value"),
    (T.VARINT, '""', "Value '' is not a valid representation of a varint value"),
    (T.ListType(T.INT), "123", "Expected a list, but got a Integer: 123"),
    (T.ListType(T.INT), '["abc"]', "Unable to make int from 'abc'"),
    (T.ListType(T.INT), "[1, null, 3]", "Invalid null element in list"),
    (T.ListType(T.INT), '"[1"', "Error decoding JSON string: "),
    (T.SetType(T.UUID), "123", "Expected a list (representing a set), but got a Integer: 123"),
    (T.SetType(T.UUID), "[null]", "Invalid null element in set"),
    (T.MapType(T.ASCII, T.INT), "123", "Expected a map, but got a Integer: 123"),
    (T.MapType(T.ASCII, T.INT), '{"a": null}', "Invalid null value in map"),
    (T.TupleType([T.INT, T.TEXT, T.DOUBLE]), '[1, "foobar", 2.0, 3]',
     "Tuple contains extra items (expected 3): [1, foobar, 2.0, 3]"),
    (T.TupleType([T.INT, T.TEXT, T.DOUBLE]), '[1, "foobar"]', "Tuple is missing items (expected 3): [1, foobar]"),
    (UDT, '{"xxx": 1}', "Unknown field 'xxx' in value of user defined type u"),
    (UDT, '{"a": "foo"}', "Unable to make int from 'foo'"),
    (UDT, "[1]", "Expected a map, but got a ArrayList: [1]"),
    (T.VectorType(T.FLOAT, 2), "[1, 2, 3]", "List had incorrect size: expected 2 but given 3; [1, 2, 3]"),
    (T.VectorType(T.FLOAT, 2), "[1, null]", "Invalid null element in list"),
]


@pytest.mark.parametrize("t, text, message", FROM_JSON_ERRORS)
def test_from_json_errors(t, text, message) -> None:
    with pytest.raises(MarshalError) as info:
        from_json(t, parse_json(text))
    assert info.value.message.startswith(message)


def test_durations_fail_as_invalid_requests() -> None:
    with pytest.raises(InvalidRequest) as info:
        from_json(T.DURATION, "xyz")
    assert not isinstance(info.value, MarshalError)
    assert info.value.message == "Unable to convert 'xyz' to a duration"


COLUMNS = {"k": T.INT, "v": T.TEXT, "Foo": T.INT, "m": T.MapType(T.TEXT, T.INT)}


def test_parse_insert_json() -> None:
    values = parse_insert_json('{"K": 1, "v": null, "\\"Foo\\"": 2}', COLUMNS)
    assert values == {"k": S(T.INT, 1), "v": None, "Foo": S(T.INT, 2)}  # "m" is absent, not null
    assert parse_insert_json('{"k": 0} trailing text is ignored', COLUMNS) == {"k": S(T.INT, 0)}


@pytest.mark.parametrize("text, message", [
    ("null", "Got null for INSERT JSON values"),
    ('"notamap"', "Could not decode JSON string as a map: "),
    ("12.34", "Could not decode JSON string as a map: "),
    ("{", "Could not decode JSON string as a map: "),
    ('{"k": 0, "bar": 1}', "JSON values map contains unrecognized column: bar"),
    ('{"k": 0, "foo": 1}', "JSON values map contains unrecognized column: foo"),  # "Foo" must be quoted
    ('{"k": "abc", "bar": 1}', "Error decoding JSON value for k: Unable to make int from 'abc'"),
    ('{"m": {"a": null}}', "Error decoding JSON value for m: Invalid null value in map"),
    ('{"k": NaN}', "Could not decode JSON string as a map: "),
])
def test_parse_insert_json_errors(text, message) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_insert_json(text, COLUMNS)
    assert info.value.message.startswith(message)


def test_from_json_function() -> None:
    fn = resolve("from_json", [ast.Constant(ast.ConstantType.STRING, "[1]")], T.ListType(T.INT))
    assert V.deserialize(T.ListType(T.INT), fn.call([b"[1, 2]"])) == [1, 2]
    assert fn.call([b"null"]) is None and fn.call([None]) is None
    with pytest.raises(FunctionFailure) as info:
        fn.call(["\u038e\u0394".encode()])
    assert info.value.message.startswith("execution of 'system.from_json[text]' failed: Could not decode JSON "
                                         "string '\u038e\u0394': ")
    assert info.value.error_code == 0x1400 and info.value.arg_types == ["text"]
    with pytest.raises(FunctionFailure) as info:
        fn.call([b'["a"]'])
    assert info.value.message == "org.apache.cassandra.serializers.MarshalException: Unable to make int from 'a'"


@settings(max_examples=300, deadline=None)
@given(types(max_depth=2).flatmap(lambda t: st.tuples(st.just(t), serialized(t))))
def test_to_json_then_from_json_is_identity(case) -> None:
    t, value = case
    assert from_json(t, parse_json(to_json(t, value))) == value


@settings(max_examples=100, deadline=None)
@given(types(max_depth=1).flatmap(lambda t: st.tuples(st.just(t), serialized(t))))
def test_select_json_rows_read_back_through_insert_json(case) -> None:
    t, value = case
    row = select_json_row(["k", "Val"], [T.INT, t], [S(T.INT, 7), value])
    assert parse_insert_json(row, {"k": T.INT, "Val": t}) == {"k": S(T.INT, 7), "Val": value}


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
              st.text(max_size=6), st.sampled_from(["0x00", "1h", "2014-01-01", UUID_TEXT, "[1]", '{"a": 1}'])),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text(max_size=3), children, max_size=3)),
    max_leaves=6)


@settings(max_examples=400, deadline=None)
@given(types(max_depth=2), JSON_VALUES)
def test_from_json_raises_our_error_and_nothing_else(t, obj) -> None:
    try:
        result = from_json(t, obj)
    except FunctionError:
        return
    if result is not None and t is not T.COUNTER:
        V.validate(t, result)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_insert_json_raises_our_error_and_nothing_else(text) -> None:
    try:
        parse_insert_json(text, COLUMNS)
    except FunctionError:
        pass
