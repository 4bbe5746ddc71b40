"""The CQL abstract syntax tree: what the parser produces and the statement executor consumes.

Every node is a frozen msgspec Struct (cheap to build, immutable, comparable with ``==``). Class
names follow Cassandra's own statement and ``*.Raw`` classes so readers can map the two code bases.

This module must NOT validate anything against a schema, evaluate terms, or convert literal text to
typed values: a ``Constant`` keeps the literal's text, because its meaning (int vs bigint vs varint,
text vs timestamp, ...) depends on the column it is bound to, which only the executor knows.

Conventions
-----------
* Identifiers are plain ``str`` already normalised the way Cassandra does it: unquoted names are
  lower-cased, ``"Quoted"`` names keep their case (with ``""`` unescaped).
* Names that may be keyspace-qualified are ``QualifiedName(keyspace, name)``; ``keyspace`` is None
  when the statement did not say, and the executor substitutes the session's keyspace.
* Sequences are tuples; optional parts are None; properties (``WITH k = v AND ...``) are dicts
  mapping the property name to its raw string value or to a ``dict[str, str]`` for map values,
  exactly like Cassandra's ``PropertyDefinitions``.
* Every statement carries ``bind_markers``: one ``BindMarker`` per ``?`` / ``:name`` in order of
  appearance (the ``index`` of a marker is its position in that tuple).  In a BATCH the markers of
  all inner statements share one numbering and are listed on the BatchStatement; the inner
  statements' own ``bind_markers`` are empty.
* Terms (``Term``) are values: literals, markers, function calls, arithmetic. Selector-only nodes
  (``Selectable``) may appear in SELECT clauses and GROUP BY; in a selector tree the children of a
  shared node (FunctionCall, BinaryOp, literals...) may be selectables too.
"""

from __future__ import annotations

import enum
from typing import Union

import msgspec



class Node(msgspec.Struct, frozen=True, gc=False):
    """Base of every AST node."""


# ---------------------------------------------------------------------------------------------------
# Names and types
# ---------------------------------------------------------------------------------------------------


class QualifiedName(Node, frozen=True, gc=False):
    """``[keyspace.]name`` for tables, views, indexes, types, functions and aggregates."""

    keyspace: str | None
    name: str

    def __str__(self) -> str:
        return self.name if self.keyspace is None else f"{self.keyspace}.{self.name}"


class CqlType(Node, frozen=True, gc=False):
    """Base of the raw (unresolved) CQL types, Cassandra's ``CQL3Type.Raw``."""


class NativeType(CqlType, frozen=True, gc=False):
    """ascii, bigint, blob, boolean, counter, date, decimal, double, duration, float, inet, int,
    smallint, text, time, timestamp, timeuuid, tinyint, uuid, varchar, varint (lower-case name)."""

    name: str


class CollectionType(CqlType, frozen=True, gc=False):
    """``list<t>``, ``set<t>``, ``map<k, v>``; ``kind`` is "list", "set" or "map"."""

    kind: str
    element_types: tuple[CqlType, ...]
    frozen: bool = False


class TupleType(CqlType, frozen=True, gc=False):
    element_types: tuple[CqlType, ...]
    frozen: bool = False


class VectorType(CqlType, frozen=True, gc=False):
    element_type: CqlType
    dimension: int


class UserType(CqlType, frozen=True, gc=False):
    """A user-defined type referred to by name (resolution is the executor's job)."""

    name: QualifiedName
    frozen: bool = False


class CustomType(CqlType, frozen=True, gc=False):
    """A type given as a Java class name string, e.g. ``'org.apache.cassandra.db.marshal.BytesType'``."""

    class_name: str


# ---------------------------------------------------------------------------------------------------
# Terms
# ---------------------------------------------------------------------------------------------------


class ConstantType(enum.IntEnum):
    """The lexical kind of a literal, Cassandra's ``Constants.Type``."""

    STRING = 1
    INTEGER = 2
    UUID = 3
    FLOAT = 4
    BOOLEAN = 5
    HEX = 6
    DURATION = 7


class Term(Node, frozen=True, gc=False):
    """Base of value expressions (Cassandra's ``Term.Raw``)."""


