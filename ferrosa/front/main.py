"""The front process: `python -m ferrosa.front.main`, started by the supervisor.

What it is: the asyncio (uvloop) server that accepts CQL connections, the shard router over the
shared-memory rings, and the control channel to the supervisor (shard deaths and resets).

What it must not do: touch data files (shards own them) or outlive the supervisor.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys

from ferrosa.coordinator.router import ShardLink, ShardRouter
from ferrosa.errors import FerrosaError
from ferrosa.front.admin import AdminServer
from ferrosa.front.connection import CqlConnection
from ferrosa.front.coalescer import WakeCoalescer
from ferrosa.front.node import Node
from ferrosa.heap import tune_collector
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.shm import RingPair
from ferrosa.process import (ControlChannel, ControlMessage, config_from_env, die_with_parent,
                             setup_logging)

log = logging.getLogger("ferrosa.front")

# How long the front waits for every shard's Hello before it starts listening anyway.
SHARD_START_TIMEOUT = 30.0
# Kernel accept queue for the CQL listener.
LISTEN_BACKLOG = 1024


class FrontServer:
    def __init__(self, node: Node, control: ControlChannel) -> None:
        self.node = node
        self.control = control
        self.connections: set[CqlConnection] = set()
        self.server: asyncio.AbstractServer | None = None
        self.stopped = asyncio.Event()
        self.admin = AdminServer(self)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        router = self.node.router
        deadline = loop.time() + SHARD_START_TIMEOUT
        while not router.all_up() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        if not router.all_up():
            log.warning("not every shard said hello in %.0fs; serving anyway", SHARD_START_TIMEOUT)
        config = self.node.config
        self.server = await loop.create_server(lambda: CqlConnection(self.node, self),
                                               config.cql_host, config.cql_port,
                                               backlog=LISTEN_BACKLOG, reuse_address=True)
        await self.admin.start()
        loop.add_reader(self.control.fileno(), self._on_control)
        self._send_control(ControlMessage("ready"))
        log.info("listening for CQL on %s:%d", config.cql_host, config.cql_port)

    def _on_control(self) -> None:
        messages = self.control.receive()
        if messages is None:
            # Stop watching the closed socket: it stays readable (EOF) and would call us again.
            asyncio.get_running_loop().remove_reader(self.control.fileno())
            log.error("supervisor closed the control channel: stopping")
            self.stopped.set()
            return
        for msg in messages:
            if msg.op == "shard_down":
                self.node.router.shard_down(msg.shard)
                self._send_control(ControlMessage("shard_reset", msg.shard))

    def _send_control(self, msg: ControlMessage) -> None:
        self.control.send(msg)

    async def stop(self) -> None:
        await self.admin.stop()
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        if self.server is not None:
            await self.server.wait_closed()


async def serve(args: argparse.Namespace) -> None:
    config = config_from_env()
    loop = asyncio.get_running_loop()
    reply_bell = Doorbell(args.reply_doorbell)
    links = []
    for index, fd in enumerate(args.shard_doorbell):
        rings = RingPair.attach(args.node_id, 0, index)
        links.append(ShardLink(index, rings, Doorbell(fd), reply_bell))
    router = ShardRouter(loop, links, reply_bell)
    control = ControlChannel(socket.socket(fileno=args.control))
    node = Node(config, router)
    if config.coalesce_us:
        node.coalescer = WakeCoalescer.from_config(loop, config)
        router.on_replies = node.coalescer.activity
    server = FrontServer(node, control)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, server.stopped.set)
    try:
        await server.start()
        await server.stopped.wait()
        await server.stop()
    finally:
        # Unmap explicitly: left to interpreter exit, SharedMemory.__del__ complains about the
        # ring views still alive at that point.
        for link in links:
            link.rings.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ferrosa-front")
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--reply-doorbell", type=int, required=True)
    parser.add_argument("--shard-doorbell", type=int, action="append", default=[])
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    setup_logging(config_from_env(), "front")
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    # Before the schema is loaded: only code objects are frozen, nothing that can be dropped later.
    tune_collector()
    try:
        asyncio.run(serve(args))
    except (OSError, FerrosaError) as exc:
        log.error("front failed: %s", exc)
        return 1
    log.info("front stopped (pid %d)", os.getpid())
    return 0


if __name__ == "__main__":
    sys.exit(main())
