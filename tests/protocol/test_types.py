"""The CQL type model: parsing, canonical names, marshal classes and [option] bytes."""

from __future__ import annotations

import io
import pickle

import pytest
from cassandra.protocol import ResultMessage
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ferrosa.protocol import types as T
from ferrosa.protocol.types import (
    InvalidType, cql_name, marshal_class, option_bytes, parse_cql_type, parse_marshal_type,
    quote_identifier, read_option,
)
from tests.protocol import value_strategies as vs

M = T.MARSHAL_PACKAGE
ADDR = T.UserType("ks", "addr", ["street", "zip code"], [T.TEXT, T.INT])
MIXED = T.UserType("ks", "Mixed Case", ["a"], [T.INT])


def resolve(name: str, keyspace: str | None) -> T.UserType | None:
    return {"addr": ADDR, "Mixed Case": MIXED}.get(name) if keyspace in (None, "ks") else None


# (CQL text as a user may type it, canonical name, marshal class)
PARSED = [
    ("int", "int", M + "Int32Type"),
    ("VARCHAR", "text", M + "UTF8Type"),
    ("  BigInt ", "bigint", M + "LongType"),
    ("list<int>", "list<int>", f"{M}ListType({M}Int32Type)"),
    ("Frozen < List < Int > >", "frozen<list<int>>", f"{M}FrozenType({M}ListType({M}Int32Type))"),
    ("map<text,int>", "map<text, int>", f"{M}MapType({M}UTF8Type,{M}Int32Type)"),
    ("set<frozen<list<int>>>", "set<frozen<list<int>>>",
     f"{M}SetType({M}FrozenType({M}ListType({M}Int32Type)))"),
    ("frozen<map<text, list<int>>>", "frozen<map<text, frozen<list<int>>>>",
     f"{M}FrozenType({M}MapType({M}UTF8Type,{M}ListType({M}Int32Type)))"),
    ("tuple<int, text>", "frozen<tuple<int, text>>", f"{M}TupleType({M}Int32Type,{M}UTF8Type)"),
    ("frozen<tuple<int, list<int>>>", "frozen<tuple<int, frozen<list<int>>>>",
     f"{M}TupleType({M}Int32Type,{M}ListType({M}Int32Type))"),
    ("list<frozen<tuple<int>>>", "list<frozen<tuple<int>>>", f"{M}ListType({M}TupleType({M}Int32Type))"),
    ("vector<float, 3>", "vector<float, 3>", f"{M}VectorType({M}FloatType , 3)"),
    ("vector<text,2>", "vector<text, 2>", f"{M}VectorType({M}UTF8Type , 2)"),
    ("addr", "addr", f"{M}UserType(ks,61646472,737472656574:{M}UTF8Type,7a697020636f6465:{M}Int32Type)"),
    ("frozen<ks.addr>", "frozen<addr>",
     f"{M}FrozenType({M}UserType(ks,61646472,737472656574:{M}UTF8Type,7a697020636f6465:{M}Int32Type))"),
    ('map<int, frozen<"Mixed Case">>', 'map<int, frozen<"Mixed Case">>',
     f"{M}MapType({M}Int32Type,{M}FrozenType({M}UserType(ks,4d697865642043617365,61:{M}Int32Type)))"),
    ("'org.apache.cassandra.db.marshal.Int32Type'", "int", M + "Int32Type"),
    ("'com.example.Geo'", "'com.example.Geo'", "com.example.Geo"),
    ("duration", "duration", M + "DurationType"),
]


@pytest.mark.parametrize("text,name,marshal", PARSED)
def test_parse_and_print(text: str, name: str, marshal: str) -> None:
    t = parse_cql_type(text, resolve)
    assert cql_name(t) == name
    assert marshal_class(t) == marshal
    assert parse_cql_type(name, resolve) == t
    assert parse_marshal_type(marshal) == t


