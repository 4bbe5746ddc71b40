"""INSERT, UPDATE, DELETE and BATCH: compiled once, then turned into shard mutations per execution.

What it is: validation of modification statements against the table (Cassandra's rules and
messages), and `CompiledWrite.mutations(ex)` producing the `Mutation`s of one execution, which
`execute` groups by owning shard and sends. Column writes (whole values, collection and UDT element
operations, counter increments) come from coordinator/cells.py.

What it must not do: apply anything itself (shards do), or accept what it cannot store faithfully:
conditional (LWT) statements answer with a clear "not supported yet" InvalidRequest until their
issue lands.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from ferrosa.coordinator.cells import CellFn, OperationCompiler, whole_value
from ferrosa.coordinator.consistency import ALL_LEVELS
from ferrosa.coordinator.execution import (
    CompiledStatement,
    Execution,
    VoidResult,
    group_by_shard,
    ordered_markers,
    send_to_shards,
)
from ferrosa.coordinator.keys import KeyPlan, analyze_where, pk_indexes, slice_bounds
from ferrosa.coordinator.router import ShardCall
from ferrosa.coordinator.tableinfo import ColumnInfo, TableInfo
from ferrosa.coordinator.terms import UNSET, MarkerSpec, bind_all, compile_term
from ferrosa.cql import ast
from ferrosa.ipc import messages as m
from ferrosa.partitioner import token as token_of
from ferrosa.protocol import types as T
from ferrosa.protocol.values import InvalidValue
from ferrosa.schema.errors import InvalidRequest

# Cassandra's MAX_TTL: 20 years in seconds.
MAX_TTL_SECONDS = 20 * 365 * 24 * 60 * 60
LWT_NOT_SUPPORTED = ("Conditional statements (IF, IF EXISTS, IF NOT EXISTS) are not supported yet "
                     "by Ferrosa: lightweight transactions arrive with the Paxos issue")


def _no_ttl(values: list) -> int:
    return 0


def NO_ATTRIBUTE(values: list) -> None:
    """A statement's TIMESTAMP or TTL when it has no USING for it: None (the default)."""


def compile_timestamp(term: ast.Term | None, keyspace: str, table: str,
                      specs: dict[int, MarkerSpec]):
    """USING TIMESTAMP (Cassandra's Attributes.getTimestamp): absent or unset -> None (the
    coordinator's clock), a bound null -> InvalidRequest."""
    if term is None:
        return NO_ATTRIBUTE
    fn = compile_term(term, T.BIGINT, "[timestamp]", keyspace, table, specs)

    def timestamp(values: list) -> int | None:
        raw = fn(values)
        if raw is UNSET:
            return None
        if raw is None:
            raise InvalidRequest("Invalid null value of timestamp")
        return int.from_bytes(raw, "big", signed=True)
    return timestamp


def compile_ttl(term: ast.Term | None, keyspace: str, table: str, specs: dict[int, MarkerSpec]):
    """USING TTL (Attributes.getTimeToLive): absent or unset -> None (the table's default TTL),
    a bound null -> 0 (no TTL)."""
    if term is None:
        return NO_ATTRIBUTE
    fn = compile_term(term, T.INT, "[ttl]", keyspace, table, specs)

    def ttl(values: list) -> int | None:
        raw = fn(values)
        if raw is UNSET:
            return None
        if raw is None:
            return 0
        return int.from_bytes(raw, "big", signed=True)
    return ttl


