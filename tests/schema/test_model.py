"""Tests for ferrosa.schema.model: identifiers, types, structs, schema versions, replication."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from ferrosa.schema.errors import (ConfigurationError, CqlSyntaxError, InvalidRequest,
                                   KeyspaceNotDefined, SchemaError)
from ferrosa.schema.model import (
    NETWORK_TOPOLOGY_STRATEGY, SIMPLE_STRATEGY, ColumnMetadata, CqlType, KeyspaceMetadata,
    Schema, TableMetadata, UserType, is_multi_cell, is_system_keyspace,
    keyspace_from_properties, maybe_quote, new_table, normalize_replication, parse_cql_type,
    referenced_udts, references_duration, replication_factor_of, system_table_id, validate_name,
    validate_replication_factor)
from ferrosa.schema.options import build_table_options
from ferrosa.schema.system_tables import initial_schema

KS_ID = uuid.UUID("5a1c395e-b41f-11e5-9f22-ba0be0483c18")


def simple_ks(name: str = "ks", rf: int = 1) -> KeyspaceMetadata:
    return KeyspaceMetadata(name, {"class": SIMPLE_STRATEGY, "replication_factor": str(rf)})


def users_table(ks: str = "ks") -> TableMetadata:
    return new_table(ks, "users", [("id", "int"), ("name", "text")], ["id"], table_id=KS_ID)


# --------------------------------------------------------------------------- identifiers

@pytest.mark.parametrize("name, quoted", [
    ("users", "users"), ("user_2", "user_2"), ("Users", '"Users"'), ("2users", '"2users"'),
    ("select", '"select"'), ("token", '"token"'), ("desc", '"desc"'), ("key", "key"),
    ("ttl", "ttl"), ("with space", '"with space"'), ('a"b', '"a""b"'), ("", '""'),
    ("café", '"café"'),
])
def test_maybe_quote(name: str, quoted: str) -> None:
    assert maybe_quote(name) == quoted


def test_validate_name_messages() -> None:
    validate_name("Keyspace", "ks_1")
    with pytest.raises(ConfigurationError) as err:
        validate_name("Keyspace", "bad-name")
    assert err.value.message == ('Keyspace name must not be empty, more than 48 characters '
                                 'long, or contain non-alphanumeric-underscore characters '
                                 '(got "bad-name")')
    with pytest.raises(ConfigurationError):
        validate_name("Table", "x" * 49)
    with pytest.raises(ConfigurationError):
        validate_name("Table", "")


def test_system_table_ids_match_cassandra() -> None:
    # TableId.forSystemTable values as Cassandra reports them.
    assert str(system_table_id("system", "local")) == "7ad54392-bcdd-35a6-8417-4e047860b377"
    assert str(system_table_id("system", "IndexInfo")) == "9f5c6374-d485-3229-9a0a-5094af9ad1e3"


def test_is_system_keyspace() -> None:
    for name in ("system", "system_schema", "system_auth", "system_traces",
                 "system_distributed", "system_views", "system_virtual_schema"):
        assert is_system_keyspace(name)
    assert not is_system_keyspace("ks")


# --------------------------------------------------------------------------- types

@pytest.mark.parametrize("text, multi, udts", [
    ("int", False, []),
    ("map<text, int>", True, []),
    ("frozen<list<int>>", False, []),
    ("set<frozen<address>>", True, ["address"]),
    ("address", True, ["address"]),
    ("frozen<address>", False, ["address"]),
    ('frozen<"Addr">', False, ["Addr"]),
    ("vector<float, 3>", False, []),
    ("frozen<tuple<text, int, frozen<tuple<timestamp>>>>", False, []),
    ("map<frozen<a>, frozen<list<frozen<b>>>>", True, ["a", "b"]),
    ("'org.apache.cassandra.db.marshal.BytesType'", False, []),
])
def test_type_properties(text: str, multi: bool, udts: list[str]) -> None:
    assert is_multi_cell(text) is multi
    assert referenced_udts(text) == udts


def test_parse_cql_type_structure() -> None:
    assert parse_cql_type("vector<float, 3>") == CqlType("vector", (CqlType("float"), 3))
    assert parse_cql_type("map<text, frozen<list<int>>>") == CqlType(
        "map", (CqlType("text"), CqlType("frozen", (CqlType("list", (CqlType("int"),)),))))


@pytest.mark.parametrize("text", ["", "map<", "list<int", "list<int>>", "a b", "<int>",
                                  "map<int,>", "list<int>x", "frozen<list<int>,>", "3"])
def test_parse_cql_type_rejects_malformed(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_cql_type(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='abcint<>, "\'0123frozen', max_size=30))
def test_parse_cql_type_parses_or_raises(text: str) -> None:
    try:
        node = parse_cql_type(text)
    except ConfigurationError:
        return
    assert isinstance(node, CqlType)


# --------------------------------------------------------------------------- tables

def test_new_table_builds_key_columns_and_orders() -> None:
    t = new_table("ks", "events",
                  [("p1", "text"), ("p2", "int"), ("ts", "timestamp"), ("seq", "int"),
                   ("s", "decimal"), ("zz", "text"), ("aa", "list<int>"), ("mm", "int")],
                  ["p1", "p2"], ["ts", "seq"], {"ts": "DESC"}, static={"s"})
    assert [c.name for c in t.columns] == ["p1", "p2", "ts", "seq", "s", "zz", "aa", "mm"]
    assert t.column("ts") == ColumnMetadata("ts", "timestamp", "clustering", 0, "desc")
    assert t.column("seq") == ColumnMetadata("seq", "int", "clustering", 1, "asc")
    assert t.column("p2") == ColumnMetadata("p2", "int", "partition_key", 1, "none")
    assert t.column("s") == ColumnMetadata("s", "decimal", "static", -1, "none")
    # Cassandra's create order: keys, statics, then simple regulars before complex ones.
    assert [c.name for c in t.create_order] == ["p1", "p2", "ts", "seq", "s", "mm", "zz", "aa"]
    assert [c.name for c in t.select_order] == ["p1", "p2", "ts", "seq", "s", "aa", "mm", "zz"]
    assert t.flags == ["compound"]
    assert str(t) == "ks.events"


def test_counter_table_flags() -> None:
    t = new_table("ks", "c", [("k", "int"), ("n", "counter")], ["k"])
    assert t.flags == ["compound", "counter"]


ADDR = UserType("ks", "addr", ("street", "tags"), ("text", "list<text>"))
SPAN = UserType("ks", "span", ("length",), ("duration",))
UDTS = {"addr": ADDR, "span": SPAN}


@pytest.mark.parametrize("kwargs, message", [
    # CreateTableStatement.builder, in its order.
    ({"columns": [("a", "int"), ("a", "text")], "partition_key": ["a"]},
     "Multiple definition of identifier a"),
    ({"columns": [("a", "int")], "partition_key": []},
     "No PRIMARY KEY specifed for table 't' (exactly one required)"),
    ({"columns": [("a", "int")], "partition_key": ["b"]},
     "Unknown column 'b' referenced in PRIMARY KEY for table 't'"),
    ({"columns": [("a", "int"), ("b", "int")], "partition_key": ["a"], "clustering": ["a"]},
     "Duplicate column 'a' in PRIMARY KEY clause for table 't'"),
    ({"columns": [("a", "int"), ("s", "int")], "partition_key": ["a"], "static": {"s"}},
     "Static columns are only useful (and thus allowed) if the table has at least one "
     "clustering column"),
    ({"columns": [("a", "int"), ("s", "int")], "partition_key": ["a"], "clustering": ["s"],
      "static": {"s"}},
     "Static column 's' cannot be part of the PRIMARY KEY"),
    ({"columns": [("a", "list<int>")], "partition_key": ["a"]},
     "Invalid non-frozen collection type list<int> for PRIMARY KEY column 'a'"),
    ({"columns": [("a", "int"), ("b", "map<text, frozen<addr>>")], "partition_key": ["a"],
      "clustering": ["b"]},
     "Invalid non-frozen collection type map<text, frozen<addr>> for PRIMARY KEY column 'b'"),
    ({"columns": [("a", "span")], "partition_key": ["a"]},
     'Invalid non-frozen user-defined type "ks.span" for PRIMARY KEY column \'a\''),
    ({"columns": [("a", "counter")], "partition_key": ["a"]},
     "counter type is not supported for PRIMARY KEY column 'a'"),
    ({"columns": [("a", "int"), ("d", "duration")], "partition_key": ["a"], "clustering": ["d"]},
     "duration type is not supported for PRIMARY KEY column 'd'"),
    ({"columns": [("a", "frozen<map<text, list<frozen<tuple<int, duration>>>>>")],
      "partition_key": ["a"]},
     "duration type is not supported for PRIMARY KEY column 'a'"),
    ({"columns": [("a", "int"), ("u", "frozen<span>")], "partition_key": ["a"],
      "clustering": ["u"]},
     "duration type is not supported for PRIMARY KEY column 'u'"),
    ({"columns": [("a", "int"), ("u", "addr")], "partition_key": ["a"]},
     "Non-frozen UDTs with nested non-frozen collections are not supported"),
    ({"columns": [("a", "int"), ("b", "int"), ("c", "int")], "partition_key": ["a"],
      "clustering": ["b"], "clustering_order": {"c": "asc"}},
     "Only clustering key columns can be defined in CLUSTERING ORDER directive: [c] are not "
     "clustering columns"),
    ({"columns": [("a", "int"), ("b", "int"), ("c", "int")], "partition_key": ["a"],
      "clustering": ["b", "c"], "clustering_order": {"c": "asc", "b": "desc"}},
     "The order of columns in the CLUSTERING ORDER directive must match that of the "
     "clustering columns (b must appear before c)"),
    ({"columns": [("a", "int"), ("b", "int"), ("c", "int")], "partition_key": ["a"],
      "clustering": ["b", "c"], "clustering_order": {"c": "asc"}},
     "Missing CLUSTERING ORDER for column b"),
    ({"columns": [("a", "int"), ("n", "counter"), ("v", "int")], "partition_key": ["a"]},
     "Cannot mix counter and non counter columns in the same table"),
])
def test_new_table_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        new_table("ks", "t", user_types=UDTS, **kwargs)
    assert err.value.message == message


def test_new_table_accepts_what_cassandra_accepts() -> None:
    t = new_table("ks", "t", [("a", "frozen<addr>"), ("b", "int"), ("u", "frozen<addr>"),
                              ("s", "span"), ("d", "list<duration>")],
                  ["a"], ["b"], {"b": "desc"}, user_types=UDTS)
    assert t.column("b").clustering_order == "desc"
    assert t.column("s").is_complex


def test_duration_references() -> None:
    assert references_duration("duration", {})
    assert references_duration("map<text, frozen<tuple<int, duration>>>", {})
    assert references_duration("frozen<span>", UDTS)
    assert not references_duration("frozen<addr>", UDTS)
    assert not references_duration('"duration"', {})  # a UDT that happens to be called so


def test_add_column_refuses_nested_multi_cell_udt() -> None:
    t = new_table("ks", "t", [("k", "int")], ["k"])
    with pytest.raises(InvalidRequest) as err:
        t.with_column_added("u", "addr", user_types=UDTS)
    assert err.value.message == ("Non-frozen UDTs with nested non-frozen collections are not "
                                 "supported for column u")
    assert t.with_column_added("u", "frozen<addr>", user_types=UDTS).column("u") is not None


def test_table_invariants_are_checked() -> None:
    with pytest.raises(ValueError):
        TableMetadata("ks", "t", KS_ID, (ColumnMetadata("a", "int"),), ("a",))


def test_add_and_drop_columns() -> None:
    t = new_table("ks", "t", [("k", "int"), ("c", "int"), ("v", "text")], ["k"], ["c"])
    t2 = t.with_column_dropped("v", 1589286942065000)
    assert t2.column("v") is None
    assert t2.dropped_columns["v"].dropped_time == 1589286942065000
    t3 = t2.with_column_added("v", "text")
    assert t3.column("v") is not None and "v" in t3.dropped_columns
    with pytest.raises(InvalidRequest, match="Cannot re-add previously dropped column 'v'"):
        t2.with_column_added("v", "int")
    with pytest.raises(InvalidRequest, match="Column with name 'k' already exists"):
        t.with_column_added("k", "int")
    with pytest.raises(InvalidRequest, match="Cannot drop PRIMARY KEY column c"):
        t.with_column_dropped("c", 1)
    with pytest.raises(InvalidRequest, match="Column nope was not found in table 'ks.t'"):
        t.with_column_dropped("nope", 1)
    static = t.with_column_added("s", "int", static=True)
    assert static.column("s").kind == "static"


# --------------------------------------------------------------------------- schema

def test_schema_lookup_errors() -> None:
    s = Schema().with_keyspace(simple_ks()).with_table(users_table())
    assert s.get_table("ks", "users").name == "users"
    assert s.table("ks", "nope") is None and s.keyspace("nope") is None
    with pytest.raises(KeyspaceNotDefined) as err:
        s.get_table("nope", "users")
    assert err.value.message == "keyspace nope does not exist"
    with pytest.raises(InvalidRequest) as err2:
        s.get_table("ks", "nope")
    assert err2.value.message == "table nope does not exist"


def test_schema_is_copy_on_write() -> None:
    s1 = Schema().with_keyspace(simple_ks())
    s2 = s1.with_table(users_table())
    assert "users" not in s1.keyspaces["ks"].tables
    assert s2.without_table("ks", "users").keyspaces["ks"].tables == {}
    assert "ks" not in s2.without_keyspace("ks").keyspaces
    ut = UserType("ks", "addr", ("street",), ("text",))
    s3 = s2.with_type(ut)
    assert s3.keyspaces["ks"].types["addr"] == ut
    assert s3.without_type("ks", "addr").keyspaces["ks"].types == {}


def test_schema_version_stable_for_equal_content() -> None:
    a = Schema().with_keyspace(simple_ks("a")).with_keyspace(simple_ks("b"))
    b = Schema().with_keyspace(simple_ks("b")).with_keyspace(simple_ks("a"))
    assert a.version == b.version == a.schema_version()
    assert a.version.version == 3
    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(a), type=Schema)
    assert decoded.version == a.version


def test_schema_version_changes_on_every_change() -> None:
    base = initial_schema().with_keyspace(simple_ks()).with_table(users_table())
    table = base.get_table("ks", "users")
    changed = [
        base.with_keyspace(simple_ks("other")),
        base.without_table("ks", "users"),
        base.with_keyspace(msgspec.structs.replace(base.keyspaces["ks"], durable_writes=False)),
        base.with_keyspace(msgspec.structs.replace(
            base.keyspaces["ks"], replication={"class": SIMPLE_STRATEGY,
                                               "replication_factor": "3"})),
        base.with_table(table.with_column_added("age", "int")),
        base.with_table(table.with_column_dropped("name", 1)),
        base.with_table(table.with_options(build_table_options({"comment": "x"}))),
        base.with_type(UserType("ks", "addr", ("street",), ("text",))),
        base.with_table(msgspec.structs.replace(table, id=uuid.uuid4())),
    ]
    versions = {base.version} | {s.version for s in changed}
    assert len(versions) == len(changed) + 1


def test_schema_version_ignores_local_system_keyspaces() -> None:
    # Like Cassandra's digest, node-local keyspaces do not contribute.
    plain = Schema().with_keyspace(simple_ks())
    full = initial_schema().with_keyspace(simple_ks())
    stripped = {k: v for k, v in full.keyspaces.items() if k not in ("system", "system_schema")}
    assert Schema(stripped).version == full.version
    assert plain.version != full.version  # the replicated system keyspaces count


# --------------------------------------------------------------------------- replication

DCS = ["dc1", "dc2"]


@pytest.mark.parametrize("given_map, expected", [
    ({"class": "SimpleStrategy", "replication_factor": 3},
     {"class": SIMPLE_STRATEGY, "replication_factor": "3"}),
    ({"class": SIMPLE_STRATEGY, "replication_factor": "1"},
     {"class": SIMPLE_STRATEGY, "replication_factor": "1"}),
    ({"class": "SimpleStrategy"}, {"class": SIMPLE_STRATEGY, "replication_factor": "1"}),
    ({"class": "NetworkTopologyStrategy", "dc1": 3},
     {"class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "3"}),
    ({"class": "NetworkTopologyStrategy", "replication_factor": 2},
     {"class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "2", "dc2": "2"}),
    ({"class": "NetworkTopologyStrategy", "replication_factor": 2, "dc2": 1},
     {"class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "2", "dc2": "1"}),
])
def test_normalize_replication(given_map: dict, expected: dict) -> None:
    assert normalize_replication(given_map, "ks", DCS) == expected


def test_simple_strategy_keeps_previous_rf_on_alter() -> None:
    previous = {"class": SIMPLE_STRATEGY, "replication_factor": "3"}
    assert normalize_replication({"class": "SimpleStrategy"}, "ks", DCS, previous) == previous
    # ALTER from SimpleStrategy to NetworkTopologyStrategy without factors keeps the factor.
    assert normalize_replication({"class": "NetworkTopologyStrategy"}, "ks", DCS, previous) == {
        "class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "3", "dc2": "3"}


def test_nts_alter_keeps_existing_dcs_and_drops_zero() -> None:
    previous = {"class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "5"}
    assert normalize_replication({"class": "NetworkTopologyStrategy", "replication_factor": 2},
                                 "ks", DCS, previous) == {
        "class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "5", "dc2": "2"}
    assert normalize_replication({"class": "NetworkTopologyStrategy", "dc1": 3, "dc2": 0},
                                 "ks", DCS) == {"class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "3"}


@pytest.mark.parametrize("given_map, error, message", [
    ({"replication_factor": 1}, ConfigurationError, "Missing replication strategy class"),
    ({"class": "FooStrategy"}, ConfigurationError,
     "Unable to find replication strategy class 'org.apache.cassandra.locator.FooStrategy'"),
    ({"class": "LocalStrategy"}, InvalidRequest,
     "Unable to use given strategy class: LocalStrategy is reserved for internal use."),
    ({"class": "SimpleStrategy", "replication_factor": 1, "dc1": 1}, ConfigurationError,
     "Unrecognized strategy option {dc1} passed to SimpleStrategy for keyspace ks"),
    ({"class": "NetworkTopologyStrategy", "dc9": 1}, ConfigurationError,
     "Unrecognized strategy option {dc9} passed to NetworkTopologyStrategy for keyspace ks"),
    ({"class": "NetworkTopologyStrategy"}, ConfigurationError,
     "Configuration for at least one datacenter must be present"),
    ({"class": "SimpleStrategy", "replication_factor": "x"}, ConfigurationError,
     'For input string: "x"'),
    ({"class": "SimpleStrategy", "replication_factor": -1}, ConfigurationError,
     "Replication factor must be non-negative, found -1"),
    ({"class": "SimpleStrategy", "replication_factor": "3/1"}, ConfigurationError,
     "Transient replication is not enabled on this node"),
])
def test_normalize_replication_errors(given_map: dict, error: type, message: str) -> None:
    with pytest.raises(error) as err:
        normalize_replication(given_map, "ks", DCS)
    assert err.value.message == message


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["class", "replication_factor", "dc1", "dc2", "x"]),
                       st.one_of(st.integers(-3, 5), st.sampled_from(
                           ["SimpleStrategy", "NetworkTopologyStrategy", "1/0", "a", "2"]))))
def test_normalize_replication_returns_or_raises_schema_error(given_map: dict) -> None:
    try:
        result = normalize_replication(given_map, "ks", DCS)
    except SchemaError:
        return
    assert result["class"] in (SIMPLE_STRATEGY, NETWORK_TOPOLOGY_STRATEGY)
    assert all(isinstance(v, str) for v in result.values())


def test_replication_factor_helpers() -> None:
    assert validate_replication_factor("3/0") == 3
    nts = {"class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "3", "dc2": "2"}
    assert replication_factor_of(nts) == 5
    assert replication_factor_of(nts, "dc2") == 2
    assert replication_factor_of(nts, "dc9") == 0
    assert replication_factor_of({"class": SIMPLE_STRATEGY, "replication_factor": "2"}) == 2


# --------------------------------------------------------------------------- keyspace DDL

def test_keyspace_from_properties_create_and_alter() -> None:
    ks = keyspace_from_properties("ks", {"replication": {"class": "SimpleStrategy",
                                                          "replication_factor": 3}}, DCS)
    assert ks == KeyspaceMetadata("ks", {"class": SIMPLE_STRATEGY, "replication_factor": "3"})
    with_table = ks.with_table(users_table())
    altered = keyspace_from_properties("ks", {"durable_writes": "false"}, DCS, with_table)
    assert altered.durable_writes is False and altered.replication == ks.replication
    assert "users" in altered.tables
    moved = keyspace_from_properties(
        "ks", {"replication": {"class": "NetworkTopologyStrategy"}}, DCS, with_table)
    assert moved.replication == {"class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "3", "dc2": "3"}


@pytest.mark.parametrize("name, props, error, message", [
    ("ks", {"durable_writes": True}, InvalidRequest, "Missing mandatory option 'replication'"),
    ("ks", {"replication": {"class": "SimpleStrategy"}, "foo": 1}, CqlSyntaxError,
     "Unknown property 'foo'"),
    ("ks", {"replication": {"replication_factor": 1}}, ConfigurationError,
     "Missing replication strategy class"),
    ("ks", {"replication": "SimpleStrategy"}, CqlSyntaxError,
     "Invalid value for property 'replication'. It should be a map."),
    ("ks", {"replication": {"class": "SimpleStrategy"}, "durable_writes": "perhaps"},
     CqlSyntaxError, "Invalid boolean value perhaps for 'durable_writes'. Positive values can "
     "be '1', 'true' or 'yes'. Negative values can be '0', 'false' or 'no'."),
    ("bad-name", {"replication": {"class": "SimpleStrategy"}}, ConfigurationError,
     'Keyspace name must not be empty, more than 48 characters long, or contain '
     'non-alphanumeric-underscore characters (got "bad-name")'),
])
def test_keyspace_from_properties_errors(name: str, props: dict, error: type,
                                         message: str) -> None:
    with pytest.raises(error) as err:
        keyspace_from_properties(name, props, DCS)
    assert err.value.message == message
