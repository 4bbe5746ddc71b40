"""Tests for ferrosa.schema.system_tables: layouts, generated rows and driver compatibility."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

import pytest
from cassandra.metadata import SchemaParserV4

from ferrosa.schema.model import (
    NETWORK_TOPOLOGY_STRATEGY, SIMPLE_STRATEGY, KeyspaceMetadata, Schema, UserType, new_table,
    parse_cql_type)
from ferrosa.schema.options import build_table_options
from ferrosa.schema.system_tables import (
    GENERATED_TABLES, SYSTEM_KEYSPACES, NodeInfo, PeerInfo, initial_schema, is_generated, rows)

HOST = uuid.UUID("2d7a7d3c-2a4c-4e49-a9f7-7d9b0a1c3e5f")
PEER_HOST = uuid.UUID("6b1fd2a1-1f0e-4a8f-9f9b-0b7c1f1e2d3c")
NODE = NodeInfo(host_id=HOST, tokens=("100", "-9", "5"), gossip_generation=1700000000,
                peers=(PeerInfo("10.0.0.2", PEER_HOST, ("7",), data_center="dc2", rack="r2"),))
TABLE_ID = uuid.UUID("d1b67fb0-1a3d-11ef-9b1b-9d9b0f6f2a11")


def user_schema() -> Schema:
    s = initial_schema().with_keyspace(KeyspaceMetadata(
        "shop", {"class": NETWORK_TOPOLOGY_STRATEGY, "datacenter1": "3"}))
    s = s.with_type(UserType("shop", "address", ("street", "zip"), ("text", "int")))
    table = new_table("shop", "orders",
                      [("customer", "text"), ("day", "date"), ("ts", "timestamp"),
                       ("note", "text"), ("items", "map<text, int>"),
                       ("ship_to", "frozen<address>"), ("flag", "boolean")],
                      ["customer", "day"], ["ts"], {"ts": "desc"}, static={"note"},
                      options=build_table_options({"comment": "orders", "memtable": "default",
                                                   "incremental_backups": False}),
                      table_id=TABLE_ID)
    return s.with_table(table.with_column_dropped("flag", 1589286942065123))


# Python value classes per CQL type, as the row generators promise them.
def _value_ok(type_text: str, value: Any) -> bool:
    node = parse_cql_type(type_text)
    if node.name == "frozen":
        node = node.args[0]  # type: ignore[assignment]
    expected = {"text": str, "int": int, "bigint": int, "uuid": uuid.UUID,
                "timeuuid": uuid.UUID, "boolean": bool, "double": float, "blob": bytes,
                "timestamp": int, "list": list, "set": list, "map": dict,
                "inet": (ipaddress.IPv4Address, ipaddress.IPv6Address)}[node.name]
    if not isinstance(value, expected):  # type: ignore[arg-type]
        return False
    if node.name == "set":
        return value == sorted(value, key=lambda v: str(v).encode())
    return True


@pytest.mark.parametrize("key", sorted(GENERATED_TABLES))
def test_generated_rows_have_every_column_with_the_right_type(key: tuple[str, str]) -> None:
    schema = user_schema()
    table = schema.get_table(*key)
    for row in rows(table, schema, NODE):
        assert list(row) == [c.name for c in table.columns]
        for column in table.columns:
            value = row[column.name]
            assert value is None or _value_ok(column.type, value), (column, value)


def test_system_local_row() -> None:
    schema = user_schema()
    (row,) = rows(schema.get_table("system", "local"), schema, NODE)
    assert row["key"] == "local" and row["bootstrapped"] == "COMPLETED"
    assert row["host_id"] == HOST and row["schema_version"] == schema.version
    assert row["tokens"] == ["-9", "100", "5"]
    assert row["rpc_address"] == ipaddress.ip_address("127.0.0.1") and row["rpc_port"] == 9042
    assert (row["release_version"], row["cql_version"], row["native_protocol_version"]) == (
        "5.0.2", "3.4.7", "5")
    assert row["partitioner"] == "org.apache.cassandra.dht.Murmur3Partitioner"
    assert row["gossip_generation"] == 1700000000 and row["truncated_at"] is None


def test_peers_rows() -> None:
    schema = user_schema()
    (v2,) = rows(schema.get_table("system", "peers_v2"), schema, NODE)
    assert v2["peer"] == ipaddress.ip_address("10.0.0.2") and v2["peer_port"] == 7000
    assert v2["native_address"] == ipaddress.ip_address("10.0.0.2") and v2["native_port"] == 9042
    assert (v2["data_center"], v2["rack"], v2["host_id"]) == ("dc2", "r2", PEER_HOST)
    assert v2["schema_version"] == schema.version and v2["tokens"] == ["7"]
    (v1,) = rows(schema.get_table("system", "peers"), schema, NODE)
    assert v1["rpc_address"] == ipaddress.ip_address("10.0.0.2") and "peer_port" not in v1


def test_schema_keyspaces_rows() -> None:
    schema = user_schema()
    by_name = {r["keyspace_name"]: r for r in rows(schema.get_table("system_schema",
                                                                    "keyspaces"), schema, NODE)}
    assert set(by_name) == {"shop", "system", "system_schema", "system_auth",
                            "system_distributed", "system_traces"}
    assert by_name["shop"]["replication"] == {"class": NETWORK_TOPOLOGY_STRATEGY,
                                              "datacenter1": "3"}
    assert by_name["system_auth"]["replication"] == {"class": SIMPLE_STRATEGY,
                                                     "replication_factor": "1"}
    assert by_name["system"]["replication"] == {
        "class": "org.apache.cassandra.locator.LocalStrategy"}
    virtual = rows(schema.get_table("system_virtual_schema", "keyspaces"), schema, NODE)
    assert [r["keyspace_name"] for r in virtual] == ["system_views", "system_virtual_schema"]


def test_schema_tables_row() -> None:
    schema = user_schema()
    table_rows = rows(schema.get_table("system_schema", "tables"), schema, NODE)
    (row,) = [r for r in table_rows if r["keyspace_name"] == "shop"]
    assert row["table_name"] == "orders" and row["id"] == TABLE_ID
    assert row["comment"] == "orders" and row["flags"] == ["compound"]
    assert row["compaction"]["class"].endswith("SizeTieredCompactionStrategy")
    assert row["incremental_backups"] is False
    # Written only when not default / when CDC is enabled on the node, as Cassandra does.
    assert row["memtable"] is None and row["allow_auto_snapshot"] is None
    assert row["cdc"] is None
    assert row["dclocal_read_repair_chance"] == 0.0 and row["read_repair_chance"] == 0.0
    with_cdc = NodeInfo(host_id=HOST, tokens=("1",), cdc_enabled=True)
    cdc_rows = rows(schema.get_table("system_schema", "tables"), schema, with_cdc)
    assert all(r["cdc"] is False for r in cdc_rows)
    names = [(r["keyspace_name"], r["table_name"]) for r in table_rows]
    assert ("system", "local") in names and ("system_schema", "columns") in names
    assert not any(k == "system_virtual_schema" for k, _ in names)


def test_schema_columns_rows() -> None:
    schema = user_schema()
    cols = {r["column_name"]: r for r in rows(schema.get_table("system_schema", "columns"),
                                              schema, NODE)
            if r["keyspace_name"] == "shop"}
    assert list(cols) == sorted(cols)  # clustering order: by column name
    assert cols["customer"]["kind"] == "partition_key" and cols["customer"]["position"] == 0
    assert cols["day"]["position"] == 1
    assert cols["ts"] == {"keyspace_name": "shop", "table_name": "orders", "column_name": "ts",
                          "clustering_order": "desc", "column_name_bytes": b"ts",
                          "kind": "clustering", "position": 0, "type": "timestamp"}
    assert (cols["note"]["kind"], cols["note"]["position"]) == ("static", -1)
    assert cols["items"]["type"] == "map<text, int>" and cols["items"]["kind"] == "regular"
    assert cols["ship_to"]["type"] == "frozen<address>"
    assert "flag" not in cols


def test_dropped_columns_and_types_rows() -> None:
    schema = user_schema()
    dropped = rows(schema.get_table("system_schema", "dropped_columns"), schema, NODE)
    by_table = {(r["keyspace_name"], r["table_name"], r["column_name"]): r for r in dropped}
    flag = by_table[("shop", "orders", "flag")]
    assert flag["dropped_time"] == 1589286942065 and flag["type"] == "boolean"
    assert flag["kind"] == "regular"
    # Cassandra records system.local's removed thrift_version column at Long.MAX_VALUE.
    thrift = by_table[("system", "local", "thrift_version")]
    assert thrift["dropped_time"] == (2 ** 63 - 1) // 1000
    (udt,) = rows(schema.get_table("system_schema", "types"), schema, NODE)
    assert udt == {"keyspace_name": "shop", "type_name": "address",
                   "field_names": ["street", "zip"], "field_types": ["text", "int"]}


def test_virtual_schema_rows_list_virtual_tables() -> None:
    schema = user_schema()
    tables = rows(schema.get_table("system_virtual_schema", "tables"), schema, NODE)
    assert [(r["table_name"], r["comment"]) for r in tables] == [
        ("columns", "virtual column definitions"), ("keyspaces", "virtual keyspace definitions"),
        ("tables", "virtual table definitions")]
    cols = rows(schema.get_table("system_virtual_schema", "columns"), schema, NODE)
    assert {r["table_name"] for r in cols} == {"columns", "keyspaces", "tables"}


def test_layouts_match_cassandra() -> None:
    local = SYSTEM_KEYSPACES["system"].tables["local"]
    assert local.partition_key == ("key",) and local.options.gc_grace_seconds == 0
    assert local.options.memtable_flush_period_in_ms == 3600000
    assert local.column("tokens").type == "set<text>"
    peers_v2 = SYSTEM_KEYSPACES["system"].tables["peers_v2"]
    assert (peers_v2.partition_key, peers_v2.clustering) == (("peer",), ("peer_port",))
    roles = SYSTEM_KEYSPACES["system_auth"].tables["roles"]
    assert [c.name for c in roles.columns] == ["role", "is_superuser", "can_login",
                                               "salted_hash", "member_of"]
    assert roles.options.gc_grace_seconds == 7776000
    paxos = SYSTEM_KEYSPACES["system"].tables["paxos"]
    assert paxos.options.bloom_filter_fp_chance == 0.1
    columns = SYSTEM_KEYSPACES["system_schema"].tables["columns"]
    assert columns.clustering == ("table_name", "column_name")
    assert columns.options.gc_grace_seconds == 604800
    assert SYSTEM_KEYSPACES["system_virtual_schema"].virtual


def test_non_generated_tables_are_refused() -> None:
    schema = initial_schema()
    assert not is_generated("system_auth", "roles")
    with pytest.raises(ValueError, match="system_auth.roles is not a generated system table"):
        rows(schema.get_table("system_auth", "roles"), schema, NODE)


def test_node_datacenters() -> None:
    assert NODE.datacenters == ["datacenter1", "dc2"]


# --------------------------------------------------------------------------- python-driver

class _RowsParser(SchemaParserV4):
    """The driver's schema parser fed with our generated rows instead of a connection."""

    def __init__(self, schema: Schema) -> None:
        super().__init__(None, 0)
        self._schema = schema

    def _query_all(self) -> None:
        def get(ks: str, table: str) -> list[dict[str, Any]]:
            return rows(self._schema.get_table(ks, table), self._schema, NODE)
        names = ("keyspaces", "tables", "columns", "types", "functions", "aggregates",
                 "triggers", "indexes", "views")
        for name in names:
            setattr(self, f"{name}_result", get("system_schema", name))
        for name in ("keyspaces", "tables", "columns"):
            setattr(self, f"virtual_{name}_result", get("system_virtual_schema", name))
        self._aggregate_results()


