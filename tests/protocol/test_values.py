"""Value codecs: golden bytes, Cassandra's validation messages, driver agreement, fuzzing."""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import math
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrosa.protocol import types as T
from ferrosa.protocol.types import parse_cql_type
from ferrosa.protocol.values import (
    EMPTY, Duration, InvalidValue, deserialize, encode_uvint, encode_vint, read_uvint, read_vint,
    serialize, to_cql_literal, validate,
)
from tests.protocol import value_strategies as vs

ADDR = T.UserType("ks", "addr", ["street", "no"], [T.TEXT, T.INT])
TS_2020 = 1577836800000
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# (type, Python value, serialized hex)
GOLDEN = [
    (T.ASCII, "abc", "616263"),
    (T.TEXT, "h\u00e9", "68c3a9"),
    (T.TEXT, "", ""),
    (T.BLOB, b"\x00\xff", "00ff"),
    (T.BOOLEAN, True, "01"),
    (T.BOOLEAN, False, "00"),
    (T.TINYINT, -1, "ff"),
    (T.SMALLINT, 258, "0102"),
    (T.INT, 5, "00000005"),
    (T.INT, -2, "fffffffe"),
    (T.INT, EMPTY, ""),
    (T.BIGINT, 2**40, "0000010000000000"),
    (T.COUNTER, -1, "ffffffffffffffff"),
    (T.VARINT, 0, "00"),
    (T.VARINT, 127, "7f"),
    (T.VARINT, 128, "0080"),
    (T.VARINT, -128, "80"),
    (T.VARINT, -129, "ff7f"),
    (T.DECIMAL, decimal.Decimal("1.00"), "0000000264"),
    (T.DECIMAL, decimal.Decimal("-1.5"), "00000001f1"),
    (T.DECIMAL, decimal.Decimal("1E+3"), "fffffffd01"),
    (T.FLOAT, 1.5, "3fc00000"),
    (T.FLOAT, -0.0, "80000000"),
    (T.DOUBLE, math.inf, "7ff0000000000000"),
    (T.DATE, 0, "80000000"),
    (T.DATE, -1, "7fffffff"),
    (T.TIME, 1, "0000000000000001"),
    (T.TIMESTAMP, TS_2020, "0000016f5e66e800"),
    (T.TIMESTAMP, -1, "ffffffffffffffff"),
    (T.UUID, uuid.UUID("01234567-89ab-cdef-0123-456789abcdef"), "0123456789abcdef0123456789abcdef"),
    (T.TIMEUUID, uuid.UUID("e1c5ac54-e5a1-11f1-8cd0-02fc00000001"), "e1c5ac54e5a111f18cd002fc00000001"),
    (T.INET, ipaddress.ip_address("127.0.0.1"), "7f000001"),
    (T.INET, ipaddress.ip_address("::1"), "00000000000000000000000000000001"),
    (T.DURATION, Duration(1, 2, 3), "020406"),
    (T.DURATION, Duration(-1, 0, -1), "010001"),
    (T.DURATION, Duration(0, 0, 64), "00008080"),
    (T.ListType(T.INT), [1, 2], "00000002" "0000000400000001" "0000000400000002"),
    (T.SetType(T.TEXT), ["a", "b"], "00000002" "0000000161" "0000000162"),
    (T.MapType(T.TEXT, T.INT), {"a": 1}, "00000001" "0000000161" "0000000400000001"),
    (T.TupleType([T.INT, T.TEXT]), (1, None), "0000000400000001" "ffffffff"),
    (T.TupleType([T.INT, T.TEXT]), (1,), "0000000400000001"),
    (ADDR, {"street": "x", "no": 7}, "0000000178" "0000000400000007"),
    (ADDR, {"street": None}, "ffffffff"),
    (T.VectorType(T.FLOAT, 2), [1.0, 2.0], "3f80000040000000"),
    (T.VectorType(T.TEXT, 2), ["a", ""], "016100"),
    (T.VectorType(T.SMALLINT, 2), [1, 2], "020001020002"),
    (T.CustomType("com.example.Foo"), b"\x01", "01"),
]


