"""The node's admin endpoint: the Unix socket `ferrosa-ctl` talks to (see ferrosa/ctl/messages.py).

What it is: an asyncio Unix-socket server in the front process with a dispatch table of commands
(`status`, `flush`, `compact`, `import`; the cluster lifecycle commands join it as they are built). The
front answers because it already reaches every shard through the rings and knows each shard's
process, generation and liveness from the shards' Hello messages.

What it must not do: accept connections from other users (the socket is created 0600 under a
0077 umask, so no window exists where it is open to others), block the event loop, or let a
broken client disturb CQL traffic (a bad line gets an error reply; a huge one closes the link).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from ferrosa.ctl.messages import (
    ADMIN_SOCKET_NAME,
    MAX_REQUEST_BYTES,
    MAX_SOCKET_PATH_BYTES,
    AdminReply,
    AdminRequest,
    CacheStatus,
    NodeStatus,
    ShardStatus,
)
from ferrosa.errors import FerrosaError
from ferrosa.ipc import messages as m
from ferrosa.partitioner import shard_of, shard_ranges, token
from ferrosa.schema.model import is_system_keyspace

log = logging.getLogger(__name__)

# A shard that does not answer a status ping within this is reported TIMEOUT, not waited for.
PING_TIMEOUT_SECONDS = 2.0

# `import` (ferrosa-import's bulk path). A batch is a msgpack list[Mutation]; the front holds it
# whole while it splits it per shard, and each shard's part must fit one ring record, so a batch
# is at most this big (and at most what the rings take, see ImportCommand.max_batch_bytes).
IMPORT_MAX_BATCH_BYTES = 4 * 1024 * 1024
# Request lines are capped at MAX_REQUEST_BYTES, so a batch travels base64-encoded in parts of at
# most this many raw bytes (3/4 of a line, minus room for the JSON around the base64 text).
IMPORT_MAX_PART_BYTES = (MAX_REQUEST_BYTES - 1024) // 4 * 3
# What a Write adds around its mutations (tag, request id, array headers), with room to spare.
IMPORT_WRITE_OVERHEAD = 64
# Multi-part uploads held at once, and how long one may stay idle: a client that dies mid-upload
# must not pin memory forever.
IMPORT_MAX_UPLOADS = 32
IMPORT_UPLOAD_IDLE_SECONDS = 60.0


def socket_path(data_dir: Path) -> Path:
    path = data_dir.absolute() / ADMIN_SOCKET_NAME
    if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
        raise FerrosaError(f"admin socket path {path} is longer than {MAX_SOCKET_PATH_BYTES} "
                           f"bytes (a Unix socket limit): use a shorter data directory")
    return path


def _cache_status(stats: m.CacheStats | None) -> CacheStatus | None:
    if stats is None:
        return None
    return CacheStatus(stats.entries, stats.bytes, stats.capacity, stats.hits, stats.misses)


def _uploader_status(data_dir: Path) -> dict | None:
    from ferrosa.objectstore.status import read_status
    status = read_status(data_dir)
    return None if status is None else msgspec.to_builtins(status)


class AdminServer:
    def __init__(self, front: Any) -> None:
        self.front = front  # FrontServer: node, connections
        self.node = front.node
        self.started = time.monotonic()
        self.path = socket_path(self.node.config.data_path)
        self.server: asyncio.AbstractServer | None = None
        self.commands: dict[str, Callable[[dict], Awaitable[Any]]] = {
            "status": self.status,
            "flush": lambda args: self._storage(args, m.Flush),
            "compact": lambda args: self._storage(args, m.Compact),
            "import": ImportCommand(self.node),
        }

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)  # left by a node that was killed
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o077)
        try:
            sock.bind(os.fspath(self.path))
        finally:
            os.umask(old_umask)
        self.server = await asyncio.start_unix_server(self._serve, sock=sock,
                                                      limit=MAX_REQUEST_BYTES)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self.path.unlink(missing_ok=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                reply = await self._answer(line)
                writer.write(msgspec.json.encode(reply) + b"\n")
                await writer.drain()
        except (ValueError, ConnectionError):  # an over-long line, or the client went away
            pass
        finally:
            writer.close()

    async def _answer(self, line: bytes) -> AdminReply:
        try:
            request = msgspec.json.decode(line, type=AdminRequest)
        except msgspec.DecodeError as exc:
            return AdminReply(False, error=f"malformed admin request: {exc}")
        command = self.commands.get(request.op)
        if command is None:
            return AdminReply(False, error=f"unknown admin command {request.op!r}; known: "
                                           f"{', '.join(sorted(self.commands))}")
        try:
            return AdminReply(True, result=await command(request.args))
        except Exception as exc:  # an admin command failing must not take the front down
            log.exception("admin command %s failed", request.op)
            return AdminReply(False, error=f"{type(exc).__name__}: {exc}")

    async def status(self, _args: dict) -> NodeStatus:
        node, router = self.node, self.node.router
        ranges = shard_ranges(router.shard_count)
        shards = await asyncio.gather(*(self._shard_status(link, ranges[link.index])
                                        for link in router.links))
        info = node.node_info()
        config = node.config
        return NodeStatus(
            host_id=str(info.host_id), cluster_name=config.cluster_name,
            data_center=config.data_center, rack=config.rack,
            cql_address=f"{config.cql_host}:{config.cql_port}",
            release_version=info.release_version, schema_version=str(node.schema.schema_version()),
            uptime_seconds=round(time.monotonic() - self.started, 3), front_pid=os.getpid(),
            connections=len(self.front.connections), data_dir=str(config.data_path.absolute()),
            auth_enabled=not config.auth_disabled, shards=list(shards),
            uploader=_uploader_status(config.data_path))

    def _table_ids(self, args: dict) -> tuple[list[bytes], list[str]]:
        """The tables an admin command names: {keyspace[, table]} or every user table."""
        schema = self.node.schema
        keyspace, table = args.get("keyspace"), args.get("table")
        found = []
        for ks_name, ks in schema.keyspaces.items():
            if is_system_keyspace(ks_name) or (keyspace and ks_name != keyspace):
                continue
            for name, meta in ks.tables.items():
                if not table or name == table:
                    found.append((meta.id.bytes, f"{ks_name}.{name}"))
        if (keyspace or table) and not found:
            raise FerrosaError(f"no table {keyspace or '*'}.{table or '*'} in the schema")
        return [t for t, _ in found], [n for _, n in found]

    async def _storage(self, args: dict, message: type) -> dict:
        """flush / compact on every shard; answers when every shard has finished."""
        table_ids, names = self._table_ids(args)
        router = self.node.router
        started = time.monotonic()
        requests = [router.submit(link.index, message(0, table_id))
                    for link in router.links if link.up for table_id in table_ids]
        replies = await asyncio.gather(*requests, return_exceptions=True)
        failures = [str(r) for r in replies if isinstance(r, BaseException)
                    or type(r) is m.Failure]
        if failures:
            raise FerrosaError(f"{len(failures)} shard request(s) failed: {failures[0]}")
        return {"tables": names, "seconds": round(time.monotonic() - started, 3)}

    async def _shard_status(self, link: Any, token_range: tuple[int, int]) -> ShardStatus:
        status = ShardStatus(link.index, "DOWN", link.pid, link.generation, *token_range)
        if not link.up:
            return status
        try:
            stats = await asyncio.wait_for(self.node.router.submit(link.index, m.Ping(0)),
                                           PING_TIMEOUT_SECONDS)
        except TimeoutError:
            status.state = "TIMEOUT"
            return status
        except Exception:  # the shard died while we asked
            return status
        if type(stats) is not m.Stats:
            return status
        status.state = "UP"
        status.pid = stats.pid
        status.partitions = stats.partitions
        status.memtable_bytes = stats.memtable_bytes
        status.requests = stats.requests
        status.sstables = stats.sstables
        status.sstable_bytes = stats.sstable_bytes
        status.pending_jobs = stats.pending_jobs
        status.key_cache = _cache_status(stats.key_cache)
        status.chunk_cache = _cache_status(stats.chunk_cache)
        return status


class ImportCommand:
    """`import`: write a batch of ready-made mutations to the shards that own them.

    Theory of operation: ferrosa-import converts SSTables into `m.Mutation`s (timestamps, TTLs and
    deletion times kept, so importing twice changes nothing) and sends them here as msgpack
    list[Mutation], base64 in the request's ``data``. Args:

    * none: the limits, ``{max_batch_bytes, max_part_bytes, shards}`` (the client sizes its batches
      by them before it sends anything);
    * ``{data}``: one whole batch; ``{data, upload, part, more: true}``: part number ``part``
      (0, 1, ...) of a larger batch, kept under the client's ``upload`` id until the part without
      ``more`` completes it.

    A complete batch is checked (known user tables only, tokens that match their keys), split per
    owning shard into `m.Write`s and answered once every shard has acknowledged its part; a shard's
    Failure fails the command. Parts of one batch may go to several shards: a failed batch may be
    partly applied, which a retry repairs since mutations are idempotent.
    """

    def __init__(self, node: Any) -> None:
        self.node = node
        self.uploads: dict[str, tuple[float, list[bytes], int]] = {}  # id -> (last use, parts, size)
        self.decode = msgspec.msgpack.Decoder(list[m.Mutation]).decode

    @property
    def max_batch_bytes(self) -> int:
        rings = min(link.requests.ring.max_record for link in self.node.router.links)
        return min(IMPORT_MAX_BATCH_BYTES, rings - IMPORT_WRITE_OVERHEAD)

    async def __call__(self, args: dict) -> dict:
        if "data" not in args:
            return {"max_batch_bytes": self.max_batch_bytes, "max_part_bytes": IMPORT_MAX_PART_BYTES,
                    "shards": self.node.router.shard_count}
        data = self._data(args)
        upload = args.get("upload")
        if upload is not None:
            upload = str(upload)
            data = self._part(upload, int(args.get("part", 0)), data, bool(args.get("more")))
            if data is None:
                return {"received": self.uploads[upload][2]}
        return {"mutations": await self._write(data)}

    def _data(self, args: dict) -> bytes:
        text = args["data"]
        if not isinstance(text, str) or len(text) > (IMPORT_MAX_PART_BYTES + 2) // 3 * 4:
            raise FerrosaError("import: 'data' must be base64 text of at most "
                               f"{IMPORT_MAX_PART_BYTES} bytes")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FerrosaError(f"import: 'data' is not base64: {exc}") from None

    def _part(self, upload: str, index: int, data: bytes, more: bool) -> bytes | None:
        """Collect part ``index`` (0, 1, ... in order); the whole batch once its last part arrived,
        else None. A part out of order drops the upload, so a lost part can never let a shorter
        batch through."""
        now = time.monotonic()
        for key in [k for k, (used, _, _) in self.uploads.items()
                    if now - used > IMPORT_UPLOAD_IDLE_SECONDS]:
            del self.uploads[key]
        if index == 0:
            if upload in self.uploads:
                raise FerrosaError(f"import: upload {upload!r} is open already")
            if len(self.uploads) >= IMPORT_MAX_UPLOADS:
                raise FerrosaError(f"import: {IMPORT_MAX_UPLOADS} uploads are open already")
            parts, size = [], 0
        else:
            _, parts, size = self.uploads.pop(upload, (now, [], 0))
            if len(parts) != index:
                raise FerrosaError(f"import: part {index} of upload {upload!r} arrived after "
                                   f"{len(parts)} part(s); the upload is dropped")
        size += len(data)
        if size > self.max_batch_bytes:
            self.uploads.pop(upload, None)
            raise FerrosaError(f"import: batch over {self.max_batch_bytes} bytes refused")
        parts.append(data)
        if more:
            self.uploads[upload] = (now, parts, size)
            return None
        self.uploads.pop(upload, None)
        return b"".join(parts)

    def _known_tables(self) -> set[bytes]:
        return {meta.id.bytes for name, ks in self.node.schema.keyspaces.items()
                if not is_system_keyspace(name) for meta in ks.tables.values()}

    async def _write(self, data: bytes) -> int:
        if len(data) > self.max_batch_bytes:
            raise FerrosaError(f"import: batch of {len(data)} bytes is over the limit of "
                               f"{self.max_batch_bytes}")
        try:
            mutations = self.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise FerrosaError(f"import: malformed batch: {exc}") from None
        known = self._known_tables()
        router = self.node.router
        n = router.shard_count
        groups: dict[int, list[m.Mutation]] = {}
        for mutation in mutations:
            if mutation.table_id not in known:
                raise FerrosaError(f"import: no user table has the id {mutation.table_id.hex()}")
            if token(mutation.pk) != mutation.token:
                raise FerrosaError(f"import: token {mutation.token} is not the token of key "
                                   f"0x{mutation.pk.hex()}")
            groups.setdefault(shard_of(mutation.token, n), []).append(mutation)
        futures = [router.submit(shard, m.Write(0, part)) for shard, part in groups.items()]
        replies = await asyncio.gather(*futures, return_exceptions=True)
        for shard, reply in zip(groups, replies):
            if isinstance(reply, BaseException):
                raise FerrosaError(f"import: shard {shard}: {reply}")
            if type(reply) is m.Failure:
                raise FerrosaError(f"import: shard {shard} refused the batch: {reply.message}")
        return len(mutations)
