"""INSERT JSON: a JSON document as the values of an INSERT (Cassandra's UpdateStatement.ParsedInsertJson).

What it is: `CompiledInsertJson`, which parses the document at each execution (ferrosa/functions's
JSON codec: every column's value as Cassandra's fromJson reads it), then runs the INSERT those
values make, compiled once per set of columns present. Columns missing from the document are
written as null (DEFAULT NULL, Cassandra's default) or left untouched (DEFAULT UNSET).

What it must not do: accept a document without every primary key column, or one naming a column
the table does not have (the codec refuses it, as Cassandra does).
"""

from __future__ import annotations

from ferrosa import functions as F
from ferrosa.coordinator import dml
from ferrosa.coordinator.execution import CompiledStatement, Execution, ordered_markers
from ferrosa.coordinator.tableinfo import TableInfo
from ferrosa.coordinator.terms import UNSET, MarkerSpec, compile_int, compile_term
from ferrosa.cql import ast
from ferrosa.protocol import types as T
from ferrosa.schema.errors import InvalidRequest

# Compiled INSERTs kept per statement, one per distinct set of columns present in documents.
MAX_SHAPES = 64


class CompiledInsertJson(CompiledStatement):
    is_write = True

    def __init__(self, table: TableInfo, stmt: ast.InsertJsonStatement) -> None:
        if stmt.if_not_exists:
            raise InvalidRequest(dml.LWT_NOT_SUPPORTED)
        if table.is_counter:
            raise InvalidRequest("INSERT statements are not allowed on counter tables, use UPDATE "
                                 "instead")
        self.info = table
        self.levels, self.consistency_error = table.consistency.for_writes()
        self.stmt = stmt
        self.keyspace, self.table = table.keyspace, table.name
        specs: dict[int, MarkerSpec] = {}
        ks, tb = table.keyspace, table.name
        self.json_fn = compile_term(stmt.json, T.TEXT, "[json]", ks, tb, specs)
        self.timestamp_fn = compile_int(stmt.timestamp, "[timestamp]", ks, tb, specs, T.BIGINT)
        self.ttl_fn = compile_int(stmt.ttl, "[ttl]", ks, tb, specs)
        self.markers = ordered_markers(specs, len(stmt.bind_markers))
        self.columns = {c.name: c.type for c in table.select_order}
        self.shapes: dict[tuple[str, ...], dml.CompiledWrite] = {}

    def _insert(self, names: tuple[str, ...]) -> dml.CompiledWrite:
        compiled = self.shapes.get(names)
        if compiled is None:
            n = len(names)
            markers = [ast.BindMarker(i) for i in range(n + 2)]
            synthetic = ast.InsertStatement(
                self.stmt.table, names, tuple(markers[:n]), timestamp=markers[n],
                ttl=markers[n + 1], bind_markers=tuple(markers))
            compiled = dml.compile_insert(self.info, synthetic)
            if len(self.shapes) >= MAX_SHAPES:
                self.shapes.pop(next(iter(self.shapes)))
            self.shapes[names] = compiled
        return compiled

    async def execute(self, ex: Execution):
        text = self.json_fn(ex.values)
        if text is None or text is UNSET:
            raise InvalidRequest("Got null for INSERT JSON values")
        parsed = F.parse_insert_json(text.decode("utf-8"), self.columns)
        for column in self.info.partition_key + self.info.clustering:
            if parsed.get(column.name) is None:
                raise InvalidRequest(f"Invalid null value in condition for column {column.name}")
        names = tuple(name for name in self.columns
                      if name in parsed or not self.stmt.default_unset)
        values = [parsed.get(name) for name in names]
        timestamp = self.timestamp_fn(ex.values)
        ttl = self.ttl_fn(ex.values)
        # Absent attributes are UNSET: the clock's timestamp and the table's default TTL.
        values.append(UNSET if timestamp is None else timestamp.to_bytes(8, "big", signed=True))
        values.append(UNSET if ttl is None else ttl.to_bytes(4, "big", signed=True))
        insert = self._insert(names)
        inner = Execution(ex.node, ex.session, values, ex.consistency, timestamp=ex.timestamp,
                          now_in_seconds=ex.now_in_seconds, protocol_version=ex.protocol_version)
        return await insert.execute(inner)