@pytest.mark.parametrize("t,value,hexdata", GOLDEN)
def test_golden_serialization(t: T.CqlType, value: object, hexdata: str) -> None:
    data = bytes.fromhex(hexdata)
    assert serialize(t, value) == data
    validate(t, data)
    back = deserialize(t, data)
    assert serialize(t, back) == data
    if not (isinstance(value, float) and math.isnan(value)):
        assert back == value


@pytest.mark.parametrize("t,value,hexdata", [g for g in GOLDEN if not isinstance(g[0], T.CustomType)
                                             and g[1] is not EMPTY and g[0] is not T.COUNTER])
def test_golden_agrees_with_driver(t: T.CqlType, value: object, hexdata: str) -> None:
    if isinstance(t, T.TupleType) and len(value) < len(t.elements):  # type: ignore[arg-type]
        return  # the driver always writes every component
    if isinstance(t, T.UserType) and len(value) < len(t.field_names):  # type: ignore[arg-type]
        return
    assert vs.driver_type(t).serialize(vs.to_driver(t, value), 5) == bytes.fromhex(hexdata)


def test_set_and_map_are_sorted_and_deduplicated_like_cassandra() -> None:
    assert deserialize(T.SetType(T.INT), serialize(T.SetType(T.INT), {3, -1, 2, 3})) == [-1, 2, 3]
    assert deserialize(T.SetType(T.TEXT), serialize(T.SetType(T.TEXT), ["b", "a", "b"])) == ["a", "b"]
    m = T.MapType(T.INT, T.TEXT)
    assert list(deserialize(m, serialize(m, [(2, "x"), (1, "y"), (2, "z")])).items()) == [(1, "y"), (2, "z")]
    # decimal keys compare numerically: 1.0 and 1.00 are the same set element to Cassandra
    ds = T.SetType(T.DECIMAL)
    assert len(deserialize(ds, serialize(ds, [decimal.Decimal("1.0"), decimal.Decimal("1.00")]))) == 1


def test_map_with_unhashable_keys_deserializes_to_pairs() -> None:
    m = T.MapType(T.ListType(T.INT, frozen=True), T.INT)
    data = serialize(m, [([2], 1), ([1, 5], 2)])
    assert deserialize(m, data) == [([1, 5], 2), ([2], 1)]


def test_convenience_inputs() -> None:
    moment = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    assert serialize(T.TIMESTAMP, moment) == serialize(T.TIMESTAMP, TS_2020)
    assert serialize(T.TIMESTAMP, moment.replace(tzinfo=None)) == serialize(T.TIMESTAMP, TS_2020)
    assert serialize(T.DATE, datetime.date(1970, 1, 2)) == serialize(T.DATE, 1)
    assert serialize(T.TIME, datetime.time(0, 0, 1)) == serialize(T.TIME, 10**9)
    assert serialize(T.UUID, "01234567-89ab-cdef-0123-456789abcdef") == bytes.fromhex("0123456789abcdef0123456789abcdef")
    assert serialize(T.INET, "10.0.0.1") == b"\x0a\x00\x00\x01"


