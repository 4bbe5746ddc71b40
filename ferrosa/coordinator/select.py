"""SELECT, the direct path: compiled into shard reads (partition reads or token-ordered scans).

What it is: selector analysis (columns, aliases, WRITETIME/TTL, COUNT(*)), key restrictions via
coordinator.keys, and execution: the shards return rows already encoded for the RESULT message; this
module only chains reads, applies LIMIT and page size, and builds the paging state (its format is
described in coordinator/rowsource.py, shared with the general path). Also `ordering`, the ORDER BY
rules both paths apply.

What it must not do: decode row values (the hot path), or take statements that need the front to
look at rows: filtering, functions, aggregates, GROUP BY, JSON and the like go to
select_general.py (statements.py routes them with `needs_general_path`).
"""

from __future__ import annotations

import struct

from ferrosa.coordinator.consistency import check_serial_partitions
from ferrosa.coordinator.execution import (
    CompiledStatement,
    Execution,
    ResultColumn,
    RowsResult,
    ServerError,
    ordered_markers,
    send_to_shard,
)
from ferrosa.coordinator.keys import (
    FILTERING_MESSAGE,
    WHOLE_PARTITION,
    analyze_where,
    pk_indexes,
    slice_bounds,
)
from ferrosa.coordinator.router import ShardCall
from ferrosa.coordinator.rowsource import (
    PagingState,
    decode_paging,
    first_token,
    paging_encoder,
)
from ferrosa.coordinator.selectors import check_meta, meta_item, projection_item
from ferrosa.coordinator.tableinfo import TableInfo
from ferrosa.coordinator.terms import MarkerSpec, compile_int
from ferrosa.cql import ast
from ferrosa.ipc import messages as m
from ferrosa.partitioner import shard_of
from ferrosa.partitioner import token as token_of
from ferrosa.protocol import types as T
from ferrosa.schema.errors import InvalidRequest

_LEN = struct.Struct(">i")
# A page without a client page size still stops after this many rows per shard request, so a reply
# stays far below the ring's record limit; the coordinator keeps reading until the LIMIT.
INTERNAL_PAGE_ROWS = 5000


def _selector(table: TableInfo, sel: ast.Selector) -> tuple[tuple[int, int | str], str, T.CqlType]:
    expr = sel.expr
    if isinstance(expr, ast.ColumnRef):
        column = table.column(expr.name)
        if column is None:
            raise InvalidRequest(f"Undefined column name {expr.name} in table "
                                 f"{table.keyspace}.{table.name}")
        return projection_item(column), sel.alias or column.name, column.type
    if isinstance(expr, ast.WritetimeOrTTL):
        column = table.column(expr.column)
        if column is None:
            raise InvalidRequest(f"Undefined column name {expr.column} in table "
                                 f"{table.keyspace}.{table.name}")
        name = check_meta(column, expr)
        item, t = meta_item(column, expr.kind)
        return item, sel.alias or f"{name}({column.name})", t
    raise InvalidRequest(f"Selector {type(expr).__name__} is not supported yet by Ferrosa "
                         f"(functions and aggregates other than COUNT(*) arrive with the CQL "
                         f"issue)")


