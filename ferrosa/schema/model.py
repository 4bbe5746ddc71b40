"""The schema model: keyspaces, tables, columns and user types, as Cassandra 5.0 keeps them.

Theory of operation
-------------------
A ``Schema`` is an immutable snapshot.  Every DDL statement builds a new snapshot with the
copy-on-write helpers (``with_keyspace``, ``with_table``, ...) and the node swaps the
reference, so readers never lock and never see half a change.  Each snapshot has a
``version``: a name-based (MD5, version 3) UUID of its content, as Cassandra derives its
schema version from a digest of ``system_schema``; equal content gives an equal version and
any change gives a new one.  Like Cassandra's digest it leaves out the node-local keyspaces
(system, system_schema) and the virtual ones.

Column types are strings in Cassandra's canonical CQL form, exactly what
``system_schema.columns.type`` holds ('int', 'map<text, int>', 'frozen<list<int>>',
'vector<float, 3>', a UDT by name).  ``parse_cql_type`` reads them when the model needs to
know more (is the column multi-cell, which UDTs does it use).

Replication maps are stored as Cassandra stores them: the 'class' fully qualified and every
value a string.  ``normalize_replication`` applies Cassandra's strategy option preparation
and validation (AbstractReplicationStrategy and subclasses) with the same messages.

This module must NOT render CQL or system-table rows (describe.py and system_tables.py do),
and must NOT know about storage, tokens or the network.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Literal, NamedTuple, Union

import msgspec

from ferrosa.schema.errors import (ConfigurationError, CqlSyntaxError, InvalidRequest,
                                   KeyspaceNotDefined)
from ferrosa.schema.options import (DEFAULT_TABLE_OPTIONS, TableOptions, check_property_names,
                                    parse_boolean, property_text)

ColumnKind = Literal["partition_key", "clustering", "regular", "static"]
ClusteringOrder = Literal["asc", "desc", "none"]
NO_POSITION = -1  # ColumnMetadata.NO_POSITION: regular and static columns have no position

# SchemaConstants.NAME_LENGTH: the longest keyspace or table name Cassandra accepts.
NAME_LENGTH = 48
_NAME_RE = re.compile(r"\w+\Z")

SYSTEM_KEYSPACE = "system"
SCHEMA_KEYSPACE = "system_schema"
AUTH_KEYSPACE = "system_auth"
DISTRIBUTED_KEYSPACE = "system_distributed"
TRACES_KEYSPACE = "system_traces"
VIRTUAL_SCHEMA_KEYSPACE = "system_virtual_schema"
VIEWS_KEYSPACE = "system_views"
LOCAL_SYSTEM_KEYSPACES = frozenset({SYSTEM_KEYSPACE, SCHEMA_KEYSPACE})
REPLICATED_SYSTEM_KEYSPACES = frozenset({TRACES_KEYSPACE, AUTH_KEYSPACE, DISTRIBUTED_KEYSPACE})
VIRTUAL_SYSTEM_KEYSPACES = frozenset({VIEWS_KEYSPACE, VIRTUAL_SCHEMA_KEYSPACE})

# --------------------------------------------------------------------------- identifiers

# Cassandra 5.0 src/resources/org/apache/cassandra/cql3/reserved_keywords.txt
RESERVED_KEYWORDS = frozenset("""
add allow alter and apply asc authorize batch begin by columnfamily create delete desc
describe drop entries execute from full grant if in index infinity insert into is keyspace
limit materialized modify nan norecursive not null of on or order primary rename revoke
schema select set table to token truncate unlogged update use using view where with
""".split())
_UNQUOTED_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")


@functools.lru_cache(maxsize=4096)
def maybe_quote(name: str) -> str:
    """``ColumnIdentifier.maybeQuote``: double-quote a name unless it is a plain identifier."""
    if _UNQUOTED_IDENTIFIER.match(name) and name not in RESERVED_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def validate_name(what: str, name: str) -> None:
    """``SchemaConstants.isValidName`` with KeyspaceMetadata/TableMetadata's message.

    ``what`` is 'Keyspace' or 'Table'.
    """
    if not name or len(name) > NAME_LENGTH or not _NAME_RE.match(name):
        raise ConfigurationError(
            f"{what} name must not be empty, more than {NAME_LENGTH} characters long, or "
            f'contain non-alphanumeric-underscore characters (got "{name}")')


def is_system_keyspace(name: str) -> bool:
    """``SchemaConstants.isSystemKeyspace``: local, replicated or virtual system keyspace."""
    lowered = name.lower()
    return (lowered in LOCAL_SYSTEM_KEYSPACES or lowered in REPLICATED_SYSTEM_KEYSPACES
            or lowered in VIRTUAL_SYSTEM_KEYSPACES)


def system_table_id(keyspace: str, table: str) -> uuid.UUID:
    """``TableId.forSystemTable``: ``UUID.nameUUIDFromBytes(keyspace + table)``."""
    digest = hashlib.md5((keyspace + table).encode("utf-8")).digest()
    return uuid.UUID(bytes=digest, version=3)


# --------------------------------------------------------------------------- CQL types

NATIVE_TYPES = frozenset({
    "ascii", "bigint", "blob", "boolean", "counter", "date", "decimal", "double", "duration",
    "float", "inet", "int", "smallint", "text", "time", "timestamp", "timeuuid", "tinyint",
    "uuid", "varchar", "varint", "empty"})
MULTI_CELL_COLLECTIONS = frozenset({"list", "set", "map"})
# Type constructors that are never user types even though they are plain words.
_TYPE_CONSTRUCTORS = MULTI_CELL_COLLECTIONS | {"frozen", "tuple", "vector"}
# Nesting deeper than this is not a schema anyone writes; it bounds the recursive parser.
MAX_TYPE_NESTING = 64

_TYPE_TOKEN = re.compile(r"""\s*(?:(?P<quoted>"(?:[^"]|"")*")|(?P<string>'(?:[^']|'')*')"""
                         r"""|(?P<word>[A-Za-z0-9_.]+)|(?P<punct>[<>,]))""")


