"""System keyspaces and tables as Cassandra 5.0 defines them, and the rows of the generated ones.

Theory of operation
-------------------
Drivers and tools learn about a node and its schema by reading system tables:
``system.local``/``peers``/``peers_v2`` for topology, ``system_schema.*`` for the schema and
``system_virtual_schema.*`` for virtual tables.  Every system table is declared here as an
ordinary ``TableMetadata`` (same columns, types, keys, ids and options as Cassandra 5.0's
SystemKeyspace, SchemaKeyspace, AuthKeyspace, TraceKeyspace, SystemDistributedKeyspace and
VirtualSchemaKeyspace), so SELECT planning, result metadata and DESCRIBE treat them like user
tables.  ``initial_schema()`` returns a Schema holding all of them.

Some of those tables are *generated*: their content is a view of the Schema and of the node
(``NodeInfo``) rather than stored data.  ``rows(table, schema, node)`` produces their rows as
Python values (text -> str, int -> int, uuid -> UUID, inet -> ipaddress object, blob -> bytes,
timestamp -> int milliseconds, list -> list, set -> sorted list, map -> dict with sorted keys)
with every column present (None where Cassandra has no value).  Rows come in clustering
order inside each partition and partitions in key order; callers that page in token order
must sort partitions by token themselves.  The remaining system tables (paxos, system_auth,
traces, ...) hold stored data and are only declared here.

Cassandra quirks kept on purpose: ``memtable``, ``allow_auto_snapshot`` and
``incremental_backups`` are only written to system_schema.tables when not default, and
``cdc`` only when the node has CDC enabled; system.local records its dropped
``thrift_version`` column with a drop time of Long.MAX_VALUE microseconds.

This module must NOT read or write storage and must NOT encode values for the wire.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from ferrosa.schema.model import (
    AUTH_KEYSPACE, DISTRIBUTED_KEYSPACE, LOCAL_STRATEGY, SCHEMA_KEYSPACE, SIMPLE_STRATEGY,
    SYSTEM_KEYSPACE, TRACES_KEYSPACE, VIEWS_KEYSPACE, VIRTUAL_SCHEMA_KEYSPACE, ColumnMetadata,
    DroppedColumn, KeyspaceMetadata, Schema, TableMetadata, system_table_id)
from ferrosa.schema.options import DEFAULT_TABLE_OPTIONS, LCS, TWCS, normalize_compaction

Row = dict[str, Any]

# --------------------------------------------------------------------------- node info


class PeerInfo(msgspec.Struct, frozen=True):
    """Another node as system.peers / peers_v2 describe it."""

    peer: str
    host_id: uuid.UUID
    tokens: tuple[str, ...]
    data_center: str = "datacenter1"
    rack: str = "rack1"
    peer_port: int = 7000
    native_address: str | None = None  # defaults to ``peer``
    native_port: int = 9042
    preferred_ip: str | None = None
    preferred_port: int | None = None
    release_version: str = "5.0.2"
    schema_version: uuid.UUID | None = None


class NodeInfo(msgspec.Struct, frozen=True):
    """What system.local says about this node; addresses are text ('127.0.0.1')."""

    host_id: uuid.UUID
    tokens: tuple[str, ...]
    cluster_name: str = "Test Cluster"
    data_center: str = "datacenter1"
    rack: str = "rack1"
    listen_address: str = "127.0.0.1"
    listen_port: int = 7000
    broadcast_address: str = "127.0.0.1"
    broadcast_port: int = 7000
    rpc_address: str = "127.0.0.1"
    rpc_port: int = 9042
    release_version: str = "5.0.2"
    cql_version: str = "3.4.7"
    native_protocol_version: str = "5"
    partitioner: str = "org.apache.cassandra.dht.Murmur3Partitioner"
    snitch: str = "org.apache.cassandra.locator.DynamicEndpointSnitch"
    bootstrapped: str = "COMPLETED"
    gossip_generation: int = 0
    cdc_enabled: bool = False
    peers: tuple[PeerInfo, ...] = ()

    @property
    def datacenters(self) -> list[str]:
        """Every DC known to the cluster (what NetworkTopologyStrategy accepts)."""
        return sorted({self.data_center, *(p.data_center for p in self.peers)})


# --------------------------------------------------------------------------- declarations

_KEYSPACE_OPTIONS = {
    SYSTEM_KEYSPACE: {"gc_grace_seconds": 0, "memtable_flush_period_in_ms": 3600000},
    SCHEMA_KEYSPACE: {"gc_grace_seconds": 604800, "memtable_flush_period_in_ms": 3600000},
    AUTH_KEYSPACE: {"gc_grace_seconds": 7776000},
    TRACES_KEYSPACE: {"gc_grace_seconds": 0},
    DISTRIBUTED_KEYSPACE: {},
    VIRTUAL_SCHEMA_KEYSPACE: {},
}
_TWCS_DAILY = normalize_compaction({"class": TWCS, "compaction_window_unit": "DAYS",
                                    "compaction_window_size": "1"})


def _split_columns(spec: str) -> list[tuple[str, str]]:
    """'a text, b map<uuid, blob>' -> [('a', 'text'), ('b', 'map<uuid, blob>')]."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(spec):
        depth += (ch == "<") - (ch == ">")
        if ch == "," and depth == 0:
            parts.append(spec[start:i])
            start = i + 1
    parts.append(spec[start:])
    return [tuple(p.strip().split(" ", 1)) for p in parts if p.strip()]  # type: ignore[misc]