class CompiledWrite(CompiledStatement):
    is_write = True

    def __init__(self, table: TableInfo, plan: KeyPlan, cells: list[tuple[ColumnInfo, CellFn]],
                 kind: int, row_marker: bool, timestamp, ttl,
                 specs: dict[int, MarkerSpec], marker_count: int) -> None:
        self.info = table
        self.keyspace, self.table = table.keyspace, table.name
        self.levels, self.consistency_error = table.consistency.for_writes()
        self.plan = plan
        self.regular = [fn for column, fn in cells if not column.is_static]
        self.static = [fn for column, fn in cells if column.is_static]
        # The hot path of plain INSERT/UPDATE of simple columns: the regular columns' values go
        # in the Mutation's plain lists (no CellWrite per cell), the static ones as CellWrites;
        # no per-column closure and list. The names list is shared by every Mutation this
        # statement makes: nothing may change it.
        self.simple = all(getattr(fn, "simple_value", None) is not None for _c, fn in cells)
        if self.simple:
            self.plain_names = [c.name for c, _fn in cells if not c.is_static]
            self.plain_fns = [fn.simple_value for c, fn in cells if not c.is_static]
            self.plain_values = bind_all(self.plain_fns)
            self.static_fns = [(c.name, fn.simple_value) for c, fn in cells if c.is_static]
        self.kind = kind
        self.row_marker = row_marker
        self.timestamp_fn = timestamp
        self.ttl_fn = ttl
        self.is_counter = table.is_counter
        self.markers = ordered_markers(specs, marker_count)
        self.pk_indexes = pk_indexes(table, self.markers)
        self.one_mutation = plan.without_in  # then the statement writes exactly one mutation
        # The usual INSERT or UPDATE: one row of whole values, no USING, not a counter.
        # mutations() builds its Mutation in `_single`, without the general path.
        self.single = (self.one_mutation and self.simple and kind == m.MUTATION_ROW_UPSERT
                       and not self.is_counter and timestamp is NO_ATTRIBUTE
                       and ttl is NO_ATTRIBUTE)
        self._joined_row = self._row_joiner()

    def _ttl(self, values: list) -> int:
        ttl = self.ttl_fn(values)
        if ttl is None:
            ttl = self.info.meta.options.default_time_to_live
        if ttl < 0:
            raise InvalidRequest(f"A TTL must be greater or equal to 0, but was {ttl}")
        if ttl > MAX_TTL_SECONDS:
            raise InvalidRequest(f"ttl is too large. requested ({ttl}) maximum ({MAX_TTL_SECONDS})")
        return ttl

    def mutations(self, ex: Execution, batch_timestamp: int | None = None) -> list[m.Mutation]:
        """The Mutations of one execution (in a batch: `batch_timestamp`, the batch's own)."""
        if self.single:
            return [self._single(ex, batch_timestamp)]
        return self._general(ex, batch_timestamp)

    def _general(self, ex: Execution, batch_timestamp: int | None) -> list[m.Mutation]:
        values = ex.values
        timestamp = self.timestamp_fn(values)
        if timestamp is None:
            timestamp = batch_timestamp if batch_timestamp is not None else ex.write_timestamp()
        ttl = 0 if self.is_counter else self._ttl(values)
        now = ex.now_in_seconds
        expires = now + ttl if ttl else 0
        if self.simple:
            regular = []
            names, plain, static = self._whole_values(values)
        else:
            regular = [w for fn in self.regular for w in fn(values)]
            static = [w for fn in self.static for w in fn(values)]
            names, plain = [], []
        out = []
        table_id = self.info.id_bytes
        plan = self.plan
        kind = self.kind
        for pk in plan.partition_keys(values):
            token = token_of(pk)
            prefixes = plan.clustering_prefixes(values) if plan.clustering else [[]]
            for prefix in prefixes:
                if kind == m.MUTATION_RANGE_DELETE:
                    start, end = slice_bounds(plan, prefix, values)
                    out.append(m.Mutation(table_id, token, pk, start, [], timestamp, kind,
                                          now=now, ck_end=end))
                    continue
                ck = plan.encode(prefix) if prefix else b""
                out.append(m.Mutation(table_id, token, pk, ck, prefix, timestamp, kind, regular,
                                      static, ttl, expires, self.row_marker, now, b"", names,
                                      plain))
        return out

    def _whole_values(self, values: list) -> tuple[list[str], list, list[m.CellWrite]]:
        """A `simple` statement's cells: the regular columns' names and values (the Mutation's
        plain lists) and the static ones' CellWrites."""
        names = self.plain_names
        plain = self.plain_values(values)
        if UNSET in plain:  # an unset bind value leaves its column alone
            names = [name for name, value in zip(names, plain) if value is not UNSET]
            plain = [value for value in plain if value is not UNSET]
        static = [m.CellWrite(name, value) for name, fn in self.static_fns
                  if (value := fn(values)) is not UNSET] if self.static_fns else []
        return names, plain, static

    def _single(self, ex: Execution, batch_timestamp: int | None,
                pk: bytes | None = None) -> m.Mutation:
        """The one Mutation of a `single` statement: what `_general` makes, without its loops
        and USING lookups; the same errors. `pk`: its partition key when the caller has
        bound it already (`_batch_rows`)."""
        values = ex.values
        names, plain, static = self._whole_values(values)
        plan = self.plan
        if pk is None:
            pk = plan.partition_keys(values)[0]
        prefix = plan.clustering_prefixes(values)[0] if plan.clustering else []
        ttl = self.info.meta.options.default_time_to_live  # valid: checked by CREATE/ALTER
        now = ex.now_in_seconds
        # ex.write_timestamp(), without its call
        timestamp = batch_timestamp if batch_timestamp is not None else ex.timestamp
        if timestamp is None:
            timestamp = ex.session.next_timestamp()
        return m.Mutation(self.info.id_bytes, token_of(pk), pk,
                          plan.prefix_encode(prefix) if prefix else b"", prefix, timestamp,
                          m.MUTATION_ROW_UPSERT, [], static, ttl, now + ttl if ttl else 0,
                          self.row_marker, now, b"", names, plain)

    def _row_joiner(self) -> Callable[[list[list], int, m.Mutation], int] | None:
        """What `_batch_rows` asks first of the rows after a Mutation's first: join(rows, i,
        last) adds to `last` (as its `rows`) rows[i], rows[i + 1], ... while each joins it
        (the same partition key, every column set, each key column bound to one value) and
        returns the index of the first that does not. The binders and the encoder are the
        ones the general path calls, bound once, so a row they refuse is bound again by that
        path, which raises its error. None where no row can join this way: statics, a table
        without clustering columns, a partition key of several columns, IN lists."""
        plan = self.plan
        if (not self.single or self.static_fns or not plan.clustering or plan.one_key is None
                or plan.clustering_values is None or plan.prefix_encode is None):
            return None
        pk_of, prefix_of, plain_of = plan.one_key, plan.clustering_values, self.plain_values
        whole = self.plain_names
        if len(plan.clustering) > 1:
            encode = plan.prefix_encode

            def joined(values: list, last: m.Mutation) -> m.RowWrite | None:
                if pk_of(values)[0] != last.pk:
                    return None
                plain, prefix = plain_of(values), prefix_of(values)
                if UNSET in plain or None in prefix or UNSET in prefix:
                    return None
                return m.RowWrite(encode(prefix), prefix, plain)
            return _run_joiner(joined, whole)
        pk_fn, ck_fn = plan.partition[0].values[0], plan.clustering[0].values[0]
        pk_at, ck_at = getattr(pk_fn, "marker_index", None), getattr(ck_fn, "marker_index", None)
        if pk_at is None or ck_at is None:
            return None
        # One key column and one clustering column, each a marker (the usual prepared batch):
        # the values read by index. The key needs no check: it equals the first row's, which
        # passed it. The clustering value is checked as its marker checks it.
        check, encode_one = ck_fn.marker_check, plan.encoder(1).column_encoder(0)
        # A fixed-size type whose every value of its size is valid (the integers): a value of
        # that size needs no call to the check.
        exact = getattr(check, "any_value_of_size", -1)

        def join(rows: list[list], i: int, last: m.Mutation) -> int:
            if last.plain_names is not whole:
                return i
            pk = last.pk
            more: list[m.RowWrite] = []
            for values in islice(rows, i, None):
                ck = values[ck_at]
                if values[pk_at] != pk or type(ck) is not bytes:
                    break
                plain = plain_of(values)
                if UNSET in plain:
                    break
                if check is not None and len(ck) != exact:
                    try:
                        check(ck)
                    except InvalidValue:
                        break
                more.append(m.RowWrite(encode_one(ck), [ck], plain))
            if more:
                if last.rows is None:
                    last.rows = more
                else:
                    last.rows += more
            return i + len(more)
        return join

    def _batch_rows(self, ex: Execution, timestamp: int, per_statement_values: list[list]
                    ) -> list[m.Mutation]:
        """The Mutations of a BATCH that repeats this `single` statement, at the batch's
        `timestamp`: a row of the previous row's partition that sets every column (no unset
        value) joins that row's Mutation as one of its `rows` (the usual batch into one
        partition is one Mutation); any other row starts a Mutation of its own."""
        out: list[m.Mutation] = []
        last: m.Mutation | None = None
        plan = self.plan
        clustering = plan.clustering
        whole = self.plain_names
        mergeable = not self.static_fns
        join = self._joined_row
        i, count = 0, len(per_statement_values)
        while i < count:
            if last is not None and join is not None:
                i = join(per_statement_values, i, last)
                if i == count:
                    break
            values = per_statement_values[i]
            i += 1
            ex.values = values
            if last is not None and mergeable:
                pk = plan.partition_keys(values)[0]
                if pk == last.pk:
                    names, plain, _static = self._whole_values(values)
                    if names is whole and last.plain_names is whole:
                        prefix = plan.clustering_prefixes(values)[0] if clustering else []
                        row = m.RowWrite(plan.prefix_encode(prefix) if prefix else b"", prefix,
                                         plain)
                        if last.rows is None:
                            last.rows = [row]
                        else:
                            last.rows.append(row)
                        continue
                # Another partition's row, or one with unset values: its key, bound above,
                # is not bound again.
                last = self._single(ex, timestamp, pk)
            else:
                last = self._single(ex, timestamp)
            out.append(last)
        return out

    def start(self, ex: Execution) -> ShardCall | None:
        if not self.one_mutation:
            return None  # IN lists: execute() groups the mutations by shard
        mutations = [self._single(ex, None)] if self.single else self._general(ex, None)
        return ex.node.router.call_owner(mutations[0].token, m.Write(0, mutations))

    async def execute(self, ex: Execution) -> VoidResult:
        await send_to_shards(ex, group_by_shard(ex.node, self.mutations(ex)))
        return VoidResult()


