"""AST, part 2: the statement base class, DML and DDL statements (re-exported by ast.py).

This module must NOT validate or evaluate anything; see ast.py for the conventions.
"""

from __future__ import annotations

import enum
from typing import Union

import msgspec

from ferrosa.cql.ast_expressions import (
    BindMarker,
    CqlType,
    Node,
    Ordering,
    QualifiedName,
    Relation,
    Selector,
    Term,
)


# ---------------------------------------------------------------------------------------------------
# Statements: base
# ---------------------------------------------------------------------------------------------------


class Statement(Node, frozen=True, gc=False, kw_only=True):
    """Base of all statements."""

    bind_markers: tuple[BindMarker, ...] = ()


# ---------------------------------------------------------------------------------------------------
# DML
# ---------------------------------------------------------------------------------------------------


class UseStatement(Statement, frozen=True, gc=False):
    keyspace: str


class SelectStatement(Statement, frozen=True, gc=False):
    """``selectors`` is empty for ``SELECT *``."""

    table: QualifiedName
    selectors: tuple[Selector, ...]
    where: tuple[Relation, ...] = ()
    is_distinct: bool = False
    is_json: bool = False
    group_by: tuple[Term, ...] = ()
    order_by: tuple[Ordering, ...] = ()
    per_partition_limit: Term | None = None
    limit: Term | None = None
    allow_filtering: bool = False


class Operation(Node, frozen=True, gc=False):
    """Base of UPDATE ... SET operations (Cassandra's ``Operation.RawUpdate``)."""


class SetValue(Operation, frozen=True, gc=False):
    """``c = value``."""

    column: str
    value: Term


class SetElement(Operation, frozen=True, gc=False):
    """``c[key] = value`` (map key or list index)."""

    column: str
    key: Term
    value: Term


class SetField(Operation, frozen=True, gc=False):
    """``c.field = value``."""

    column: str
    field: str
    value: Term


class Addition(Operation, frozen=True, gc=False):
    """``c = c + value`` / ``c += value`` (counters, collections append/union)."""

    column: str
    value: Term


class Subtraction(Operation, frozen=True, gc=False):
    """``c = c - value`` / ``c -= value``."""

    column: str
    value: Term


class Prepend(Operation, frozen=True, gc=False):
    """``c = value + c`` (lists)."""

    column: str
    value: Term


class Deletion(Node, frozen=True, gc=False):
    """Base of DELETE selection items (Cassandra's ``Operation.RawDeletion``)."""


class ColumnDeletion(Deletion, frozen=True, gc=False):
    column: str


class ElementDeletion(Deletion, frozen=True, gc=False):
    """``DELETE c[element]``."""

    column: str
    element: Term


class FieldDeletion(Deletion, frozen=True, gc=False):
    """``DELETE c.field``."""

    column: str
    field: str


class ColumnCondition(Node, frozen=True, gc=False):
    """One ``IF`` condition: ``column[element]`` or ``column.field`` (or the bare column) ``op value``.
    For IN, ``value`` is a TermList or a BindMarker."""

    column: str
    operator: Operator
    value: Term
    element: Term | None = None
    field: str | None = None


class ModificationStatement(Statement, frozen=True, gc=False):
    """Base of INSERT / UPDATE / DELETE."""


class InsertStatement(ModificationStatement, frozen=True, gc=False):
    """``INSERT INTO t (cols) VALUES (terms)`` (Cassandra's ``UpdateStatement.ParsedInsert``)."""

    table: QualifiedName
    columns: tuple[str, ...]
    values: tuple[Term, ...]
    if_not_exists: bool = False
    timestamp: Term | None = None
    ttl: Term | None = None


class InsertJsonStatement(ModificationStatement, frozen=True, gc=False):
    """``INSERT INTO t JSON 'doc' [DEFAULT NULL|UNSET]``; ``json`` is a STRING Constant or a marker."""

    table: QualifiedName
    json: Term
    default_unset: bool = False
    if_not_exists: bool = False
    timestamp: Term | None = None
    ttl: Term | None = None


class UpdateStatement(ModificationStatement, frozen=True, gc=False):
    table: QualifiedName
    operations: tuple[Operation, ...]
    where: tuple[Relation, ...]
    conditions: tuple[ColumnCondition, ...] = ()
    if_exists: bool = False
    timestamp: Term | None = None
    ttl: Term | None = None


