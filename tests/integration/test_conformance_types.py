"""Conformance of CQL types with Cassandra 5.0 through the real driver: every native type as a literal and
as a bound value, collections (frozen and not, nested), tuples, UDTs and vectors, and the errors Cassandra
gives for values that do not fit.

Each expectation names where it comes from in Cassandra (class or test); the literal rules are those of
cql3/Constants.Literal.testAssignment (which literal kind may be assigned to which type) and each
AbstractType.fromString.

Must NOT: hold a case where Ferrosa still differs from Cassandra (those are reported to the lead, not
committed: this file is a regression suite and passes in full), or depend on the server's time zone (every
timestamp literal with a time carries an explicit offset)."""

from __future__ import annotations

import datetime
import math
import re
import uuid
from decimal import Decimal

import pytest
from cassandra import InvalidRequest
from cassandra.util import Date, Duration, OrderedMapSerializedKey, SortedSet, Time

NODE_HOST = "127.0.0.51"

KS = "conf_types"
NANOS_PER_HOUR = 3_600_000_000_000
NANOS_PER_MINUTE = 60_000_000_000
NANOS_PER_SECOND = 1_000_000_000

SCALAR_COLUMNS = {
    "a": "ascii", "b": "bigint", "bl": "blob", "bo": "boolean", "d": "date", "de": "decimal",
    "db": "double", "du": "duration", "f": "float", "i": "inet", "n": "int", "sm": "smallint",
    "t": "text", "tm": "time", "ts": "timestamp", "tu": "timeuuid", "ti": "tinyint", "u": "uuid",
    "vi": "varint", "vc": "varchar", "vec": "vector<float, 3>",
}


def server_message(exc: BaseException) -> str:
    """The message Cassandra put in the ERROR frame, without the driver's decoration."""
    text = str(exc)
    found = re.search(r'message="(.*)"', text, re.S)
    return found.group(1) if found else text


def plain(value):
    """Driver containers as plain Python ones, so expectations read naturally."""
    if isinstance(value, (SortedSet, set)):
        return {plain(v) for v in value}
    if isinstance(value, (OrderedMapSerializedKey, dict)):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(plain(v) for v in value)
    return value


def same(got, expected) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(expected, float) and expected == 0.0:
        return got == 0.0 and math.copysign(1, got) == math.copysign(1, expected)
    return got == expected


@pytest.fixture(scope="module")
def s(node):
    from cassandra.cluster import Cluster
    cluster = Cluster([node.host], port=node.port, protocol_version=5)
    session = cluster.connect()
    session.execute(f"CREATE KEYSPACE {KS} WITH replication = {{'class': 'SimpleStrategy', "
                    "'replication_factor': 1}")
    columns = ", ".join(f"{name} {kind}" for name, kind in SCALAR_COLUMNS.items())
    session.execute(f"CREATE TABLE {KS}.lit (k int PRIMARY KEY, {columns})")
    session.execute(f"CREATE TABLE {KS}.bound (k int PRIMARY KEY, {columns})")
    session.execute(f"CREATE TYPE {KS}.addr (street text, zip int)")
    session.execute(f"CREATE TYPE {KS}.person (name text, addrs frozen<list<frozen<addr>>>)")
    session.execute(f"CREATE TABLE {KS}.coll (k int PRIMARY KEY, l list<int>, st set<text>, "
                    "m map<text, int>, fl frozen<list<int>>, fs frozen<set<int>>, "
                    "fm frozen<map<int, text>>, nl list<frozen<list<int>>>, "
                    "nm map<text, frozen<set<int>>>, tup tuple<int, text, boolean>, "
                    "tt tuple<int, tuple<text, int>>, u addr, fu frozen<addr>, p frozen<person>, "
                    "lu list<frozen<addr>>, vt vector<text, 2>, ld list<duration>, "
                    "md map<text, duration>, td tuple<int, duration>)")
    yield session
    cluster.shutdown()


# ---------------------------------------------------------------------------------------------------
# Literals: (column, literal, the value the driver reads back).
# ---------------------------------------------------------------------------------------------------

