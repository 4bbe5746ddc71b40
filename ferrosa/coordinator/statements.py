"""Statement compilation: parsed AST -> CompiledStatement, by a dispatch table on the AST type.

What it is: the one entry point the front calls for QUERY, PREPARE and BATCH (`compile_statement`),
plus the statements served by the front itself: USE, SELECT on generated system tables, DESCRIBE.

What it must not do: execute anything while compiling (compiling happens at PREPARE time), or cache:
the front's caches key compiled statements by schema version.
"""

from __future__ import annotations

import struct
from typing import Any, Callable

from ferrosa.coordinator import ddl, dml
from ferrosa.coordinator.ddl_alter import ALTER_TABLE_STATEMENTS, ALTER_TYPE_STATEMENTS
from ferrosa.coordinator.execution import (
    CompiledStatement,
    Execution,
    ResultColumn,
    RowsResult,
    SetKeyspaceResult,
    ordered_markers,
)
from ferrosa.coordinator.json_writes import CompiledInsertJson
from ferrosa.coordinator.select import CompiledSelect
from ferrosa.coordinator.select_general import GeneralSelect, needs_general_path
from ferrosa.coordinator.tableinfo import TableInfo
from ferrosa.coordinator.terms import UNSET, MarkerSpec, compile_int, compile_term
from ferrosa.cql import ast
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from ferrosa.schema import describe as D
from ferrosa.schema import model
from ferrosa.schema.errors import InvalidRequest

_LEN = struct.Struct(">i")
_NULL = _LEN.pack(-1)


def resolve_table(node: Any, name: ast.QualifiedName, session_keyspace: str | None) -> TableInfo:
    """``Schema.validateTable``: the table, or Cassandra's "keyspace x does not exist" /
    "table t does not exist"."""
    keyspace = ddl.table_keyspace(name, session_keyspace)
    return node.table_info(node.schema.get_table(keyspace, name.name))


class CompiledUse(CompiledStatement):
    def __init__(self, keyspace: str) -> None:
        self.keyspace = keyspace

    async def execute(self, ex: Execution) -> SetKeyspaceResult:
        if ex.node.schema.keyspace(self.keyspace) is None:
            raise InvalidRequest(f"Keyspace '{self.keyspace}' does not exist")
        ex.session.keyspace = self.keyspace
        return SetKeyspaceResult(self.keyspace)


def encode_rows(rows: list[tuple], types: list[T.CqlType]) -> bytes:
    """Python rows -> protocol rows (used for the few result sets the front builds itself)."""
    out = []
    for row in rows:
        for value, t in zip(row, types):
            if value is None:
                out.append(_NULL)
            else:
                data = V.serialize(t, value)
                out.append(_LEN.pack(len(data)))
                out.append(data)
    return b"".join(out)


