"""Server-side DESCRIBE, as Cassandra 4.0+/5.0 answers it (DescribeStatement).

Theory of operation
-------------------
cqlsh 6.x sends ``DESCRIBE ...`` to the server and prints the ``create_statement`` column, so
the text must be exactly what Cassandra prints.  Each statement is a ``DescribeTarget``;
``describe(schema, target, current_keyspace=..., node=...)`` returns ``(columns, rows)``:
``columns`` is a list of (name, CQL type) and ``rows`` a list of tuples of Python values.

* Listings (KEYSPACES, TABLES, TYPES, FUNCTIONS, AGGREGATES) return
  ``keyspace_name, type, name``; element statements (SCHEMA, KEYSPACE, TABLE, TYPE, ...) add
  ``create_statement``.  Names are quoted when needed, element types are Cassandra's
  lower-case SchemaElementType names, and elements sort by name ignoring case.
* The CREATE text follows TableMetadata/KeyspaceMetadata/UserType.toCqlString through a small
  ``_CqlBuilder`` that reproduces Cassandra's CqlBuilder indentation: a new line starts with
  four spaces per indent level, so table options read ``) WITH a = ...\\n    AND b = ...;``.
* WITH INTERNALS adds the table id and replays dropped columns (``ALTER TABLE ... DROP ...
  USING TIMESTAMP``), as Cassandra does.
* DESCRIBE CLUSTER adds ``range_ownership`` (token -> replica endpoints) when the session's
  keyspace is a user keyspace; replicas follow SimpleStrategy / NetworkTopologyStrategy.

Ferrosa has no user functions, aggregates, secondary indexes or materialized views, so those
elements are never found and their listings are empty, exactly as on a Cassandra node that
has none.

This module must NOT execute anything or touch storage; it only reads the Schema snapshot.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import msgspec

from ferrosa.schema.errors import InvalidRequest, KeyspaceNotDefined
from ferrosa.schema.model import (
    LOCATOR_PACKAGE, NETWORK_TOPOLOGY_STRATEGY, SIMPLE_STRATEGY, KeyspaceMetadata, Schema,
    TableMetadata, UserType, is_system_keyspace, maybe_quote, referenced_udts,
    replication_factor_of)
from ferrosa.schema.options import TableOptions, java_double_str
from ferrosa.schema.system_tables import NodeInfo

Columns = list[tuple[str, str]]
DescribeResult = tuple[Columns, list[tuple[Any, ...]]]

LIST_COLUMNS: Columns = [("keyspace_name", "text"), ("type", "text"), ("name", "text")]
ELEMENT_COLUMNS: Columns = LIST_COLUMNS + [("create_statement", "text")]
CLUSTER_COLUMNS: Columns = [("cluster", "text"), ("partitioner", "text"), ("snitch", "text")]
RANGE_OWNERSHIP_COLUMN = ("range_ownership", "map<text, frozen<list<text>>>")

DescribeKind = Literal[
    "schema", "full_schema", "keyspaces", "keyspace", "only_keyspace", "tables", "table",
    "types", "type", "functions", "function", "aggregates", "aggregate", "index",
    "materialized_view", "generic", "cluster"]


class DescribeTarget(msgspec.Struct, frozen=True):
    """One DESCRIBE statement; ``keyspace``/``name`` are already case-resolved."""

    kind: DescribeKind
    keyspace: str | None = None
    name: str | None = None
    with_internals: bool = False


# --------------------------------------------------------------------------- CQL text

class _CqlBuilder:
    """Cassandra's CqlBuilder: indentation is written lazily at the start of each line."""

    INDENTATION = "    "

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._indent = 0
        self._new_line = False

    def append(self, text: str) -> _CqlBuilder:
        if self._new_line:
            self._parts.append(self.INDENTATION * self._indent)
            self._new_line = False
        self._parts.append(text)
        return self

    def quoted(self, text: str) -> _CqlBuilder:
        return self.append("'" + text.replace("'", "''") + "'")

    def newline(self) -> _CqlBuilder:
        self._parts.append("\n")
        self._new_line = True
        return self

    def indent(self, delta: int) -> _CqlBuilder:
        self._indent = max(0, self._indent + delta)
        return self

    def __str__(self) -> str:
        return "".join(self._parts)