def _table(keyspace: str, name: str, comment: str, spec: str, pk: tuple[str, ...],
           ck: tuple[str, ...] = (), virtual: bool = False,
           dropped: dict[str, DroppedColumn] | None = None, **options: Any) -> TableMetadata:
    columns = []
    for col_name, col_type in _split_columns(spec):
        if col_name in pk:
            columns.append(ColumnMetadata(col_name, col_type, "partition_key", pk.index(col_name)))
        elif col_name in ck:
            columns.append(ColumnMetadata(col_name, col_type, "clustering", ck.index(col_name),
                                          "asc"))
        else:
            columns.append(ColumnMetadata(col_name, col_type))
    merged = {**_KEYSPACE_OPTIONS[keyspace], "comment": comment, **options}
    if merged.get("compaction", {}).get("class") == LCS:
        merged.setdefault("bloom_filter_fp_chance", 0.1)
    table_options = msgspec.structs.replace(DEFAULT_TABLE_OPTIONS, **merged)
    return TableMetadata(keyspace, name, system_table_id(keyspace, name), tuple(columns), pk, ck,
                         table_options, dropped or {}, virtual)


# Long.MAX_VALUE: recordDeprecatedSystemColumn's drop time for system.local.thrift_version.
_JAVA_LONG_MAX = 2 ** 63 - 1
_PEERS_V2_SPEC = ("peer inet, peer_port int, data_center text, host_id uuid, preferred_ip inet, "
                  "preferred_port int, rack text, release_version text, native_address inet, "
                  "native_port int, schema_version uuid, tokens set<text>")