LITERALS = [
    # ascii/text/varchar: '' escapes a quote, $$..$$ needs no escaping (Lexer.g STRING_LITERAL).
    ("a", "'plain ascii'", "plain ascii"),
    ("t", "'it''s'", "it's"),
    ("t", "'héllo wörld ☃'", "héllo wörld ☃"),
    ("t", "$$dollar'q$$", "dollar'q"),
    ("t", "$$a $ b$$", "a $ b"),
    ("t", "$$$$", ""),
    ("t", "''", ""),
    ("t", "''''", "'"),
    ("vc", "'varchar is text'", "varchar is text"),
    # Integers at their bounds; a minus sign is part of the INTEGER token.
    ("n", "-2147483648", -2147483648),
    ("n", "2147483647", 2147483647),
    ("b", "-9223372036854775808", -9223372036854775808),
    ("b", "9223372036854775807", 9223372036854775807),
    ("b", "-0", 0),
    ("sm", "-32768", -32768),
    ("sm", "32767", 32767),
    ("ti", "-128", -128),
    ("ti", "127", 127),
    ("vi", "123456789012345678901234567890", 123456789012345678901234567890),
    ("vi", "-123456789012345678901234567890123", -123456789012345678901234567890123),
    ("vi", "0", 0),
    # decimal keeps the literal's scale (java.math.BigDecimal), an INTEGER literal is weakly assignable.
    ("de", "123456789012345678901234567890.123456789",
     Decimal("123456789012345678901234567890.123456789")),
    ("de", "-1.5e-3", Decimal("-0.0015")),
    ("de", "1E+10", Decimal("1E+10")),
    ("de", "5", Decimal("5")),
    # NaN/Infinity are FLOAT constants (Lexer.g FLOAT), valid for float and double.
    ("db", "NaN", math.nan),
    ("db", "-NaN", math.nan),
    ("db", "Infinity", math.inf),
    ("db", "-Infinity", -math.inf),
    ("db", "1.7976931348623157E308", 1.7976931348623157e308),
    ("db", "12345678901234567890", 1.2345678901234567e19),
    ("f", "NaN", math.nan),
    ("f", "-Infinity", -math.inf),
    ("f", "-0.0", -0.0),
    ("f", "1", 1.0),
    ("f", "1.5", 1.5),
    # FloatType.fromString is Float.parseFloat: past Float.MAX_VALUE a literal rounds to Infinity.
    ("f", "1e39", math.inf),
    ("f", "-1e39", -math.inf),
    ("db", "1e39", 1e39),
    # Booleans are case-insensitive keywords.
    ("bo", "true", True),
    ("bo", "FALSE", False),
    # Blobs: 0x/0X and any hex case; 0x alone is the empty blob (BytesType.fromString).
    ("bl", "0xCAFE", b"\xca\xfe"),
    ("bl", "0xDEADbeef", b"\xde\xad\xbe\xef"),
    ("bl", "0X01", b"\x01"),
    ("bl", "0x", b""),
    # UUID constants are case-insensitive; a version-1 UUID suits timeuuid and uuid alike.
    ("u", "123E4567-E89B-12D3-A456-426614174000", uuid.UUID("123e4567-e89b-12d3-a456-426614174000")),
    ("u", "50554d6e-29bb-11e5-b345-feff819cdc9f", uuid.UUID("50554d6e-29bb-11e5-b345-feff819cdc9f")),
    ("tu", "50554d6e-29bb-11e5-b345-feff819cdc9f", uuid.UUID("50554d6e-29bb-11e5-b345-feff819cdc9f")),
    # inet from strings (InetAddressType.fromString).
    ("i", "'192.168.1.1'", "192.168.1.1"),
    ("i", "'::1'", "::1"),
    ("i", "'2001:db8::ff00:42:8329'", "2001:db8::ff00:42:8329"),
    # InetAddress.getByName: short IPv4 forms, IPv4-mapped IPv6 as IPv4; '' is the empty value (read as null).
    ("i", "'127.1'", "127.0.0.1"),
    ("i", "'::ffff:10.1.2.3'", "10.1.2.3"),
    ("i", "''", None),
    # date: ISO yyyy-MM-dd, or an unsigned day number with the epoch at 2^31 (SimpleDateSerializer).
    ("d", "'2024-02-29'", Date(19782)),
    ("d", "'1970-01-01'", Date(0)),
    ("d", "'9999-12-31'", Date(2932896)),
    ("d", "'2147483648'", Date(0)),
    ("d", "2147483648", Date(0)),
    ("d", "0", Date(-2147483648)),
    ("d", "'4294967295'", Date(2147483647)),
    # ISO_LOCAL_DATE years: a sign allows other than 4 digits (and years before 1).
    ("d", "'-0001-01-01'", Date(-719893)),
    ("d", "'+10000-01-01'", Date(2932897)),
    # time: hh:mm:ss[.fffffffff] (trimmed, fields may be one digit) or nanoseconds (TimeSerializer).
    ("tm", "'13:45:00.123456789'", Time(49500123456789)),
    ("tm", "'00:00:00'", Time(0)),
    ("tm", "'23:59:59.999999999'", Time(86399999999999)),
    ("tm", "'1:2:3'", Time(3723000000000)),
    ("tm", "'12:34:56.7'", Time(45296700000000)),
    ("tm", "' 12:00:00 '", Time(43200000000000)),
    ("tm", "1000", Time(1000)),
    ("tm", "'86399999999999'", Time(86399999999999)),
    # timestamp: millis, or y-M-d['T' or ' ']H:m[:s][.fraction] with an offset X / XXX / ' z'
    # (TimestampSerializer); the driver returns naive UTC datetimes.
    ("ts", "'2024-01-02 03:04:05.678+0000'", datetime.datetime(2024, 1, 2, 3, 4, 5, 678000)),
    ("ts", "'2024-01-02 03:04:05+0000'", datetime.datetime(2024, 1, 2, 3, 4, 5)),
    ("ts", "'2024-01-02T03:04:05.678Z'", datetime.datetime(2024, 1, 2, 3, 4, 5, 678000)),
    ("ts", "'2024-01-02T03:04:05+01:00'", datetime.datetime(2024, 1, 2, 2, 4, 5)),
    ("ts", "'2024-01-02 03:04+0000'", datetime.datetime(2024, 1, 2, 3, 4)),
    ("ts", "'2024-01-02 03:04:05 +0000'", datetime.datetime(2024, 1, 2, 3, 4, 5)),
    ("ts", "'2024-01-02 03:04:05 UTC'", datetime.datetime(2024, 1, 2, 3, 4, 5)),
    ("ts", "'2024-01-02 03:04:05.6+0000'", datetime.datetime(2024, 1, 2, 3, 4, 5, 600000)),
    ("ts", "'2024-01-02+0000'", datetime.datetime(2024, 1, 2)),
    # One-letter patterns (y-M-d H:m[:s]) take any number of digits; the SMART resolver clamps the day to
    # the month and reads 24:00 as the next midnight; zone text may be UTC/GMT with an offset.
    ("ts", "'2024-1-2 3:4:5+0000'", datetime.datetime(2024, 1, 2, 3, 4, 5)),
    ("ts", "'2024-01-02T03:04:05.123456789Z'", datetime.datetime(2024, 1, 2, 3, 4, 5, 123000)),
    ("ts", "'2024-02-30 01:00+0000'", datetime.datetime(2024, 2, 29, 1, 0)),
    ("ts", "'2024-01-02 24:00Z'", datetime.datetime(2024, 1, 3)),
    ("ts", "'2024-01-02 03:04:05 UTC+01:00'", datetime.datetime(2024, 1, 2, 2, 4, 5)),
    ("ts", "'2024-01-02 03:04:05 GMT-01:30'", datetime.datetime(2024, 1, 2, 4, 34, 5)),
    ("ts", "'2024-01-02z'", datetime.datetime(2024, 1, 2)),
    ("ts", "''", None),
    ("ts", "0", datetime.datetime(1970, 1, 1)),
    ("ts", "-1000", datetime.datetime(1969, 12, 31, 23, 59, 59)),
    ("ts", "'1700000000000'", datetime.datetime(2023, 11, 14, 22, 13, 20)),
    # vector<float, n>: a list literal of exactly n elements; INTEGER constants are valid floats.
    ("vec", "[1.5, 2, -3]", [1.5, 2.0, -3.0]),
    # blobAsX reinterprets valid bytes (functions/BytesConversionFcts).
    ("t", "blobAsText(0x6869)", "hi"),
    ("n", "blobAsInt(0x0000002a)", 42),
    # duration: the standard unit form, ISO 8601 designators, week form and alternative form
    # (cql3/DurationTest, validation/operations/CreateTest.testCreateTableWithDurationColumns).
    ("du", "1h30m", Duration(0, 0, 90 * NANOS_PER_MINUTE)),
    ("du", "1y2mo", Duration(14, 0, 0)),
    ("du", "-1y2mo", Duration(-14, 0, 0)),
    ("du", "1Y2MO", Duration(14, 0, 0)),
    ("du", "2w", Duration(0, 14, 0)),
    ("du", "2d10h", Duration(0, 2, 10 * NANOS_PER_HOUR)),
    ("du", "30h20m", Duration(0, 0, 30 * NANOS_PER_HOUR + 20 * NANOS_PER_MINUTE)),
    ("du", "567ms", Duration(0, 0, 567_000_000)),
    ("du", "1950us", Duration(0, 0, 1_950_000)),
    ("du", "1950µs", Duration(0, 0, 1_950_000)),
    ("du", "1950000NS", Duration(0, 0, 1_950_000)),
    ("du", "-1950000ns", Duration(0, 0, -1_950_000)),
    ("du", "1y3mo2h10m", Duration(15, 0, 130 * NANOS_PER_MINUTE)),
    ("du", "1y2mo3w4d5h6m7s8ms9us10ns",
     Duration(14, 25, 5 * NANOS_PER_HOUR + 6 * NANOS_PER_MINUTE + 7 * NANOS_PER_SECOND
              + 8_000_000 + 9_000 + 10)),
    ("du", "P1Y2D", Duration(12, 2, 0)),
    ("du", "-P1Y2M", Duration(-14, 0, 0)),
    ("du", "P2D", Duration(0, 2, 0)),
    ("du", "PT20M", Duration(0, 0, 20 * NANOS_PER_MINUTE)),
    ("du", "P2W", Duration(0, 14, 0)),
    ("du", "P1Y3MT2H10M", Duration(15, 0, 130 * NANOS_PER_MINUTE)),
    ("du", "P0000-00-00T30:20:00", Duration(0, 0, 30 * NANOS_PER_HOUR + 20 * NANOS_PER_MINUTE)),
    ("du", "P0001-03-00T02:10:00", Duration(15, 0, 130 * NANOS_PER_MINUTE)),
    ("du", "-P0001-02-00T00:00:00", Duration(-14, 0, 0)),
    # null is assignable to every non-counter column and reads back as null.
    ("n", "null", None),
    ("t", "null", None),
]