class DeleteStatement(ModificationStatement, frozen=True, gc=False):
    """``deletions`` is empty when the whole row/partition is deleted."""

    table: QualifiedName
    deletions: tuple[Deletion, ...]
    where: tuple[Relation, ...]
    conditions: tuple[ColumnCondition, ...] = ()
    if_exists: bool = False
    timestamp: Term | None = None


class BatchType(enum.IntEnum):
    """Values match the native protocol's BATCH type byte."""

    LOGGED = 0
    UNLOGGED = 1
    COUNTER = 2


class BatchStatement(Statement, frozen=True, gc=False):
    batch_type: BatchType
    statements: tuple[ModificationStatement, ...]
    timestamp: Term | None = None
    ttl: Term | None = None


class TruncateStatement(Statement, frozen=True, gc=False):
    table: QualifiedName


# ---------------------------------------------------------------------------------------------------
# DDL
# ---------------------------------------------------------------------------------------------------

PropertyValue = Union[str, dict[str, str]]
Properties = dict[str, PropertyValue]


class CreateKeyspaceStatement(Statement, frozen=True, gc=False):
    keyspace: str
    properties: Properties
    if_not_exists: bool = False


class AlterKeyspaceStatement(Statement, frozen=True, gc=False):
    keyspace: str
    properties: Properties
    if_exists: bool = False


class DropKeyspaceStatement(Statement, frozen=True, gc=False):
    keyspace: str
    if_exists: bool = False


class ColumnMask(Node, frozen=True, gc=False):
    """``MASKED WITH f(args)``; ``MASKED WITH DEFAULT`` is the function ``mask_default``."""

    function: QualifiedName
    args: tuple[Term, ...] = ()


class ColumnDefinition(Node, frozen=True, gc=False):
    name: str
    type: CqlType
    is_static: bool = False
    mask: ColumnMask | None = None


class ClusteringOrder(Node, frozen=True, gc=False):
    column: str
    ascending: bool = True


class CreateTableStatement(Statement, frozen=True, gc=False):
    """``primary_key_count`` is 0 when no PRIMARY KEY was declared (the executor then answers
    Cassandra's "No PRIMARY KEY specifed for table ..."), else 1: the parser already rejects
    several declarations, duplicate columns and duplicate CLUSTERING ORDER entries, as Cassandra's
    grammar actions do."""

    table: QualifiedName
    columns: tuple[ColumnDefinition, ...]
    partition_key: tuple[str, ...]
    clustering_columns: tuple[str, ...] = ()
    primary_key_count: int = 1
    clustering_order: tuple[ClusteringOrder, ...] = ()
    properties: Properties = msgspec.field(default_factory=dict)
    compact_storage: bool = False
    if_not_exists: bool = False


class CopyTableStatement(Statement, frozen=True, gc=False):
    """``CREATE TABLE new LIKE old [WITH INDEXES AND props]`` (Cassandra 5.1 grammar)."""

    table: QualifiedName
    source: QualifiedName
    with_indexes: bool = False
    properties: Properties = msgspec.field(default_factory=dict)
    if_not_exists: bool = False


class AlterTableStatement(Statement, frozen=True, gc=False):
    """Base of the ALTER TABLE forms; ``if_exists`` is ``ALTER TABLE IF EXISTS``."""

    table: QualifiedName
    if_exists: bool


class AlterTableAlterColumn(AlterTableStatement, frozen=True, gc=False):
    """``ALTER TABLE t ALTER c TYPE type`` (rejected by Cassandra 4+, but grammatical)."""

    column: str
    type: CqlType


class AlterTableMaskColumn(AlterTableStatement, frozen=True, gc=False):
    """``ALTER [IF EXISTS] c MASKED WITH ...`` or ``... DROP MASKED`` (mask None)."""

    column: str
    mask: ColumnMask | None
    if_column_exists: bool = False


class AlterTableAddColumns(AlterTableStatement, frozen=True, gc=False):
    columns: tuple[ColumnDefinition, ...]
    if_column_not_exists: bool = False


class AlterTableDropColumns(AlterTableStatement, frozen=True, gc=False):
    columns: tuple[str, ...]
    if_column_exists: bool = False
    timestamp: int | None = None


class AlterTableRenameColumns(AlterTableStatement, frozen=True, gc=False):
    renames: tuple[tuple[str, str], ...]
    if_column_exists: bool = False


class AlterTableOptions(AlterTableStatement, frozen=True, gc=False):
    """``ALTER TABLE t WITH ...``."""

    properties: Properties


class AlterTableDropCompactStorage(AlterTableStatement, frozen=True, gc=False):
    pass