VALIDATION_ERRORS = [
    (T.INT, "000000", "Expected 4 or 0 byte int (3)"),
    (T.BIGINT, "00", "Expected 8 or 0 byte long (1)"),
    (T.SMALLINT, "", "Expected 2 bytes for a smallint (0)"),
    (T.TINYINT, "0000", "Expected 1 byte for a tinyint (2)"),
    (T.FLOAT, "00", "Expected 4 or 0 byte value for a float (1)"),
    (T.DOUBLE, "00", "Expected 8 or 0 byte value for a double (1)"),
    (T.BOOLEAN, "0000", "Expected 1 or 0 byte value (2)"),
    (T.TIMESTAMP, "00", "Expected 8 or 0 byte long for date (1)"),
    (T.DATE, "", "Expected 4 byte long for date (0)"),
    (T.TIME, "00", "Expected 8 byte long for time (1)"),
    (T.UUID, "00", "UUID should be 16 or 0 bytes (1)"),
    (T.TIMEUUID, "0123456789ab4def0123456789abcdef", "Invalid version for TimeUUID type."),
    (T.INET, "0102", "Expected 4 or 16 byte inetaddress; got 0102"),
    (T.DECIMAL, "000000", "Expected 0 or at least 4 bytes (3)"),
    (T.ASCII, "61c3", "Invalid byte for ascii: -61"),
    (T.TEXT, "ff", "String didn't validate."),
    (T.DURATION, "00", "Expected at least 3 bytes for a duration (1)"),
    (T.DURATION, "020100", "The duration months, days and nanoseconds must be all of the same sign (1, -1, 0)"),
    (T.DURATION, "f1000000000000", "The duration months must be a 32 bits integer but was: 2147483648"),
    (T.ListType(T.INT), "", "Not enough bytes to read a list"),
    (T.ListType(T.INT), "00000001ffffffff", "Null value read when not allowed"),
    (T.ListType(T.INT), "0000000000", "Unexpected extraneous bytes after list value"),
    (T.ListType(T.INT), "00000001000000040000", "Not enough bytes to read a list"),
    (T.ListType(T.INT), "00000001000000030000ff", "Expected 4 or 0 byte int (3)"),
    (T.SetType(T.INT), "0000000100", "Not enough bytes to read a set"),
    (T.MapType(T.INT, T.INT), "0000000100000000", "Not enough bytes to read a map"),
    (T.MapType(T.INT, T.INT), "0000000100000000ffffffff", "Null value read when not allowed"),
    (T.TupleType([T.INT, T.INT]), "000000", "Not enough bytes to read size of 0th component"),
    (T.TupleType([T.INT, T.INT]), "0000000400", "Not enough bytes to read 0th component"),
    (T.TupleType([T.INT]), "ffffffff00", "Invalid remaining data after end of tuple value"),
    (ADDR, "ffffffff00", "Not enough bytes to read size of 1th field no"),
    (ADDR, "ffffffffffffffff00", "Invalid remaining data after end of UDT value"),
    (T.VectorType(T.FLOAT, 2), "", "Invalid empty vector value"),
    (T.VectorType(T.FLOAT, 2), "3f800000", "Not enough bytes to read a vector<float, 2>"),
    (T.VectorType(T.FLOAT, 1), "3f80000000", "Unexpected 1 extraneous bytes after vector<float, 1> value"),
    (T.VectorType(T.TEXT, 2), "0161", "Not enough bytes to read a vector<text, 2>"),
    (T.VectorType(T.TEXT, 1), "016162", "Unexpected 1 extraneous bytes after vector<text, 1> value"),
]


@pytest.mark.parametrize("t,hexdata,message", VALIDATION_ERRORS)
def test_validation_messages(t: T.CqlType, hexdata: str, message: str) -> None:
    with pytest.raises(InvalidValue) as excinfo:
        validate(t, bytes.fromhex(hexdata))
    assert str(excinfo.value) == message
    with pytest.raises(InvalidValue):
        deserialize(t, bytes.fromhex(hexdata))


def test_empty_values_follow_cassandra() -> None:
    for t in T.NATIVE_TYPES.values():
        if t in vs.EMPTY_OK:
            validate(t, b"")
            assert deserialize(t, b"") is EMPTY
            assert serialize(t, EMPTY) == b""
        elif t in (T.TEXT, T.ASCII, T.BLOB):
            validate(t, b"")
        else:
            with pytest.raises(InvalidValue):
                validate(t, b"")
    assert deserialize(T.TupleType([T.INT]), b"") == ()
    assert deserialize(ADDR, b"") == {}


def test_text_that_cassandra_accepts_but_cannot_decode() -> None:
    surrogate = bytes.fromhex("eda080")  # CESU-8 style surrogate: Cassandra's validator lets it in
    validate(T.TEXT, surrogate)
    with pytest.raises(InvalidValue, match="Invalid UTF-8 bytes eda080"):
        deserialize(T.TEXT, surrogate)
    for bad in ("c1bf", "e080", "f08f8080", "80", "f8", "e1a0"):
        with pytest.raises(InvalidValue, match="String didn't validate"):
            validate(T.TEXT, bytes.fromhex(bad))


def test_serialize_rejects_bad_python_values() -> None:
    bad = [(T.INT, 2**31), (T.INT, "1"), (T.TINYINT, 128), (T.FLOAT, 1e39), (T.TEXT, b"x"),
           (T.BOOLEAN, "true"), (T.DECIMAL, decimal.Decimal("NaN")), (T.TIMEUUID, uuid.uuid4()),
           (T.DURATION, Duration(1, -1, 0)), (T.DURATION, Duration(2**31, 0, 0)), (T.DATE, 2**31),
           (T.ListType(T.INT), [1, None]), (T.ListType(T.INT), "12"), (T.VectorType(T.INT, 2), [1]),
           (ADDR, {"nope": 1}), (T.TupleType([T.INT]), (1, 2)), (T.INET, "not an address")]
    for t, value in bad:
        with pytest.raises(InvalidValue):
            serialize(t, value)
    with pytest.raises(InvalidValue):
        serialize(T.INT, None)


