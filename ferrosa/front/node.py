"""The front's view of the node: schema, identity, roles, statement caches and the shard router.

What it is: the services every connection shares. The schema is a durable, copy-on-write value:
a change is written to `schema.json` (atomically) before it becomes visible, then registered
connections get a SCHEMA_CHANGE event. Identity (host id, tokens) is created at first start and kept.

What it must not do: talk to clients (connections do) or touch shard data (shards do).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import uuid
from collections import OrderedDict
from typing import Any, Callable

import msgspec

from ferrosa.config import NodeConfig
from ferrosa.coordinator.execution import CompiledStatement, SchemaChangeResult
from ferrosa.coordinator.router import ShardRouter
from ferrosa.coordinator.statements import compile_statement
from ferrosa.coordinator.tableinfo import TableInfo, TableInfoCache
from ferrosa.cql.parser import parse_statement
from ferrosa.front import roles as role_statements
from ferrosa.front.auth import RoleStore
from ferrosa.front.coalescer import WakeCoalescer
from ferrosa.durable import write_atomically
from ferrosa.ipc import messages as m
from ferrosa.partitioner import MAX_TOKEN, MIN_TOKEN
from ferrosa.protocol.batchlayouts import BatchLayoutState
from ferrosa.protocol.executelayouts import LayoutState
from ferrosa.schema import system_tables
from ferrosa.schema.model import KeyspaceMetadata, Schema, TableMetadata, is_system_keyspace
from ferrosa.schema.options import chunk_bytes
from ferrosa.schema.system_tables import NodeInfo

log = logging.getLogger(__name__)

# Prepared statements kept (LRU); a driver re-prepares on UNPREPARED, as with Cassandra's cache.
MAX_PREPARED_STATEMENTS = 10_000
# Unprepared statement texts whose compiled form is kept (LRU), per (keyspace, text).
MAX_PARSE_CACHE = 2_000


# Cassandra compressor classes -> what shards write SSTables with. Snappy and Deflate are read by
# the importer but stored here with LZ4: the choice is invisible to queries and DESCRIBE.
_STORAGE_COMPRESSION = {"LZ4Compressor": "lz4", "ZstdCompressor": "zstd",
                        "SnappyCompressor": "lz4", "DeflateCompressor": "lz4"}


def _storage_compression(table: TableMetadata) -> str:
    options = table.options.compression
    if options.get("enabled", "true") == "false" or not options.get("class"):
        return "none"
    return _STORAGE_COMPRESSION.get(options["class"].rsplit(".", 1)[-1], "lz4")


def _ignore_result(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: a shard that died meanwhile gets the schema at its Hello


class Identity(msgspec.Struct):
    host_id: uuid.UUID
    tokens: list[int]


class Prepared(msgspec.Struct):
    query_id: bytes
    query: str
    keyspace: str | None
    compiled: Any
    schema: Any
    result_metadata_id: bytes
    # The layout of its EXECUTE bodies (protocol/executelayouts.py), learnt by the front.
    layouts: LayoutState = msgspec.field(default_factory=LayoutState)
    # The layout of the BATCH bodies that repeat it (protocol/batchlayouts.py).
    batch_layouts: BatchLayoutState = msgspec.field(default_factory=BatchLayoutState)


class Node:
    def __init__(self, config: NodeConfig, router: ShardRouter) -> None:
        self.config = config
        self.router = router
        self.data = config.data_path
        self.identity = self._load_identity()
        role_statements.register()
        router.on_shard_up = self._on_shard_up
        # Set by the front process (ferrosa/front/coalescer.py); None: every pass polls at once.
        self.coalescer: WakeCoalescer | None = None
        self.roles = RoleStore(self.data / "system_auth_roles.json")
        self.roles.load(create_default_superuser=True)
        self._schema = self._load_schema()
        self._tables = TableInfoCache(self.config.data_center)
        self.prepared: OrderedDict[bytes, Prepared] = OrderedDict()
        self.parse_cache: OrderedDict[tuple, tuple[Schema, CompiledStatement]] = OrderedDict()
        self.event_listeners: set[Callable[[SchemaChangeResult], None]] = set()
        self._system_rows = {
            ("system_auth", "roles"): lambda node: [
                {"role": r.role, "can_login": r.can_login, "is_superuser": r.is_superuser,
                 "member_of": sorted(r.member_of) or None, "salted_hash": r.salted_hash}
                for r in sorted(node.roles.roles.values(), key=lambda r: r.role)],
        }

    # -- identity and schema persistence ------------------------------------------------------
    def _load_identity(self) -> Identity:
        path = self.data / "node.json"
        if path.exists():
            return msgspec.json.decode(path.read_bytes(), type=Identity)
        rng = random.SystemRandom()
        tokens = sorted(rng.randint(MIN_TOKEN + 1, MAX_TOKEN) for _ in range(self.config.num_tokens))
        identity = Identity(uuid.uuid4(), tokens)
        write_atomically(path, msgspec.json.encode(identity))
        return identity

    def _load_schema(self) -> Schema:
        schema = system_tables.initial_schema()
        path = self.data / "schema.json"
        if path.exists():
            user = msgspec.json.decode(path.read_bytes(), type=list[KeyspaceMetadata])
            for ks in user:
                schema = schema.with_keyspace(ks)
        return schema

    def _save_schema(self, schema: Schema) -> None:
        user = [ks for name, ks in sorted(schema.keyspaces.items())
                if not is_system_keyspace(name)]
        write_atomically(self.data / "schema.json", msgspec.json.encode(user))

    @property
    def schema(self) -> Schema:
        return self._schema

    async def apply_schema(self, new_schema: Schema, change: SchemaChangeResult) -> None:
        old = self._schema
        self._save_schema(new_schema)
        self._schema = new_schema
        await self._drop_data_of_removed_tables(old, new_schema)
        await asyncio.gather(*(self.router.submit(shard, msg)
                               for shard in range(self.router.shard_count)
                               if self.router.links[shard].up
                               for msg in self._table_schemas()), return_exceptions=True)
        log.info("schema change: %s %s %s%s", change.change, change.target, change.keyspace,
                 f".{change.name}" if change.name else "")
        for listener in list(self.event_listeners):
            listener(change)

    async def _drop_data_of_removed_tables(self, old: Schema, new: Schema) -> None:
        gone = {t.id for ks in old.keyspaces.values() for t in ks.tables.values()} - {
            t.id for ks in new.keyspaces.values() for t in ks.tables.values()}
        for table_id in gone:
            for shard in range(self.router.shard_count):
                if self.router.links[shard].up:
                    await self.router.submit(shard, m.DropTable(0, table_id.bytes))

    def _table_schemas(self) -> list[m.TableSchema | m.KnownTables]:
        """What shards must know of every user table (dropped columns, gc grace, compression),
        then the list of every table (a shard drops the data of any other)."""
        out: list = []
        for name, ks in self._schema.keyspaces.items():
            if is_system_keyspace(name):
                continue
            for table in ks.tables.values():
                out.append(m.TableSchema(
                    0, table.id.bytes,
                    {col: d.dropped_time for col, d in table.dropped_columns.items()},
                    table.options.gc_grace_seconds, _storage_compression(table),
                    table.options.compaction.get("enabled", "true").lower() != "false",
                    chunk_bytes(table.options.compression)))
        out.append(m.KnownTables(0, [msg.table_id for msg in out]))
        return out

    def _on_shard_up(self, shard: int) -> None:
        # Submitted before any other request can reach the new shard process (FIFO ring).
        for msg in self._table_schemas():
            self.router.submit(shard, msg).add_done_callback(_ignore_result)

    def table_info(self, meta: TableMetadata) -> TableInfo:
        return self._tables.get(self._schema, meta)

    def system_rows_fn(self, meta: TableMetadata) -> Callable[[Any], list[dict]] | None:
        special = self._system_rows.get((meta.keyspace, meta.name))
        if special is not None:
            return special
        if system_tables.is_generated(meta.keyspace, meta.name):
            return lambda node: system_tables.rows(meta, node.schema, node.node_info())
        if is_system_keyspace(meta.keyspace):
            return lambda node: []  # declared system tables whose data Ferrosa does not keep
        return None

    def node_info(self) -> NodeInfo:
        host = self.config.cql_host
        return NodeInfo(self.identity.host_id, tuple(str(t) for t in self.identity.tokens),
                        cluster_name=self.config.cluster_name,
                        data_center=self.config.data_center, rack=self.config.rack,
                        listen_address=host, broadcast_address=host, rpc_address=host,
                        rpc_port=self.config.cql_port)

    # -- statement caches ---------------------------------------------------------------------
    def compile_query(self, query: str, keyspace: str | None) -> CompiledStatement:
        key = (keyspace, query)
        cached = self.parse_cache.get(key)
        if cached is not None and cached[0] is self._schema:
            self.parse_cache.move_to_end(key)
            return cached[1]
        compiled = compile_statement(self, parse_statement(query), keyspace)
        self.parse_cache[key] = (self._schema, compiled)
        if len(self.parse_cache) > MAX_PARSE_CACHE:
            self.parse_cache.popitem(last=False)
        return compiled

    def prepare(self, query: str, keyspace: str | None) -> Prepared:
        # Cassandra's statement id: MD5 of the keyspace (if any) and the query string.
        query_id = hashlib.md5(((keyspace or "") + query).encode()).digest()
        compiled = compile_statement(self, parse_statement(query), keyspace)
        metadata_id = hashlib.md5(repr([(c.name, str(c.type)) for c in
                                        compiled.result_columns]).encode()).digest()
        prepared = Prepared(query_id, query, keyspace, compiled, self._schema, metadata_id)
        self.prepared[query_id] = prepared
        self.prepared.move_to_end(query_id)
        if len(self.prepared) > MAX_PREPARED_STATEMENTS:
            self.prepared.popitem(last=False)
        return prepared

    def current_prepared(self, query_id: bytes) -> Prepared | None:
        """The statement prepared as `query_id` against the current schema, else None (then
        lookup_prepared recompiles it or reports the error)."""
        prepared = self.prepared.get(query_id)
        if prepared is None or prepared.schema is not self._schema:
            return None
        return prepared

    def lookup_prepared(self, query_id: bytes) -> Prepared | None:
        prepared = self.prepared.get(query_id)
        if prepared is None:
            return None
        if prepared.schema is not self._schema:
            # The schema changed since PREPARE: recompile against the current one (a dropped
            # table then fails with Cassandra's error instead of touching stale metadata).
            try:
                return self.prepare(prepared.query, prepared.keyspace)
            except Exception:
                del self.prepared[query_id]
                raise
        return prepared