class Constant(Term, frozen=True, gc=False):
    """A literal. ``text`` is the literal as written except: strings are unquoted and unescaped;
    booleans are lower-cased; NaN / -NaN are "NaN" and infinities "Infinity" / "-Infinity" (FLOAT)."""

    type: ConstantType
    text: str


class Null(Term, frozen=True, gc=False):
    """The ``null`` literal."""


NULL = Null()


class BindMarker(Term, frozen=True, gc=False):
    """``?`` (name None) or ``:name``. ``index`` is the position among the statement's markers."""

    index: int
    name: str | None = None


class ListLiteral(Term, frozen=True, gc=False):
    elements: tuple[Term, ...]


class SetLiteral(Term, frozen=True, gc=False):
    """A non-empty ``{a, b}``. (An empty ``{}`` is EmptyBraceLiteral: set or map is unknowable.)"""

    elements: tuple[Term, ...]


class MapLiteral(Term, frozen=True, gc=False):
    entries: tuple[tuple[Term, Term], ...]


class EmptyBraceLiteral(Term, frozen=True, gc=False):
    """``{}``: an empty set or an empty map, decided by the receiving column's type."""


EMPTY_BRACES = EmptyBraceLiteral()


class UserTypeLiteral(Term, frozen=True, gc=False):
    """``{field: term, ...}`` (field names are identifiers, which distinguishes it from a map)."""

    fields: tuple[tuple[str, Term], ...]


class TupleLiteral(Term, frozen=True, gc=False):
    """``(a, b, ...)``; in selector context a single parenthesised element is not a tuple."""

    elements: tuple[Term, ...]


class FunctionCall(Term, frozen=True, gc=False):
    """``f(args)``, ``ks.f(args)``, ``token(a, b)``, ``count(1)``. Names are lower-cased unless quoted."""

    name: QualifiedName
    args: tuple[Term, ...]


class TypeCast(Term, frozen=True, gc=False):
    """``(type) term``: a type hint for a literal or marker."""

    type: CqlType
    term: Term


class Cast(Term, frozen=True, gc=False):
    """``CAST(term AS native_type)`` (a real conversion function in Cassandra)."""

    term: Term
    type: NativeType


class BinaryOp(Term, frozen=True, gc=False):
    """Arithmetic ``left op right`` with op one of ``+ - * / %`` (Cassandra 4+)."""

    op: str
    left: Term
    right: Term


class Negation(Term, frozen=True, gc=False):
    """Unary minus applied to a non-literal (``-?``, ``-f(x)``); ``-3`` lexes as a Constant."""

    term: Term


class TermList(Term, frozen=True, gc=False):
    """The parenthesised value list of ``IN (...)`` / ``BETWEEN a AND b`` (Cassandra's ``Terms.Raw``)."""

    items: tuple[Term, ...]


# ---------------------------------------------------------------------------------------------------
# Selectors (SELECT clause, GROUP BY)
# ---------------------------------------------------------------------------------------------------


class Selectable(Term, frozen=True, gc=False):
    """Base of selector-only nodes (Cassandra's ``Selectable.Raw``)."""


class ColumnRef(Selectable, frozen=True, gc=False):
    """A column name in a selector."""

    name: str


class CountRows(Selectable, frozen=True, gc=False):
    """``COUNT(*)``. (``COUNT(1)`` is an ordinary FunctionCall to ``count``.)"""


COUNT_ROWS = CountRows()


class WritetimeOrTTLKind(enum.IntEnum):
    WRITE_TIME = 1
    MAX_WRITE_TIME = 2
    TTL = 3


class WritetimeOrTTL(Selectable, frozen=True, gc=False):
    """``WRITETIME(c)``, ``MAXWRITETIME(c)``, ``TTL(c)``. ``selected`` is the column with any
    element/field modifiers applied (``WRITETIME(m['k'])``); ``column`` is the bare column."""

    column: str
    selected: Term
    kind: WritetimeOrTTLKind


class FieldSelection(Selectable, frozen=True, gc=False):
    """``receiver.field`` (UDT field)."""

    receiver: Term
    field: str


class ElementSelection(Selectable, frozen=True, gc=False):
    """``receiver[element]`` (map key or list index / set element)."""

    receiver: Term
    element: Term


class SliceSelection(Selectable, frozen=True, gc=False):
    """``receiver[start..end]`` with either bound possibly None (open)."""

    receiver: Term
    start: Term | None
    end: Term | None