def test_python_driver_builds_metadata_from_our_rows() -> None:
    keyspaces = {ks.name: ks for ks in _RowsParser(user_schema()).get_all_keyspaces()}
    assert {"shop", "system", "system_schema", "system_virtual_schema"} <= set(keyspaces)
    shop = keyspaces["shop"]
    assert shop._exc_info is None
    assert shop.replication_strategy.dc_replication_factors == {"datacenter1": 3}
    orders = shop.tables["orders"]
    assert [c.name for c in orders.partition_key] == ["customer", "day"]
    assert [c.name for c in orders.clustering_key] == ["ts"]
    assert orders.clustering_key[0].is_reversed
    assert orders.columns["note"].is_static
    assert orders.columns["items"].cql_type == "map<text, int>"
    assert orders.options["comment"] == "orders"
    assert shop.user_types["address"].field_types == ["text", "int"]
    cql = orders.export_as_string()
    assert "PRIMARY KEY ((customer, day), ts)" in cql
    assert "CLUSTERING ORDER BY (ts DESC)" in cql
    local = keyspaces["system"].tables["local"]
    assert local.partition_key[0].name == "key"
    virtual = keyspaces["system_virtual_schema"]
    assert virtual.virtual and set(virtual.tables) == {"keyspaces", "tables", "columns"}
