"""The table an import writes into: its schema as the node reports it, checked against an SSTable.

What it is: ``TargetTable`` (keyspace, name, table id, partition key and clustering columns, the
other columns with their kinds and CQL types), built by ``read_target`` from the node's
``system_schema`` (tables, columns, types) through any object with the driver's ``execute``, and
``check_header``, which compares an SSTable's serialization header with it and raises one
``SchemaMismatch`` listing every difference.

Compatibility rules (what the loader relies on to store values unchanged):

* partition key and clustering: as many columns, the same types, the same ASC/DESC order. Key
  bytes are hashed and returned as they are, so only types whose values have identical bytes are
  interchangeable (``SAME_BYTES``: ascii into text, timeuuid into uuid).
* every static and regular column of the SSTable exists in the table with the same kind (static or
  regular), the same multi-cell-ness (a non-frozen collection or UDT stays non-frozen) and a type
  whose values accept the SSTable's: equal, a ``SAME_BYTES`` pair, or a single-cell blob (which
  takes any bytes). User types match by field names and types, ignoring keyspace and type name; a
  table's type may have more fields at the end (ALTER TYPE ADD), except in key columns, where the
  bytes must not change. Columns the table has and the SSTable lacks are fine.

This module must NOT decode Data.db, convert rows or talk to the admin socket.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ferrosa.importer.errors import SchemaMismatch
from ferrosa.importer.types import ColumnType
from ferrosa.importer.unfiltered import PartitionDecoder
from ferrosa.protocol.types import (
    ASCII, BLOB, TEXT, TIMEUUID, UUID, CqlType, CustomType, InvalidType, ListType, MapType, NativeType,
    SetType, TupleType, UdtResolver, UserType, VectorType, cql_name, parse_cql_type,
)

# (SSTable type, table type) pairs whose values are byte-for-byte valid values of the other type.
SAME_BYTES: frozenset[tuple[CqlType, CqlType]] = frozenset({(ASCII, TEXT), (TIMEUUID, UUID)})

_TABLE_QUERY = "SELECT id FROM system_schema.tables WHERE keyspace_name = %s AND table_name = %s"
_COLUMNS_QUERY = ("SELECT column_name, kind, position, type, clustering_order FROM system_schema.columns "
                  "WHERE keyspace_name = %s AND table_name = %s")
_TYPES_QUERY = ("SELECT type_name, field_names, field_types FROM system_schema.types "
                "WHERE keyspace_name = %s")


class Session(Protocol):
    def execute(self, query: str, parameters: Sequence[Any] = ...) -> Any: ...


@dataclass(frozen=True, slots=True)
class TargetColumn:
    name: str
    kind: str                     # partition_key | clustering | regular | static
    type: CqlType
    reversed: bool = False        # a DESC clustering column


@dataclass(slots=True)
class TargetTable:
    keyspace: str
    name: str
    id: bytes                     # system_schema.tables.id: the table id in every Mutation
    partition_key: tuple[TargetColumn, ...]
    clustering: tuple[TargetColumn, ...]
    columns: dict[str, TargetColumn] = field(default_factory=dict)  # regular and static

    @property
    def qualified(self) -> str:
        return f"{self.keyspace}.{self.name}"

    @property
    def clustering_types(self) -> tuple[CqlType, ...]:
        return tuple(c.type for c in self.clustering)

    @property
    def clustering_reversed(self) -> tuple[bool, ...]:
        return tuple(c.reversed for c in self.clustering)


def udt_resolver(keyspace: str, rows: Sequence[Any]) -> UdtResolver:
    """Resolve user type names of ``keyspace`` from its system_schema.types rows (recursively)."""
    definitions = {r.type_name: (list(r.field_names), list(r.field_types)) for r in rows}
    built: dict[str, UserType] = {}

    def resolve(name: str, ks: str | None) -> UserType | None:
        if ks not in (None, keyspace) or name not in definitions:
            return None
        if name not in built:
            names, types = definitions[name]
            built[name] = UserType(keyspace, name, names, [parse_cql_type(t, resolve) for t in types])
        return built[name]
    return resolve


def read_target(session: Session, keyspace: str, table: str) -> TargetTable | None:
    """The table as the node's system_schema describes it; None when it does not exist."""
    found = list(session.execute(_TABLE_QUERY, (keyspace, table)))
    if not found:
        return None
    resolve = udt_resolver(keyspace, list(session.execute(_TYPES_QUERY, (keyspace,))))
    columns = sorted(session.execute(_COLUMNS_QUERY, (keyspace, table)), key=lambda r: r.position)
    by_kind: dict[str, list[TargetColumn]] = {"partition_key": [], "clustering": [], "regular": [],
                                              "static": []}
    for r in columns:
        try:
            t = parse_cql_type(r.type, resolve)
        except InvalidType as exc:
            raise SchemaMismatch(f"{keyspace}.{table}", f"column {r.column_name}: cannot read its "
                                                        f"type {r.type!r}: {exc}") from None
        by_kind[r.kind].append(TargetColumn(r.column_name, r.kind, t, r.clustering_order == "desc"))
    others = {c.name: c for c in by_kind["regular"] + by_kind["static"]}
    return TargetTable(keyspace, table, found[0].id.bytes, tuple(by_kind["partition_key"]),
                       tuple(by_kind["clustering"]), others)