class CqlType(NamedTuple):
    """A parsed type: ``name`` is a native type, constructor, UDT name or custom class."""

    name: str
    args: tuple[Union["CqlType", int], ...] = ()
    quoted: bool = False   # a "quoted" identifier (always a UDT)
    custom: bool = False   # a 'quoted string' custom type class

    @property
    def is_udt(self) -> bool:
        return not self.custom and (self.quoted or (self.name not in NATIVE_TYPES
                                                    and self.name not in _TYPE_CONSTRUCTORS))


@functools.lru_cache(maxsize=4096)
def parse_cql_type(text: str) -> CqlType:
    """Parse a canonical CQL type string; raises ConfigurationError when it is malformed."""
    tokens = [m for m in _TYPE_TOKEN.finditer(text)]
    if "".join(m.group(0) for m in tokens).strip() != text.strip():
        raise ConfigurationError(f"Invalid CQL type '{text}'")
    node, index = _parse_type_at(tokens, 0, text, 0)
    if index != len(tokens) or isinstance(node, int):
        raise ConfigurationError(f"Invalid CQL type '{text}'")
    return node


def _parse_type_at(tokens: list[re.Match[str]], i: int, text: str,
                   depth: int) -> tuple[CqlType | int, int]:
    if i >= len(tokens) or depth > MAX_TYPE_NESTING:
        raise ConfigurationError(f"Invalid CQL type '{text}'")
    tok = tokens[i]
    if tok["quoted"]:
        return CqlType(tok["quoted"][1:-1].replace('""', '"'), quoted=True), i + 1
    if tok["string"]:
        return CqlType(tok["string"][1:-1].replace("''", "'"), custom=True), i + 1
    word = tok["word"]
    if word is None:
        raise ConfigurationError(f"Invalid CQL type '{text}'")
    if word.isdigit():
        return int(word), i + 1
    i += 1
    if i < len(tokens) and tokens[i]["punct"] == "<":
        args: list[CqlType | int] = []
        while True:
            arg, i = _parse_type_at(tokens, i + 1, text, depth + 1)
            args.append(arg)
            if i >= len(tokens) or tokens[i]["punct"] not in (",", ">"):
                raise ConfigurationError(f"Invalid CQL type '{text}'")
            if tokens[i]["punct"] == ">":
                return CqlType(word.lower(), tuple(args)), i + 1
    return CqlType(word.lower()), i


def is_multi_cell(type_text: str) -> bool:
    """True for non-frozen collections and non-frozen UDTs (Cassandra's complex columns)."""
    node = parse_cql_type(type_text)
    return node.name in MULTI_CELL_COLLECTIONS or node.is_udt


