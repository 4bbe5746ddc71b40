"""Golden tests for ferrosa.schema.describe against Cassandra 5.0's DESCRIBE output.

The expected texts are written out by hand in Cassandra's format (DescribeStatementTest's
expectations), not produced by the code under test.
"""

from __future__ import annotations

import uuid

import pytest

from ferrosa.schema.describe import (
    CLUSTER_COLUMNS, ELEMENT_COLUMNS, LIST_COLUMNS, RANGE_OWNERSHIP_COLUMN, DescribeTarget,
    describe, keyspace_cql, table_cql, type_cql)
from ferrosa.schema.errors import InvalidRequest, KeyspaceNotDefined
from ferrosa.schema.model import (
    NETWORK_TOPOLOGY_STRATEGY, SIMPLE_STRATEGY, KeyspaceMetadata, Schema, UserType, new_table)
from ferrosa.schema.options import build_table_options
from ferrosa.schema.system_tables import NodeInfo, PeerInfo, initial_schema

TABLE_ID = uuid.UUID("6b4f1a30-94a7-11ee-b5f2-5f6e7d8c9b0a")

PARAMS = ("additional_write_policy = '99p'\n"
          "    AND allow_auto_snapshot = true\n"
          "    AND bloom_filter_fp_chance = 0.01\n"
          "    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}\n"
          "    AND cdc = false\n"
          "    AND comment = ''\n"
          "    AND compaction = {'class': 'org.apache.cassandra.db.compaction."
          "SizeTieredCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4'}\n"
          "    AND compression = {'chunk_length_in_kb': '16', 'class': "
          "'org.apache.cassandra.io.compress.LZ4Compressor'}\n"
          "    AND memtable = 'default'\n"
          "    AND crc_check_chance = 1.0\n"
          "    AND default_time_to_live = 0\n"
          "    AND extensions = {}\n"
          "    AND gc_grace_seconds = 864000\n"
          "    AND incremental_backups = true\n"
          "    AND max_index_interval = 2048\n"
          "    AND memtable_flush_period_in_ms = 0\n"
          "    AND min_index_interval = 128\n"
          "    AND read_repair = 'BLOCKING'\n"
          "    AND speculative_retry = '99p';")

TEST_KS = ("CREATE KEYSPACE test WITH replication = {'class': 'SimpleStrategy', "
           "'replication_factor': '1'}  AND durable_writes = true;")

USERS = ("CREATE TABLE test.users (\n"
         "    userid text PRIMARY KEY,\n"
         "    age int,\n"
         "    firstname text,\n"
         "    lastname text\n"
         ") WITH " + PARAMS)

CLUSTERED = ("CREATE TABLE test.clustered (\n"
             "    pk1 int,\n"
             "    pk2 int,\n"
             "    ck1 int,\n"
             "    ck2 int,\n"
             "    s decimal static,\n"
             "    reg1 int,\n"
             "    reg3 int,\n"
             "    reg2 list<int>,\n"
             "    PRIMARY KEY ((pk1, pk2), ck1, ck2)\n"
             ") WITH CLUSTERING ORDER BY (ck1 ASC, ck2 DESC)\n"
             "    AND " + PARAMS)

QUOTED = ('CREATE TABLE test."Test" (\n'
          "    id int,\n"
          '    "Col" int,\n'
          '    "select" text,\n'
          "    PRIMARY KEY (id, \"Col\")\n"
          ') WITH CLUSTERING ORDER BY ("Col" ASC)\n'
          "    AND " + PARAMS)

ADDRESS = ("CREATE TYPE test.address (\n"
           "    street text,\n"
           '    "desc" text\n'
           ");")
PERSON = ("CREATE TYPE test.person (\n"
          "    name text,\n"
          "    home frozen<address>\n"
          ");")


