"""SELECT: compiled into shard reads (partition reads or token-ordered scans) with paging.

What it is: selector analysis (columns, aliases, WRITETIME/TTL, COUNT(*)), key restrictions via
coordinator.keys, and execution: the shards return rows already encoded for the RESULT message; this
module only chains reads, applies LIMIT and page size, and builds the paging state.

What it must not do: decode row values on the hot path, or answer queries it cannot answer exactly:
filtering, aggregates other than COUNT(*), GROUP BY, functions in selectors and secondary indexes
answer with a clear InvalidRequest until the CQL issue brings them.

Paging state (opaque to clients): a msgpack `PagingState` saying where the last page stopped:
for partition-key queries the index of the partition key and clustering prefix being read and the
last clustering key returned; for scans the last (token, partition key, clustering key).
"""

from __future__ import annotations

import struct

import msgspec

from ferrosa.coordinator.execution import (CompiledStatement, Execution, ResultColumn,
                                           RowsResult, ordered_markers, send_to_shards)
from ferrosa.coordinator.keys import FILTERING_MESSAGE, analyze_where, pk_indexes, slice_bounds
from ferrosa.coordinator.tableinfo import ColumnInfo, TableInfo
from ferrosa.coordinator.terms import MarkerSpec, compile_int
from ferrosa.cql import ast
from ferrosa.ipc import messages as m
from ferrosa.partitioner import shard_of, shard_ranges
from ferrosa.partitioner import token as token_of
from ferrosa.protocol import types as T
from ferrosa.schema.errors import InvalidRequest

_LEN = struct.Struct(">i")
# A page without a client page size still stops after this many rows per shard request, so a reply
# stays far below the ring's record limit; the coordinator keeps reading until the LIMIT.
INTERNAL_PAGE_ROWS = 5000


class PagingState(msgspec.Struct, array_like=True):
    key_index: int = 0
    prefix_index: int = 0
    token: int | None = None
    pk: bytes = b""
    ck: bytes | None = None
    remaining: int = 0  # rows the LIMIT still allows (0 = no limit)


_paging_encoder = msgspec.msgpack.Encoder()
_paging_decoder = msgspec.msgpack.Decoder(PagingState)


def _decode_paging(data: bytes | None) -> PagingState | None:
    if not data:
        return None
    try:
        return _paging_decoder.decode(data)
    except msgspec.DecodeError:
        raise InvalidRequest("Invalid value for the paging state") from None


_META_TYPES = {
    ast.WritetimeOrTTLKind.WRITE_TIME: T.BIGINT,
    ast.WritetimeOrTTLKind.MAX_WRITE_TIME: T.BIGINT,
    ast.WritetimeOrTTLKind.TTL: T.INT,
}
_META_NAMES = {
    ast.WritetimeOrTTLKind.WRITE_TIME: "writetime",
    ast.WritetimeOrTTLKind.MAX_WRITE_TIME: "maxwritetime",
    ast.WritetimeOrTTLKind.TTL: "ttl",
}


_MULTI_CELL_KINDS = {"list": m.PROJ_LIST, "set": m.PROJ_SET, "map": m.PROJ_MAP}


def _projection_item(column: ColumnInfo) -> tuple[int, int | str | list]:
    if column.kind == "partition_key":
        return (m.PROJ_PK, column.position)
    if column.kind == "clustering":
        return (m.PROJ_CK, column.position)
    t = column.type
    if t.is_multi_cell:
        if t.kind == "udt":
            return (m.PROJ_UDT, [column.name, column.is_static, len(t.field_types)])
        return (_MULTI_CELL_KINDS[t.kind], [column.name, column.is_static])
    return (m.PROJ_STATIC if column.is_static else m.PROJ_CELL, column.name)