def referenced_udts(type_text: str) -> list[str]:
    """UDT names used by a type, innermost first (the order CREATE TYPE needs)."""
    found: list[str] = []
    _collect_udts(parse_cql_type(type_text), found)
    return found


def _collect_udts(node: CqlType | int, found: list[str]) -> None:
    if isinstance(node, int):
        return
    for arg in node.args:
        _collect_udts(arg, found)
    if node.is_udt and node.name not in found:
        found.append(node.name)


# --------------------------------------------------------------------------- structs

class ColumnMetadata(msgspec.Struct, frozen=True, dict=True):
    """One column; ``type`` is the base type even for DESC clustering columns."""

    name: str
    type: str
    kind: ColumnKind = "regular"
    position: int = NO_POSITION
    clustering_order: ClusteringOrder = "none"

    @functools.cached_property
    def is_complex(self) -> bool:
        return self.kind in ("regular", "static") and is_multi_cell(self.type)

    @property
    def is_primary_key(self) -> bool:
        return self.kind in ("partition_key", "clustering")


class DroppedColumn(msgspec.Struct, frozen=True):
    """A ``system_schema.dropped_columns`` entry; ``dropped_time`` is in microseconds."""

    type: str
    dropped_time: int
    kind: Literal["regular", "static"] = "regular"


class TableMetadata(msgspec.Struct, frozen=True, dict=True):
    """A table; ``columns`` is in definition order, the key tuples name the key columns."""

    keyspace: str
    name: str
    id: uuid.UUID
    columns: tuple[ColumnMetadata, ...]
    partition_key: tuple[str, ...]
    clustering: tuple[str, ...] = ()
    options: TableOptions = DEFAULT_TABLE_OPTIONS
    dropped_columns: dict[str, DroppedColumn] = {}
    virtual: bool = False

    def __post_init__(self) -> None:
        by_name = self.column_map
        if len(by_name) != len(self.columns):
            raise ValueError(f"duplicate column in {self.keyspace}.{self.name}")
        if not self.partition_key:
            raise ValueError(f"{self.keyspace}.{self.name} has no partition key")
        for kind, names in (("partition_key", self.partition_key),
                            ("clustering", self.clustering)):
            for position, col_name in enumerate(names):
                col = by_name.get(col_name)
                if col is None or col.kind != kind or col.position != position:
                    raise ValueError(f"{self.keyspace}.{self.name}: {col_name} is not "
                                     f"{kind} column {position}")
        keys = len(self.partition_key) + len(self.clustering)
        if sum(1 for c in self.columns if c.is_primary_key) != keys:
            raise ValueError(f"{self.keyspace}.{self.name}: key columns disagree")

    @functools.cached_property
    def column_map(self) -> dict[str, ColumnMetadata]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> ColumnMetadata | None:
        return self.column_map.get(name)

    @functools.cached_property
    def partition_key_columns(self) -> tuple[ColumnMetadata, ...]:
        return tuple(self.column_map[n] for n in self.partition_key)

    @functools.cached_property
    def clustering_columns(self) -> tuple[ColumnMetadata, ...]:
        return tuple(self.column_map[n] for n in self.clustering)

    @functools.cached_property
    def static_columns(self) -> tuple[ColumnMetadata, ...]:
        return _cassandra_sorted(c for c in self.columns if c.kind == "static")

    @functools.cached_property
    def regular_columns(self) -> tuple[ColumnMetadata, ...]:
        return _cassandra_sorted(c for c in self.columns if c.kind == "regular")

    @functools.cached_property
    def create_order(self) -> tuple[ColumnMetadata, ...]:
        """``allColumnsInCreateOrder``: keys, then statics, then regulars, each simple
        columns before complex ones, by name."""
        return (self.partition_key_columns + self.clustering_columns + self.static_columns
                + self.regular_columns)

    @functools.cached_property
    def select_order(self) -> tuple[ColumnMetadata, ...]:
        """``allColumnsInSelectOrder``: the columns of ``SELECT *``."""
        def by_name(cols: Iterator[ColumnMetadata]) -> tuple[ColumnMetadata, ...]:
            return tuple(sorted(cols, key=lambda c: c.name.encode("utf-8")))
        return (self.partition_key_columns + self.clustering_columns
                + by_name(c for c in self.columns if c.kind == "static")
                + by_name(c for c in self.columns if c.kind == "regular"))

    @functools.cached_property
    def is_counter(self) -> bool:
        return any(parse_cql_type(c.type).name == "counter" for c in self.columns)

    @property
    def flags(self) -> list[str]:
        """``system_schema.tables.flags``: every CQL table is 'compound' since 4.0."""
        return ["compound", "counter"] if self.is_counter else ["compound"]

    def with_options(self, options: TableOptions) -> TableMetadata:
        return msgspec.structs.replace(self, options=options)

    def with_column_added(self, name: str, type_text: str, static: bool = False,
                          user_types: Mapping[str, UserType] | None = None) -> TableMetadata:
        """``ALTER TABLE ADD`` with AlterTableStatement.AddColumns' checks; ``user_types`` are
        the keyspace's UDTs (a non-frozen one may not hold non-frozen collections)."""
        if name in self.column_map:
            raise InvalidRequest(f"Column with name '{name}' already exists")
        if static and not self.clustering:
            raise InvalidRequest("Static columns are only useful (and thus allowed) if the "
                                 "table has at least one clustering column")
        check_nested_multi_cell(type_text, user_types or {}, name)
        dropped = self.dropped_columns.get(name)
        kind: ColumnKind = "static" if static else "regular"
        if dropped is not None:
            if dropped.type != type_text:
                raise InvalidRequest(f"Cannot re-add previously dropped column '{name}' of type "
                                     f"{type_text}, incompatible with previous type "
                                     f"{dropped.type}")
            if dropped.kind != kind:
                raise InvalidRequest(f"Cannot re-add previously dropped column '{name}' of kind "
                                     f"{kind.upper()}, incompatible with previous kind "
                                     f"{dropped.kind.upper()}")
            if self.is_counter:
                raise InvalidRequest(f"Cannot re-add previously dropped counter column {name}")
        column = ColumnMetadata(name, type_text, kind)
        return msgspec.structs.replace(self, columns=self.columns + (column,))

    def with_column_dropped(self, name: str, dropped_time_micros: int) -> TableMetadata:
        """``ALTER TABLE DROP``: the column moves to ``dropped_columns``."""
        column = self.column_map.get(name)
        if column is None:
            raise InvalidRequest(f"Column {name} was not found in table '{self}'")
        if column.is_primary_key:
            raise InvalidRequest(f"Cannot drop PRIMARY KEY column {name}")
        kind: Literal["regular", "static"] = "static" if column.kind == "static" else "regular"
        dropped = dict(self.dropped_columns)
        dropped[name] = DroppedColumn(column.type, dropped_time_micros, kind)
        return msgspec.structs.replace(
            self, columns=tuple(c for c in self.columns if c.name != name),
            dropped_columns=dropped)

    def __str__(self) -> str:
        return f"{maybe_quote(self.keyspace)}.{maybe_quote(self.name)}"