@pytest.mark.parametrize("index,column,literal,expected",
                         [(i, *case) for i, case in enumerate(LITERALS)],
                         ids=[f"{c}={lit}" for c, lit, _ in LITERALS])
def test_literal_round_trip(s, index, column, literal, expected):
    s.execute(f"INSERT INTO {KS}.lit (k, {column}) VALUES ({index}, {literal})")
    got = s.execute(f"SELECT {column} FROM {KS}.lit WHERE k = {index}").one()[0]
    assert same(got, expected), (got, expected)


def test_select_star_orders_regular_columns_by_name(s):
    # SELECT * lists the partition key, then the regular columns sorted by name (Columns ordering).
    names = s.execute(f"SELECT * FROM {KS}.lit LIMIT 1").column_names
    assert names == ["k"] + sorted(SCALAR_COLUMNS)


# ---------------------------------------------------------------------------------------------------
# Bound values: (column, value bound by the driver, the value read back).
# ---------------------------------------------------------------------------------------------------

BOUND = [
    ("a", "ascii only", "ascii only"),
    ("a", "", ""),
    ("t", "", ""),
    ("t", "ünïcödé ☃ \x00 nul", "ünïcödé ☃ \x00 nul"),
    ("vc", "x" * 5000, "x" * 5000),
    ("n", -2147483648, -2147483648),
    ("b", 9223372036854775807, 9223372036854775807),
    ("sm", -32768, -32768),
    ("ti", 127, 127),
    ("vi", -(10 ** 40), -(10 ** 40)),
    ("vi", 255, 255),
    ("de", Decimal("-123.4500"), Decimal("-123.4500")),
    ("de", Decimal("1E-30"), Decimal("1E-30")),
    ("f", 0.5, 0.5),
    ("f", math.inf, math.inf),
    ("db", math.nan, math.nan),
    ("db", -0.0, -0.0),
    ("db", 5e-324, 5e-324),
    ("bo", False, False),
    ("bl", b"", b""),
    ("bl", bytes(range(256)), bytes(range(256))),
    ("i", "10.0.0.1", "10.0.0.1"),
    ("i", "fe80::1", "fe80::1"),
    ("u", uuid.UUID("f47ac10b-58cc-4372-a567-0e02b2c3d479"), uuid.UUID("f47ac10b-58cc-4372-a567-0e02b2c3d479")),
    ("tu", uuid.UUID("50554d6e-29bb-11e5-b345-feff819cdc9f"),
     uuid.UUID("50554d6e-29bb-11e5-b345-feff819cdc9f")),
    ("d", Date(-719162), Date(-719162)),
    ("d", datetime.date(2000, 1, 1), Date(10957)),
    ("tm", Time(1), Time(1)),
    ("tm", datetime.time(23, 59, 59, 999999), Time(86399999999000)),
    ("ts", datetime.datetime(2024, 6, 1, 12, 0, 0, 123000), datetime.datetime(2024, 6, 1, 12, 0, 0, 123000)),
    ("ts", datetime.datetime(1900, 1, 1), datetime.datetime(1900, 1, 1)),
    ("du", Duration(1, 2, 3), Duration(1, 2, 3)),
    ("du", Duration(-12, -10, 0), Duration(-12, -10, 0)),
    ("du", Duration(0, 0, -1), Duration(0, 0, -1)),
    ("vec", [0.25, -1.0, 3.0], [0.25, -1.0, 3.0]),
    ("n", None, None),
]