def _run_joiner(joined: Callable[[list, m.Mutation], m.RowWrite | None], whole: list[str]
                ) -> Callable[[list[list], int, m.Mutation], int]:
    """CompiledWrite._row_joiner's join of rows one at a time: `joined` gives a row's
    RowWrite when it joins `last`, else None."""
    def join(rows: list[list], i: int, last: m.Mutation) -> int:
        if last.plain_names is not whole:
            return i
        for values in islice(rows, i, None):
            row = joined(values, last)
            if row is None:
                break
            if last.rows is None:
                last.rows = [row]
            else:
                last.rows.append(row)
            i += 1
        return i
    return join


def _counter_rules(table: TableInfo, stmt, has_ttl: bool) -> None:
    if not table.is_counter:
        return
    if stmt.timestamp is not None:
        raise InvalidRequest("Cannot provide custom timestamp for counter updates")
    if has_ttl:
        raise InvalidRequest("Cannot provide custom TTL for counter updates")


def _check_value_type(column: ColumnInfo, table: TableInfo) -> None:
    if column.type is T.COUNTER and not table.is_counter:
        raise InvalidRequest("Cannot mix counter and non counter columns in the same table")


def compile_insert(table: TableInfo, stmt: ast.InsertStatement) -> CompiledWrite:
    if stmt.if_not_exists:
        raise InvalidRequest(LWT_NOT_SUPPORTED)
    if table.is_counter:
        raise InvalidRequest("INSERT statements are not allowed on counter tables, use UPDATE "
                             "instead")
    if len(stmt.columns) != len(stmt.values):
        raise InvalidRequest("Unmatched column names/values")
    specs: dict[int, MarkerSpec] = {}
    ks, tb = table.keyspace, table.name
    seen: set[str] = set()
    key_terms: dict[str, ast.Term] = {}
    cells: list[tuple[ColumnInfo, CellFn]] = []
    for name, term in zip(stmt.columns, stmt.values):
        column = table.column(name)
        if column is None:
            raise InvalidRequest(f"Undefined column name {name} in table {ks}.{tb}")
        if name in seen:
            raise InvalidRequest("The column names contains duplicates")
        seen.add(name)
        if column.is_key:
            key_terms[name] = term
        else:
            _check_value_type(column, table)
            cells.append((column, whole_value(column, compile_term(term, column.type, name, ks,
                                                                   tb, specs))))
    missing_pk = [c.name for c in table.partition_key if c.name not in key_terms]
    if missing_pk:
        raise InvalidRequest(f"Some partition key parts are missing: {', '.join(missing_pk)}")
    missing_ck = [c.name for c in table.clustering if c.name not in key_terms]
    missing_clustering_ok = (missing_ck and len(missing_ck) == len(table.clustering) and cells
                             and all(column.is_static for column, _ in cells))
    if missing_ck and not missing_clustering_ok:
        raise InvalidRequest(f"Some clustering keys are missing: {', '.join(missing_ck)}")
    where = tuple(ast.SingleColumnRelation(name, ast.Operator.EQ, term)
                  for name, term in key_terms.items())
    plan = analyze_where(table, where, specs, for_write=True)
    timestamp = compile_timestamp(stmt.timestamp, ks, tb, specs)
    ttl = compile_ttl(stmt.ttl, ks, tb, specs)
    # INSERT of partition key and static columns only writes the static row: no row marker.
    row_marker = not missing_clustering_ok
    return CompiledWrite(table, plan, cells, m.MUTATION_ROW_UPSERT, row_marker, timestamp, ttl,
                         specs, len(stmt.bind_markers))