class CompiledSelect(CompiledStatement):
    def __init__(self, table: TableInfo, stmt: ast.SelectStatement) -> None:
        self.info = table
        self.keyspace, self.table = table.keyspace, table.name
        specs: dict[int, MarkerSpec] = {}
        self.count_rows = False
        self.projection, self.result_columns = self._selection(table, stmt)
        self.encoded_projection = m.encode_projection(self.projection)
        self.plan = analyze_where(table, stmt.where, specs)
        self._check_restrictions(stmt)
        self.levels, self.consistency_error = table.consistency.for_reads(
            self.plan.has_partition_key)
        self.reverse = ordering(table, self.plan, stmt)
        ks, tb = table.keyspace, table.name
        self.limit_fn = compile_int(stmt.limit, "[limit]", ks, tb, specs)
        self.limited = stmt.limit is not None
        self.markers = ordered_markers(specs, len(stmt.bind_markers))
        self.pk_indexes = pk_indexes(table, self.markers)
        # A read of one partition and one clustering range (every partition-key column
        # restricted by =, no IN, no aggregate) can take the front's short path (start/finish):
        # one Read, one reply. A point read (the whole clustering key by =, or none) finds at
        # most one row; a slice is cut by its page or LIMIT.
        self.single_read = (self.plan.has_partition_key and not self.count_rows
                            and self.plan.without_in)
        self.point_read = self.single_read and (not table.clustering or self.plan.full_clustering)
        # No clustering restriction: the read's bounds are the whole partition's.
        self.whole_partition = (not self.plan.clustering and self.plan.slice is None
                                and self.plan.tuple_slice is None)

    def start(self, ex: Execution) -> ShardCall | None:
        """The short path's Read (see __init__'s single_read), None for `execute`: a later page,
        a LIMIT that is not positive (execute refuses it), or a slice without a page size
        (execute reads on until the LIMIT, past replies cut at MAX_REPLY_ROW_BYTES)."""
        if not self.single_read or ex.paging_state is not None:
            return None
        page = ex.page_size
        if page is None or page < 0:
            page = 0
        limit = self.limit_fn(ex.values) if self.limited else None
        if limit is None:
            if page:
                budget = page
            elif self.point_read:
                budget = INTERNAL_PAGE_ROWS
            else:
                return None
        elif limit <= 0 or not (page or self.point_read):
            return None
        else:
            ex.limit = limit  # finish: a reply of this many rows is the last page
            budget = page if page and page < limit else limit
        plan, values = self.plan, ex.values
        (key,) = plan.partition_keys(values)
        if self.whole_partition:
            bounds = WHOLE_PARTITION
        else:
            (prefix,) = plan.clustering_prefixes(values) if plan.clustering else ([],)
            bounds = slice_bounds(plan, prefix, values)
        token = token_of(key)
        read = self._read(token, key, ex.now_in_seconds, bounds, budget, None)
        return ex.node.router.call_owner(token, read)

    def _read(self, token: int, key: bytes, now: int, bounds: tuple[bytes, bytes], budget: int,
              after: bytes | None) -> m.Read:
        start, end = bounds
        return m.Read(0, self.info.id_bytes, token, key, self.encoded_projection, now,
                      len(self.info.partition_key), start, end, budget, self.reverse, after)

    def finish(self, ex: Execution, reply: m.RowsReply) -> RowsResult:
        """The rows of the short path's reply; a reply its page (or the shard's reply size)
        cut carries the paging state `execute` would give for the rest of the partition."""
        count = reply.count
        if not reply.more or count == ex.limit:
            return RowsResult(self.result_columns, count, reply.rows)
        if self.point_read:  # cannot happen for one row and a budget of at least one
            raise ServerError("a point read came back cut short")
        state = PagingState(ck=reply.last_ck)
        if ex.limit > 0:
            state.remaining = ex.limit - count
        return RowsResult(self.result_columns, count, reply.rows, paging_encoder.encode(state))

    def _selection(self, table: TableInfo, stmt: ast.SelectStatement):
        ks, tb = table.keyspace, table.name
        if not stmt.selectors:
            return ([projection_item(c) for c in table.select_order],
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
        # Statements with ALLOW FILTERING take the general path (select_general.py).
        plan = self.plan
        if plan.others or (not plan.has_partition_key and (plan.clustering or plan.slice)):
            raise InvalidRequest(FILTERING_MESSAGE)

    async def execute(self, ex: Execution) -> RowsResult:
        limit = self.limit_fn(ex.values)
        if limit is not None and limit <= 0:
            raise InvalidRequest("LIMIT must be strictly positive")
        state = decode_paging(ex.paging_state)
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
        paging = paging_encoder.encode(next_state) if next_state is not None and page else None
        if self.count_rows:
            return RowsResult(self.result_columns, 1,
                              _LEN.pack(8) + count.to_bytes(8, "big", signed=True))
        return RowsResult(self.result_columns, count, rows, paging)

    async def _read_partitions(self, ex: Execution, state: PagingState | None, want: int):
        plan = self.plan
        keys = sorted(plan.partition_keys(ex.values), key=token_of)
        check_serial_partitions(ex.consistency, len(set(keys)))
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
        now = ex.now_in_seconds
        while key_index < len(keys):
            key = keys[key_index]
            token = token_of(key)
            while prefix_index < len(bounds):
                budget = (want - count) if want else INTERNAL_PAGE_ROWS
                read = self._read(token, key, now, bounds[prefix_index], budget, after)
                reply = await send_to_shard(ex, shard_of(token, n), read)
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
        now = ex.now_in_seconds
        while shard < n:
            budget = (want - count) if want else INTERNAL_PAGE_ROWS
            scan = m.Scan(0, self.info.id_bytes, self.encoded_projection, now,
                          len(self.info.partition_key), budget, token, pk, ck)
            reply = await send_to_shard(ex, shard, scan)
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
                return b"".join(chunks), count, PagingState(token=first_token(shard, n))
        return b"".join(chunks), count, None


def ordering(table: TableInfo, plan, stmt: ast.SelectStatement) -> bool:
    """Whether ORDER BY reads the clustering in reverse, with Cassandra's checks."""
    if not stmt.order_by:
        return False
    if not table.clustering:
        raise InvalidRequest("Order by is currently only supported on the clustered columns of "
                             "the PRIMARY KEY, got " + stmt.order_by[0].column)
    if not plan.has_partition_key:
        raise InvalidRequest("ORDER BY is only supported when the partition key is restricted by "
                             "an EQ or an IN.")
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