def _cql_map(mapping: dict[str, str], quote_values: bool = True) -> str:
    """CqlBuilder.append(Map): keys sorted (TreeMap), ``{'k': 'v', ...}``."""
    def q(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"
    items = (f"{q(k)}: {q(v) if quote_values else v}" for k, v in sorted(mapping.items()))
    return "{" + ", ".join(items) + "}"


def _java_string_hash(text: str) -> int:
    h = 0
    for unit in text.encode("utf-16-be").hex(" ", 2).split():
        h = (31 * h + int(unit, 16)) & 0xFFFFFFFF
    return h


def _java_hashmap_order(keys: Sequence[str], sized_for: int) -> list[str]:
    """Iteration order of ``new HashMap<>(m)`` holding ``sized_for`` entries.

    Cassandra keeps replication options in a HashMap, so DESCRIBE lists data centers in
    bucket order (bucket = spread hash & (capacity - 1)), colliding keys in source order.
    """
    wanted = int(sized_for / 0.75 + 1.0)
    capacity = 1
    while capacity < wanted:
        capacity <<= 1
    while len(keys) > capacity * 0.75:  # puts beyond the threshold double the table
        capacity <<= 1

    def bucket(key: str) -> int:
        h = _java_string_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)
    return sorted(keys, key=bucket)


def keyspace_cql(ks: KeyspaceMetadata, if_not_exists: bool = False) -> str:
    """``KeyspaceMetadata.toCqlString``."""
    name = maybe_quote(ks.name)
    if ks.virtual:
        return ("/*\nWarning: Keyspace " + name + " is a virtual keyspace and cannot be "
                "recreated with CQL.\nStructure, for reference:\nVIRTUAL KEYSPACE " + name
                + ";\n*/")
    klass = ks.replication["class"]
    if klass.startswith(LOCATOR_PACKAGE) and "." not in klass[len(LOCATOR_PACKAGE):]:
        klass = klass[len(LOCATOR_PACKAGE):]
    options = {k: v for k, v in ks.replication.items() if k != "class"}
    order = _java_hashmap_order(sorted(options), len(options) + 1)
    repl = "".join(f", '{k}': '{options[k]}'" for k in order)
    exists = "IF NOT EXISTS " if if_not_exists else ""
    durable = "true" if ks.durable_writes else "false"
    return (f"CREATE KEYSPACE {exists}{name} WITH replication = {{'class': '{klass}'{repl}}}"
            f"  AND durable_writes = {durable};")


def type_cql(ut: UserType, if_not_exists: bool = False) -> str:
    """``UserType.toCqlString``."""
    b = _CqlBuilder().append("CREATE TYPE ")
    if if_not_exists:
        b.append("IF NOT EXISTS ")
    b.append(f"{maybe_quote(ut.keyspace)}.{maybe_quote(ut.name)} (").newline().indent(1)
    for i, (field, field_type) in enumerate(zip(ut.field_names, ut.field_types)):
        if i > 0:
            b.append(",").newline()
        b.append(f"{maybe_quote(field)} {field_type}")
    b.newline().indent(-1).append(");")
    return str(b)