class CompiledSystemSelect(CompiledStatement):
    """SELECT on a table whose rows the front generates (system.local, system_schema.*, ...).

    Supports what drivers and tools send: `*` or column lists with aliases, COUNT(*), equality
    restrictions on any column, and LIMIT. These tables are small: no paging.
    """

    def __init__(self, table: TableInfo, stmt: ast.SelectStatement,
                 rows_fn: Callable[[Any], list[dict]]) -> None:
        self.info = table
        self.keyspace, self.table = table.keyspace, table.name
        self.rows_fn = rows_fn
        specs: dict[int, MarkerSpec] = {}
        ks, tb = table.keyspace, table.name
        self.filters = []
        for rel in stmt.where:
            if not isinstance(rel, ast.SingleColumnRelation) or rel.operator not in (
                    ast.Operator.EQ, ast.Operator.IN):
                raise InvalidRequest(f"Only = and IN restrictions are supported on {ks}.{tb}")
            column = table.column(rel.column)
            if column is None:
                raise InvalidRequest(f"Undefined column name {rel.column} in table {ks}.{tb}")
            terms = rel.value.items if isinstance(rel.value, ast.TermList) else (rel.value,)
            self.filters.append((column, [compile_term(t, column.type, column.name, ks, tb, specs)
                                          for t in terms]))
        keyed = {c.name for c, terms in self.filters if len(terms) == 1}
        self.levels, self.consistency_error = table.consistency.for_reads(
            all(c.name in keyed for c in table.partition_key))
        self.count_rows = False
        self.selected = self._selection(stmt)
        self.result_columns = [ResultColumn(ks, tb, name, t) for name, t, _ in self.selected]
        self.limit_fn = compile_int(stmt.limit, "[limit]", ks, tb, specs)
        self.markers = ordered_markers(specs, len(stmt.bind_markers))

    def _selection(self, stmt: ast.SelectStatement) -> list[tuple[str, T.CqlType, str]]:
        table = self.info
        if not stmt.selectors:
            return [(c.name, c.type, c.name) for c in table.select_order]
        if len(stmt.selectors) == 1 and isinstance(stmt.selectors[0].expr, ast.CountRows):
            self.count_rows = True
            return [(stmt.selectors[0].alias or "count", T.BIGINT, "")]
        out = []
        for sel in stmt.selectors:
            if not isinstance(sel.expr, ast.ColumnRef):
                raise InvalidRequest(f"Only plain columns can be selected from "
                                     f"{table.keyspace}.{table.name}")
            column = table.column(sel.expr.name)
            if column is None:
                raise InvalidRequest(f"Undefined column name {sel.expr.name} in table "
                                     f"{table.keyspace}.{table.name}")
            out.append((sel.alias or column.name, column.type, column.name))
        return out

    async def execute(self, ex: Execution) -> RowsResult:
        rows = self.rows_fn(ex.node)
        for column, fns in self.filters:
            wanted = []
            for fn in fns:
                raw = fn(ex.values)
                if raw is None or raw is UNSET:
                    raise InvalidRequest(f"Invalid null value in condition for column "
                                         f"{column.name}")
                wanted.append(V.serialize(column.type, V.deserialize(column.type, raw)))
            rows = [r for r in rows if r.get(column.name) is not None
                    and V.serialize(column.type, r[column.name]) in wanted]
        limit = self.limit_fn(ex.values)
        if limit is not None:
            if limit <= 0:
                raise InvalidRequest("LIMIT must be strictly positive")
            rows = rows[:limit]
        if self.count_rows:
            return RowsResult(self.result_columns, 1, encode_rows([(len(rows),)], [T.BIGINT]))
        tuples = [tuple(r.get(src) for _, _, src in self.selected) for r in rows]
        types = [t for _, t, _ in self.selected]
        return RowsResult(self.result_columns, len(tuples), encode_rows(tuples, types))


class CompiledDescribe(CompiledStatement):
    def __init__(self, stmt: ast.DescribeStatement, session_keyspace: str | None) -> None:
        self.stmt = stmt
        self.session_keyspace = session_keyspace

    def _answer(self, ex: Execution):
        s, schema = self.stmt, ex.node.schema
        current = ex.session.keyspace
        kind = s.kind
        if kind is ast.DescribeKind.SCHEMA:
            return D.describe_schema(schema, s.full, s.with_internals)
        if kind is ast.DescribeKind.KEYSPACES:
            return D.describe_keyspaces(schema)
        if kind is ast.DescribeKind.KEYSPACE:
            return D.describe_keyspace(schema, s.keyspace or s.name, s.only, s.with_internals,
                                       current)
        if kind is ast.DescribeKind.TABLES:
            return D.describe_tables(schema, current)
        if kind is ast.DescribeKind.TYPES:
            return D.describe_types(schema, current)
        if kind is ast.DescribeKind.TABLE:
            return D.describe_table(schema, s.keyspace, s.name, s.with_internals, current)
        if kind is ast.DescribeKind.TYPE:
            return D.describe_type(schema, s.keyspace, s.name, current)
        if kind is ast.DescribeKind.CLUSTER:
            return D.describe_cluster(schema, ex.node.node_info(), current)
        if kind is ast.DescribeKind.GENERIC:
            return D.describe_generic(schema, s.keyspace, s.name, s.with_internals, current)
        target = D.DescribeTarget(kind.value, s.keyspace, s.name, s.with_internals)
        return D.describe(schema, target, current, ex.node.node_info())

    async def execute(self, ex: Execution) -> RowsResult:
        columns, rows = self._answer(ex)
        types = [T.parse_cql_type(t) for _, t in columns]
        result_columns = [ResultColumn("", "", name, t) for (name, _), t in zip(columns, types)]
        return RowsResult(result_columns, len(rows), encode_rows(rows, types))