def _check_where_keys(table: TableInfo, plan: KeyPlan, statement: str,
                      static_only: bool) -> None:
    if plan.others:
        rel = plan.others[0]
        name = getattr(rel, "column", None) or ", ".join(getattr(rel, "columns", ())) or "token"
        raise InvalidRequest(f"Non PRIMARY KEY columns found in where clause: {name} ")
    if not plan.has_partition_key:
        missing = [c.name for c in table.partition_key]
        raise InvalidRequest(f"Some partition key parts are missing: {', '.join(missing)}")
    if plan.slice is not None:
        raise InvalidRequest(f"Slice restrictions are not supported on the clustering columns in "
                             f"{statement} statements")
    if not static_only and len(plan.clustering) != len(table.clustering):
        missing = [c.name for c in table.clustering[len(plan.clustering):]]
        raise InvalidRequest(f"Some clustering keys are missing: {', '.join(missing)}")


def compile_update(table: TableInfo, stmt: ast.UpdateStatement) -> CompiledWrite:
    if stmt.conditions or stmt.if_exists:
        raise InvalidRequest(LWT_NOT_SUPPORTED)
    specs: dict[int, MarkerSpec] = {}
    ks, tb = table.keyspace, table.name
    ops = OperationCompiler(ks, tb, specs)
    cells: list[tuple[ColumnInfo, CellFn]] = []
    for op in stmt.operations:
        column = table.column(op.column)
        if column is None:
            raise InvalidRequest(f"Undefined column name {op.column} in table {ks}.{tb}")
        if column.is_key:
            raise InvalidRequest(f"PRIMARY KEY part {op.column} found in SET part")
        _check_value_type(column, table)
        cells.append((column, ops.update(column, op)))
    plan = analyze_where(table, stmt.where, specs, for_write=True)
    only_statics = bool(cells) and all(c.is_static for c, _ in cells)
    if only_statics and (plan.clustering or plan.slice is not None):
        raise InvalidRequest("Invalid restrictions on clustering columns since the UPDATE "
                             "statement modifies only static columns")
    _check_where_keys(table, plan, "UPDATE", only_statics)
    _counter_rules(table, stmt, stmt.ttl is not None)
    timestamp = compile_timestamp(stmt.timestamp, ks, tb, specs)
    ttl = compile_ttl(stmt.ttl, ks, tb, specs)
    return CompiledWrite(table, plan, cells, m.MUTATION_ROW_UPSERT, False, timestamp, ttl, specs,
                         len(stmt.bind_markers))