def build_schema() -> Schema:
    s = initial_schema().with_keyspace(
        KeyspaceMetadata("test", {"class": SIMPLE_STRATEGY, "replication_factor": "1"}))
    s = s.with_table(new_table("test", "users", [("userid", "text"), ("firstname", "text"),
                                                 ("lastname", "text"), ("age", "int")],
                               ["userid"]))
    s = s.with_table(new_table(
        "test", "clustered", [("pk1", "int"), ("pk2", "int"), ("ck1", "int"), ("ck2", "int"),
                              ("reg1", "int"), ("reg2", "list<int>"), ("reg3", "int"),
                              ("s", "decimal")],
        ["pk1", "pk2"], ["ck1", "ck2"], {"ck1": "ASC", "ck2": "DESC"}, static={"s"}))
    s = s.with_table(new_table("test", "Test", [("id", "int"), ("Col", "int"),
                                                ("select", "text")], ["id"], ["Col"]))
    # Created in an order that is not the dependency order.
    s = s.with_type(UserType("test", "person", ("name", "home"), ("text", "frozen<address>")))
    s = s.with_type(UserType("test", "address", ("street", "desc"), ("text", "text")))
    return s


def statements(result: tuple) -> list[str]:
    return [row[3] for row in result[1]]


# --------------------------------------------------------------------------- CREATE text

def test_simple_table() -> None:
    assert table_cql(build_schema().get_table("test", "users")) == USERS


def test_composite_clustered_desc_static_table() -> None:
    assert table_cql(build_schema().get_table("test", "clustered")) == CLUSTERED


def test_quoted_names() -> None:
    columns, rows = describe(build_schema(), DescribeTarget("table", "test", "Test"))
    assert columns == ELEMENT_COLUMNS
    assert rows == [("test", "table", '"Test"', QUOTED)]


def test_keyspace_simple_and_network_topology() -> None:
    assert keyspace_cql(build_schema().keyspaces["test"]) == TEST_KS
    nts = KeyspaceMetadata("multi", {"class": NETWORK_TOPOLOGY_STRATEGY, "dc1": "3",
                                     "dc2": "2"}, durable_writes=False)
    # Cassandra keeps the options in a java.util.HashMap: 'dc2' iterates before 'dc1'.
    assert keyspace_cql(nts) == ("CREATE KEYSPACE multi WITH replication = {'class': "
                                 "'NetworkTopologyStrategy', 'dc2': '2', 'dc1': '3'}  AND "
                                 "durable_writes = false;")
    quoted = KeyspaceMetadata("MyKs", {"class": NETWORK_TOPOLOGY_STRATEGY, "datacenter1": "1"})
    assert keyspace_cql(quoted, if_not_exists=True) == (
        "CREATE KEYSPACE IF NOT EXISTS \"MyKs\" WITH replication = {'class': "
        "'NetworkTopologyStrategy', 'datacenter1': '1'}  AND durable_writes = true;")


def test_user_types_with_reserved_field_name() -> None:
    schema = build_schema()
    assert type_cql(schema.keyspaces["test"].types["address"]) == ADDRESS
    assert describe(schema, DescribeTarget("type", None, "person"), "test")[1] == [
        ("test", "type", "person", PERSON)]


def test_table_options_rendering() -> None:
    options = build_table_options({
        "comment": "it's", "compaction": {"class": "LeveledCompactionStrategy"},
        "default_time_to_live": 60, "extensions": {"e": b"\x01\xff"},
        "compression": {"enabled": "false"}, "speculative_retry": "99.9PERCENTILE"})
    table = new_table("ks", "t", [("k", "int")], ["k"], options=options)
    text = table_cql(table)
    assert "    AND bloom_filter_fp_chance = 0.1\n" in text
    assert "    AND comment = 'it''s'\n" in text
    assert ("    AND compaction = {'class': 'org.apache.cassandra.db.compaction."
            "LeveledCompactionStrategy', 'max_threshold': '32', 'min_threshold': '4'}\n") in text
    assert "    AND compression = {'enabled': 'false'}\n" in text
    assert "    AND default_time_to_live = 60\n" in text
    assert "    AND extensions = {'e': 0x01ff}\n" in text
    assert text.endswith("    AND speculative_retry = '99.9p';")