class DropTableStatement(Statement, frozen=True, gc=False):
    table: QualifiedName
    if_exists: bool = False


class FieldDefinition(Node, frozen=True, gc=False):
    name: str
    type: CqlType


class CreateTypeStatement(Statement, frozen=True, gc=False):
    name: QualifiedName
    fields: tuple[FieldDefinition, ...]
    if_not_exists: bool = False


class AlterTypeStatement(Statement, frozen=True, gc=False):
    name: QualifiedName
    if_exists: bool


class AlterTypeAlterField(AlterTypeStatement, frozen=True, gc=False):
    field: str
    type: CqlType


class AlterTypeAddField(AlterTypeStatement, frozen=True, gc=False):
    field: str
    type: CqlType
    if_field_not_exists: bool = False


class AlterTypeRenameFields(AlterTypeStatement, frozen=True, gc=False):
    renames: tuple[tuple[str, str], ...]
    if_field_exists: bool = False


class DropTypeStatement(Statement, frozen=True, gc=False):
    name: QualifiedName
    if_exists: bool = False


class IndexTargetType(enum.Enum):
    """Value is the spelling Cassandra stores in system_schema.indexes ``target``."""

    SIMPLE = "simple"
    VALUES = "values"
    KEYS = "keys"
    KEYS_AND_VALUES = "entries"
    FULL = "full"


class IndexTarget(Node, frozen=True, gc=False):
    column: str
    type: IndexTargetType = IndexTargetType.SIMPLE


class CreateIndexStatement(Statement, frozen=True, gc=False):
    """``name`` is None when omitted (Cassandra then derives ``<table>_<column>_idx``)."""

    table: QualifiedName
    name: str | None
    targets: tuple[IndexTarget, ...]
    is_custom: bool = False
    custom_class: str | None = None
    properties: Properties = msgspec.field(default_factory=dict)
    if_not_exists: bool = False


class DropIndexStatement(Statement, frozen=True, gc=False):
    name: QualifiedName
    if_exists: bool = False


class CreateViewStatement(Statement, frozen=True, gc=False):
    """``CREATE MATERIALIZED VIEW``. ``where_text`` is the raw WHERE clause text (for
    system_schema.views.where_clause)."""

    view: QualifiedName
    base_table: QualifiedName
    selectors: tuple[Selector, ...]
    where: tuple[Relation, ...]
    where_text: str
    partition_key: tuple[str, ...]
    clustering_columns: tuple[str, ...] = ()
    clustering_order: tuple[ClusteringOrder, ...] = ()
    properties: Properties = msgspec.field(default_factory=dict)
    if_not_exists: bool = False


class AlterViewStatement(Statement, frozen=True, gc=False):
    view: QualifiedName
    properties: Properties
    if_exists: bool = False


class DropViewStatement(Statement, frozen=True, gc=False):
    view: QualifiedName
    if_exists: bool = False


class CreateFunctionStatement(Statement, frozen=True, gc=False):
    """``language`` is lower-cased; ``body`` is the unescaped body string."""

    name: QualifiedName
    arg_names: tuple[str, ...]
    arg_types: tuple[CqlType, ...]
    return_type: CqlType
    called_on_null_input: bool
    language: str
    body: str
    or_replace: bool = False
    if_not_exists: bool = False


class DropFunctionStatement(Statement, frozen=True, gc=False):
    """``arg_types`` is None when no signature was given."""

    name: QualifiedName
    arg_types: tuple[CqlType, ...] | None = None
    if_exists: bool = False


class CreateAggregateStatement(Statement, frozen=True, gc=False):
    name: QualifiedName
    arg_types: tuple[CqlType, ...]
    state_function: str
    state_type: CqlType
    final_function: str | None = None
    initial_condition: Term | None = None
    or_replace: bool = False
    if_not_exists: bool = False


class DropAggregateStatement(Statement, frozen=True, gc=False):
    name: QualifiedName
    arg_types: tuple[CqlType, ...] | None = None
    if_exists: bool = False


class CreateTriggerStatement(Statement, frozen=True, gc=False):
    name: str
    table: QualifiedName
    trigger_class: str
    if_not_exists: bool = False


class DropTriggerStatement(Statement, frozen=True, gc=False):
    name: str
    table: QualifiedName
    if_exists: bool = False


__all__ = [
    name
    for name, value in list(globals().items())
    if not name.startswith("_") and getattr(value, "__module__", None) == __name__
] + ["PropertyValue", "Properties"]