def _delete_kind(table: TableInfo, plan: KeyPlan, columns: list[ColumnInfo]) -> int:
    has_columns = bool(columns)
    if plan.others or not plan.has_partition_key:
        _check_where_keys(table, plan, "DELETE", True)
    only_statics = has_columns and all(c.is_static for c in columns)
    if only_statics and (plan.clustering or plan.slice is not None):
        raise InvalidRequest("Invalid restrictions on clustering columns since the DELETE "
                             "statement modifies only static columns")
    is_range = plan.slice is not None or plan.tuple_slice is not None or (
        plan.clustering and not plan.full_clustering) or (
        has_columns and not only_statics and table.clustering and not plan.full_clustering)
    if is_range:
        if has_columns:
            raise InvalidRequest("Range deletions are not supported for specific columns")
        return m.MUTATION_RANGE_DELETE
    if has_columns:
        return m.MUTATION_ROW_UPSERT
    return m.MUTATION_ROW_DELETE if plan.clustering else m.MUTATION_PARTITION_DELETE


def compile_delete(table: TableInfo, stmt: ast.DeleteStatement) -> CompiledWrite:
    if stmt.conditions or stmt.if_exists:
        raise InvalidRequest(LWT_NOT_SUPPORTED)
    specs: dict[int, MarkerSpec] = {}
    ks, tb = table.keyspace, table.name
    ops = OperationCompiler(ks, tb, specs)
    cells: list[tuple[ColumnInfo, CellFn]] = []
    for deletion in stmt.deletions:
        column = table.column(deletion.column)
        if column is None:
            raise InvalidRequest(f"Undefined column name {deletion.column} in table {ks}.{tb}")
        if column.is_key:
            raise InvalidRequest(f"Invalid identifier {deletion.column} for deletion (should not "
                                 f"be a PRIMARY KEY part)")
        cells.append((column, ops.delete(column, deletion)))
    plan = analyze_where(table, stmt.where, specs, for_write=True)
    kind = _delete_kind(table, plan, [column for column, _ in cells])
    if kind == m.MUTATION_ROW_UPSERT:
        static_only = all(c.is_static for c, _ in cells) and not plan.clustering
        _check_where_keys(table, plan, "DELETE", static_only)
    _counter_rules(table, stmt, False)
    timestamp = compile_timestamp(stmt.timestamp, ks, tb, specs)
    return CompiledWrite(table, plan, cells, kind, False, timestamp, _no_ttl, specs,
                         len(stmt.bind_markers))