def _cassandra_sorted(columns: Iterator[ColumnMetadata]) -> tuple[ColumnMetadata, ...]:
    """Cassandra's ``Columns`` order: simple columns before complex ones, then name bytes."""
    return tuple(sorted(columns, key=lambda c: (c.is_complex, c.name.encode("utf-8"))))


def new_table(keyspace: str, name: str, columns: Sequence[tuple[str, str]],
              partition_key: Sequence[str], clustering: Sequence[str] = (),
              clustering_order: Mapping[str, str] | None = None,
              static: Collection[str] = (), options: TableOptions = DEFAULT_TABLE_OPTIONS,
              table_id: uuid.UUID | None = None,
              user_types: Mapping[str, UserType] | None = None) -> TableMetadata:
    """Build a table from CREATE TABLE parts, checking what CreateTableStatement.builder checks,
    in its order.  Column types are prepared already (the caller ran the type checks of
    ``CQL3Type.Raw.prepare``); ``user_types`` are the keyspace's UDTs, which the checks on
    non-frozen UDTs and durations look into."""
    types: dict[str, str] = {}
    for col_name, type_text in columns:
        if col_name in types:
            raise InvalidRequest(f"Multiple definition of identifier {col_name}")
        parse_cql_type(type_text)
        types[col_name] = type_text
    udts = user_types or {}
    order = {k: v.lower() for k, v in (clustering_order or {}).items()}
    for col_name in sorted(types, key=lambda n: n.encode("utf-8")):  # a TreeMap by name bytes
        check_nested_multi_cell(types[col_name], udts)
    if not partition_key:
        raise InvalidRequest(f"No PRIMARY KEY specifed for table '{name}' (exactly one required)")
    _check_key_columns(keyspace, name, types, (*partition_key, *clustering), static, udts)
    _check_clustering_order(clustering, order)
    if static and not clustering:
        raise InvalidRequest("Static columns are only useful (and thus allowed) if the table "
                             "has at least one clustering column")
    keys = set(partition_key) | set(clustering)
    for col in static:
        if col not in types:
            raise InvalidRequest(f"Unknown static column {col}")
    _check_counters(types, keys, options)
    built = [_key_column(n, types[n], "partition_key", i, "none")
             for i, n in enumerate(partition_key)]
    built += [_key_column(n, types[n], "clustering", i,
                          order.get(n, "asc"))  # type: ignore[arg-type]
              for i, n in enumerate(clustering)]
    built += [ColumnMetadata(n, t, "static" if n in static else "regular")
              for n, t in types.items() if n not in keys]
    by_name = {c.name: c for c in built}
    return TableMetadata(keyspace, name, table_id or uuid.uuid1(),
                         tuple(by_name[n] for n in types), tuple(partition_key),
                         tuple(clustering), options)