SYSTEM_TABLES = (
    _table(SYSTEM_KEYSPACE, "IndexInfo", "built column indexes",
           "table_name text, index_name text, value blob", ("table_name",), ("index_name",)),
    _table(SYSTEM_KEYSPACE, "batches", "batches awaiting replay",
           "id timeuuid, mutations list<blob>, version int", ("id",),
           compaction=normalize_compaction({"class": "SizeTieredCompactionStrategy",
                                            "min_threshold": "2"})),
    _table(SYSTEM_KEYSPACE, "paxos", "in-progress paxos proposals",
           "row_key blob, cf_id uuid, in_progress_ballot timeuuid, "
           "in_progress_read_ballot timeuuid, most_recent_commit blob, "
           "most_recent_commit_at timeuuid, most_recent_commit_version int, proposal blob, "
           "proposal_ballot timeuuid, proposal_version int", ("row_key",), ("cf_id",),
           compaction=normalize_compaction({"class": LCS})),
    _table(SYSTEM_KEYSPACE, "paxos_repair_history", "paxos repair history",
           "keyspace_name text, table_name text, "
           "points frozen<list<frozen<tuple<blob, timeuuid>>>>",
           ("keyspace_name",), ("table_name",)),
    _table(SYSTEM_KEYSPACE, "local", "information about the local node",
           "key text, bootstrapped text, broadcast_address inet, broadcast_port int, "
           "cluster_name text, cql_version text, data_center text, gossip_generation int, "
           "host_id uuid, listen_address inet, listen_port int, native_protocol_version text, "
           "partitioner text, rack text, release_version text, rpc_address inet, rpc_port int, "
           "schema_version uuid, tokens set<text>, truncated_at map<uuid, blob>", ("key",),
           dropped={"thrift_version": DroppedColumn("text", _JAVA_LONG_MAX)}),
    _table(SYSTEM_KEYSPACE, "peers_v2", "information about known peers in the cluster",
           _PEERS_V2_SPEC, ("peer",), ("peer_port",)),
    _table(SYSTEM_KEYSPACE, "peers", "information about known peers in the cluster",
           "peer inet, data_center text, host_id uuid, preferred_ip inet, rack text, "
           "release_version text, rpc_address inet, schema_version uuid, tokens set<text>",
           ("peer",)),
    _table(SYSTEM_KEYSPACE, "peer_events_v2", "events related to peers",
           "peer inet, peer_port int, hints_dropped map<timeuuid, int>", ("peer",),
           ("peer_port",)),
    _table(SYSTEM_KEYSPACE, "peer_events", "events related to peers",
           "peer inet, hints_dropped map<timeuuid, int>", ("peer",)),
    _table(SYSTEM_KEYSPACE, "compaction_history", "week-long compaction history",
           "id timeuuid, bytes_in bigint, bytes_out bigint, columnfamily_name text, "
           "compacted_at timestamp, keyspace_name text, rows_merged map<int, bigint>, "
           "compaction_properties frozen<map<text, text>>", ("id",),
           default_time_to_live=604800),
    _table(SYSTEM_KEYSPACE, "sstable_activity", "historic sstable read rates",
           "keyspace_name text, columnfamily_name text, generation int, rate_120m double, "
           "rate_15m double", ("keyspace_name", "columnfamily_name", "generation")),
    _table(SYSTEM_KEYSPACE, "sstable_activity_v2", "historic sstable read rates",
           "keyspace_name text, table_name text, id text, rate_120m double, rate_15m double",
           ("keyspace_name", "table_name", "id")),
    _table(SYSTEM_KEYSPACE, "size_estimates",
           "per-table primary range size estimates, table is deprecated in favor of "
           "table_estimates",
           "keyspace_name text, table_name text, range_start text, range_end text, "
           "mean_partition_size bigint, partitions_count bigint", ("keyspace_name",),
           ("table_name", "range_start", "range_end")),
    _table(SYSTEM_KEYSPACE, "table_estimates", "per-table range size estimates",
           "keyspace_name text, table_name text, range_type text, range_start text, "
           "range_end text, mean_partition_size bigint, partitions_count bigint",
           ("keyspace_name",), ("table_name", "range_type", "range_start", "range_end")),
    _table(SYSTEM_KEYSPACE, "available_ranges_v2",
           "available keyspace/ranges during bootstrap/replace that are ready to be served",
           "keyspace_name text, full_ranges set<blob>, transient_ranges set<blob>",
           ("keyspace_name",)),
    _table(SYSTEM_KEYSPACE, "available_ranges",
           "available keyspace/ranges during bootstrap/replace that are ready to be served",
           "keyspace_name text, ranges set<blob>", ("keyspace_name",)),
    _table(SYSTEM_KEYSPACE, "transferred_ranges_v2",
           "record of transferred ranges for streaming operation",
           "operation text, peer inet, peer_port int, keyspace_name text, ranges set<blob>",
           ("operation", "keyspace_name"), ("peer", "peer_port")),
    _table(SYSTEM_KEYSPACE, "transferred_ranges",
           "record of transferred ranges for streaming operation",
           "operation text, peer inet, keyspace_name text, ranges set<blob>",
           ("operation", "keyspace_name"), ("peer",)),
    _table(SYSTEM_KEYSPACE, "view_builds_in_progress", "views builds current progress",
           "keyspace_name text, view_name text, start_token text, end_token text, "
           "last_token text, keys_built bigint", ("keyspace_name",),
           ("view_name", "start_token", "end_token")),
    _table(SYSTEM_KEYSPACE, "built_views", "built views",
           "keyspace_name text, view_name text, status_replicated boolean",
           ("keyspace_name",), ("view_name",)),
    _table(SYSTEM_KEYSPACE, "prepared_statements", "prepared statements",
           "prepared_id blob, logged_keyspace text, query_string text", ("prepared_id",)),
    _table(SYSTEM_KEYSPACE, "repairs", "repairs",
           "parent_id timeuuid, started_at timestamp, last_update timestamp, "
           "repaired_at timestamp, state int, coordinator inet, coordinator_port int, "
           "participants set<inet>, participants_wp set<text>, ranges set<blob>, "
           "cfids set<uuid>", ("parent_id",)),
    _table(SYSTEM_KEYSPACE, "top_partitions", "Stores the top partitions",
           "keyspace_name text, table_name text, top_type text, "
           "top frozen<list<frozen<tuple<text, bigint>>>>, last_update timestamp",
           ("keyspace_name",), ("table_name", "top_type")),
)