LITERALS = [
    (T.TEXT, "it's", "'it''s'"),
    (T.BLOB, b"\x01\xab", "0x01ab"),
    (T.BLOB, b"", "0x"),
    (T.BOOLEAN, True, "true"),
    (T.INT, EMPTY, "null"),
    (T.FLOAT, 0.1, "0.1"),
    (T.FLOAT, 1.0, "1.0"),
    (T.DOUBLE, math.nan, "NaN"),
    (T.DOUBLE, -math.inf, "-Infinity"),
    (T.DOUBLE, 1e100, "1e+100"),
    (T.DECIMAL, decimal.Decimal("1.50"), "1.50"),
    (T.TIMESTAMP, TS_2020 + 5, "'2020-01-01T00:00:00.005Z'"),
    (T.TIMESTAMP, 2**62, str(2**62)),
    (T.DATE, 0, "'1970-01-01'"),
    (T.DATE, -(2**31), "'-5877641-06-23'"),
    (T.DATE, 2**31 - 1, "'+5881580-07-11'"),
    (T.TIME, 3_723_000_000_001, "'01:02:03.000000001'"),
    (T.UUID, uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    (T.INET, ipaddress.ip_address("::1"), "'::1'"),
    (T.DURATION, Duration(14, 3, 5_400_000_000_001), "1y2mo3d1h30m1ns"),
    (T.DURATION, Duration(-1, 0, -5000), "-1mo5us"),
    (T.DURATION, Duration(0, 0, 0), "0s"),
    (T.ListType(T.INT), [1, 2], "[1, 2]"),
    (T.SetType(T.TEXT), ["a"], "{'a'}"),
    (T.MapType(T.TEXT, T.INT), {"a": 1}, "{'a': 1}"),
    (T.TupleType([T.INT, T.TEXT]), (1, None), "(1, null)"),
    (T.UserType("ks", "u", ["a", "Select"], [T.INT, T.INT]), {"a": 1, "Select": None}, '{a: 1, "Select": null}'),
    (T.VectorType(T.FLOAT, 2), [1.0, 0.5], "[1.0, 0.5]"),
]


@pytest.mark.parametrize("t,value,literal", LITERALS)
def test_cql_literals(t: T.CqlType, value: object, literal: str) -> None:
    assert to_cql_literal(t, value) == literal
    assert to_cql_literal(t, None) == "null"


@settings(max_examples=200, deadline=None)
@given(st.dates())
def test_date_literals_match_the_calendar(day: datetime.date) -> None:
    days = day.toordinal() - datetime.date(1970, 1, 1).toordinal()
    assert to_cql_literal(T.DATE, days) == f"'{day.isoformat()}'"
    assert deserialize(T.DATE, serialize(T.DATE, day)) == days


def test_huge_varint_literal_beyond_str_digit_limit() -> None:
    assert to_cql_literal(T.VARINT, -(10**5000)) == "-1" + "0" * 5000


def test_vints() -> None:
    for value in (0, 1, 127, 128, 2**14 - 1, 2**14, 2**56 - 1, 2**56, 2**63, 2**64 - 1):
        data = encode_uvint(value)
        assert read_uvint(data + b"\x99", 0) == (value, len(data))
    assert encode_uvint(2**64 - 1) == b"\xff" * 9
    for value in (0, -1, 1, -(2**63), 2**63 - 1):
        assert read_vint(encode_vint(value), 0)[0] == value
    with pytest.raises(InvalidValue):
        read_uvint(b"\xc0\x00", 0)


@FUZZ
@given(st.data())
def test_round_trip_and_driver_agreement(data: st.DataObject) -> None:
    t = data.draw(vs.types(max_depth=2))
    value = data.draw(vs.values(t, with_empty=False))
    encoded = serialize(t, value)
    validate(t, encoded)
    back = deserialize(t, encoded)
    assert serialize(t, back) == encoded
    assert vs.driver_type(t).serialize(vs.to_driver(t, back), 5) == encoded


@FUZZ
@given(st.data())
def test_round_trip_with_empty_values(data: st.DataObject) -> None:
    t = data.draw(vs.types(max_depth=2))
    encoded = serialize(t, data.draw(vs.values(t)))
    validate(t, encoded)
    assert serialize(t, deserialize(t, encoded)) == encoded


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    def mutate(cut: int, pos: int, byte: int, insert: bool) -> bytes:
        out = bytearray(data[:max(0, len(data) - cut)])
        if out:
            if insert:
                out.insert(pos % len(out), byte)
            else:
                out[pos % len(out)] = byte
        return bytes(out)
    return st.builds(mutate, st.integers(0, 3), st.integers(0, 64), st.integers(0, 255), st.booleans())


@FUZZ
@given(st.data())
def test_arbitrary_bytes_decode_or_raise_invalid_value(data: st.DataObject) -> None:
    t = data.draw(vs.types(max_depth=2))
    valid = serialize(t, data.draw(vs.values(t)))
    raw = data.draw(st.binary(max_size=40) | _mutations(valid))
    try:
        validate(t, raw)
        accepted = True
    except InvalidValue:
        accepted = False
    try:
        back = deserialize(t, raw)
    except InvalidValue as exc:
        # only text that Cassandra's validator lets through but Java cannot decode (or a decimal
        # without unscaled bytes) may pass validation and still fail to deserialize
        assert not accepted or "Invalid UTF-8" in str(exc) or "no unscaled value" in str(exc)
        return
    assert accepted
    canonical = serialize(t, back)  # serialize(deserialize(x)) is a fixed point
    validate(t, canonical)
    assert serialize(t, deserialize(t, canonical)) == canonical


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=24))
def test_native_bytes_decode_or_raise(raw: bytes) -> None:
    for t in T.NATIVE_TYPES.values():
        try:
            value = deserialize(t, raw)
        except InvalidValue:
            continue
        again = serialize(t, value)
        assert deserialize(t, again) == value or t in (T.FLOAT, T.DOUBLE)