def check_batch_counters(batch_type: int, custom_timestamp: bool,
                         statements: list[CompiledWrite]) -> None:
    """BatchStatement.validate's rules on counters (messages as Cassandra's), for BEGIN BATCH
    and the protocol's BATCH alike. ``batch_type``: the protocol's (ast.BatchType) value."""
    counters = [part.is_counter for part in statements]
    is_counter_batch = batch_type == ast.BatchType.COUNTER
    if is_counter_batch and custom_timestamp:
        raise InvalidRequest("Cannot provide custom timestamp for counter BATCH")
    if any(counters) and not all(counters):
        raise InvalidRequest("Counter and non-counter mutations cannot exist in the same batch")
    if is_counter_batch and not all(counters):
        raise InvalidRequest("Cannot include non-counter statement in a counter batch")
    if batch_type == ast.BatchType.LOGGED and any(counters):
        raise InvalidRequest("Cannot include a counter statement in a logged batch")


class CompiledBatch(CompiledStatement):
    """A BATCH: every statement's mutations, grouped per owning shard, applied per shard at once."""

    is_write = True

    def __init__(self, statements: list[CompiledWrite], timestamp, markers: list[MarkerSpec],
                 batch_type: int) -> None:
        self.statements = statements
        self.timestamp_fn = timestamp
        self.markers = markers
        self.batch_type = batch_type
        first = statements[0] if statements else None
        self.keyspace = first.keyspace if first else None
        self.table = first.table if first else None
        self.pk_indexes = first.pk_indexes if first and len(statements) == 1 else []
        rules = list({id(s.info.consistency): s.info.consistency for s in statements}.values())
        self.levels = frozenset.intersection(ALL_LEVELS, *(r.batch_write for r in rules))
        self._rules = rules
        # `_batch_rows` of the one statement a batch repeats (the usual prepared batch), or None.
        self._repeated = (first._batch_rows if first and first.single
                          and all(s is first for s in statements) else None)

    def consistency_error(self, level: int) -> Exception | None:
        """The first of its statements' tables the level cannot write."""
        for rules in self._rules:
            error = rules.batch_write_error(level)
            if error is not None:
                return error
        return None

    def collect(self, ex: Execution, per_statement_values: list[list] | None = None) -> list:
        timestamp = self.timestamp_fn(ex.values)
        if timestamp is None:
            timestamp = ex.write_timestamp()
        repeated = self._repeated
        if repeated is not None and per_statement_values is not None:
            return repeated(ex, timestamp, per_statement_values)
        mutations = []
        for index, statement in enumerate(self.statements):
            if per_statement_values is not None:
                ex.values = per_statement_values[index]
            if statement.single:  # mutations()'s own test, without its call and list
                mutations.append(statement._single(ex, timestamp))
            else:
                mutations.extend(statement._general(ex, timestamp))
        return mutations

    def per_shard(self, ex: Execution, per_statement_values: list[list] | None = None
                  ) -> dict[int, m.Write]:
        """The batch's mutations as one Write per owning shard."""
        return group_by_shard(ex.node, self.collect(ex, per_statement_values))

    async def execute(self, ex: Execution, per_statement_values: list[list] | None = None):
        await send_to_shards(ex, self.per_shard(ex, per_statement_values))
        return VoidResult()