def _selector(table: TableInfo, sel: ast.Selector) -> tuple[tuple[int, int | str], str, T.CqlType]:
    expr = sel.expr
    if isinstance(expr, ast.ColumnRef):
        column = table.column(expr.name)
        if column is None:
            raise InvalidRequest(f"Undefined column name {expr.name} in table "
                                 f"{table.keyspace}.{table.name}")
        return _projection_item(column), sel.alias or column.name, column.type
    if isinstance(expr, ast.WritetimeOrTTL):
        column = table.column(expr.column)
        if column is None:
            raise InvalidRequest(f"Undefined column name {expr.column} in table "
                                 f"{table.keyspace}.{table.name}")
        if column.is_key:
            raise InvalidRequest(f"Cannot use selection function {_META_NAMES[expr.kind]} on "
                                 f"PRIMARY KEY part {column.name}")
        if expr.selected != ast.ColumnRef(column.name):
            raise InvalidRequest(f"{_META_NAMES[expr.kind]} of a collection element or UDT field "
                                 f"is not supported yet by Ferrosa")
        name = sel.alias or f"{_META_NAMES[expr.kind]}({column.name})"
        if expr.kind is ast.WritetimeOrTTLKind.MAX_WRITE_TIME or column.type.is_multi_cell:
            # Cassandra 5.0: a list per element for multi-cell columns; MAXWRITETIME a bigint.
            kind, t = {ast.WritetimeOrTTLKind.WRITE_TIME: (m.PROJ_ELEMENT_WRITETIMES, T.BIGINT),
                       ast.WritetimeOrTTLKind.TTL: (m.PROJ_ELEMENT_TTLS, T.INT),
                       ast.WritetimeOrTTLKind.MAX_WRITE_TIME: (m.PROJ_MAX_WRITETIME, T.BIGINT)
                       }[expr.kind]
            if column.type.is_multi_cell and kind != m.PROJ_MAX_WRITETIME:
                t = T.ListType(t, frozen=True)
            extra = [len(column.type.field_types)] if column.type.kind == "udt" and column.type.is_multi_cell else []
            return (kind, [column.name, column.is_static, *extra]), name, t
        if expr.kind is ast.WritetimeOrTTLKind.TTL:
            kind = m.PROJ_STATIC_TTL if column.is_static else m.PROJ_TTL
        else:
            kind = m.PROJ_STATIC_WRITETIME if column.is_static else m.PROJ_WRITETIME
        name = sel.alias or f"{_META_NAMES[expr.kind]}({column.name})"
        return (kind, column.name), name, _META_TYPES[expr.kind]
    raise InvalidRequest(f"Selector {type(expr).__name__} is not supported yet by Ferrosa "
                         f"(functions and aggregates other than COUNT(*) arrive with the CQL "
                         f"issue)")