def check_nested_multi_cell(type_text: str, user_types: Mapping[str, UserType],
                            column: str | None = None) -> None:
    """A non-frozen UDT column may not have a non-frozen collection field (its cells could not
    be addressed).  ALTER TABLE ADD names the ``column``; CREATE TABLE does not."""
    node = parse_cql_type(type_text)
    udt = user_types.get(node.name) if node.is_udt else None
    if udt is None or not any(is_multi_cell(f) for f in udt.field_types):
        return
    suffix = "" if column is None else f" for column {column}"
    raise InvalidRequest("Non-frozen UDTs with nested non-frozen collections are not "
                         "supported" + suffix)


def references_duration(type_text: str, user_types: Mapping[str, UserType]) -> bool:
    """``AbstractType.referencesDuration``: a duration anywhere inside, UDT fields included."""
    return _node_references_duration(parse_cql_type(type_text), user_types, 0)


def _node_references_duration(node: CqlType | int, user_types: Mapping[str, UserType],
                              depth: int) -> bool:
    if isinstance(node, int) or depth > MAX_TYPE_NESTING:
        return False
    if node.name == "duration" and not node.is_udt:
        return True
    if any(_node_references_duration(a, user_types, depth + 1) for a in node.args):
        return True
    udt = user_types.get(node.name) if node.is_udt else None
    return udt is not None and any(
        _node_references_duration(parse_cql_type(f), user_types, depth + 1)
        for f in udt.field_types)


def _check_counters(types: Mapping[str, str], keys: set[str], options: TableOptions) -> None:
    """CreateTableStatement's counter rules: all regular columns counters, or none (a counter
    key column was refused already, with the other key checks)."""
    counters = {n for n, t in types.items() if parse_cql_type(t).name == "counter"}
    if not counters:
        return
    if counters != set(types) - keys:
        raise InvalidRequest("Cannot mix counter and non counter columns in the same table")
    if options.default_time_to_live:
        raise InvalidRequest("Cannot set default_time_to_live on a table with counters")


def _key_column(name: str, type_text: str, kind: ColumnKind, position: int,
                order: ClusteringOrder) -> ColumnMetadata:
    return ColumnMetadata(name, type_text, kind, position, order)


def _check_key_columns(keyspace: str, table: str, types: Mapping[str, str],
                       keys: Sequence[str], static: Collection[str],
                       user_types: Mapping[str, UserType]) -> None:
    """The PRIMARY KEY loop of CreateTableStatement.builder, one column at a time."""
    seen: set[str] = set()
    for key in keys:
        type_text = types.get(key)
        if type_text is None:
            raise InvalidRequest(f"Unknown column '{key}' referenced in PRIMARY KEY for table "
                                 f"'{table}'")
        if key in seen:
            raise InvalidRequest(f"Duplicate column '{key}' in PRIMARY KEY clause for table "
                                 f"'{table}'")
        seen.add(key)
        node = parse_cql_type(type_text)
        if node.name in MULTI_CELL_COLLECTIONS:
            raise InvalidRequest(f"Invalid non-frozen collection type {type_text} for PRIMARY "
                                 f"KEY column '{key}'")
        if node.is_udt:  # CQL3Type.UserDefined prints its keyspace-qualified name, quoted
            raise InvalidRequest(f"Invalid non-frozen user-defined type "
                                 f"{maybe_quote(keyspace + '.' + node.name)} for PRIMARY KEY "
                                 f"column '{key}'")
        if node.name == "counter":
            raise InvalidRequest(f"counter type is not supported for PRIMARY KEY column '{key}'")
        if references_duration(type_text, user_types):
            raise InvalidRequest(f"duration type is not supported for PRIMARY KEY column "
                                 f"'{key}'")
        if key in static:
            raise InvalidRequest(f"Static column '{key}' cannot be part of the PRIMARY KEY")


