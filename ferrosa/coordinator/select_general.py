"""The general SELECT path: rows post-processed in the front.

What it is: `GeneralSelect`, used when a SELECT needs more than the shards' direct row encoding:
filtering (ALLOW FILTERING), token() ranges, DISTINCT, PER PARTITION LIMIT, GROUP BY, aggregates,
and selectors other than plain columns and WRITETIME/TTL. Raw rows come from rowsource.py; then,
per row: the per-partition limit, the filters (filters.py), and either the selectors
(selectors.py) or the group's aggregates; LIMIT and the page size count output rows (groups with
GROUP BY), and the paging state resumes after the last row consumed.

What it must not do: be used where the direct path (select.py) can answer: it decodes every row.
"""

from __future__ import annotations

import struct
from typing import Any

from ferrosa import functions as F
from ferrosa.coordinator.execution import (
    CompiledStatement,
    Execution,
    ResultColumn,
    RowsResult,
    ordered_markers,
)
from ferrosa.coordinator.filters import FilterCompiler
from ferrosa.coordinator.keys import FILTERING_MESSAGE, analyze_where, pk_indexes
from ferrosa.coordinator.rowsource import (
    PagingState,
    RowSource,
    decode_paging,
    paging_encoder,
)
from ferrosa.coordinator.select import ordering
from ferrosa.coordinator.selectors import (
    Aggregate,
    Expr,
    RawProjection,
    SelectorCompiler,
    count_rows,
)
from ferrosa.coordinator.tableinfo import TableInfo
from ferrosa.coordinator.terms import UNSET, MarkerSpec, compile_int, compile_term
from ferrosa.cql import ast
from ferrosa.partitioner import MAX_TOKEN, MIN_TOKEN
from ferrosa.protocol import types as T
from ferrosa.schema import bytecomparable as BC
from ferrosa.schema.errors import InvalidRequest

_LEN = struct.Struct(">i")
_NULL = _LEN.pack(-1)
_BIGINT = struct.Struct(">q")
Op = ast.Operator


POST_ORDERING_MESSAGE = ("Cannot page queries with both ORDER BY and a IN restriction on the "
                         "partition key; you must either remove the ORDER BY or the IN and sort "
                         "client side, or disable paging for this query")


def _partition_in(stmt: ast.SelectStatement, table: TableInfo | None) -> bool:
    names = {c.name for c in table.partition_key} if table is not None else set()
    return any(isinstance(r, ast.SingleColumnRelation) and r.operator is Op.IN
               and r.column in names for r in stmt.where)


def needs_general_path(stmt: ast.SelectStatement, table: TableInfo | None = None) -> bool:
    """Whether the direct path cannot answer `stmt` (see the module docstring)."""
    if (stmt.is_distinct or stmt.group_by or stmt.per_partition_limit is not None
            or stmt.allow_filtering or stmt.is_json):
        return True
    if stmt.order_by and _partition_in(stmt, table):
        return True  # rows of several partitions sorted together (post-query ordering)
    if any(isinstance(rel, (ast.TokenRelation, ast.MultiColumnRelation)) for rel in stmt.where):
        return True
    for sel in stmt.selectors:
        if not isinstance(sel.expr, (ast.ColumnRef, ast.WritetimeOrTTL, ast.CountRows)):
            return True
    return False


def _encode_row(values: list[bytes | None]) -> bytes:
    return b"".join(_NULL if v is None else _LEN.pack(len(v)) + v for v in values)