def test_with_internals_id_and_dropped_columns() -> None:
    table = new_table("test", "t", [("pk1", "text"), ("pk2", "int"), ("c", "int"),
                                    ("s", "decimal"), ("v1", "text"), ("v2", "int"),
                                    ("v3", "int")],
                      ["pk1", "pk2"], ["c"], static={"s"}, table_id=TABLE_ID)
    create = ("CREATE TABLE test.t (\n"
              "    pk1 text,\n"
              "    pk2 int,\n"
              "    c int,\n"
              "    s decimal static,\n"
              "    v1 text,\n"
              "    v2 int,\n"
              "    v3 int,\n"
              "    PRIMARY KEY ((pk1, pk2), c)\n"
              ") WITH ID = 6b4f1a30-94a7-11ee-b5f2-5f6e7d8c9b0a\n"
              "    AND CLUSTERING ORDER BY (c ASC)\n"
              "    AND " + PARAMS)
    assert table_cql(table, with_internals=True) == create
    drop = "ALTER TABLE test.t DROP v3 USING TIMESTAMP 1589286942065000;"
    dropped = table.with_column_dropped("v3", 1589286942065000)
    assert table_cql(dropped, with_internals=True) == create + "\n" + drop
    readded = dropped.with_column_added("v3", "int")
    assert table_cql(readded, with_internals=True) == (
        create + "\n" + drop + "\nALTER TABLE test.t ADD v3 int;")
    # Without internals the dropped column is simply gone.
    assert "v3" not in table_cql(dropped)


def test_with_internals_single_key_table() -> None:
    table = new_table("test", "t", [("pk", "text"), ("v1", "text"), ("v2", "int"),
                                    ("v3", "int")], ["pk"], table_id=TABLE_ID)
    dropped = table.with_column_dropped("v3", 1589286942065000)
    assert table_cql(dropped, with_internals=True) == (
        "CREATE TABLE test.t (\n"
        "    pk text PRIMARY KEY,\n"
        "    v1 text,\n"
        "    v2 int,\n"
        "    v3 int\n"
        ") WITH ID = 6b4f1a30-94a7-11ee-b5f2-5f6e7d8c9b0a\n"
        "    AND " + PARAMS + "\n"
        "ALTER TABLE test.t DROP v3 USING TIMESTAMP 1589286942065000;")


def test_virtual_keyspace_and_table() -> None:
    schema = initial_schema()
    assert statements(describe(schema, DescribeTarget("only_keyspace",
                                                      "system_virtual_schema"))) == [
        "/*\n"
        "Warning: Keyspace system_virtual_schema is a virtual keyspace and cannot be recreated "
        "with CQL.\n"
        "Structure, for reference:\n"
        "VIRTUAL KEYSPACE system_virtual_schema;\n"
        "*/"]
    assert statements(describe(schema, DescribeTarget("table", "system_virtual_schema",
                                                      "columns"))) == [
        "/*\n"
        "Warning: Table system_virtual_schema.columns is a virtual table and cannot be "
        "recreated with CQL.\n"
        "Structure, for reference:\n"
        "VIRTUAL TABLE system_virtual_schema.columns (\n"
        "    keyspace_name text,\n"
        "    table_name text,\n"
        "    column_name text,\n"
        "    clustering_order text,\n"
        "    column_name_bytes blob,\n"
        "    kind text,\n"
        "    position int,\n"
        "    type text,\n"
        "    PRIMARY KEY (keyspace_name, table_name, column_name)\n"
        ") WITH CLUSTERING ORDER BY (table_name ASC, column_name ASC)\n"
        "    AND comment = 'virtual column definitions';\n"
        "*/"]


# --------------------------------------------------------------------------- statements