@pytest.mark.parametrize("index,column,value,expected", [(i, *case) for i, case in enumerate(BOUND)],
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BOUND)])
def test_bound_round_trip(s, index, column, value, expected):
    insert = s.prepare(f"INSERT INTO {KS}.bound (k, {column}) VALUES (?, ?)")
    s.execute(insert, (index, value))
    got = s.execute(s.prepare(f"SELECT {column} FROM {KS}.bound WHERE k = ?"), (index,)).one()[0]
    assert same(got, expected), (got, expected)


def test_empty_values_of_fixed_size_types_read_as_null(s):
    # Int32Type, LongType, BooleanType, UUIDType, DoubleType... accept a zero-length value, which the driver
    # reads as null (Int32Serializer.validate: "Expected 4 or 0 byte int").
    insert = s.prepare(f"INSERT INTO {KS}.bound (k, n, b, bo, u, db, ts) VALUES (?, ?, ?, ?, ?, ?, ?)")
    bound = insert.bind((1000, 0, 0, False, uuid.uuid4(), 0.0, datetime.datetime(2000, 1, 1)))
    for position in range(1, 7):
        bound.values[position] = b""
    s.execute(bound)
    row = s.execute(f"SELECT k, n, b, bo, u, db, ts FROM {KS}.bound WHERE k = 1000").one()
    assert tuple(row) == (1000, None, None, None, None, None, None)