def _append_options(b: _CqlBuilder, o: TableOptions, is_view: bool = False) -> None:
    """``TableParams.appendCqlTo``: Cassandra's fixed option order."""
    lines = [
        f"additional_write_policy = '{o.additional_write_policy}'",
        f"AND allow_auto_snapshot = {_bool(o.allow_auto_snapshot)}",
        f"AND bloom_filter_fp_chance = {java_double_str(o.bloom_filter_fp_chance)}",
        f"AND caching = {_cql_map(o.caching)}",
        f"AND cdc = {_bool(o.cdc)}",
        "AND comment = '" + o.comment.replace("'", "''") + "'",
        f"AND compaction = {_cql_map(o.compaction)}",
        f"AND compression = {_cql_map(o.compression)}",
        f"AND memtable = '{o.memtable}'",
        f"AND crc_check_chance = {java_double_str(o.crc_check_chance)}",
    ]
    if not is_view:
        lines.append(f"AND default_time_to_live = {o.default_time_to_live}")
    extensions = {k: "0x" + v.hex() for k, v in o.extensions.items()}
    lines += [
        f"AND extensions = {_cql_map(extensions, quote_values=False)}",
        f"AND gc_grace_seconds = {o.gc_grace_seconds}",
        f"AND incremental_backups = {_bool(o.incremental_backups)}",
        f"AND max_index_interval = {o.max_index_interval}",
        f"AND memtable_flush_period_in_ms = {o.memtable_flush_period_in_ms}",
        f"AND min_index_interval = {o.min_index_interval}",
        f"AND read_repair = '{o.read_repair}'",
        f"AND speculative_retry = '{o.speculative_retry}'",
    ]
    for i, line in enumerate(lines):
        if i:
            b.newline()
        b.append(line)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def table_cql(table: TableMetadata, with_internals: bool = False,
              if_not_exists: bool = False) -> str:
    """``TableMetadata.toCqlString(withInternals, ifNotExists)``."""
    b = _CqlBuilder()
    create = "CREATE"
    if table.virtual:
        b.append(f"/*\nWarning: Table {table} is a virtual table and cannot be recreated with "
                 "CQL.\nStructure, for reference:\n")
        create = "VIRTUAL"
    b.append(f"{create} TABLE ")
    if if_not_exists:
        b.append("IF NOT EXISTS ")
    b.append(f"{table} (").newline().indent(1)
    single_key = len(table.partition_key) == 1 and not table.clustering
    _append_column_definitions(b, table, with_internals, single_key)
    if not single_key:
        _append_primary_key(b, table)
    b.indent(-1).append(")").append(" WITH ").indent(1)
    _append_table_options(b, table, with_internals)
    b.indent(-1)
    if table.virtual:
        b.newline().append("*/")
    if with_internals:
        _append_drop_columns(b, table)
    return str(b)


def _column_cql(name: str, type_text: str, static: bool) -> str:
    return f"{maybe_quote(name)} {type_text}" + (" static" if static else "")


def _append_column_definitions(b: _CqlBuilder, table: TableMetadata, include_dropped: bool,
                               single_key: bool) -> None:
    dropped = table.dropped_columns if include_dropped else {}
    columns = [c for c in table.create_order if c.name not in dropped]
    for i, column in enumerate(columns):
        b.append(_column_cql(column.name, column.type, column.kind == "static"))
        if single_key and column.kind == "partition_key":
            b.append(" PRIMARY KEY")
        if not single_key or dropped or i < len(columns) - 1:
            b.append(",")
        b.newline()
    for name, column in dropped.items():
        b.append(_column_cql(name, column.type, column.kind == "static"))
        # Cassandra tests the (exhausted) live-column iterator here, so a single-column
        # primary key table gets no comma between dropped columns; kept for exact output.
        if not single_key:
            b.append(",")
        b.newline()


def _append_primary_key(b: _CqlBuilder, table: TableMetadata) -> None:
    pk = [maybe_quote(n) for n in table.partition_key]
    text = "PRIMARY KEY (" + (f"({', '.join(pk)})" if len(pk) > 1 else pk[0])
    if table.clustering:
        text += ", " + ", ".join(maybe_quote(n) for n in table.clustering)
    b.append(text + ")").newline()


def _append_table_options(b: _CqlBuilder, table: TableMetadata, with_internals: bool) -> None:
    if with_internals:
        b.append(f"ID = {table.id}").newline().append("AND ")
    if table.clustering:
        order = ", ".join(f"{maybe_quote(c.name)} {c.clustering_order.upper()}"
                          for c in table.clustering_columns)
        b.append(f"CLUSTERING ORDER BY ({order})").newline().append("AND ")
    if table.virtual:
        b.append("comment = ").quoted(table.options.comment)
    else:
        _append_options(b, table.options)
    b.append(";")


def _append_drop_columns(b: _CqlBuilder, table: TableMetadata) -> None:
    for name, dropped in table.dropped_columns.items():
        b.newline().append(f"ALTER TABLE {table} DROP {maybe_quote(name)} USING TIMESTAMP "
                           f"{dropped.dropped_time};")
        column = table.column(name)
        if column is not None:
            b.newline().append(f"ALTER TABLE {table} ADD "
                               f"{_column_cql(column.name, column.type, column.kind == 'static')};")


# --------------------------------------------------------------------------- elements

def _name_key(name: str) -> str:
    """String.CASE_INSENSITIVE_ORDER."""
    return name.upper().lower()


def _by_name(names: Iterable[str]) -> list[str]:
    return sorted(sorted(names), key=_name_key)