def _check_clustering_order(clustering: Sequence[str], order: Mapping[str, str]) -> None:
    outsiders = [col for col in order if col not in clustering]
    if outsiders:  # Java's List.toString
        raise InvalidRequest("Only clustering key columns can be defined in CLUSTERING ORDER "
                             f"directive: [{', '.join(outsiders)}] are not clustering columns")
    for position, col in enumerate(order):
        expected = clustering[position]
        if col != expected:
            if expected in order:
                raise InvalidRequest("The order of columns in the CLUSTERING ORDER directive "
                                     "must match that of the clustering columns "
                                     f"({expected} must appear before {col})")
            raise InvalidRequest(f"Missing CLUSTERING ORDER for column {expected}")
    for col, direction in order.items():
        if direction not in ("asc", "desc"):
            raise InvalidRequest(f"Invalid clustering order {direction} for column {col}")


class UserType(msgspec.Struct, frozen=True):
    """A user-defined type; field types are canonical CQL type strings."""

    keyspace: str
    name: str
    field_names: tuple[str, ...]
    field_types: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.field_names) != len(self.field_types):
            raise ValueError(f"type {self.name}: names and types differ in length")


class KeyspaceMetadata(msgspec.Struct, frozen=True):
    """A keyspace; ``replication`` is the stored map ('class' fully qualified)."""

    name: str
    replication: dict[str, str]
    durable_writes: bool = True
    tables: dict[str, TableMetadata] = {}
    types: dict[str, UserType] = {}
    virtual: bool = False

    @property
    def strategy_class(self) -> str:
        return self.replication["class"]

    def with_table(self, table: TableMetadata) -> KeyspaceMetadata:
        return msgspec.structs.replace(self, tables={**self.tables, table.name: table})

    def without_table(self, name: str) -> KeyspaceMetadata:
        return msgspec.structs.replace(
            self, tables={k: v for k, v in self.tables.items() if k != name})

    def with_type(self, user_type: UserType) -> KeyspaceMetadata:
        return msgspec.structs.replace(self, types={**self.types, user_type.name: user_type})

    def without_type(self, name: str) -> KeyspaceMetadata:
        return msgspec.structs.replace(
            self, types={k: v for k, v in self.types.items() if k != name})


_VERSION_ENCODER = msgspec.msgpack.Encoder(order="deterministic")


class Schema(msgspec.Struct, frozen=True, dict=True):
    """An immutable schema snapshot; replace it whole on every change."""

    keyspaces: dict[str, KeyspaceMetadata] = {}

    def keyspace(self, name: str) -> KeyspaceMetadata | None:
        return self.keyspaces.get(name)

    def table(self, keyspace: str, name: str) -> TableMetadata | None:
        ks = self.keyspaces.get(keyspace)
        return None if ks is None else ks.tables.get(name)

    def get_keyspace(self, name: str) -> KeyspaceMetadata:
        ks = self.keyspaces.get(name)
        if ks is None:
            raise KeyspaceNotDefined(f"keyspace {name} does not exist")
        return ks

    def get_table(self, keyspace: str, name: str) -> TableMetadata:
        """``Schema.validateTable``: the table, or Cassandra's error."""
        if not name:
            raise InvalidRequest("non-empty table is required")
        table = self.get_keyspace(keyspace).tables.get(name)
        if table is None:
            raise InvalidRequest(f"table {name} does not exist")
        return table

    def with_keyspace(self, keyspace: KeyspaceMetadata) -> Schema:
        return Schema({**self.keyspaces, keyspace.name: keyspace})

    def without_keyspace(self, name: str) -> Schema:
        return Schema({k: v for k, v in self.keyspaces.items() if k != name})

    def with_table(self, table: TableMetadata) -> Schema:
        return self.with_keyspace(self.get_keyspace(table.keyspace).with_table(table))

    def without_table(self, keyspace: str, name: str) -> Schema:
        return self.with_keyspace(self.get_keyspace(keyspace).without_table(name))

    def with_type(self, user_type: UserType) -> Schema:
        return self.with_keyspace(self.get_keyspace(user_type.keyspace).with_type(user_type))

    def without_type(self, keyspace: str, name: str) -> Schema:
        return self.with_keyspace(self.get_keyspace(keyspace).without_type(name))

    @functools.cached_property
    def version(self) -> uuid.UUID:
        """Content digest as a version-3 UUID (Cassandra: ``UUID.nameUUIDFromBytes``)."""
        digested = {name: ks for name, ks in self.keyspaces.items()
                    if name not in LOCAL_SYSTEM_KEYSPACES and not ks.virtual}
        digest = hashlib.md5(_VERSION_ENCODER.encode(digested)).digest()
        return uuid.UUID(bytes=digest, version=3)

    def schema_version(self) -> uuid.UUID:
        return self.version