_TABLE_PARAMS_SPEC = (
    "allow_auto_snapshot boolean, bloom_filter_fp_chance double, "
    "caching frozen<map<text, text>>, comment text, compaction frozen<map<text, text>>, "
    "compression frozen<map<text, text>>, memtable text, crc_check_chance double, "
    "dclocal_read_repair_chance double, default_time_to_live int, "
    "extensions frozen<map<text, blob>>, ")
_TABLE_PARAMS_TAIL = (
    "max_index_interval int, memtable_flush_period_in_ms int, min_index_interval int, "
    "read_repair_chance double, speculative_retry text, additional_write_policy text, "
    "cdc boolean, read_repair text")
_COLUMNS_SPEC = ("keyspace_name text, table_name text, column_name text, clustering_order text, "
                 "column_name_bytes blob, kind text, position int, type text")

SCHEMA_TABLES = (
    _table(SCHEMA_KEYSPACE, "keyspaces", "keyspace definitions",
           "keyspace_name text, durable_writes boolean, replication frozen<map<text, text>>",
           ("keyspace_name",)),
    _table(SCHEMA_KEYSPACE, "tables", "table definitions",
           "keyspace_name text, table_name text, " + _TABLE_PARAMS_SPEC
           + "flags frozen<set<text>>, gc_grace_seconds int, incremental_backups boolean, "
           "id uuid, " + _TABLE_PARAMS_TAIL, ("keyspace_name",), ("table_name",)),
    _table(SCHEMA_KEYSPACE, "columns", "column definitions", _COLUMNS_SPEC,
           ("keyspace_name",), ("table_name", "column_name")),
    _table(SCHEMA_KEYSPACE, "column_masks", "column dynamic data masks",
           "keyspace_name text, table_name text, column_name text, function_keyspace text, "
           "function_name text, function_argument_types frozen<list<text>>, "
           "function_argument_values frozen<list<text>>, "
           "function_argument_nulls frozen<list<boolean>>",
           ("keyspace_name",), ("table_name", "column_name")),
    _table(SCHEMA_KEYSPACE, "triggers", "trigger definitions",
           "keyspace_name text, table_name text, trigger_name text, "
           "options frozen<map<text, text>>", ("keyspace_name",), ("table_name", "trigger_name")),
    _table(SCHEMA_KEYSPACE, "dropped_columns", "dropped column registry",
           "keyspace_name text, table_name text, column_name text, dropped_time timestamp, "
           "kind text, type text", ("keyspace_name",), ("table_name", "column_name")),
    _table(SCHEMA_KEYSPACE, "views", "view definitions",
           "keyspace_name text, view_name text, base_table_id uuid, base_table_name text, "
           "where_clause text, " + _TABLE_PARAMS_SPEC + "gc_grace_seconds int, "
           "incremental_backups boolean, id uuid, include_all_columns boolean, "
           + _TABLE_PARAMS_TAIL, ("keyspace_name",), ("view_name",)),
    _table(SCHEMA_KEYSPACE, "types", "user defined type definitions",
           "keyspace_name text, type_name text, field_names frozen<list<text>>, "
           "field_types frozen<list<text>>", ("keyspace_name",), ("type_name",)),
    _table(SCHEMA_KEYSPACE, "functions", "user defined function definitions",
           "keyspace_name text, function_name text, argument_types frozen<list<text>>, "
           "argument_names frozen<list<text>>, body text, language text, return_type text, "
           "called_on_null_input boolean", ("keyspace_name",),
           ("function_name", "argument_types")),
    _table(SCHEMA_KEYSPACE, "aggregates", "user defined aggregate definitions",
           "keyspace_name text, aggregate_name text, argument_types frozen<list<text>>, "
           "final_func text, initcond text, return_type text, state_func text, "
           "state_type text", ("keyspace_name",), ("aggregate_name", "argument_types")),
    _table(SCHEMA_KEYSPACE, "indexes", "secondary index definitions",
           "keyspace_name text, table_name text, index_name text, kind text, "
           "options frozen<map<text, text>>", ("keyspace_name",), ("table_name", "index_name")),
)

