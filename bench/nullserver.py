"""The null CQL server: speaks just enough of the native protocol for the python driver and stores
nothing -- the throughput ceiling of a Python CQL front on this machine, for comparison runs.

Theory of operation
-------------------
One process, one asyncio (uvloop) event loop, one ``NullConnection`` per client connection using
Ferrosa's sans-IO codec (``ConnectionDecoder``/``ConnectionEncoder``, ``decode_request``,
``results``). Every request is answered synchronously inside ``data_received``; the answers of
one read share one socket write. A single process on purpose: Ferrosa's front is one process
too, so the ratio compares like with like (protocol work vs protocol + database work).

Answers:
  * OPTIONS -> SUPPORTED; STARTUP -> READY (auth off; LZ4/Snappy honoured, v5 segments after
    READY); REGISTER -> READY.
  * QUERY/PREPARE are parsed with ``ferrosa.cql`` (parse results cached per query string).
    CREATE KEYSPACE/TABLE answer SCHEMA_CHANGE and remember the table's columns (schema only,
    never rows), USE answers SET_KEYSPACE, other writes and DDL answer VOID.
  * SELECT on system.local/peers/peers_v2 answers the generated rows of ``system_tables`` for a
    one-node cluster at this address; SELECT on any other system table answers no rows with the
    table's real column metadata.
  * SELECT on a user table answers filler rows: ``LIMIT`` rows (bound or literal, capped at
    ``MAX_ROWS``) else one, each column a fixed value of its type (``FILLER``; blobs and text
    are ``FILLER_BYTES`` long, the workloads' default row size). The bound key is not echoed.
  * PREPARE answers a Prepared result whose bind metadata names the column each marker is
    compared with or assigned to (``[limit]``, ``[timestamp]``, ``[ttl]`` for those clauses) and
    whose result metadata is the SELECT's columns; EXECUTE and BATCH answer as the statement
    does. Statements it cannot describe get an INVALID error naming what is unsupported.

This module must NOT store rows or be imported by ferrosa: it is a benchmark fixture.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import uuid
from typing import Any, Callable

from ferrosa.coordinator.ddl import type_text
from ferrosa.cql import ast, parse_statement
from ferrosa.protocol import messages as P
from ferrosa.protocol import requests as Q
from ferrosa.protocol import responses as R
from ferrosa.protocol import results as RS
from ferrosa.protocol import types as T
from ferrosa.protocol import values as V
from ferrosa.protocol.connection import ConnectionDecoder, ConnectionEncoder
from ferrosa.protocol.constants import Opcode, SchemaChangeTarget, SchemaChangeType
from ferrosa.protocol.errors import ErrorCode, ProtocolError
from ferrosa.protocol.frame import Frame, protocol_error_frame
from ferrosa.schema import model, system_tables

log = logging.getLogger("bench.nullserver")

SUPPORTED_OPTIONS = {"CQL_VERSION": ["3.4.7"], "COMPRESSION": ["lz4", "snappy"],
                     "PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5"]}
# Blob and text filler length: the workloads' default column size (cassandra-stress's 34 bytes).
FILLER_BYTES = 34
# Most rows one SELECT answers, whatever its LIMIT (a slice workload asks for 10 or 100).
MAX_ROWS = 5000
# Cached parse results / encoded answers; the benchmark uses a handful of statements.
MAX_CACHED = 4096
FILLER: dict[str, bytes] = {
    "blob": bytes(FILLER_BYTES), "text": b"x" * FILLER_BYTES, "ascii": b"x" * FILLER_BYTES,
    "int": bytes(4), "bigint": bytes(8), "counter": bytes(8), "timestamp": bytes(8),
    "smallint": bytes(2), "tinyint": bytes(1), "boolean": b"\x00", "double": bytes(8),
    "float": bytes(4), "uuid": bytes(16), "timeuuid": bytes.fromhex("00000000000010008000000000000000"),
    "date": b"\x80\x00\x00\x00", "time": bytes(8), "inet": bytes(4), "varint": b"\x00",
    "decimal": bytes(5),
}
_VOID = RS.VOID_RESULT_BODY
# Relations whose marker has the column's own type (IN ?, CONTAINS ? ... would need others).
_SCALAR_OPERATORS = frozenset((ast.Operator.EQ, ast.Operator.LT, ast.Operator.LTE,
                               ast.Operator.GT, ast.Operator.GTE, ast.Operator.NEQ))


class Unsupported(Exception):
    """A statement or clause the null server cannot answer meaningfully."""


class Statement:
    """What the null server knows of one parsed statement: its answer, per protocol version."""

    __slots__ = ("query_id", "markers", "pk_indexes", "columns", "limit", "limit_marker",
                 "answer", "_rows_cache")

    def __init__(self, answer: Callable[[int], bytes] | None = None) -> None:
        self.query_id = b""
        self.markers: list[tuple[str, str, str, str]] = []  # keyspace, table, name, type text
        self.pk_indexes: list[int] = []
        self.columns: list[tuple[str, str, str, str]] | None = None  # None: not a SELECT
        self.limit = 1
        self.limit_marker: int | None = None
        self.answer = answer
        self._rows_cache: dict[tuple[int, bool, int], bytes] = {}

    def result(self, version: int, values: list, skip_metadata: bool) -> bytes:
        if self.answer is not None:
            return self.answer(version)
        if self.columns is None:
            return _VOID
        count = self.limit
        if self.limit_marker is not None and self.limit_marker < len(values):
            raw = values[self.limit_marker]
            count = int.from_bytes(raw, "big", signed=True) if isinstance(raw, bytes) else 1
        count = max(0, min(count, MAX_ROWS))
        key = (version, skip_metadata, count)
        body = self._rows_cache.get(key)
        if body is None:
            metadata = RS.encode_rows_metadata(_specs(self.columns, version), version=version,
                                               no_metadata=skip_metadata,
                                               column_count=len(self.columns))
            row = RS.encode_row([FILLER.get(c[3]) for c in self.columns])
            body = RS.encode_rows_result(metadata, count, row * count)
            if len(self._rows_cache) < MAX_CACHED:
                self._rows_cache[key] = body
        return body


class _SetKeyspace:
    """The answer of USE: the connection also switches its keyspace when it sees this."""

    __slots__ = ("keyspace",)

    def __init__(self, keyspace: str) -> None:
        self.keyspace = keyspace

    def __call__(self, version: int) -> bytes:
        return RS.encode_set_keyspace_result(self.keyspace)


def _specs(columns: list[tuple[str, str, str, str]], version: int) -> list[RS.ColumnSpec]:
    return [RS.ColumnSpec(ks, tb, name, T.option_bytes(T.parse_cql_type(ty), version))
            for ks, tb, name, ty in columns]


class Catalog:
    """Tables the clients created (columns only) and the system tables; parses statements."""

    def __init__(self, host: str, port: int) -> None:
        self.schema = system_tables.initial_schema()
        self.node = system_tables.NodeInfo(uuid.uuid4(), ("0",), listen_address=host,
                                           broadcast_address=host, rpc_address=host,
                                           rpc_port=port)
        self.statements: dict[tuple[str | None, str], Statement] = {}
        self.prepared: dict[bytes, Statement] = {}

    def statement(self, query: str, keyspace: str | None) -> Statement:
        cached = self.statements.get((keyspace, query))
        if cached is not None:
            return cached
        stmt = self._compile(parse_statement(query), keyspace)
        if len(self.statements) < MAX_CACHED:
            self.statements[(keyspace, query)] = stmt
        return stmt

    def prepare(self, query: str, keyspace: str | None) -> Statement:
        stmt = self.statement(query, keyspace)
        stmt.query_id = hashlib.md5(((keyspace or "") + query).encode()).digest()
        self.prepared[stmt.query_id] = stmt
        return stmt

    def table(self, name: ast.QualifiedName, keyspace: str | None) -> model.TableMetadata:
        ks = name.keyspace or keyspace
        if ks is None:
            raise Unsupported("No keyspace has been specified")
        meta = self.schema.table(ks, name.name)
        if meta is None:
            raise Unsupported(f"table {ks}.{name.name} does not exist")
        return meta

    # -- per statement type ------------------------------------------------------------------
    def _compile(self, node: ast.Statement, keyspace: str | None) -> Statement:
        compiler = _COMPILERS.get(type(node))
        if compiler is None:
            return Statement(lambda v: _VOID)  # any other statement: acknowledged, ignored
        return compiler(self, node, keyspace)

    def _create_keyspace(self, node: ast.CreateKeyspaceStatement, keyspace: str | None) -> Statement:
        if self.schema.keyspace(node.keyspace) is None:
            self.schema = self.schema.with_keyspace(model.KeyspaceMetadata(node.keyspace, {
                "class": "org.apache.cassandra.locator.SimpleStrategy",
                "replication_factor": "1"}))
        return Statement(lambda v: RS.encode_schema_change_result(
            SchemaChangeType.CREATED, SchemaChangeTarget.KEYSPACE, node.keyspace, version=v))

    def _create_table(self, node: ast.CreateTableStatement, keyspace: str | None) -> Statement:
        ks = node.table.keyspace or keyspace
        ks_meta = self.schema.keyspace(ks) if ks else None
        if ks_meta is None:
            raise Unsupported(f"Keyspace '{ks}' doesn't exist")
        if ks_meta.tables.get(node.table.name) is None:
            table = model.new_table(ks, node.table.name,
                                    [(c.name, type_text(c.type)) for c in node.columns],
                                    node.partition_key, node.clustering_columns)
            self.schema = self.schema.with_keyspace(ks_meta.with_table(table))
        return Statement(lambda v: RS.encode_schema_change_result(
            SchemaChangeType.CREATED, SchemaChangeTarget.TABLE, ks, node.table.name, version=v))

    def _use(self, node: ast.UseStatement, keyspace: str | None) -> Statement:
        return Statement(_SetKeyspace(node.keyspace))

    def _insert(self, node: ast.InsertStatement, keyspace: str | None) -> Statement:
        meta = self.table(node.table, keyspace)
        stmt = Statement()
        found: dict[int, str] = {}
        for column, term in zip(node.columns, node.values):
            if isinstance(term, ast.BindMarker):
                found[term.index] = column
        for clause, name in ((node.timestamp, "[timestamp]"), (node.ttl, "[ttl]")):
            if isinstance(clause, ast.BindMarker):
                found[clause.index] = name
        _bind(stmt, meta, found, len(node.bind_markers))
        return stmt

    def _select(self, node: ast.SelectStatement, keyspace: str | None) -> Statement:
        meta = self.table(node.table, keyspace)
        if node.selectors:
            names = []
            for selector in node.selectors:
                if not isinstance(selector.expr, ast.ColumnRef):
                    raise Unsupported("the null server selects plain columns only, not "
                                      f"{type(selector.expr).__name__}")
                names.append((selector.expr.name, selector.alias or selector.expr.name))
        else:
            names = [(c.name, c.name) for c in meta.select_order]
        columns = []
        for name, alias in names:
            column = meta.column(name)
            if column is None:
                raise Unsupported(f"Undefined column name {name} in table {meta}")
            columns.append((meta.keyspace, meta.name, alias, column.type))
        if system_tables.is_generated(meta.keyspace, meta.name) and meta.keyspace == "system":
            return self._generated(meta, [name for name, _ in names], columns)
        stmt = Statement()
        stmt.columns = columns
        stmt.limit = 0 if model.is_system_keyspace(meta.keyspace) else 1
        found: dict[int, str] = {}
        for relation in node.where:  # markers elsewhere stay unmapped and _bind refuses them
            if (isinstance(relation, ast.SingleColumnRelation)
                    and isinstance(relation.value, ast.BindMarker)
                    and relation.operator in _SCALAR_OPERATORS):
                found[relation.value.index] = relation.column
        if isinstance(node.limit, ast.BindMarker):
            found[node.limit.index] = "[limit]"
            stmt.limit_marker = node.limit.index
        elif isinstance(node.limit, ast.Constant):
            stmt.limit = int(node.limit.text)
        _bind(stmt, meta, found, len(node.bind_markers))
        return stmt

    def _generated(self, meta: model.TableMetadata, names: list[str],
                   columns: list[tuple[str, str, str, str]]) -> Statement:
        rows = system_tables.rows(meta, self.schema, self.node)
        types = [T.parse_cql_type(c[3]) for c in columns]
        encoded = b"".join(RS.encode_row([None if row.get(n) is None else V.serialize(t, row[n])
                                          for n, t in zip(names, types)]) for row in rows)

        def answer(version: int) -> bytes:
            metadata = RS.encode_rows_metadata(_specs(columns, version), version=version)
            return RS.encode_rows_result(metadata, len(rows), encoded)
        return Statement(answer)


def _bind(stmt: Statement, meta: model.TableMetadata, found: dict[int, str], count: int) -> None:
    """Fill the marker specs (column each marker binds) and the partition-key indexes."""
    if sorted(found) != list(range(count)):
        raise Unsupported("bind markers outside column assignments, WHERE col op ?, LIMIT, "
                          "USING TIMESTAMP and USING TTL")
    types = {"[limit]": "int", "[ttl]": "int", "[timestamp]": "bigint"}
    for index in range(count):
        name = found[index]
        column = meta.column(name)
        if column is None and name not in types:
            raise Unsupported(f"Undefined column name {name} in table {meta}")
        stmt.markers.append((meta.keyspace, meta.name, name,
                             column.type if column is not None else types[name]))
    by_column = {name: index for index, name in found.items()}
    if all(pk in by_column for pk in meta.partition_key):
        stmt.pk_indexes = [by_column[pk] for pk in meta.partition_key]


_COMPILERS: dict[type, Callable[[Catalog, Any, str | None], Statement]] = {
    ast.CreateKeyspaceStatement: Catalog._create_keyspace,
    ast.CreateTableStatement: Catalog._create_table,
    ast.UseStatement: Catalog._use,
    ast.InsertStatement: Catalog._insert,
    ast.SelectStatement: Catalog._select,
}


# --- the protocol side -------------------------------------------------------------------------


class NullConnection(asyncio.Protocol):
    """One client connection: decode, answer at once, one write per read."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.decoder = ConnectionDecoder()
        self.encoder = ConnectionEncoder()
        self.transport: asyncio.Transport | None = None
        self.version: int | None = None
        self.keyspace: str | None = None
        self._out: list[Frame] = []
        self._handlers: dict[type, Callable[[Any], bytes | None]] = {
            Q.Query: self._query,
            Q.Prepare: self._prepare,
            Q.Execute: self._execute,
            Q.Batch: lambda r: _VOID,
        }

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.decoder.feed(data)
        except ProtocolError as err:
            self._dispatch_all(err.frames)
            self._flush()
            self._protocol_error(err)
            return
        self._dispatch_all(frames)
        self._flush()

    def _dispatch_all(self, frames: list[Frame]) -> None:
        for frame in frames:
            if self.version is None:
                self.version = frame.version
            try:
                self._dispatch(frame)
            except ProtocolError as err:
                self._reply_error(frame.stream, ErrorCode.PROTOCOL_ERROR, err.message)

    def _dispatch(self, frame: Frame) -> None:
        request = P.decode_request(frame)
        kind = type(request)
        if kind is Q.Startup:
            self._startup(request, frame)
            return
        if kind is Q.Options:
            self._out.append(P.response_frame(R.Supported(options=SUPPORTED_OPTIONS),
                                              frame.version, frame.stream))
            return
        if kind is Q.Register:  # no events will ever come: there is one node and no schema
            self._out.append(P.response_frame(R.Ready(), frame.version, frame.stream))
            return
        handler = self._handlers.get(kind)
        if handler is None:
            raise ProtocolError(f"Unexpected request {kind.__name__}", fatal=False)
        try:
            body = handler(request)
        except Unsupported as exc:
            self._reply_error(frame.stream, ErrorCode.INVALID, f"null server: {exc}")
            return
        except Exception as exc:  # the CQL parser's errors and the schema model's
            self._reply_error(frame.stream, getattr(exc, "error_code", ErrorCode.INVALID),
                              f"{type(exc).__name__}: {exc}")
            return
        if body is not None:
            self._out.append(Frame(frame.version, 0, frame.stream, Opcode.RESULT, body))

    def _startup(self, request: Q.Startup, frame: Frame) -> None:
        compression = request.compression
        if compression is not None and frame.version < 5:
            self.decoder.compression = compression
            self.encoder.compression = compression
        self._out.append(P.response_frame(R.Ready(), frame.version, frame.stream))
        if frame.version >= 5:
            self._flush()  # READY is the last unframed message
            compressed = compression == "lz4"
            self.encoder.switch_to_segments(compressed)
            self._dispatch_all(self.decoder.switch_to_segments(compressed))

    def _query(self, request: Q.Query) -> bytes:
        params = request.params
        stmt = self.catalog.statement(request.query, params.keyspace or self.keyspace)
        if isinstance(stmt.answer, _SetKeyspace):
            self.keyspace = stmt.answer.keyspace
        return stmt.result(self.version or 4, params.values, params.skip_metadata)

    def _prepare(self, request: Q.Prepare) -> bytes:
        version = self.version or 4
        stmt = self.catalog.prepare(request.query, request.keyspace or self.keyspace)
        binds = _specs(stmt.markers, version)
        meta = RS.encode_prepared_metadata(binds, stmt.pk_indexes, version=version)
        result_meta = (RS.encode_rows_metadata(_specs(stmt.columns, version), version=version)
                       if stmt.columns is not None else RS.EMPTY_RESULT_METADATA)
        return RS.encode_prepared_result(stmt.query_id, meta, result_meta, version=version,
                                         result_metadata_id=stmt.query_id)

    def _execute(self, request: Q.Execute) -> bytes:
        stmt = self.catalog.prepared.get(request.query_id)
        if stmt is None:
            raise Unsupported(f"unknown prepared statement {request.query_id.hex()}")
        params = request.params
        return stmt.result(self.version or 4, params.values, params.skip_metadata)

    def _reply_error(self, stream: int, code: int, message: str) -> None:
        self._out.append(P.response_frame(R.Error(code=code, message=message),
                                          self.version or 4, stream))

    def _protocol_error(self, err: ProtocolError) -> None:
        if self.transport is None:
            return
        self.transport.write(protocol_error_frame(err, self.version) if not self.encoder.framed
                             else self.encoder.encode([P.response_frame(
                                 R.Error(code=ErrorCode.PROTOCOL_ERROR, message=err.message),
                                 self.version or 4, err.stream)]))
        if err.fatal:
            self.transport.close()

    def _flush(self) -> None:
        if self._out and self.transport is not None and not self.transport.is_closing():
            frames, self._out = self._out, []
            self.transport.write(self.encoder.encode(frames))


async def serve(host: str, port: int) -> None:
    catalog = Catalog(host, port)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: NullConnection(catalog), host, port,
                                      reuse_address=True)
    log.info("null CQL server listening on %s:%d", host, port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nullserver",
                                     description="A CQL server that stores nothing.")
    parser.add_argument("--bind", default="127.0.0.2:9042", help="HOST:PORT to listen on")
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        import uvloop
        runner: Callable = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        runner(serve(host, int(port)))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