class GeneralSelect(CompiledStatement):
    def __init__(self, table: TableInfo, stmt: ast.SelectStatement) -> None:
        self.info = table
        self.keyspace, self.table = table.keyspace, table.name
        ks, tb = table.keyspace, table.name
        specs: dict[int, MarkerSpec] = {}
        self.specs = specs
        where = tuple(r for r in stmt.where if not isinstance(r, ast.TokenRelation))
        self.plan = analyze_where(table, where, specs, filtering=True)
        self.levels, self.consistency_error = table.consistency.for_reads(
            self.plan.has_partition_key)
        self.token_bounds = self._token_bounds(stmt)
        self.projection = RawProjection(table)
        self.filters = [FilterCompiler(table, specs, self.projection.column).compile(rel)
                        for rel in self.plan.others]
        # Tuple relations on clustering columns restrict rows of the selected partitions: they
        # are key restrictions in Cassandra (evaluated here row by row), not filtering.
        key_like = [isinstance(rel, ast.MultiColumnRelation) and self.plan.has_partition_key
                    for rel in self.plan.others]
        if not all(key_like) and not stmt.allow_filtering:
            raise InvalidRequest(FILTERING_MESSAGE)
        term = lambda t, typ, name: compile_term(t, typ, name, ks, tb, specs)  # noqa: E731
        self.compiler = SelectorCompiler(table, self.projection, term)
        self.group_by = self._group_by(stmt)
        self._selection(stmt)
        self.distinct = stmt.is_distinct
        if self.distinct:
            self._check_distinct(stmt)
        self.reverse = ordering(table, self.plan, stmt)
        # ORDER BY over an IN on the partition key: Cassandra sorts the rows of all the
        # partitions together, which it cannot do while paging.
        self.post_order = bool(stmt.order_by) and _partition_in(stmt, table)
        self.limit_fn = compile_int(stmt.limit, "[limit]", ks, tb, specs)
        self.ppl_fn = compile_int(stmt.per_partition_limit, "[per_partition_limit]", ks, tb,
                                  specs)
        self.markers = ordered_markers(specs, len(stmt.bind_markers))
        self.pk_indexes = pk_indexes(table, self.markers)

    # -- compilation ----------------------------------------------------------------------------
    def _selection(self, stmt: ast.SelectStatement) -> None:
        table = self.info
        ks, tb = table.keyspace, table.name
        self.exprs: list[Expr | None] = []
        self.aggregates: list[Aggregate | None] = []
        columns = []
        selectors = stmt.selectors or tuple(ast.Selector(ast.ColumnRef(c.name))
                                            for c in table.select_order)
        for sel in selectors:
            agg = None
            if isinstance(sel.expr, ast.CountRows):
                agg = count_rows(sel.alias or "count")
            elif isinstance(sel.expr, ast.FunctionCall):
                agg = self.compiler.aggregate(sel.expr, sel.alias)
            if agg is not None:
                self.exprs.append(None)
                self.aggregates.append(agg)
                columns.append(ResultColumn(ks, tb, agg.name, agg.type))
                continue
            expr = self.compiler.expr(sel.expr)
            self.exprs.append(expr)
            self.aggregates.append(None)
            columns.append(ResultColumn(ks, tb, sel.alias or expr.name, expr.type))
        self.result_columns = columns
        self.encode_row = _encode_row
        if stmt.is_json:
            names = [c.name for c in columns]
            types = [c.type for c in columns]

            def as_json(values: list[bytes | None]) -> bytes:
                doc = F.select_json_row(names, types, values).encode("utf-8")
                return _LEN.pack(len(doc)) + doc
            self.encode_row = as_json
            self.result_columns = [ResultColumn(ks, tb, "[json]", T.TEXT)]
        self.is_aggregate = any(a is not None for a in self.aggregates)
        if self.group_by and not self.is_aggregate:
            # Without aggregates GROUP BY still returns one row per group (its first row).
            self.is_aggregate = True

    def _group_by(self, stmt: ast.SelectStatement) -> list[int]:
        if not stmt.group_by:
            return []
        table = self.info
        keys = table.partition_key + table.clustering
        out = []
        for position, term in enumerate(stmt.group_by):
            if not isinstance(term, ast.ColumnRef):
                raise InvalidRequest("Functions in GROUP BY are not supported yet by Ferrosa")
            column = table.column(term.name)
            if column is None:
                raise InvalidRequest(f"Undefined column name {term.name} in table "
                                     f"{table.keyspace}.{table.name}")
            if not column.is_key:
                raise InvalidRequest(f"Group by is currently only supported on the columns of "
                                     f"the PRIMARY KEY, got {term.name}")
            if position >= len(keys) or keys[position].name != term.name:
                raise InvalidRequest("Group by currently only support groups of columns "
                                     "following their declared order in the PRIMARY KEY")
            out.append(self.projection.column(column))
        return out

    def _check_distinct(self, stmt: ast.SelectStatement) -> None:
        table = self.info
        if self.is_aggregate and not stmt.group_by:
            pass  # SELECT DISTINCT count(*): counts partitions
        for expr in self.exprs:
            column = None if expr is None else expr.column
            if expr is not None and (column is None or column.kind not in (
                    "partition_key", "static")):
                name = expr.name
                raise InvalidRequest(f"SELECT DISTINCT queries must only request partition key "
                                     f"columns and/or static columns (not {name})")
        selected = {e.column.name for e in self.exprs if e is not None and e.column is not None}
        missing = [c.name for c in table.partition_key if c.name not in selected]
        if missing and not self.is_aggregate:
            raise InvalidRequest(f"SELECT DISTINCT queries must request all the partition key "
                                 f"columns (missing {missing[0]})")
        if self.plan.clustering or self.plan.slice:
            raise InvalidRequest("SELECT DISTINCT with WHERE clause only supports restriction by "
                                 "partition key and/or static columns.")

    def _token_bounds(self, stmt: ast.SelectStatement):
        relations = [r for r in stmt.where if isinstance(r, ast.TokenRelation)]
        if not relations:
            return None
        table = self.info
        names = [c.name for c in table.partition_key]
        bounds = []
        for rel in relations:
            if sorted(rel.columns) != sorted(names):
                raise InvalidRequest("The token() function must be applied to all partition key "
                                     "components or none of them")
            if list(rel.columns) != names:
                raise InvalidRequest(f"The token function arguments must be in the partition "
                                     f"key order: {', '.join(names)}")
            if rel.operator not in (Op.EQ, Op.LT, Op.LTE, Op.GT, Op.GTE):
                raise InvalidRequest(f"{rel.operator.value} is not a supported operator on "
                                     f"token()")
            fn = compile_term(rel.value, T.BIGINT, "partition key token", table.keyspace,
                              table.name, self.specs)
            bounds.append((rel.operator, fn))
        if self.plan.partition:
            raise InvalidRequest("Columns of the partition key cannot be restricted both by "
                                 "token() and by = or IN")
        return bounds

    def _token_range(self, values: list) -> tuple[int, int] | None:
        if self.token_bounds is None:
            return None
        low, high = MIN_TOKEN, MAX_TOKEN
        for op, fn in self.token_bounds:
            raw = fn(values)
            if raw is None or raw is UNSET:
                raise InvalidRequest("Invalid null value for partition key token")
            token = _BIGINT.unpack(raw)[0]
            if op in (Op.EQ, Op.GT, Op.GTE):
                low = max(low, token + 1 if op is Op.GT else token)
            if op in (Op.EQ, Op.LT, Op.LTE):
                high = min(high, token - 1 if op is Op.LT else token)
        return low, high

    # -- execution ------------------------------------------------------------------------------
    async def execute(self, ex: Execution) -> RowsResult:
        values = ex.values
        limit = self.limit_fn(values)
        if limit is not None and limit <= 0:
            raise InvalidRequest("LIMIT must be strictly positive")
        ppl = self.ppl_fn(values) or 0
        if self.ppl_fn(values) is not None and ppl <= 0:
            raise InvalidRequest("PER PARTITION LIMIT must be strictly positive")
        if self.distinct:
            ppl = 1
        token_range = self._token_range(values)
        if token_range is not None and token_range[0] > token_range[1]:
            return RowsResult(self.result_columns, 0, b"")
        state = decode_paging(ex.paging_state)
        aggregate_all = self.is_aggregate and not self.group_by
        page = ex.page_size if ex.page_size and ex.page_size > 0 and not aggregate_all else 0
        remaining = state.remaining if state is not None else (limit or 0)
        want = page if not remaining else (min(page, remaining) if page else remaining)
        source = RowSource(self.info, self.plan, self.projection.items, self.reverse,
                           token_range, ppl if not self.filters else 0)
        if self.post_order:
            if page and (limit is None or limit > page):
                raise InvalidRequest(POST_ORDERING_MESSAGE)
            rows = await self._post_ordered(ex, source, ppl, limit)
            return RowsResult(self.result_columns, len(rows), b"".join(rows))
        if self.is_aggregate:
            rows, next_state = await self._aggregate(ex, source, state, want, ppl)
        else:
            rows, next_state = await self._plain(ex, source, state, want, ppl)
        if next_state is not None and remaining:
            next_state.remaining = remaining - len(rows)
            if next_state.remaining <= 0:
                next_state = None
        paging = paging_encoder.encode(next_state) if next_state is not None and page else None
        return RowsResult(self.result_columns, len(rows), b"".join(rows), paging)

    def _keep(self, values: list, row: list) -> bool:
        for predicate in self.filters:
            if not predicate(values, row):
                return False
        return True

    async def _rows(self, ex: Execution, source: RowSource, state: PagingState | None,
                    ppl: int):
        """Raw rows that pass the per-partition limit and the filters, with their resume state."""
        values = ex.values
        partition = state.pk if state is not None else None
        taken = state.partition_rows if state is not None else 0
        async for raw in source.rows(ex, state):
            if raw.partition != partition:
                partition, taken = raw.partition, 0
            if ppl and taken >= ppl:
                continue
            if not self._keep(values, raw.values):
                continue
            taken += 1
            raw.state.pk = raw.state.pk or raw.partition
            raw.state.partition_rows = taken
            yield raw

    async def _plain(self, ex: Execution, source: RowSource, state: PagingState | None,
                     want: int, ppl: int):
        values = ex.values
        exprs = self.exprs
        out: list[bytes] = []
        rows = self._rows(ex, source, state, ppl)
        try:
            async for raw in rows:
                out.append(self.encode_row([e.fn(values, raw.values) for e in exprs]))
                if want and len(out) >= want:
                    return out, raw.state
        finally:
            await rows.aclose()
        return out, None

    async def _post_ordered(self, ex: Execution, source: RowSource, ppl: int,
                            limit: int | None) -> list[bytes]:
        """Every selected row of every partition, sorted by clustering order, then LIMIT."""
        info = self.info
        npk, nck = len(info.partition_key), len(info.clustering)
        keyed = []
        async for raw in self._rows(ex, source, None, ppl):
            ck = raw.values[npk:npk + nck]
            key = (b"" if ck[0] is None else
                   BC.encode_clustering(info.ck_types, info.ck_reversed, ck))
            keyed.append((key, raw.values))
        keyed.sort(key=lambda item: item[0], reverse=self.reverse)
        if limit:
            keyed = keyed[:limit]
        values = ex.values
        return [self.encode_row([e.fn(values, row) for e in self.exprs]) for _k, row in keyed]

    def _emit(self, values: list, first: list, states: list) -> bytes:
        cells = []
        for expr, agg, st in zip(self.exprs, self.aggregates, states):
            cells.append(agg.result(st) if agg is not None else expr.fn(values, first))
        return self.encode_row(cells)

    async def _aggregate(self, ex: Execution, source: RowSource, state: PagingState | None,
                         want: int, ppl: int):
        values = ex.values
        group_cols = self.group_by
        out: list[bytes] = []
        group_key: Any = None
        first: list | None = None
        states: list = []
        last_state = None
        rows = self._rows(ex, source, state, ppl)
        try:
            async for raw in rows:
                key = tuple(raw.values[i] for i in group_cols) if group_cols else ()
                if first is not None and key != group_key:
                    out.append(self._emit(values, first, states))
                    if want and len(out) >= want:
                        return out, last_state
                    first = None
                if first is None:
                    group_key, first = key, raw.values
                    states = [a.start() if a is not None else None for a in self.aggregates]
                for i, agg in enumerate(self.aggregates):
                    if agg is not None:
                        states[i] = agg.add(states[i], values, raw.values)
                last_state = raw.state
        finally:
            await rows.aclose()
        if first is not None:
            out.append(self._emit(values, first, states))
        elif not group_cols:
            # No rows and no GROUP BY: one row of aggregates over nothing (count 0, others null).
            states = [a.start() if a is not None else None for a in self.aggregates]
            out.append(self.encode_row([a.result(st) if a is not None else None
                                        for a, st in zip(self.aggregates, states)]))
        return out, None