def test_describe_keyspace_lists_types_in_dependency_order_then_tables() -> None:
    rows = describe(build_schema(), DescribeTarget("keyspace", "test"))[1]
    assert [row[:3] for row in rows] == [
        ("test", "keyspace", "test"), ("test", "type", "address"), ("test", "type", "person"),
        ("test", "table", "clustered"), ("test", "table", '"Test"'),
        ("test", "table", "users")]
    assert rows[0][3] == TEST_KS and rows[1][3] == ADDRESS and rows[2][3] == PERSON
    assert rows[3][3] == CLUSTERED and rows[4][3] == QUOTED and rows[5][3] == USERS
    only = describe(build_schema(), DescribeTarget("only_keyspace", None), "test")
    assert only[1] == [("test", "keyspace", "test", TEST_KS)]


def test_describe_schema_skips_system_keyspaces_unless_full() -> None:
    schema = build_schema()
    plain = describe(schema, DescribeTarget("schema"))[1]
    assert {row[0] for row in plain} == {"test"}
    full = describe(schema, DescribeTarget("full_schema"))[1]
    keyspaces = [row[0] for row in full if row[1] == "keyspace"]
    assert keyspaces == ["system", "system_auth", "system_distributed", "system_schema",
                         "system_traces", "system_views", "system_virtual_schema", "test"]
    local = [row[3] for row in full if row[:3] == ("system", "keyspace", "system")]
    assert local == ["CREATE KEYSPACE system WITH replication = {'class': 'LocalStrategy'}"
                     "  AND durable_writes = true;"]
    system_tables = [row[2] for row in full if row[:2] == ("system", "table")]
    # Case-insensitive name order, quoted names included.
    assert system_tables[:4] == ["available_ranges", "available_ranges_v2", "batches",
                                 "built_views"]
    assert system_tables.index('"IndexInfo"') == system_tables.index("compaction_history") + 1
    index_info = [row for row in full if row[:3] == ("system", "table", '"IndexInfo"')][0]
    assert index_info[3].startswith('CREATE TABLE system."IndexInfo" (\n')


def test_listings() -> None:
    schema = build_schema()
    columns, rows = describe(schema, DescribeTarget("keyspaces"))
    assert columns == LIST_COLUMNS
    assert rows[-1] == ("test", "keyspace", "test") and ("system", "keyspace", "system") in rows
    assert describe(schema, DescribeTarget("tables"), "test")[1] == [
        ("test", "table", "clustered"), ("test", "table", '"Test"'), ("test", "table", "users")]
    all_tables = describe(schema, DescribeTarget("tables"))[1]
    assert ("system_auth", "table", "roles") in all_tables
    assert describe(schema, DescribeTarget("types"), "test")[1] == [
        ("test", "type", "address"), ("test", "type", "person")]
    assert describe(schema, DescribeTarget("functions"), "test")[1] == []
    assert describe(schema, DescribeTarget("aggregates"), "test")[1] == []


def test_generic_describe_resolves_keyspace_then_table() -> None:
    schema = build_schema()
    assert describe(schema, DescribeTarget("generic", None, "test"))[1][0][3] == TEST_KS
    assert describe(schema, DescribeTarget("generic", None, "users"), "test")[1] == [
        ("test", "table", "users", USERS)]
    assert describe(schema, DescribeTarget("generic", "test", "users"))[1][0][3] == USERS


