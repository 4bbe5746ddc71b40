"""A table's schema in the form statements execute against: parsed types, key layout, metadata bytes.

What it is: `TableInfo`, built once per (table, schema version) from the schema model's TableMetadata
(whose types are CQL strings) and cached, so per-request code never parses a type string or looks a
column up twice.

What it must not do: change the schema or hold data; it is a derived, immutable view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ferrosa.coordinator.consistency import ConsistencyRules, rules_for
from ferrosa.protocol import types as T
from ferrosa.schema.model import ColumnMetadata, Schema, TableMetadata


@dataclass(frozen=True, eq=False)
class ColumnInfo:
    name: str
    kind: str  # partition_key | clustering | regular | static
    position: int
    type: T.CqlType
    reversed: bool

    @property
    def is_static(self) -> bool:
        return self.kind == "static"

    @property
    def is_key(self) -> bool:
        return self.kind in ("partition_key", "clustering")


@dataclass(eq=False)
class TableInfo:
    meta: TableMetadata
    id_bytes: bytes
    columns: dict[str, ColumnInfo]
    partition_key: list[ColumnInfo]
    clustering: list[ColumnInfo]
    select_order: list[ColumnInfo]
    consistency: ConsistencyRules  # the levels its reads and writes may use
    ck_types: list[T.CqlType] = field(default_factory=list)
    ck_reversed: list[bool] = field(default_factory=list)

    @property
    def keyspace(self) -> str:
        return self.meta.keyspace

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def is_counter(self) -> bool:
        return any(c.type is T.COUNTER for c in self.columns.values())

    def column(self, name: str) -> ColumnInfo | None:
        return self.columns.get(name)


def _resolver(schema: Schema, keyspace: str):
    def resolve(name: str, type_keyspace: str | None = None) -> T.UserType:
        owner = type_keyspace or keyspace
        ks = schema.keyspace(owner)
        udt = None if ks is None else ks.types.get(name)
        if udt is None:
            raise T.InvalidType(f"Unknown type {owner}.{name}")
        return T.UserType(owner, name, udt.field_names,
                          [T.parse_cql_type(t, _resolver(schema, owner))
                           for t in udt.field_types])
    return resolve


def column_type(schema: Schema, keyspace: str, type_text: str) -> T.CqlType:
    return T.parse_cql_type(type_text, _resolver(schema, keyspace))


def _column(schema: Schema, keyspace: str, col: ColumnMetadata) -> ColumnInfo:
    return ColumnInfo(col.name, col.kind, col.position, column_type(schema, keyspace, col.type),
                      col.clustering_order == "desc")


def build_table_info(schema: Schema, meta: TableMetadata, local_dc: str) -> TableInfo:
    """`meta` as statements use it, on a node in data center `local_dc`."""
    columns = {c.name: _column(schema, meta.keyspace, c) for c in meta.columns}
    pk = [columns[n] for n in meta.partition_key]
    ck = [columns[n] for n in meta.clustering]
    order = [columns[c.name] for c in meta.select_order]
    counter = any(c.type is T.COUNTER for c in columns.values())
    rules = rules_for(schema.keyspaces[meta.keyspace], meta.name, counter, local_dc)
    return TableInfo(meta, meta.id.bytes, columns, pk, ck, order, rules,
                     [c.type for c in ck], [c.reversed for c in ck])


class TableInfoCache:
    """TableInfo per table, rebuilt when the schema object changes (copy-on-write schema)."""

    def __init__(self, local_dc: str) -> None:
        self.local_dc = local_dc
        self._schema: Schema | None = None
        self._cache: dict[tuple[str, str], TableInfo] = {}

    def get(self, schema: Schema, meta: TableMetadata) -> TableInfo:
        if schema is not self._schema:
            self._schema = schema
            self._cache = {}
        key = (meta.keyspace, meta.name)
        info = self._cache.get(key)
        if info is None or info.meta is not meta:
            info = self._cache[key] = build_table_info(schema, meta, self.local_dc)
        return info