AUTH_TABLES = (
    _table(AUTH_KEYSPACE, "roles", "role definitions",
           "role text, is_superuser boolean, can_login boolean, salted_hash text, "
           "member_of set<text>", ("role",)),
    _table(AUTH_KEYSPACE, "role_members", "role memberships lookup table",
           "role text, member text", ("role",), ("member",)),
    _table(AUTH_KEYSPACE, "role_permissions", "permissions granted to db roles",
           "role text, resource text, permissions set<text>", ("role",), ("resource",)),
    _table(AUTH_KEYSPACE, "resource_role_permissons_index",
           "index of db roles with permissions granted on a resource",
           "resource text, role text", ("resource",), ("role",)),
    _table(AUTH_KEYSPACE, "network_permissions", "user network permissions",
           "role text, dcs frozen<set<text>>", ("role",)),
    _table(AUTH_KEYSPACE, "cidr_permissions", "user cidr permissions",
           "role text, cidr_groups frozen<set<text>>", ("role",)),
    _table(AUTH_KEYSPACE, "cidr_groups", "cidr groups to cidrs mapping",
           "cidr_group text, cidrs frozen<set<frozen<tuple<inet, smallint>>>>", ("cidr_group",)),
    _table(AUTH_KEYSPACE, "identity_to_role", "mtls authorized identities lookup table",
           "identity text, role text", ("identity",)),
)

DISTRIBUTED_TABLES = (
    _table(DISTRIBUTED_KEYSPACE, "repair_history", "Repair history",
           "keyspace_name text, columnfamily_name text, id timeuuid, parent_id timeuuid, "
           "range_begin text, range_end text, coordinator inet, coordinator_port int, "
           "participants set<inet>, participants_v2 set<text>, exception_message text, "
           "exception_stacktrace text, status text, started_at timestamp, "
           "finished_at timestamp", ("keyspace_name", "columnfamily_name"), ("id",),
           default_time_to_live=2592000, compaction=_TWCS_DAILY),
    _table(DISTRIBUTED_KEYSPACE, "parent_repair_history", "Repair history",
           "parent_id timeuuid, keyspace_name text, columnfamily_names set<text>, "
           "started_at timestamp, finished_at timestamp, exception_message text, "
           "exception_stacktrace text, requested_ranges set<text>, "
           "successful_ranges set<text>, options map<text, text>", ("parent_id",),
           default_time_to_live=2592000, compaction=_TWCS_DAILY),
    _table(DISTRIBUTED_KEYSPACE, "view_build_status", "Materialized View build status",
           "keyspace_name text, view_name text, host_id uuid, status text",
           ("keyspace_name", "view_name"), ("host_id",)),
    _table(DISTRIBUTED_KEYSPACE, "partition_denylist",
           "Partition keys which have been denied access",
           "ks_name text, table_name text, key blob", ("ks_name", "table_name"), ("key",)),
)