@pytest.mark.parametrize("target, current, error, message", [
    (DescribeTarget("generic", None, "foo"), None, KeyspaceNotDefined,
     "'foo' not found in keyspaces"),
    (DescribeTarget("keyspace", "test2"), None, KeyspaceNotDefined,
     "'test2' not found in keyspaces"),
    (DescribeTarget("generic", None, "users2"), "test", InvalidRequest,
     "'users2' not found in keyspace 'test'"),
    (DescribeTarget("generic", "test", "users2"), None, InvalidRequest,
     "'users2' not found in keyspace 'test'"),
    (DescribeTarget("table", None, "foop"), None, InvalidRequest,
     "No keyspace specified and no current keyspace"),
    (DescribeTarget("type", None, "foop"), None, InvalidRequest,
     "No keyspace specified and no current keyspace"),
    (DescribeTarget("table", "test", "nope"), None, InvalidRequest,
     "Table 'nope' not found in keyspace 'test'"),
    (DescribeTarget("type", "test", "nope"), None, InvalidRequest,
     "User defined type 'nope' not found in 'test'"),
    (DescribeTarget("function", "test", "func_foo"), None, InvalidRequest,
     "User defined function 'func_foo' not found in 'test'"),
    (DescribeTarget("aggregate", "test", "aggr_foo"), None, InvalidRequest,
     "User defined aggregate 'aggr_foo' not found in 'test'"),
    (DescribeTarget("index", "test", "myindex2"), None, InvalidRequest,
     "Table for existing index 'myindex2' not found in 'test'"),
    (DescribeTarget("materialized_view", "test", "mv"), None, InvalidRequest,
     "Materialized view 'mv' not found in 'test'"),
    (DescribeTarget("tables"), "nope", KeyspaceNotDefined, "'nope' not found in keyspaces"),
])
def test_errors(target: DescribeTarget, current: str | None, error: type,
                message: str) -> None:
    with pytest.raises(error) as err:
        describe(build_schema(), target, current)
    assert err.value.message == message


# --------------------------------------------------------------------------- cluster

NODE = NodeInfo(host_id=uuid.uuid4(), tokens=("-100", "100"), cluster_name="Test Cluster")


def test_describe_cluster_without_user_keyspace() -> None:
    for current in (None, "system_virtual_schema"):
        assert describe(build_schema(), DescribeTarget("cluster"), current, NODE) == (
            CLUSTER_COLUMNS, [("Test Cluster", "Murmur3Partitioner", "DynamicEndpointSnitch")])


def test_describe_cluster_with_user_keyspace_has_range_ownership() -> None:
    columns, rows = describe(build_schema(), DescribeTarget("cluster"), "test", NODE)
    assert columns == CLUSTER_COLUMNS + [RANGE_OWNERSHIP_COLUMN]
    assert rows == [("Test Cluster", "Murmur3Partitioner", "DynamicEndpointSnitch",
                     {"-100": ["/127.0.0.1:7000"], "100": ["/127.0.0.1:7000"]})]


def test_range_ownership_multi_node() -> None:
    node = NodeInfo(host_id=uuid.uuid4(), tokens=("0",), peers=(
        PeerInfo("10.0.0.2", uuid.uuid4(), ("10",), rack="rack1"),
        PeerInfo("10.0.0.3", uuid.uuid4(), ("20",), data_center="dc2", rack="r1"),
        PeerInfo("10.0.0.4", uuid.uuid4(), ("30",), data_center="dc2", rack="r2")))
    schema = build_schema().with_keyspace(KeyspaceMetadata(
        "multi", {"class": NETWORK_TOPOLOGY_STRATEGY, "datacenter1": "1", "dc2": "2"}))
    (row,) = describe(schema, DescribeTarget("cluster"), "multi", node)[1]
    assert row[3] == {
        "0": ["/127.0.0.1:7000", "/10.0.0.3:7000", "/10.0.0.4:7000"],
        "10": ["/10.0.0.2:7000", "/10.0.0.3:7000", "/10.0.0.4:7000"],
        "20": ["/10.0.0.3:7000", "/10.0.0.4:7000", "/127.0.0.1:7000"],
        "30": ["/10.0.0.4:7000", "/127.0.0.1:7000", "/10.0.0.3:7000"]}
    (simple,) = describe(schema, DescribeTarget("cluster"), "test", node)[1]
    assert simple[3]["20"] == ["/10.0.0.3:7000"]


def test_cluster_needs_node() -> None:
    with pytest.raises(ValueError):
        describe(build_schema(), DescribeTarget("cluster"))