def _sorted_types(ks: KeyspaceMetadata) -> list[UserType]:
    """``Types.sortedStream``: every type after the types it uses."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        ut = ks.types.get(name)
        if ut is None or name in ordered:
            return
        for field_type in ut.field_types:
            for used in referenced_udts(field_type):
                visit(used)
        ordered.append(name)
    for name in sorted(ks.types, key=lambda n: n.encode("utf-8")):
        visit(name)
    return [ks.types[n] for n in ordered]


def _keyspace_row(ks: KeyspaceMetadata) -> tuple[str, str, str, str]:
    name = maybe_quote(ks.name)
    return (name, "keyspace", name, keyspace_cql(ks))


def _type_row(ut: UserType) -> tuple[str, str, str, str]:
    return (maybe_quote(ut.keyspace), "type", maybe_quote(ut.name), type_cql(ut))


def _table_row(table: TableMetadata, with_internals: bool) -> tuple[str, str, str, str]:
    return (maybe_quote(table.keyspace), "table", maybe_quote(table.name),
            table_cql(table, with_internals))


def _keyspace_elements(ks: KeyspaceMetadata, only_keyspace: bool,
                       with_internals: bool) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [_keyspace_row(ks)]
    if not only_keyspace:
        rows += [_type_row(ut) for ut in _sorted_types(ks)]
        rows += [_table_row(ks.tables[t], with_internals) for t in _by_name(ks.tables)]
    return rows


def _validate_keyspace(schema: Schema, name: str) -> KeyspaceMetadata:
    ks = schema.keyspaces.get(name)
    if ks is None:
        raise KeyspaceNotDefined(f"'{name}' not found in keyspaces")
    return ks


def _element_keyspace(schema: Schema, target: DescribeTarget,
                      current_keyspace: str | None) -> KeyspaceMetadata:
    name = target.keyspace if target.keyspace is not None else current_keyspace
    if name is None:
        raise InvalidRequest("No keyspace specified and no current keyspace")
    return _validate_keyspace(schema, name)


# --------------------------------------------------------------------------- statements

def describe_schema(schema: Schema, full: bool = False,
                    with_internals: bool = False) -> DescribeResult:
    """DESCRIBE [FULL] SCHEMA: every (user, or also system) keyspace with its elements."""
    rows: list[tuple[Any, ...]] = []
    for name in _by_name(schema.keyspaces):
        if full or not is_system_keyspace(name):
            rows += _keyspace_elements(schema.keyspaces[name], False, with_internals)
    return ELEMENT_COLUMNS, rows


def describe_keyspaces(schema: Schema) -> DescribeResult:
    return LIST_COLUMNS, [_keyspace_row(schema.keyspaces[n])[:3]
                          for n in _by_name(schema.keyspaces)]


def _listing(schema: Schema, current_keyspace: str | None,
             elements: Any) -> DescribeResult:
    """DescribeStatement.Listing: one keyspace when a keyspace is in use, else all."""
    if current_keyspace is None:
        keyspaces = [schema.keyspaces[n] for n in _by_name(schema.keyspaces)]
    else:
        keyspaces = [_validate_keyspace(schema, current_keyspace)]
    rows = []
    for ks in keyspaces:
        names = elements(ks)
        rows += [(maybe_quote(ks.name), kind, maybe_quote(n)) for kind, n in names]
    return LIST_COLUMNS, rows


def describe_tables(schema: Schema, current_keyspace: str | None = None) -> DescribeResult:
    return _listing(schema, current_keyspace,
                    lambda ks: [("table", n) for n in _by_name(ks.tables)])


def describe_types(schema: Schema, current_keyspace: str | None = None) -> DescribeResult:
    return _listing(schema, current_keyspace,
                    lambda ks: [("type", n) for n in _by_name(ks.types)])


def describe_functions(schema: Schema, current_keyspace: str | None = None) -> DescribeResult:
    return _listing(schema, current_keyspace, lambda ks: [])


def describe_keyspace(schema: Schema, keyspace: str | None, only: bool = False,
                      with_internals: bool = False,
                      current_keyspace: str | None = None) -> DescribeResult:
    target = DescribeTarget("keyspace", keyspace)
    ks = _element_keyspace(schema, target, current_keyspace)
    return ELEMENT_COLUMNS, _keyspace_elements(ks, only, with_internals)


def describe_table(schema: Schema, keyspace: str | None, name: str,
                   with_internals: bool = False,
                   current_keyspace: str | None = None) -> DescribeResult:
    ks = _element_keyspace(schema, DescribeTarget("table", keyspace, name), current_keyspace)
    table = ks.tables.get(name)
    if table is None:
        raise InvalidRequest(f"Table '{name}' not found in keyspace '{ks.name}'")
    return ELEMENT_COLUMNS, [_table_row(table, with_internals)]


def describe_type(schema: Schema, keyspace: str | None, name: str,
                  current_keyspace: str | None = None) -> DescribeResult:
    ks = _element_keyspace(schema, DescribeTarget("type", keyspace, name), current_keyspace)
    ut = ks.types.get(name)
    if ut is None:
        raise InvalidRequest(f"User defined type '{name}' not found in '{ks.name}'")
    return ELEMENT_COLUMNS, [_type_row(ut)]


_MISSING_ELEMENT = {
    "function": "User defined function '{0}' not found in '{1}'",
    "aggregate": "User defined aggregate '{0}' not found in '{1}'",
    "index": "Table for existing index '{0}' not found in '{1}'",
    "materialized_view": "Materialized view '{0}' not found in '{1}'",
}


def _describe_absent_kind(schema: Schema, target: DescribeTarget,
                          current_keyspace: str | None) -> DescribeResult:
    """Functions, aggregates, indexes and views: Ferrosa has none, so never found."""
    ks = _element_keyspace(schema, target, current_keyspace)
    raise InvalidRequest(_MISSING_ELEMENT[target.kind].format(target.name, ks.name))


def describe_generic(schema: Schema, keyspace: str | None, name: str,
                     with_internals: bool = False,
                     current_keyspace: str | None = None) -> DescribeResult:
    """``DESCRIBE name`` / ``DESCRIBE ks.name``: keyspace, else table (cqlsh's order)."""
    if keyspace is None:
        if name in schema.keyspaces:
            return describe_keyspace(schema, name, with_internals=with_internals)
        keyspace = current_keyspace if current_keyspace is not None else name
    ks = _validate_keyspace(schema, keyspace)
    if name in ks.tables:
        return describe_table(schema, keyspace, name, with_internals)
    raise InvalidRequest(f"'{name}' not found in keyspace '{keyspace}'")


def describe_cluster(schema: Schema, node: NodeInfo,
                     current_keyspace: str | None = None) -> DescribeResult:
    """DESCRIBE CLUSTER; range ownership only while a user keyspace is in use."""
    row: list[Any] = [node.cluster_name,
                      _trim(node.partitioner, "org.apache.cassandra.dht."),
                      _trim(node.snitch, LOCATOR_PACKAGE)]
    columns = list(CLUSTER_COLUMNS)
    if current_keyspace is not None and not is_system_keyspace(current_keyspace):
        ks = _validate_keyspace(schema, current_keyspace)
        columns.append(RANGE_OWNERSHIP_COLUMN)
        row.append(range_ownership(ks, node))
    return columns, [tuple(row)]


def _trim(text: str, prefix: str) -> str:
    return text[len(prefix):] if text.startswith(prefix) else text


_DISPATCH: dict[str, Any] = {
    "schema": lambda s, t, ck, n: describe_schema(s, False, t.with_internals),
    "full_schema": lambda s, t, ck, n: describe_schema(s, True, t.with_internals),
    "keyspaces": lambda s, t, ck, n: describe_keyspaces(s),
    "keyspace": lambda s, t, ck, n: describe_keyspace(s, t.keyspace, False, t.with_internals, ck),
    "only_keyspace": lambda s, t, ck, n: describe_keyspace(s, t.keyspace, True,
                                                           t.with_internals, ck),
    "tables": lambda s, t, ck, n: describe_tables(s, ck),
    "table": lambda s, t, ck, n: describe_table(s, t.keyspace, t.name, t.with_internals, ck),
    "types": lambda s, t, ck, n: describe_types(s, ck),
    "type": lambda s, t, ck, n: describe_type(s, t.keyspace, t.name, ck),
    "functions": lambda s, t, ck, n: describe_functions(s, ck),
    "aggregates": lambda s, t, ck, n: describe_functions(s, ck),
    "function": lambda s, t, ck, n: _describe_absent_kind(s, t, ck),
    "aggregate": lambda s, t, ck, n: _describe_absent_kind(s, t, ck),
    "index": lambda s, t, ck, n: _describe_absent_kind(s, t, ck),
    "materialized_view": lambda s, t, ck, n: _describe_absent_kind(s, t, ck),
    "generic": lambda s, t, ck, n: describe_generic(s, t.keyspace, t.name, t.with_internals, ck),
    "cluster": lambda s, t, ck, n: describe_cluster(s, n, ck),
}


def describe(schema: Schema, target: DescribeTarget, current_keyspace: str | None = None,
             node: NodeInfo | None = None) -> DescribeResult:
    """Answer one DESCRIBE statement; ``node`` is needed only for DESCRIBE CLUSTER."""
    if target.kind == "cluster" and node is None:
        raise ValueError("DESCRIBE CLUSTER needs the NodeInfo of this node")
    return _DISPATCH[target.kind](schema, target, current_keyspace, node)


# --------------------------------------------------------------------------- ownership

class _Endpoint(msgspec.Struct, frozen=True):
    address: str
    port: int
    data_center: str
    rack: str

    def __str__(self) -> str:
        """InetAddressAndPort.toString(): '/127.0.0.1:7000', '/[::1]:7000'."""
        if ipaddress.ip_address(self.address).version == 6:
            return f"/[{self.address}]:{self.port}"
        return f"/{self.address}:{self.port}"


def _ring(node: NodeInfo) -> tuple[list[int], list[_Endpoint]]:
    owners: dict[int, _Endpoint] = {}
    me = _Endpoint(node.broadcast_address, node.broadcast_port, node.data_center, node.rack)
    for token in node.tokens:
        owners[int(token)] = me
    for peer in node.peers:
        ep = _Endpoint(peer.peer, peer.peer_port, peer.data_center, peer.rack)
        for token in peer.tokens:
            owners[int(token)] = ep
    tokens = sorted(owners)
    return tokens, [owners[t] for t in tokens]


def range_ownership(ks: KeyspaceMetadata, node: NodeInfo) -> dict[str, list[str]]:
    """``StorageService.getRangeToAddressMap``: range end token -> replica endpoints."""
    tokens, owners = _ring(node)
    result: dict[str, list[str]] = {}
    for index, token in enumerate(tokens):
        replicas = _replicas(ks.replication, index, owners)
        result[str(token)] = [str(ep) for ep in replicas]
    return result


def _replicas(replication: dict[str, str], start: int, owners: list[_Endpoint]) -> list[_Endpoint]:
    ring = owners[start:] + owners[:start]
    if replication["class"] == NETWORK_TOPOLOGY_STRATEGY:
        return _nts_replicas(replication, ring)
    rf = replication_factor_of(replication) if replication["class"] == SIMPLE_STRATEGY else 1
    chosen: list[_Endpoint] = []
    for ep in ring:
        if len(chosen) >= rf:
            break
        if ep not in chosen:
            chosen.append(ep)
    return chosen


def _nts_replicas(replication: dict[str, str], ring: list[_Endpoint]) -> list[_Endpoint]:
    """NetworkTopologyStrategy.calculateNaturalReplicas: spread over racks first."""
    nodes: dict[str, set[_Endpoint]] = {}
    racks: dict[str, set[str]] = {}
    for ep in ring:
        nodes.setdefault(ep.data_center, set()).add(ep)
        racks.setdefault(ep.data_center, set()).add(ep.rack)
    state = {}
    for dc, rf_text in replication.items():
        if dc == "class" or int(rf_text) <= 0 or dc not in nodes:
            continue
        rf = int(rf_text)
        # [replicas still needed, rack repeats still allowed, racks seen]
        state[dc] = [min(rf, len(nodes[dc])), rf - len(racks[dc]), set()]
    chosen: list[_Endpoint] = []
    for ep in ring:
        entry = state.get(ep.data_center)
        if entry is None or entry[0] <= 0 or ep in chosen:
            continue
        if ep.rack not in entry[2]:
            entry[2].add(ep.rack)
        elif entry[1] > 0:
            entry[1] -= 1
        else:
            continue
        entry[0] -= 1
        chosen.append(ep)
        if all(e[0] <= 0 for e in state.values()):
            break
    return chosen