class Selector(Node, frozen=True, gc=False):
    """One SELECT clause item: an expression and its ``AS`` alias."""

    expr: Term
    alias: str | None = None


# ---------------------------------------------------------------------------------------------------
# WHERE clause
# ---------------------------------------------------------------------------------------------------


class Operator(enum.Enum):
    """Relation and condition operators, Cassandra's ``Operator``; value is the CQL spelling."""

    EQ = "="
    LT = "<"
    LTE = "<="
    GT = ">"
    GTE = ">="
    NEQ = "!="
    IN = "IN"
    NOT_IN = "NOT IN"
    CONTAINS = "CONTAINS"
    NOT_CONTAINS = "NOT CONTAINS"
    CONTAINS_KEY = "CONTAINS KEY"
    NOT_CONTAINS_KEY = "NOT CONTAINS KEY"
    LIKE = "LIKE"
    IS_NOT = "IS NOT"
    BETWEEN = "BETWEEN"
    ANN = "ANN"  # not produced by the parser: ORDER BY ... ANN OF lives in Ordering.ann_of


class Relation(Node, frozen=True, gc=False):
    """Base of WHERE clause items."""


class SingleColumnRelation(Relation, frozen=True, gc=False):
    """``col op value``. For IN / NOT IN ``value`` is a TermList or a BindMarker (``IN ?``);
    for BETWEEN a TermList of two; for ``IS NOT NULL`` op is IS_NOT and value is NULL."""

    column: str
    operator: Operator
    value: Term


class MapElementRelation(Relation, frozen=True, gc=False):
    """``col[key] op value``."""

    column: str
    key: Term
    operator: Operator
    value: Term


class TokenRelation(Relation, frozen=True, gc=False):
    """``token(a, b) op value`` (BETWEEN: value is a TermList of two)."""

    columns: tuple[str, ...]
    operator: Operator
    value: Term


class MultiColumnRelation(Relation, frozen=True, gc=False):
    """``(a, b) op value``. Comparison: value is a TupleLiteral or BindMarker. IN: a TermList of
    TupleLiterals / BindMarkers, or one BindMarker (``IN ?``). BETWEEN: a TermList of two."""

    columns: tuple[str, ...]
    operator: Operator
    value: Term


class CustomIndexExpression(Relation, frozen=True, gc=False):
    """``expr(index_name, value)``."""

    index: QualifiedName
    value: Term


class Ordering(Node, frozen=True, gc=False):
    """``ORDER BY column [ANN OF term] [ASC|DESC]``."""

    column: str
    descending: bool = False
    ann_of: Term | None = None


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


# ---------------------------------------------------------------------------------------------------
# DCL: roles, users, permissions, identities
# ---------------------------------------------------------------------------------------------------


class AccessSet(Node, frozen=True, gc=False):
    """``ACCESS TO ALL DATACENTERS`` (all=True) or ``ACCESS TO DATACENTERS {'dc1', ...}``;
    likewise for ``ACCESS FROM [ALL] CIDRS``."""

    all: bool
    items: tuple[str, ...] = ()


class RoleOptions(Node, frozen=True, gc=False):
    """Options of CREATE/ALTER ROLE/USER; None means "not specified"."""

    password: str | None = None
    hashed_password: str | None = None
    generated_password: bool = False
    login: bool | None = None
    superuser: bool | None = None
    options: dict[str, str] | None = None
    datacenters: AccessSet | None = None
    cidrs: AccessSet | None = None


class CreateRoleStatement(Statement, frozen=True, gc=False):
    """Also produced by the legacy ``CREATE USER`` (with ``is_user`` set, login true, names keep case)."""

    role: str
    options: RoleOptions
    if_not_exists: bool = False
    is_user: bool = False


class AlterRoleStatement(Statement, frozen=True, gc=False):
    role: str
    options: RoleOptions
    if_exists: bool = False
    is_user: bool = False


class DropRoleStatement(Statement, frozen=True, gc=False):
    role: str
    if_exists: bool = False
    is_user: bool = False


class GrantRoleStatement(Statement, frozen=True, gc=False):
    role: str
    grantee: str


class RevokeRoleStatement(Statement, frozen=True, gc=False):
    role: str
    revokee: str