# --------------------------------------------------------------------------- replication

LOCATOR_PACKAGE = "org.apache.cassandra.locator."
SIMPLE_STRATEGY = LOCATOR_PACKAGE + "SimpleStrategy"
NETWORK_TOPOLOGY_STRATEGY = LOCATOR_PACKAGE + "NetworkTopologyStrategy"
LOCAL_STRATEGY = LOCATOR_PACKAGE + "LocalStrategy"
REPLICATION_STRATEGIES = frozenset({SIMPLE_STRATEGY, NETWORK_TOPOLOGY_STRATEGY, LOCAL_STRATEGY})
REPLICATION_FACTOR = "replication_factor"
# cassandra.yaml default_keyspace_rf: what SimpleStrategy gets when no factor is given.
DEFAULT_KEYSPACE_RF = 1


def replication_class_name(name: str) -> str:
    """``AbstractReplicationStrategy.getClass``: short or long name -> fully qualified."""
    full = name if "." in name else LOCATOR_PACKAGE + name
    if full not in REPLICATION_STRATEGIES:
        raise ConfigurationError(f"Unable to find replication strategy class '{full}'")
    return full


def normalize_replication(replication: Mapping[str, object], keyspace: str,
                          datacenters: Collection[str],
                          previous: Mapping[str, str] | None = None,
                          default_rf: int = DEFAULT_KEYSPACE_RF) -> dict[str, str]:
    """Validate a user's ``replication`` map and return it as Cassandra stores it.

    ``datacenters`` are the DCs known to the cluster (NetworkTopologyStrategy only accepts
    those, and expands 'replication_factor' to all of them); ``previous`` is the current
    map when altering a keyspace.
    """
    options = {str(k): property_text(v) for k, v in replication.items()}
    name = options.pop("class", None)
    if name is None:
        raise ConfigurationError("Missing replication strategy class")
    klass = replication_class_name(name)
    if klass == LOCAL_STRATEGY:
        raise InvalidRequest("Unable to use given strategy class: LocalStrategy is reserved "
                             "for internal use.")
    prepared = _STRATEGY_PREPARE[klass](options, previous or {}, datacenters, default_rf)
    _STRATEGY_VALIDATE[klass](prepared, keyspace, datacenters)
    return {"class": klass, **dict(sorted(prepared.items()))}


def _prepare_simple(options: dict[str, str], previous: Mapping[str, str],
                    datacenters: Collection[str], default_rf: int) -> dict[str, str]:
    options.setdefault(REPLICATION_FACTOR, previous.get(REPLICATION_FACTOR, str(default_rf)))
    return options


def _prepare_nts(options: dict[str, str], previous: Mapping[str, str],
                 datacenters: Collection[str], default_rf: int) -> dict[str, str]:
    rf = options.pop(REPLICATION_FACTOR, None)
    if rf is None and not options:  # ALTER from SimpleStrategy keeps its factor
        rf = previous.get(REPLICATION_FACTOR)
    elif rf is not None:  # auto-expansion never changes a DC the keyspace already has
        for dc, value in previous.items():
            if dc not in (REPLICATION_FACTOR, "class"):
                options.setdefault(dc, value)
    if rf is not None:  # the shorthand expands to every known DC; explicit DCs win
        rf = str(validate_replication_factor(rf))
        for dc in datacenters:
            options.setdefault(dc, rf)
    # NetworkTopologyStrategy.prepareOptions drops data centers given a factor of "0".
    return {dc: value for dc, value in options.items() if value != "0"}