# ------------------------------------------------------------------------------ type compatibility

def _fields_fit(a: UserType, b: UserType, key: bool) -> bool:
    if len(a.field_names) > len(b.field_names) or (key and len(a.field_names) != len(b.field_names)):
        return False
    return all(na == nb and _fits(ta, tb, key)
               for na, nb, ta, tb in zip(a.field_names, b.field_names, a.field_types, b.field_types))


def _same_class(a: CqlType, b: CqlType, key: bool) -> bool:
    return type(a) is type(b) and len(a.subtypes) == len(b.subtypes) and all(
        _fits(x, y, key) for x, y in zip(a.subtypes, b.subtypes))


# How a value of the first type fits a column of the second (same Python class), ignoring the
# frozen flags of nested types: a nested type is frozen wherever it may occur.
_FITS: dict[type, Callable[[Any, Any, bool], bool]] = {
    NativeType: lambda a, b, key: a is b or (a, b) in SAME_BYTES,
    CustomType: lambda a, b, key: a.class_name == b.class_name,
    ListType: _same_class,
    SetType: _same_class,
    MapType: _same_class,
    TupleType: _same_class,
    UserType: _fields_fit,
    VectorType: lambda a, b, key: a.dimension == b.dimension and _fits(a.element, b.element, key),
}


def _fits(a: CqlType, b: CqlType, key: bool) -> bool:
    if type(a) is not type(b):
        return False
    return _FITS[type(a)](a, b, key)


def value_fits(sstable: CqlType, table: CqlType, *, key: bool = False) -> bool:
    """Whether every serialized value of the SSTable's type is, unchanged, a value of the column's."""
    if sstable.is_multi_cell != table.is_multi_cell:
        return False
    if not key and table is BLOB:
        return True
    return _fits(sstable, table, key)


# ---------------------------------------------------------------------------------- header check

def _describe(t: ColumnType) -> str:
    return cql_name(t.cql)


def _key_problems(decoder: PartitionDecoder, target: TargetTable) -> list[str]:
    problems = []
    components = decoder.key_type.components
    pk = target.partition_key
    if len(components) != len(pk):
        problems.append(f"the partition key has {len(components)} column(s) in the SSTable "
                        f"({', '.join(map(_describe, components))}) and {len(pk)} in the table "
                        f"({', '.join(c.name for c in pk)})")
    else:
        problems += [f"partition key column {c.name} is {cql_name(c.type)}, the SSTable has {_describe(t)}"
                     for t, c in zip(components, pk) if not value_fits(t.cql, c.type, key=True)]
    clustering = decoder.clustering_types
    ck = target.clustering
    if len(clustering) != len(ck):
        problems.append(f"{len(clustering)} clustering column(s) in the SSTable, {len(ck)} in the table")
        return problems
    for t, c in zip(clustering, ck):
        if not value_fits(t.cql, c.type, key=True):
            problems.append(f"clustering column {c.name} is {cql_name(c.type)}, the SSTable has "
                            f"{_describe(t)}")
        elif t.reversed != c.reversed:
            problems.append(f"clustering column {c.name} is {'DESC' if c.reversed else 'ASC'} in the table "
                            f"and {'DESC' if t.reversed else 'ASC'} in the SSTable")
    return problems


def _column_problems(decoder: PartitionDecoder, target: TargetTable) -> list[str]:
    problems = []
    specs = [(spec[0], t, "regular") for spec, t in zip(decoder.regulars, decoder.regular_types)]
    specs += [(spec[0], t, "static") for spec, t in zip(decoder.statics, decoder.static_types)]
    for name, t, kind in specs:
        column = target.columns.get(name)
        if column is None:
            problems.append(f"{kind} column {name} ({_describe(t)}) is not in the table")
        elif column.kind != kind:
            problems.append(f"column {name} is {column.kind} in the table and {kind} in the SSTable")
        elif not value_fits(t.cql, column.type):
            problems.append(f"column {name} is {cql_name(column.type)} in the table, the SSTable has "
                            f"{_describe(t)}")
    return problems


def check_header(decoder: PartitionDecoder, target: TargetTable, path: str) -> None:
    """Raise SchemaMismatch (naming ``path``, the table and every difference) unless the SSTable's
    columns fit the table (see the module docstring)."""
    problems = _key_problems(decoder, target) + _column_problems(decoder, target)
    if problems:
        raise SchemaMismatch(path, f"does not fit table {target.qualified}: " + "; ".join(problems))