class ListRolesStatement(Statement, frozen=True, gc=False):
    grantee: str | None = None
    recursive: bool = True


class ListUsersStatement(Statement, frozen=True, gc=False):
    pass


class ListSuperUsersStatement(Statement, frozen=True, gc=False):
    pass


class Permission(enum.Enum):
    CREATE = "CREATE"
    ALTER = "ALTER"
    DROP = "DROP"
    SELECT = "SELECT"
    MODIFY = "MODIFY"
    AUTHORIZE = "AUTHORIZE"
    DESCRIBE = "DESCRIBE"
    EXECUTE = "EXECUTE"
    UNMASK = "UNMASK"
    SELECT_MASKED = "SELECT_MASKED"


ALL_PERMISSIONS: frozenset[Permission] = frozenset(Permission)


class Resource(Node, frozen=True, gc=False):
    """Base of GRANT/REVOKE/LIST resources (Cassandra's ``IResource``)."""


class DataResource(Resource, frozen=True, gc=False):
    """ALL KEYSPACES (both None), KEYSPACE k (table None), [TABLE] [k.]t, or ALL TABLES IN KEYSPACE k
    (``all_tables``). A table without keyspace means the session keyspace."""

    keyspace: str | None = None
    table: str | None = None
    all_tables: bool = False


class RoleResource(Resource, frozen=True, gc=False):
    """ALL ROLES (role None) or ROLE r."""

    role: str | None = None


class FunctionResource(Resource, frozen=True, gc=False):
    """ALL FUNCTIONS (all None), ALL FUNCTIONS IN KEYSPACE k, or FUNCTION [k.]f(types)."""

    keyspace: str | None = None
    name: str | None = None
    arg_types: tuple[CqlType, ...] | None = None


class JMXResource(Resource, frozen=True, gc=False):
    """ALL MBEANS (mbean None) or MBEAN / MBEANS 'name-or-pattern' (as written)."""

    mbean: str | None = None
    is_pattern: bool = False


class GrantPermissionsStatement(Statement, frozen=True, gc=False):
    """``permissions`` is already filtered to those applicable to the resource, as Cassandra does."""

    permissions: frozenset[Permission]
    resource: Resource
    grantee: str


class RevokePermissionsStatement(Statement, frozen=True, gc=False):
    permissions: frozenset[Permission]
    resource: Resource
    revokee: str


class ListPermissionsStatement(Statement, frozen=True, gc=False):
    permissions: frozenset[Permission]
    resource: Resource | None = None
    grantee: str | None = None
    recursive: bool = True


class AddIdentityStatement(Statement, frozen=True, gc=False):
    identity: str
    role: str
    if_not_exists: bool = False


class DropIdentityStatement(Statement, frozen=True, gc=False):
    identity: str
    if_exists: bool = False


# ---------------------------------------------------------------------------------------------------
# DESCRIBE (server-side, Cassandra 4+)
# ---------------------------------------------------------------------------------------------------


class DescribeKind(enum.Enum):
    CLUSTER = "cluster"
    SCHEMA = "schema"
    KEYSPACES = "keyspaces"
    KEYSPACE = "keyspace"
    TABLES = "tables"
    TABLE = "table"
    INDEX = "index"
    MATERIALIZED_VIEW = "materialized_view"
    TYPES = "types"
    TYPE = "type"
    FUNCTIONS = "functions"
    FUNCTION = "function"
    AGGREGATES = "aggregates"
    AGGREGATE = "aggregate"
    GENERIC = "generic"  # DESCRIBE [ks.]name: keyspace, table, view, index, type, function...


class DescribeStatement(Statement, frozen=True, gc=False):
    """``keyspace``/``name`` as applicable to ``kind``; ``full`` is DESCRIBE FULL SCHEMA, ``only``
    is DESCRIBE ONLY KEYSPACE, ``with_internals`` is the WITH INTERNALS suffix."""

    kind: DescribeKind
    keyspace: str | None = None
    name: str | None = None
    full: bool = False
    only: bool = False
    with_internals: bool = False


__all__ = [
    name
    for name, value in list(globals().items())
    if not name.startswith("_") and getattr(value, "__module__", None) == __name__
] + ["NULL", "EMPTY_BRACES", "COUNT_ROWS", "ALL_PERMISSIONS", "PropertyValue", "Properties"]