# ---------------------------------------------------------------------------------------------------
# Collections, tuples, UDTs and vectors.
# ---------------------------------------------------------------------------------------------------

COLLECTION_LITERALS = [
    # Lists keep order and duplicates, sets and maps are sorted by key and deduplicated.
    ("l", "[3, 1, 2, 1]", [3, 1, 2, 1]),
    ("st", "{'b', 'a', 'b'}", {"a", "b"}),
    ("m", "{'z': 1, 'a': 2}", {"a": 2, "z": 1}),
    ("fl", "[1, 2]", [1, 2]),
    ("fs", "{3, 1}", {1, 3}),
    ("fm", "{2: 'b', 1: 'a'}", {1: "a", 2: "b"}),
    ("nl", "[[1], [2, 3]]", [[1], [2, 3]]),
    ("nm", "{'x': {1, 2}}", {"x": {1, 2}}),
    # Tuples: missing trailing elements are null (Tuples.Literal).
    ("tup", "(1, 'a', true)", (1, "a", True)),
    ("tup", "(1, 'a')", (1, "a", None)),
    ("tup", "(1, null, null)", (1, None, None)),
    ("tt", "(1, ('b', 2))", (1, ("b", 2))),
    ("ld", "[1mo, 60d]", [Duration(1, 0, 0), Duration(0, 60, 0)]),
    ("md", "{'one month': 1mo, '60 days': 60d}", {"one month": Duration(1, 0, 0),
                                                   "60 days": Duration(0, 60, 0)}),
    ("td", "(1, 1mo)", (1, Duration(1, 0, 0))),
    ("vt", "['abc', 'defghij']", ["abc", "defghij"]),
    # Empty non-frozen collections are no cells at all: they read as null. Frozen ones are values.
    ("l", "[]", None),
    ("st", "{}", None),
    ("m", "{}", None),
    ("fl", "[]", []),
    ("fs", "{}", set()),
    ("fm", "{}", {}),
]


@pytest.mark.parametrize("index,column,literal,expected",
                         [(i, *case) for i, case in enumerate(COLLECTION_LITERALS)],
                         ids=[f"{c}={lit}" for c, lit, _ in COLLECTION_LITERALS])
def test_collection_literal_round_trip(s, index, column, literal, expected):
    s.execute(f"INSERT INTO {KS}.coll (k, {column}) VALUES ({index}, {literal})")
    got = s.execute(f"SELECT {column} FROM {KS}.coll WHERE k = {index}").one()[0]
    assert plain(got) == expected


def test_udt_literals_frozen_and_not(s):
    s.execute(f"INSERT INTO {KS}.coll (k, u, fu, p, lu) VALUES (100, {{street: 's', zip: 1}}, "
              "{zip: 2}, {name: 'n', addrs: [{street: 'a', zip: 3}]}, [{street: 'q'}])")
    row = s.execute(f"SELECT u, fu, p, lu, u.zip, fu.street FROM {KS}.coll WHERE k = 100").one()
    assert (row.u.street, row.u.zip) == ("s", 1)
    assert (row.fu.street, row.fu.zip) == (None, 2)  # unset fields of a UDT literal are null
    assert row.p.name == "n" and [(a.street, a.zip) for a in row.p.addrs] == [("a", 3)]
    assert [(a.street, a.zip) for a in row.lu] == [("q", None)]
    assert (row[4], row[5]) == (1, None)


def test_collections_tuples_and_udts_as_bound_values(s):
    # UDTs not registered with the driver are bound as tuples of their fields, in declaration order.
    insert = s.prepare(f"INSERT INTO {KS}.coll (k, l, st, m, fl, fs, fm, nl, nm, tup, tt, u, fu, p, vt) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    s.execute(insert, (101, [5, 4, 5], {"q", "p"}, {"k": 9}, [7], {2, 1}, {3: "c"}, [[1, 2], []],
                       {"e": set()}, (2, "x", False), (3, ("y", 4)), ("st", 7), (None, 8), ("pp", []),
                       ["a", "bb"]))
    row = s.execute(f"SELECT l, st, m, fl, fs, fm, nl, nm, tup, tt, u, fu, p, vt FROM {KS}.coll "
                    "WHERE k = 101").one()
    assert plain(row.l) == [5, 4, 5] and plain(row.st) == {"p", "q"} and plain(row.m) == {"k": 9}
    assert plain(row.fl) == [7] and plain(row.fs) == {1, 2} and plain(row.fm) == {3: "c"}
    assert plain(row.nl) == [[1, 2], []] and plain(row.nm) == {"e": set()}
    assert plain(row.tup) == (2, "x", False) and plain(row.tt) == (3, ("y", 4))
    assert (row.u.street, row.u.zip, row.fu.street, row.fu.zip) == ("st", 7, None, 8)
    assert row.p.name == "pp" and row.p.addrs == [] and row.vt == ["a", "bb"]