ERRORS = [
    ("list<list<int>>", "Non-frozen collections are not allowed inside collections: list<list<int>>"),
    ("map<text, set<int>>", "Non-frozen collections are not allowed inside collections: map<text, set<int>>"),
    ("set<addr>", "Non-frozen UDTs are not allowed inside collections: set<addr>"),
    ("list<counter>", "Counters are not allowed inside collections: list<counter>"),
    ("map<counter, int>", "Counters are not allowed inside collections: map<counter, int>"),
    ("frozen<list<list<counter>>>", "Counters are not allowed inside collections: frozen<list<counter>>"),
    ("set<duration>", "Durations are not allowed inside sets: set<duration>"),
    ("map<duration, int>", "Durations are not allowed as map keys: map<duration, int>"),
    ("tuple<int, counter>", "Counters are not allowed inside tuples"),
    ("frozen<int>", "frozen<> is only allowed on collections, tuples, and user-defined types (got int)"),
    ("vector<float, 0>", "vectors may only have positive dimensions; given 0"),
    ("vector<float, -3>", "vectors may only have positive dimensions; given -3"),
    ("nosuch", "Unknown type nosuch"),
    ("other.addr", "Unknown type other.addr"),
]


@pytest.mark.parametrize("text,message", ERRORS)
def test_cassandra_rejections(text: str, message: str) -> None:
    with pytest.raises(InvalidType) as excinfo:
        parse_cql_type(text, resolve)
    assert str(excinfo.value) == message


@pytest.mark.parametrize("text", ["", "list<int", "list<int>>", "map<int>", "vector<float, 1.5>",
                                  "vector<float>", "tuple<>", "list<,>", "int int", "frozen", "ks."])
def test_syntax_errors(text: str) -> None:
    with pytest.raises(InvalidType):
        parse_cql_type(text, resolve)


def test_allowed_nestings() -> None:
    assert cql_name(parse_cql_type("map<text, duration>")) == "map<text, duration>"
    assert cql_name(parse_cql_type("list<duration>")) == "list<duration>"
    assert cql_name(parse_cql_type("vector<list<int>, 2>")) == "vector<list<int>, 2>"
    assert cql_name(parse_cql_type("frozen<vector<int, 2>>")) == "vector<int, 2>"
    assert parse_cql_type("frozen<addr>", resolve).frozen
    assert not parse_cql_type("addr", resolve).frozen


# (type, protocol version, option hex)
OPTIONS = [
    (T.INT, 5, "0009"),
    (T.TEXT, 5, "000d"),
    (T.TIMESTAMP, 3, "000b"),
    (T.DATE, 4, "0011"),
    (T.DATE, 3, "0000" + f"{len(M + 'SimpleDateType'):04x}" + (M + "SimpleDateType").encode().hex()),
    (T.DURATION, 5, "0015"),
    (T.DURATION, 4, "0000" + f"{len(M + 'DurationType'):04x}" + (M + "DurationType").encode().hex()),
    (T.ListType(T.INT), 5, "00200009"),
    (T.SetType(T.TEXT, frozen=True), 5, "0022000d"),
    (T.MapType(T.TEXT, T.ListType(T.INT, frozen=True)), 5, "0021000d00200009"),
    (T.TupleType([T.INT, T.TEXT]), 5, "003100020009000d"),
    (T.ListType(T.SMALLINT.freeze()), 3, "0020" + "0000" + f"{len(M + 'ShortType'):04x}" + (M + "ShortType").encode().hex()),
    (T.UserType("ks", "u", ["a", "b"], [T.INT, T.TEXT]), 5,
     "0030" "00026b73" "000175" "0002" "000161" "0009" "000162" "000d"),
]


@pytest.mark.parametrize("t,version,hexdata", OPTIONS)
def test_option_bytes(t: T.CqlType, version: int, hexdata: str) -> None:
    data = option_bytes(t, version)
    assert data.hex() == hexdata
    assert option_bytes(t, version) is data  # memoized per type object
    back, end = read_option(data + b"\x99", 0)
    assert end == len(data)
    assert back.freeze() == t.freeze()


def test_vector_option_is_the_custom_class_drivers_parse() -> None:
    t = parse_cql_type("vector<float, 3>")
    expected = (M + "VectorType(" + M + "FloatType , 3)").encode()
    assert option_bytes(t) == b"\x00\x00" + len(expected).to_bytes(2, "big") + expected
    driver = ResultMessage.read_type(io.BytesIO(option_bytes(t)), {})
    assert driver.vector_size == 3
    assert driver.serialize([1.0, 2.0, 3.0], 5) == bytes.fromhex("3f8000004000000040400000")