class CompiledSelect(CompiledStatement):
    def __init__(self, table: TableInfo, stmt: ast.SelectStatement) -> None:
        self.info = table
        self.keyspace, self.table = table.keyspace, table.name
        _reject_unsupported(stmt)
        specs: dict[int, MarkerSpec] = {}
        self.count_rows = False
        self.projection, self.result_columns = self._selection(table, stmt)
        self.plan = analyze_where(table, stmt.where, specs)
        self._check_restrictions(stmt)
        self.reverse = self._ordering(stmt)
        ks, tb = table.keyspace, table.name
        self.limit_fn = compile_int(stmt.limit, "[limit]", ks, tb, specs)
        self.markers = ordered_markers(specs, len(stmt.bind_markers))
        self.pk_indexes = pk_indexes(table, self.markers)

    def _selection(self, table: TableInfo, stmt: ast.SelectStatement):
        ks, tb = table.keyspace, table.name
        if not stmt.selectors:
            return ([_projection_item(c) for c in table.select_order],
                    [ResultColumn(ks, tb, c.name, c.type) for c in table.select_order])
        if len(stmt.selectors) == 1 and isinstance(stmt.selectors[0].expr, ast.CountRows):
            self.count_rows = True
            return [], [ResultColumn(ks, tb, stmt.selectors[0].alias or "count", T.BIGINT)]
        projection, columns = [], []
        for sel in stmt.selectors:
            item, name, t = _selector(table, sel)
            projection.append(item)
            columns.append(ResultColumn(ks, tb, name, t))
        return projection, columns

    def _check_restrictions(self, stmt: ast.SelectStatement) -> None:
        plan = self.plan
        if plan.others:
            if stmt.allow_filtering:
                raise InvalidRequest("Filtering on non-primary-key columns (ALLOW FILTERING) is "
                                     "not supported yet by Ferrosa")
            raise InvalidRequest(FILTERING_MESSAGE)
        if not plan.has_partition_key and (plan.clustering or plan.slice):
            if not stmt.allow_filtering:
                raise InvalidRequest(FILTERING_MESSAGE)
            raise InvalidRequest("Filtering on clustering columns without the partition key is "
                                 "not supported yet by Ferrosa")

    def _ordering(self, stmt: ast.SelectStatement) -> bool:
        if not stmt.order_by:
            return False
        table = self.info
        if not table.clustering:
            raise InvalidRequest("Order by is currently only supported on the clustered columns "
                                 "of the PRIMARY KEY, got " + stmt.order_by[0].column)
        if not self.plan.has_partition_key:
            raise InvalidRequest("ORDER BY is only supported when the partition key is restricted "
                                 "by an EQ or an IN.")
        reverse = None
        for index, order in enumerate(stmt.order_by):
            if order.ann_of is not None:
                raise InvalidRequest("ANN ordering (vector search) is not supported yet by Ferrosa")
            if index >= len(table.clustering) or table.clustering[index].name != order.column:
                raise InvalidRequest("Order by currently only supports the ordering of columns "
                                     "following their declared order in the PRIMARY KEY")
            this = order.descending != table.clustering[index].reversed
            if reverse is not None and this != reverse:
                raise InvalidRequest("Unsupported order by relation")
            reverse = this
        return bool(reverse)

    async def execute(self, ex: Execution) -> RowsResult:
        limit = self.limit_fn(ex.values)
        if limit is not None and limit <= 0:
            raise InvalidRequest("LIMIT must be strictly positive")
        state = _decode_paging(ex.paging_state)
        page = ex.page_size if ex.page_size and ex.page_size > 0 and not self.count_rows else 0
        remaining = state.remaining if state is not None else (limit or 0)
        want = page if not remaining else (min(page, remaining) if page else remaining)
        if self.plan.has_partition_key:
            rows, count, next_state = await self._read_partitions(ex, state, want)
        else:
            rows, count, next_state = await self._scan(ex, state, want)
        if next_state is not None and remaining:
            next_state.remaining = remaining - count
            if next_state.remaining <= 0:
                next_state = None
        paging = _paging_encoder.encode(next_state) if next_state is not None and page else None
        if self.count_rows:
            return RowsResult(self.result_columns, 1,
                              _LEN.pack(8) + count.to_bytes(8, "big", signed=True))
        return RowsResult(self.result_columns, count, rows, paging)

    async def _read_partitions(self, ex: Execution, state: PagingState | None, want: int):
        plan = self.plan
        keys = sorted(plan.partition_keys(ex.values), key=token_of)
        prefixes = plan.clustering_prefixes(ex.values) if plan.clustering else [[]]
        if self.reverse:
            prefixes = prefixes[::-1]
        bounds = [slice_bounds(plan, prefix, ex.values) for prefix in prefixes]
        if len(bounds) > 1:
            bounds.sort(reverse=self.reverse)
        n = ex.node.router.shard_count
        chunks, count = [], 0
        key_index = state.key_index if state else 0
        prefix_index = state.prefix_index if state else 0
        after = state.ck if state else None
        now = ex.now()
        while key_index < len(keys):
            key = keys[key_index]
            token = token_of(key)
            while prefix_index < len(bounds):
                start, end = bounds[prefix_index]
                budget = (want - count) if want else INTERNAL_PAGE_ROWS
                read = m.Read(0, self.info.id_bytes, token, key, self.projection, now,
                              len(self.info.partition_key), start, end, budget, self.reverse,
                              after)
                (reply,) = await send_to_shards(ex, {shard_of(token, n): read})
                chunks.append(reply.rows)
                count += reply.count
                if reply.more:
                    after = reply.last_ck
                    if want and count >= want:
                        return b"".join(chunks), count, PagingState(key_index, prefix_index,
                                                                    ck=after)
                    continue
                prefix_index += 1
                after = None
                if want and count >= want:
                    nxt = (key_index, prefix_index) if prefix_index < len(bounds) else (
                        key_index + 1, 0)
                    more = nxt[0] < len(keys)
                    return b"".join(chunks), count, (PagingState(*nxt) if more else None)
            key_index += 1
            prefix_index = 0
        return b"".join(chunks), count, None

    async def _scan(self, ex: Execution, state: PagingState | None, want: int):
        n = ex.node.router.shard_count
        token = state.token if state else None
        pk = state.pk if state else b""
        ck = state.ck if state else None
        shard = shard_of(token, n) if token is not None else 0
        chunks, count = [], 0
        now = ex.now()
        while shard < n:
            budget = (want - count) if want else INTERNAL_PAGE_ROWS
            scan = m.Scan(0, self.info.id_bytes, self.projection, now,
                          len(self.info.partition_key), budget, token, pk, ck)
            (reply,) = await send_to_shards(ex, {shard: scan})
            chunks.append(reply.rows)
            count += reply.count
            if reply.more:
                token, pk, ck = reply.last_token, reply.last_pk, reply.last_ck
                if want and count >= want:
                    return b"".join(chunks), count, PagingState(token=token, pk=pk, ck=ck)
                continue
            shard += 1
            token, pk, ck = None, b"", None
            if want and count >= want and shard < n:
                return b"".join(chunks), count, PagingState(token=_first_token(shard, n))
        return b"".join(chunks), count, None


def _first_token(shard: int, n: int) -> int:
    return shard_ranges(n)[shard][0]


def _reject_unsupported(stmt: ast.SelectStatement) -> None:
    unsupported = [
        (stmt.is_json, "SELECT JSON"),
        (stmt.is_distinct, "SELECT DISTINCT"),
        (bool(stmt.group_by), "GROUP BY"),
        (stmt.per_partition_limit is not None, "PER PARTITION LIMIT"),
    ]
    for present, what in unsupported:
        if present:
            raise InvalidRequest(f"{what} is not supported yet by Ferrosa")