def _validate_simple(options: Mapping[str, str], keyspace: str,
                     datacenters: Collection[str]) -> None:
    _expect_options(options, {REPLICATION_FACTOR}, "SimpleStrategy", keyspace)
    if options.get(REPLICATION_FACTOR) is None:
        raise ConfigurationError("SimpleStrategy requires a replication_factor strategy option.")
    validate_replication_factor(options[REPLICATION_FACTOR])


def _validate_nts(options: Mapping[str, str], keyspace: str,
                  datacenters: Collection[str]) -> None:
    if not options:
        raise ConfigurationError("Configuration for at least one datacenter must be present")
    _expect_options(options, set(datacenters), "NetworkTopologyStrategy", keyspace)
    for value in options.values():
        validate_replication_factor(value)


def _expect_options(options: Mapping[str, str], expected: Collection[str], strategy: str,
                    keyspace: str) -> None:
    for key in options:
        if key not in expected:
            raise ConfigurationError(f"Unrecognized strategy option {{{key}}} passed to "
                                     f"{strategy} for keyspace {keyspace}")


def validate_replication_factor(text: str) -> int:
    """``ReplicationFactor.fromString`` + validate; transient replicas are not enabled."""
    full, _, transient = text.partition("/")
    values = []
    for part in (full, transient) if transient else (full,):
        if not re.fullmatch(r"[+-]?\d+", part) or not -(2 ** 31) <= int(part) < 2 ** 31:
            raise ConfigurationError(f'For input string: "{part}"')
        values.append(int(part))
    if len(values) == 2 and values[1] != 0:
        raise ConfigurationError("Transient replication is not enabled on this node")
    if values[0] < 0:
        raise ConfigurationError(f"Replication factor must be non-negative, found {values[0]}")
    return values[0]


_STRATEGY_PREPARE = {SIMPLE_STRATEGY: _prepare_simple, NETWORK_TOPOLOGY_STRATEGY: _prepare_nts}
_STRATEGY_VALIDATE = {SIMPLE_STRATEGY: _validate_simple, NETWORK_TOPOLOGY_STRATEGY: _validate_nts}


def replication_factor_of(replication: Mapping[str, str], datacenter: str | None = None) -> int:
    """The RF of a stored replication map (per DC for NetworkTopologyStrategy)."""
    klass = replication["class"]
    if klass == SIMPLE_STRATEGY:
        return int(replication[REPLICATION_FACTOR])
    if klass == LOCAL_STRATEGY:
        return 1
    if datacenter is None:
        return sum(int(v) for k, v in replication.items() if k != "class")
    return int(replication.get(datacenter, "0"))


# --------------------------------------------------------------------------- keyspace DDL

# KeyspaceParams.Option: the properties CREATE/ALTER KEYSPACE accept.
KEYSPACE_PROPERTIES = frozenset({"replication", "durable_writes"})


def keyspace_from_properties(name: str, props: Mapping[str, object],
                             datacenters: Collection[str],
                             previous: KeyspaceMetadata | None = None) -> KeyspaceMetadata:
    """CREATE KEYSPACE (``previous`` None) or ALTER KEYSPACE properties -> KeyspaceMetadata.

    Follows KeyspaceAttributes and Create/AlterKeyspaceStatement: unknown properties are
    syntax errors, CREATE requires 'replication', ALTER keeps what it does not mention
    (tables and types included).  Existence checks are the caller's (it owns the Schema).
    """
    check_property_names(props, KEYSPACE_PROPERTIES)
    replication = props.get("replication")
    if replication is not None and not isinstance(replication, Mapping):
        raise CqlSyntaxError("Invalid value for property 'replication'. It should be a map.")
    if replication is not None and "class" not in replication:
        raise ConfigurationError("Missing replication strategy class")
    durable = previous.durable_writes if previous is not None else True
    if "durable_writes" in props:
        value = props["durable_writes"]
        if isinstance(value, Mapping):
            raise CqlSyntaxError("Invalid value for property 'durable_writes'. It should be a "
                                 "string")
        durable = parse_boolean("durable_writes", property_text(value))
    if previous is None:
        if replication is None:
            raise InvalidRequest("Missing mandatory option 'replication'")
        replication_class_name(str(replication["class"]))
        validate_name("Keyspace", name)
        stored = normalize_replication(replication, name, datacenters)
        return KeyspaceMetadata(name, stored, durable)
    stored = previous.replication if replication is None else normalize_replication(
        replication, name, datacenters, previous.replication)
    return msgspec.structs.replace(previous, replication=stored, durable_writes=durable)