def test_read_option_text_alias_and_errors() -> None:
    assert read_option(b"\x00\x0a")[0] is T.TEXT
    for bad in (b"", b"\x00", b"\x00\x99", b"\x00\x20", b"\x00\x30\x00\x05ab"):
        with pytest.raises(InvalidType):
            read_option(bad)


def test_natives_are_singletons_and_types_are_values() -> None:
    assert parse_cql_type("text") is T.TEXT is parse_cql_type("varchar")
    a = parse_cql_type("map<text, frozen<list<int>>>")
    b = T.MapType(T.TEXT, T.ListType(T.INT, frozen=True))
    assert a == b and hash(a) == hash(b) and a is not b
    assert a != a.freeze() and a.freeze().frozen
    assert {a: 1}[b] == 1
    with pytest.raises(AttributeError):
        a.frozen = True  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(T.INT)) is T.INT
    assert pickle.loads(pickle.dumps(ADDR)) == ADDR
    assert marshal_class(T.INT, reversed=True) == f"{M}ReversedType({M}Int32Type)"
    assert parse_marshal_type(f"{M}ReversedType({M}Int32Type)") is T.INT


def test_marshal_parser_corners() -> None:
    assert parse_marshal_type("Int32Type") is T.INT
    assert parse_marshal_type(f"{M}DateType") is T.TIMESTAMP
    assert parse_marshal_type(" ListType ( Int32Type ) ") == T.ListType(T.INT)
    nested = parse_marshal_type("ListType(ListType(Int32Type))")  # nested types are implicitly frozen
    assert nested == T.ListType(T.ListType(T.INT, frozen=True))
    odd = parse_marshal_type("com.example.Odd(a,b(c))")
    assert odd == T.CustomType("com.example.Odd(a,b(c))")
    for bad in ("", "ListType(", "ListType(Int32Type,Int32Type)", "VectorType(FloatType , x)",
                "UserType(ks,zz)", "Int32Type)"):
        with pytest.raises(InvalidType):
            parse_marshal_type(bad)


def test_quote_identifier() -> None:
    assert quote_identifier("abc_1") == "abc_1"
    assert quote_identifier("Abc") == '"Abc"'
    assert quote_identifier("select") == '"select"'
    assert quote_identifier('a"b') == '"a""b"'


@settings(max_examples=200, deadline=None)
@given(vs.types(max_depth=3))
def test_random_types_round_trip_through_every_spelling(t: T.CqlType) -> None:
    udts: dict[str, T.UserType] = {}

    def collect(x: T.CqlType) -> None:
        if isinstance(x, T.UserType):
            assume(udts.setdefault(x.name, x.unfreeze()) == x.unfreeze())  # one definition per name
        for s in x.subtypes:
            collect(s)
    collect(t)
    parsed = parse_cql_type(cql_name(t), lambda name, ks: udts.get(name))
    assert parsed == t
    assert parse_marshal_type(marshal_class(t)) == t
    for version in (3, 4, 5):
        data = option_bytes(t, version)
        back, end = read_option(data)
        assert end == len(data)
        assert back.freeze() == t.freeze()
        ResultMessage.read_type(io.BytesIO(data), {})  # a real driver can read what we send


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="<>,.'\" abcdeflmnoprstuvxyz0123456789-", max_size=30))
def test_type_text_parses_or_raises_invalid_type(text: str) -> None:
    try:
        t = parse_cql_type(text, resolve)
    except InvalidType:
        return
    assert parse_cql_type(cql_name(t), resolve) == t


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=30))
def test_option_bytes_decode_or_raise_invalid_type(data: bytes) -> None:
    try:
        read_option(data)
    except InvalidType:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="(),:. ListTypeMapInt32UTF8VectorFrozenUserks0123456789abcdef", max_size=40))
def test_marshal_text_parses_or_raises_invalid_type(text: str) -> None:
    try:
        parse_marshal_type(text)
    except InvalidType:
        pass