def test_frozen_collection_as_primary_key(s):
    s.execute(f"CREATE TABLE {KS}.fpk (k frozen<list<int>>, c frozen<map<text, int>>, v int, "
              "PRIMARY KEY (k, c))")
    s.execute(f"INSERT INTO {KS}.fpk (k, c, v) VALUES ([1, 2], {{'b': 2, 'a': 1}}, 3)")
    row = s.execute(f"SELECT k, c, v FROM {KS}.fpk WHERE k = [1, 2] AND c = {{'a': 1, 'b': 2}}").one()
    assert (plain(row.k), plain(row.c), row.v) == ([1, 2], {"a": 1, "b": 2}, 3)


# ---------------------------------------------------------------------------------------------------
# Values that do not fit: (statement, the exact message Cassandra gives).
# ---------------------------------------------------------------------------------------------------

T = f"{KS}.lit"
LITERAL_ERRORS = [
    # Constants.Literal.prepare: a literal kind not assignable to the receiver's type.
    (f"INSERT INTO {T} (k, n) VALUES (1, 'abc')", 'Invalid STRING constant (abc) for "n" of type int'),
    (f"INSERT INTO {T} (k, t) VALUES (1, 5)", 'Invalid INTEGER constant (5) for "t" of type text'),
    (f"INSERT INTO {T} (k, n) VALUES (1, 1.5)", 'Invalid FLOAT constant (1.5) for "n" of type int'),
    (f"INSERT INTO {T} (k, vi) VALUES (1, 1.5)", 'Invalid FLOAT constant (1.5) for "vi" of type varint'),
    (f"INSERT INTO {T} (k, b) VALUES (1, 1.0)", 'Invalid FLOAT constant (1.0) for "b" of type bigint'),
    (f"INSERT INTO {T} (k, b) VALUES (1, '5')", 'Invalid STRING constant (5) for "b" of type bigint'),
    (f"INSERT INTO {T} (k, f) VALUES (1, true)", 'Invalid BOOLEAN constant (true) for "f" of type float'),
    (f"INSERT INTO {T} (k, db) VALUES (1, 0x01)", 'Invalid HEX constant (0x01) for "db" of type double'),
    (f"INSERT INTO {T} (k, bo) VALUES (1, 'true')",
     'Invalid STRING constant (true) for "bo" of type boolean'),
    (f"INSERT INTO {T} (k, bl) VALUES (1, 'abc')", 'Invalid STRING constant (abc) for "bl" of type blob'),
    (f"INSERT INTO {T} (k, u) VALUES (1, 'not-a-uuid')",
     'Invalid STRING constant (not-a-uuid) for "u" of type uuid'),
    (f"INSERT INTO {T} (k, u) VALUES (1, '123e4567-e89b-12d3-a456-426614174000')",
     'Invalid STRING constant (123e4567-e89b-12d3-a456-426614174000) for "u" of type uuid'),
    (f"INSERT INTO {T} (k, de) VALUES (1, 'abc')",
     'Invalid STRING constant (abc) for "de" of type decimal'),
    (f"INSERT INTO {T} (k, du) VALUES (1, '1h')", 'Invalid STRING constant (1h) for "du" of type duration'),
    # Int32Type/ShortType/ByteType/LongType.fromString name the Java type.
    (f"INSERT INTO {T} (k, n) VALUES (1, 2147483648)", "Unable to make int from '2147483648'"),
    (f"INSERT INTO {T} (k, n) VALUES (1, -2147483649)", "Unable to make int from '-2147483649'"),
    (f"INSERT INTO {T} (k, sm) VALUES (1, 32768)", "Unable to make short from '32768'"),
    (f"INSERT INTO {T} (k, ti) VALUES (1, -129)", "Unable to make byte from '-129'"),
    (f"INSERT INTO {T} (k, b) VALUES (1, 9223372036854775808)", "Unable to make long from '9223372036854775808'"),
    # DecimalType.fromString (new BigDecimal refuses NaN and Infinity).
    (f"INSERT INTO {T} (k, de) VALUES (1, NaN)", "unable to make BigDecimal from 'NaN'"),
    # TimeUUIDType.fromString.
    (f"INSERT INTO {T} (k, tu) VALUES (1, f47ac10b-58cc-4372-a567-0e02b2c3d479)",
     "TimeUUID supports only version 1 UUIDs"),
    # BytesType.fromString (Constants.Literal passes the digits after 0x).
    (f"INSERT INTO {T} (k, bl) VALUES (1, 0xabc)", "cannot parse 'abc' as hex bytes"),
    # Duration.from / Duration.Builder (cql3/DurationTest.testInvalidDurations).
    (f"INSERT INTO {T} (k, du) VALUES (1, 12s3s)", "Invalid duration. The seconds are specified multiple times"),
    (f"INSERT INTO {T} (k, du) VALUES (1, 12s3m)", "Invalid duration. The seconds should be after minutes"),
    (f"INSERT INTO {T} (k, du) VALUES (1, 1Y3M4D)", "Invalid duration. The minutes should be after days"),
    (f"INSERT INTO {T} (k, du) VALUES (1, 9223372036854775807d)",
     "Invalid duration. The total number of days must be less or equal to 2147483647"),
    (f"INSERT INTO {T} (k, du) VALUES (1, 5)", "Unable to convert '5' to a duration"),
    # SimpleDateSerializer.parseRaw: day numbers are unsigned 32-bit.
    (f"INSERT INTO {T} (k, d) VALUES (1, '-1')", "Unable to make unsigned int (for date) from: '-1'"),
    (f"INSERT INTO {T} (k, d) VALUES (1, '4294967296')",
     "Unable to make unsigned int (for date) from: '4294967296'"),
    # SimpleDateSerializer.dateStringToDays: STRICT ISO_LOCAL_DATE, then the int day range.
    (f"INSERT INTO {T} (k, d) VALUES (1, '2024-02-30')", "Unable to coerce '2024-02-30' to a formatted date (long)"),
    (f"INSERT INTO {T} (k, d) VALUES (1, '10000-01-01')",
     "Unable to coerce '10000-01-01' to a formatted date (long)"),
    (f"INSERT INTO {T} (k, d) VALUES (1, '+5881580-07-12')",
     "Input date +5881580-07-12 is greater than max supported date +5881580-07-11T00:00Z"),
    # TimeSerializer.timeStringToLong.
    (f"INSERT INTO {T} (k, tm) VALUES (1, '13:45')", "(TimeType) Unable to coerce '13:45' to a formatted time (long)"),
    (f"INSERT INTO {T} (k, tm) VALUES (1, '24:00:00')",
     "(TimeType) Unable to coerce '24:00:00' to a formatted time (long)"),
    (f"INSERT INTO {T} (k, tm) VALUES (1, '12:00:00.1234567890')",
     "(TimeType) Unable to coerce '12:00:00.1234567890' to a formatted time (long)"),
    (f"INSERT INTO {T} (k, tm) VALUES (1, '86400000000000')",
     "Unable to make long (for time) from: '86400000000000'"),
    # TimestampSerializer.dateStringToTimestamp.
    (f"INSERT INTO {T} (k, ts) VALUES (1, 'garbage')", "Unable to parse a date/time from 'garbage'"),
    (f"INSERT INTO {T} (k, ts) VALUES (1, '2024-13-01 00:00:00+0000')",
     "Unable to parse a date/time from '2024-13-01 00:00:00+0000'"),
    (f"INSERT INTO {T} (k, ts) VALUES (1, '2024-01-02 03:04.5+0000')",
     "Unable to parse a date/time from '2024-01-02 03:04.5+0000'"),
    # InetAddressType.fromString.
    (f"INSERT INTO {T} (k, i) VALUES (1, '1.2.3.4.5')", "Unable to make inet address from '1.2.3.4.5'"),
    # VectorType literal checks (validation/operations/CQLVectorTest).
    (f"INSERT INTO {T} (k, vec) VALUES (1, [1.0, 2.0])",
     "Invalid vector literal for vec of type vector<float, 3>; expected 3 elements, but given 2"),
    # functions/BytesConversionFcts: blobAsX validates the bytes as an X.
    (f"INSERT INTO {T} (k, t) VALUES (1, blobAsText(0xfffe))",
     "In call to function system.blobastext, value 0xfffe is not a valid binary representation for type text"),
    (f"INSERT INTO {T} (k, b) VALUES (1, blobAsBigint(0x0000007b))",
     "In call to function system.blobasbigint, value 0x0000007b is not a valid binary representation for type "
     "bigint"),
    # UpdateStatement.ParsedInsert.
    (f"INSERT INTO {T} (k, n) VALUES (1)", "Unmatched column names/values"),
    # A null partition key (ModificationStatement / StatementRestrictions).
    (f"INSERT INTO {T} (k) VALUES (null)", "Invalid null value in condition for column k"),
    # Collections: null elements and literal kinds (Lists/Sets/Maps.Literal, Tuples, UserTypes).
    (f"INSERT INTO {KS}.coll (k, l) VALUES (1, [1, null])", "null is not supported inside collections"),
    (f"INSERT INTO {KS}.coll (k, st) VALUES (1, {{'a', null}})", "null is not supported inside collections"),
    (f"INSERT INTO {KS}.coll (k, m) VALUES (1, {{'a': null}})", "null is not supported inside collections"),
    (f"INSERT INTO {KS}.coll (k, l) VALUES (1, {{1, 2}})", "Invalid set literal for l of type list<int>"),
    (f"INSERT INTO {KS}.coll (k, m) VALUES (1, {{'a': 'b'}})",
     'Invalid STRING constant (b) for "m" of type int'),
    (f"INSERT INTO {KS}.coll (k, tup) VALUES (1, (1, 'a', true, 4))",
     "Invalid tuple literal for tup: too many elements. Type frozen<tuple<int, text, boolean>> expects 3 "
     "but got 4"),
    (f"INSERT INTO {KS}.coll (k, u) VALUES (1, {{nope: 1}})",
     "Unknown field 'nope' in value of user defined type addr"),
]