TRACES_TABLES = (
    _table(TRACES_KEYSPACE, "sessions", "tracing sessions",
           "session_id uuid, command text, client inet, coordinator inet, "
           "coordinator_port int, duration int, parameters map<text, text>, request text, "
           "started_at timestamp", ("session_id",)),
    _table(TRACES_KEYSPACE, "events", "tracing events",
           "session_id uuid, event_id timeuuid, activity text, source inet, source_port int, "
           "source_elapsed int, thread text", ("session_id",), ("event_id",)),
)

VIRTUAL_SCHEMA_TABLES = (
    _table(VIRTUAL_SCHEMA_KEYSPACE, "keyspaces", "virtual keyspace definitions",
           "keyspace_name text", ("keyspace_name",), virtual=True),
    _table(VIRTUAL_SCHEMA_KEYSPACE, "tables", "virtual table definitions",
           "keyspace_name text, table_name text, comment text", ("keyspace_name",),
           ("table_name",), virtual=True),
    _table(VIRTUAL_SCHEMA_KEYSPACE, "columns", "virtual column definitions", _COLUMNS_SPEC,
           ("keyspace_name",), ("table_name", "column_name"), virtual=True),
)

# Cassandra's defaults: SYSTEM_AUTH/TRACES/DISTRIBUTED_DEFAULT_RF, never below
# default_keyspace_rf (1).
AUTH_RF, TRACES_RF, DISTRIBUTED_RF = 1, 2, 3


def _keyspace(name: str, replication: dict[str, str], tables: Iterable[TableMetadata],
              virtual: bool = False) -> KeyspaceMetadata:
    return KeyspaceMetadata(name, replication, True, {t.name: t for t in tables}, {}, virtual)


def _simple(rf: int) -> dict[str, str]:
    return {"class": SIMPLE_STRATEGY, "replication_factor": str(rf)}


_LOCAL = {"class": LOCAL_STRATEGY}
SYSTEM_KEYSPACES: dict[str, KeyspaceMetadata] = {
    k.name: k for k in (
        _keyspace(SYSTEM_KEYSPACE, _LOCAL, SYSTEM_TABLES),
        _keyspace(SCHEMA_KEYSPACE, _LOCAL, SCHEMA_TABLES),
        _keyspace(AUTH_KEYSPACE, _simple(AUTH_RF), AUTH_TABLES),
        _keyspace(DISTRIBUTED_KEYSPACE, _simple(DISTRIBUTED_RF), DISTRIBUTED_TABLES),
        _keyspace(TRACES_KEYSPACE, _simple(TRACES_RF), TRACES_TABLES),
        _keyspace(VIRTUAL_SCHEMA_KEYSPACE, _LOCAL, VIRTUAL_SCHEMA_TABLES, virtual=True),
        _keyspace(VIEWS_KEYSPACE, _LOCAL, (), virtual=True),
    )}


def initial_schema() -> Schema:
    """The schema of a fresh node: every system keyspace, no user keyspace."""
    return Schema(dict(SYSTEM_KEYSPACES))


# --------------------------------------------------------------------------- row values

def _utf8_key(text: str) -> bytes:
    return text.encode("utf-8")


def _sorted_map(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: mapping[k] for k in sorted(mapping, key=_utf8_key)}


def _inet(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    return None if address is None else ipaddress.ip_address(address)


def _row(table: TableMetadata, values: dict[str, Any]) -> Row:
    """A row with every column of ``table``, None where ``values`` has nothing."""
    return {c.name: values.get(c.name) for c in table.columns}


def _local_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, {
        "key": "local", "bootstrapped": node.bootstrapped,
        "broadcast_address": _inet(node.broadcast_address),
        "broadcast_port": node.broadcast_port, "cluster_name": node.cluster_name,
        "cql_version": node.cql_version, "data_center": node.data_center,
        "gossip_generation": node.gossip_generation, "host_id": node.host_id,
        "listen_address": _inet(node.listen_address), "listen_port": node.listen_port,
        "native_protocol_version": node.native_protocol_version,
        "partitioner": node.partitioner, "rack": node.rack,
        "release_version": node.release_version, "rpc_address": _inet(node.rpc_address),
        "rpc_port": node.rpc_port, "schema_version": schema.version,
        "tokens": sorted(node.tokens, key=_utf8_key)})]


