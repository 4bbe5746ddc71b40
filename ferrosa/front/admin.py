"""The node's admin endpoint: the Unix socket `ferrosa-ctl` talks to (see ferrosa/ctl/messages.py).

What it is: an asyncio Unix-socket server in the front process with a dispatch table of commands
(`status` now; flush, compact and the cluster lifecycle commands join it as they are built). The
front answers because it already reaches every shard through the rings and knows each shard's
process, generation and liveness from the shards' Hello messages.

What it must not do: accept connections from other users (the socket is created 0600 under a
0077 umask, so no window exists where it is open to others), block the event loop, or let a
broken client disturb CQL traffic (a bad line gets an error reply; a huge one closes the link).
"""

from __future__ import annotations

import asyncio
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
    NodeStatus,
    ShardStatus,
)
from ferrosa.errors import FerrosaError
from ferrosa.ipc import messages as m
from ferrosa.partitioner import shard_ranges
from ferrosa.schema.model import is_system_keyspace

log = logging.getLogger(__name__)

# A shard that does not answer a status ping within this is reported TIMEOUT, not waited for.
PING_TIMEOUT_SECONDS = 2.0


def socket_path(data_dir: Path) -> Path:
    path = data_dir.absolute() / ADMIN_SOCKET_NAME
    if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
        raise FerrosaError(f"admin socket path {path} is longer than {MAX_SOCKET_PATH_BYTES} "
                           f"bytes (a Unix socket limit): use a shorter data directory")
    return path


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
            auth_enabled=not config.auth_disabled, shards=list(shards))

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
        return status