@pytest.mark.parametrize("statement,message", LITERAL_ERRORS, ids=[m[:60] for _, m in LITERAL_ERRORS])
def test_literal_errors(s, statement, message):
    with pytest.raises(InvalidRequest) as caught:
        s.execute(statement)
    assert server_message(caught.value) == message


def test_non_ascii_in_ascii_literal(s):
    # AsciiType.fromString: "Invalid ASCII character in string literal: <the encoder's exception>".
    with pytest.raises(InvalidRequest) as caught:
        s.execute(f"INSERT INTO {T} (k, a) VALUES (1, 'é')")
    assert server_message(caught.value) == ("Invalid ASCII character in string literal: "
                                            "java.nio.charset.UnmappableCharacterException: Input length = 1")


# Bound values of the wrong size: (column, raw bytes, the serializer's validate() message, which
# Constants.Marker.bindAndGet passes on unchanged). The driver serialises by the prepared metadata, so the
# raw bytes are put into the BoundStatement after bind().
BOUND_ERRORS = [
    ("n", b"\x00\x00\x01", "Expected 4 or 0 byte int (3)"),
    ("n", b"\x00" * 5, "Expected 4 or 0 byte int (5)"),
    ("b", b"\x00" * 4, "Expected 8 or 0 byte long (4)"),
    ("sm", b"\x00" * 4, "Expected 2 bytes for a smallint (4)"),
    ("sm", b"", "Expected 2 bytes for a smallint (0)"),
    ("ti", b"\x00" * 4, "Expected 1 byte for a tinyint (4)"),
    ("ti", b"", "Expected 1 byte for a tinyint (0)"),
    ("d", b"\x00" * 8, "Expected 4 byte long for date (8)"),
    ("d", b"", "Expected 4 byte long for date (0)"),
    ("tm", b"\x00" * 4, "Expected 8 byte long for time (4)"),
    ("tm", b"", "Expected 8 byte long for time (0)"),
    ("ts", b"\x00" * 4, "Expected 8 or 0 byte long for date (4)"),
    ("u", b"\x00" * 4, "UUID should be 16 or 0 bytes (4)"),
    ("bo", b"\x00\x00", "Expected 1 or 0 byte value (2)"),
    ("f", b"\x00" * 8, "Expected 4 or 0 byte value for a float (8)"),
    ("db", b"\x00" * 4, "Expected 8 or 0 byte value for a double (4)"),
    ("t", b"\xff\xfe", "String didn't validate."),
    ("du", b"\x01", "Expected at least 3 bytes for a duration (1)"),
    ("du", b"", "Expected at least 3 bytes for a duration (0)"),
]