def _peer_values(peer: PeerInfo, schema: Schema) -> dict[str, Any]:
    return {"peer": _inet(peer.peer), "peer_port": peer.peer_port,
            "data_center": peer.data_center, "host_id": peer.host_id,
            "preferred_ip": _inet(peer.preferred_ip), "preferred_port": peer.preferred_port,
            "rack": peer.rack, "release_version": peer.release_version,
            "schema_version": peer.schema_version or schema.version,
            "tokens": sorted(peer.tokens, key=_utf8_key)}


def _sorted_peers(node: NodeInfo) -> list[PeerInfo]:
    return sorted(node.peers, key=lambda p: (ipaddress.ip_address(p.peer).packed, p.peer_port))


def _peers_v2_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, {**_peer_values(p, schema),
                         "native_address": _inet(p.native_address or p.peer),
                         "native_port": p.native_port})
            for p in _sorted_peers(node)]


def _peers_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, {**_peer_values(p, schema),
                         "rpc_address": _inet(p.native_address or p.peer)})
            for p in _sorted_peers(node)]


def _schema_keyspaces(schema: Schema) -> list[KeyspaceMetadata]:
    """Keyspaces system_schema lists (all but the virtual ones), in key order."""
    return [schema.keyspaces[k] for k in sorted(schema.keyspaces, key=_utf8_key)
            if not schema.keyspaces[k].virtual]


def _virtual_keyspaces(schema: Schema) -> list[KeyspaceMetadata]:
    return [schema.keyspaces[k] for k in sorted(schema.keyspaces, key=_utf8_key)
            if schema.keyspaces[k].virtual]


def _tables_of(ks: KeyspaceMetadata) -> list[TableMetadata]:
    return [ks.tables[t] for t in sorted(ks.tables, key=_utf8_key)]


def _keyspaces_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, {"keyspace_name": ks.name, "durable_writes": ks.durable_writes,
                         "replication": _sorted_map(ks.replication)})
            for ks in _schema_keyspaces(schema)]


def _table_params_values(t: TableMetadata, node: NodeInfo) -> dict[str, Any]:
    o = t.options
    values = {
        "keyspace_name": t.keyspace, "table_name": t.name, "id": t.id,
        "additional_write_policy": o.additional_write_policy,
        "bloom_filter_fp_chance": o.bloom_filter_fp_chance, "caching": _sorted_map(o.caching),
        "comment": o.comment, "compaction": _sorted_map(o.compaction),
        "compression": _sorted_map(o.compression), "crc_check_chance": o.crc_check_chance,
        "dclocal_read_repair_chance": 0.0, "default_time_to_live": o.default_time_to_live,
        "extensions": _sorted_map(o.extensions), "flags": t.flags,
        "gc_grace_seconds": o.gc_grace_seconds, "max_index_interval": o.max_index_interval,
        "memtable_flush_period_in_ms": o.memtable_flush_period_in_ms,
        "min_index_interval": o.min_index_interval, "read_repair_chance": 0.0,
        "read_repair": o.read_repair, "speculative_retry": o.speculative_retry}
    # SchemaKeyspace.addTableParamsToRowBuilder only writes these when Cassandra must.
    if node.cdc_enabled:
        values["cdc"] = o.cdc
    if o.memtable != "default":
        values["memtable"] = o.memtable
    if not o.allow_auto_snapshot:
        values["allow_auto_snapshot"] = False
    if not o.incremental_backups:
        values["incremental_backups"] = False
    return values


def _tables_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, _table_params_values(t, node))
            for ks in _schema_keyspaces(schema) for t in _tables_of(ks)]