def _compile_select(node: Any, stmt: ast.SelectStatement, keyspace: str | None):
    table = resolve_table(node, stmt.table, keyspace)
    rows_fn = node.system_rows_fn(table.meta)
    if rows_fn is not None:
        return CompiledSystemSelect(table, stmt, rows_fn)
    if needs_general_path(stmt, table):
        return GeneralSelect(table, stmt)
    return CompiledSelect(table, stmt)


def _writable(node: Any, name: ast.QualifiedName, keyspace: str | None) -> TableInfo:
    table = resolve_table(node, name, keyspace)
    if model.is_system_keyspace(table.keyspace):
        raise InvalidRequest(f"{table.keyspace} keyspace is not user-modifiable")
    return table


def _compile_batch(node: Any, stmt: ast.BatchStatement, keyspace: str | None):
    if stmt.ttl is not None:
        raise InvalidRequest("Global TTL on the BATCH statement is not supported.")
    if stmt.timestamp is not None and any(getattr(inner, "timestamp", None) is not None
                                          for inner in stmt.statements):
        raise InvalidRequest("Timestamp must be set either on BATCH or individual statements")
    compiled = []
    for inner in stmt.statements:
        part = compile_statement(node, inner, keyspace)
        if not isinstance(part, dml.CompiledWrite):
            raise InvalidRequest("Only INSERT, UPDATE and DELETE statements are allowed in BATCH")
        compiled.append(part)
    dml.check_batch_counters(int(stmt.batch_type), stmt.timestamp is not None, compiled)
    specs: dict[int, MarkerSpec] = {}
    for part in compiled:
        for spec in part.markers:
            specs[spec.index] = spec
    timestamp = dml.compile_timestamp(stmt.timestamp, "", "", specs)
    return dml.CompiledBatch(compiled, timestamp, ordered_markers(specs, len(stmt.bind_markers)),
                             int(stmt.batch_type))


def _compile_truncate(node: Any, stmt: ast.TruncateStatement, keyspace: str | None):
    table = _writable(node, stmt.table, keyspace)
    return ddl.Truncate(table.id_bytes, table.keyspace, table.name)


_COMPILERS: dict[type, Callable[[Any, Any, str | None], CompiledStatement]] = {
    ast.UseStatement: lambda node, s, ks: CompiledUse(s.keyspace),
    ast.SelectStatement: _compile_select,
    ast.InsertStatement: lambda node, s, ks: dml.compile_insert(_writable(node, s.table, ks), s),
    ast.InsertJsonStatement: lambda node, s, ks: CompiledInsertJson(_writable(node, s.table, ks),
                                                                    s),
    ast.UpdateStatement: lambda node, s, ks: dml.compile_update(_writable(node, s.table, ks), s),
    ast.DeleteStatement: lambda node, s, ks: dml.compile_delete(_writable(node, s.table, ks), s),
    ast.BatchStatement: _compile_batch,
    ast.TruncateStatement: _compile_truncate,
    ast.DescribeStatement: lambda node, s, ks: CompiledDescribe(s, ks),
}
for _ast_type, _ddl_type in (ddl.DDL_STATEMENTS | ALTER_TABLE_STATEMENTS | ALTER_TYPE_STATEMENTS).items():
    _COMPILERS[_ast_type] = lambda node, s, ks, _cls=_ddl_type: _cls(s, ks)


def register_compiler(ast_type: type, compiler: Callable) -> None:
    """Let front-side features (roles, ...) add statements without this module importing them."""
    _COMPILERS[ast_type] = compiler


def compile_statement(node: Any, stmt: ast.Statement, keyspace: str | None) -> CompiledStatement:
    compiler = _COMPILERS.get(type(stmt))
    if compiler is None:
        name = type(stmt).__name__.removesuffix("Statement")
        raise InvalidRequest(f"{name} statements are not supported yet by Ferrosa")
    return compiler(node, stmt, keyspace)