@pytest.mark.parametrize("column,raw,message", BOUND_ERRORS, ids=[f"{c}-{m}" for c, _, m in BOUND_ERRORS])
def test_bound_value_of_wrong_size(s, column, raw, message):
    bound = s.prepare(f"INSERT INTO {KS}.bound (k, {column}) VALUES (?, ?)").bind((1, None))
    bound.values[1] = raw
    with pytest.raises(InvalidRequest) as caught:
        s.execute(bound)
    assert server_message(caught.value) == message


# ---------------------------------------------------------------------------------------------------
# Types refused in schemas (CreateTableStatement.builder, CQL3Type.Raw*, VectorType).
# ---------------------------------------------------------------------------------------------------

DDL_TYPE_ERRORS = [
    ("CREATE TABLE {ks}.e1 (k counter PRIMARY KEY)",
     "counter type is not supported for PRIMARY KEY column 'k'"),
    ("CREATE TABLE {ks}.e2 (k int PRIMARY KEY, c counter, v int)",
     "Cannot mix counter and non counter columns in the same table"),
    ("CREATE TABLE {ks}.e3 (k int PRIMARY KEY, c counter) WITH default_time_to_live = 10",
     "Cannot set default_time_to_live on a table with counters"),
    ("CREATE TABLE {ks}.e4 (k int PRIMARY KEY, s int static)",
     "Static columns are only useful (and thus allowed) if the table has at least one clustering column"),
    ("CREATE TABLE {ks}.e5 (k int PRIMARY KEY, u nosuchtype)", "Unknown type {ks}.nosuchtype"),
]


@pytest.mark.parametrize("statement,message", DDL_TYPE_ERRORS, ids=[m[:50] for _, m in DDL_TYPE_ERRORS])
def test_types_refused_in_schemas(s, statement, message):
    with pytest.raises(InvalidRequest) as caught:
        s.execute(statement.format(ks=KS))
    assert server_message(caught.value) == message.format(ks=KS)


def test_user_types_stay_in_their_keyspace(s):
    s.execute("CREATE KEYSPACE IF NOT EXISTS conf_types_other WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    with pytest.raises(InvalidRequest) as caught:
        s.execute(f"CREATE TABLE conf_types_other.t (k int PRIMARY KEY, a {KS}.addr)")
    assert server_message(caught.value) == (
        f"Statement on keyspace conf_types_other cannot refer to a user type in keyspace {KS}; user types "
        "can only be used in the keyspace they are defined in")