def test_nested_parsed_types() -> None:
    t = parse_cql_type("map<text, frozen<list<frozen<tuple<int, text>>>>>")
    value = {"k": [(1, "a"), (2, None)]}
    assert deserialize(t, serialize(t, value)) == value


def test_validator_is_none_only_where_every_byte_string_is_valid() -> None:
    from ferrosa.protocol.values import validator
    assert validator(T.BLOB) is None
    check = validator(T.INT)
    check(b"\x00\x00\x00\x01")
    with pytest.raises(InvalidValue):
        check(b"\x00\x01\x02")
    text = validator(T.TEXT)
    with pytest.raises(InvalidValue):
        text(b"\xff\xfe")
    nested = validator(T.ListType(T.INT))
    with pytest.raises(InvalidValue):
        nested(b"\x00\x00\x00\x01\x00\x00\x00\x02\x00")


_NATIVES = [getattr(T, name) for name in dir(T) if isinstance(getattr(T, name), T.NativeType)]


@FUZZ
@given(st.sampled_from(_NATIVES), st.data())
def test_a_check_that_takes_any_value_of_its_size_does(t, data) -> None:
    """A validator that says every value of some size is valid (`any_value_of_size`, which
    a batch's clustering values rely on to skip the call) accepts any bytes of that size and
    is the type's whole check: deserialize takes those bytes too."""
    from ferrosa.protocol.values import validator
    check = validator(t)
    size = getattr(check, "any_value_of_size", None)
    if size is None:
        return
    value = data.draw(st.binary(min_size=size, max_size=size))
    check(value)
    deserialize(t, value)


def test_the_fixed_size_integers_take_any_value_of_their_size() -> None:
    from ferrosa.protocol.values import validator
    sizes = {t: getattr(validator(t), "any_value_of_size", None)
             for t in (T.INT, T.BIGINT, T.SMALLINT, T.TINYINT, T.TIMESTAMP, T.TEXT, T.BLOB)}
    assert sizes == {T.INT: 4, T.BIGINT: 8, T.SMALLINT: 2, T.TINYINT: 1, T.TIMESTAMP: 8,
                     T.TEXT: None, T.BLOB: None}