def _column_values(t: TableMetadata, c: ColumnMetadata) -> dict[str, Any]:
    return {"keyspace_name": t.keyspace, "table_name": t.name, "column_name": c.name,
            "clustering_order": c.clustering_order, "column_name_bytes": c.name.encode("utf-8"),
            "kind": c.kind, "position": c.position, "type": c.type}


def _columns_of(t: TableMetadata) -> list[ColumnMetadata]:
    return sorted(t.columns, key=lambda c: _utf8_key(c.name))


def _columns_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, _column_values(t, c)) for ks in _schema_keyspaces(schema)
            for t in _tables_of(ks) for c in _columns_of(t)]


def _dropped_columns_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    rows = []
    for ks in _schema_keyspaces(schema):
        for t in _tables_of(ks):
            for name in sorted(t.dropped_columns, key=_utf8_key):
                dropped = t.dropped_columns[name]
                rows.append(_row(table, {
                    "keyspace_name": t.keyspace, "table_name": t.name, "column_name": name,
                    "dropped_time": dropped.dropped_time // 1000, "kind": dropped.kind,
                    "type": dropped.type}))
    return rows


def _types_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, {"keyspace_name": ks.name, "type_name": ut.name,
                         "field_names": list(ut.field_names),
                         "field_types": list(ut.field_types)})
            for ks in _schema_keyspaces(schema)
            for ut in (ks.types[n] for n in sorted(ks.types, key=_utf8_key))]


def _no_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    """Functions, aggregates, indexes, triggers, views and masks: Ferrosa has none."""
    return []


def _virtual_keyspaces_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, {"keyspace_name": ks.name}) for ks in _virtual_keyspaces(schema)]


def _virtual_tables_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, {"keyspace_name": ks.name, "table_name": t.name,
                         "comment": t.options.comment})
            for ks in _virtual_keyspaces(schema) for t in _tables_of(ks)]


def _virtual_columns_rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    return [_row(table, _column_values(t, c)) for ks in _virtual_keyspaces(schema)
            for t in _tables_of(ks) for c in _columns_of(t)]


RowGenerator = Callable[[TableMetadata, Schema, NodeInfo], list[Row]]
_GENERATORS: dict[tuple[str, str], RowGenerator] = {
    (SYSTEM_KEYSPACE, "local"): _local_rows,
    (SYSTEM_KEYSPACE, "peers"): _peers_rows,
    (SYSTEM_KEYSPACE, "peers_v2"): _peers_v2_rows,
    (SCHEMA_KEYSPACE, "keyspaces"): _keyspaces_rows,
    (SCHEMA_KEYSPACE, "tables"): _tables_rows,
    (SCHEMA_KEYSPACE, "columns"): _columns_rows,
    (SCHEMA_KEYSPACE, "dropped_columns"): _dropped_columns_rows,
    (SCHEMA_KEYSPACE, "types"): _types_rows,
    (SCHEMA_KEYSPACE, "functions"): _no_rows,
    (SCHEMA_KEYSPACE, "aggregates"): _no_rows,
    (SCHEMA_KEYSPACE, "indexes"): _no_rows,
    (SCHEMA_KEYSPACE, "triggers"): _no_rows,
    (SCHEMA_KEYSPACE, "views"): _no_rows,
    (SCHEMA_KEYSPACE, "column_masks"): _no_rows,
    (VIRTUAL_SCHEMA_KEYSPACE, "keyspaces"): _virtual_keyspaces_rows,
    (VIRTUAL_SCHEMA_KEYSPACE, "tables"): _virtual_tables_rows,
    (VIRTUAL_SCHEMA_KEYSPACE, "columns"): _virtual_columns_rows,
}
GENERATED_TABLES = frozenset(_GENERATORS)


def is_generated(keyspace: str, table: str) -> bool:
    """True when the table's rows come from ``rows`` rather than from storage."""
    return (keyspace, table) in _GENERATORS


def rows(table: TableMetadata, schema: Schema, node: NodeInfo) -> list[Row]:
    """All rows of a generated system table (see the module docstring for value types)."""
    generator = _GENERATORS.get((table.keyspace, table.name))
    if generator is None:
        raise ValueError(f"{table} is not a generated system table; its rows are stored data")
    return generator(table, schema, node)
