"""The importer's side of the node's admin command ``import``: batches of mutations over the admin socket.

Theory of operation
-------------------
Batches: mutations are msgpack-encoded one at a time, so a batch's size is known before it is sent;
a batch is an array header followed by encoded mutations, i.e. exactly the encoding of
list[Mutation] the node decodes. ``BatchBuilder`` closes a batch before it would outgrow its target
size (never above the node's ``max_batch_bytes``, which it reports when asked with no data; see
front/admin.py ImportCommand). A batch goes as one request line when it fits one (base64 of at most
``max_part_bytes``), else as numbered parts of one upload.

Sending: ``Sender`` runs ``connections`` threads, each with its own admin connection, fed from a
queue bounded in bytes (so conversion never runs far ahead of the node). A thread writes every line of a
batch at once and then reads their replies (the node answers a connection's lines in order), so a
batch costs one round trip; the node serves each connection one line at a time, so several
connections keep the front and the shards busy together. Mutations commute (each carries its own
timestamps and deletion times), so batches may be applied in any order. The first refusal stops
the sender: later batches are dropped unsent and ``drain`` raises LoadFailed.

This module must NOT convert SSTable data (load.py) or decide what to import (job.py).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

import msgspec

from ferrosa.ctl.messages import AdminReply, AdminRequest
from ferrosa.importer.errors import LoadFailed

IMPORT_OP = "import"
# The node may take this long over one batch (shards slow writes down while they flush).
REPLY_TIMEOUT_SECONDS = 600.0
# How often a waiting drain() calls its tick (the progress line).
TICK_SECONDS = 0.2
# The largest msgpack array header (array 32): counted into every batch's size.
ARRAY_HEADER_MAX = 5

_encode_request = msgspec.json.Encoder().encode
_decode_reply = msgspec.json.Decoder(AdminReply).decode


class Limits(msgspec.Struct, frozen=True):
    """What the node accepts (the reply of ``import`` without data)."""

    max_batch_bytes: int
    max_part_bytes: int
    shards: int


class Batch:
    """One batch as the request lines that carry it, with what it holds (for progress)."""

    __slots__ = ("lines", "mutations", "rows", "data_bytes", "source", "wire_bytes")

    def __init__(self, lines: list[bytes], mutations: int, rows: int, data_bytes: int, source: str):
        self.lines = lines
        self.mutations = mutations
        self.rows = rows
        self.data_bytes = data_bytes
        self.source = source        # the SSTable it comes from, for messages
        self.wire_bytes = sum(len(line) for line in lines)


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 1 << 16:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def request_lines(payload: bytes, part_bytes: int) -> list[bytes]:
    """The admin request lines carrying one encoded batch (one line, or the parts of an upload)."""
    if len(payload) <= part_bytes:
        return [_encode_request(AdminRequest(IMPORT_OP, {"data": payload})) + b"\n"]
    upload = secrets.token_hex(8)
    lines = []
    for index, start in enumerate(range(0, len(payload), part_bytes)):
        args = {"data": payload[start:start + part_bytes], "upload": upload, "part": index,
                "more": start + part_bytes < len(payload)}
        lines.append(_encode_request(AdminRequest(IMPORT_OP, args)) + b"\n")
    return lines


class BatchBuilder:
    """Packs encoded mutations into batches of at most ``batch_bytes``."""

    def __init__(self, batch_bytes: int, limits: Limits, source: str = ""):
        self.source = source
        self.batch_bytes = min(batch_bytes, limits.max_batch_bytes)
        self.part_bytes = limits.max_part_bytes
        self.items: list[bytes] = []
        self.size = ARRAY_HEADER_MAX
        self.rows = self.data_bytes = 0

    @property
    def max_mutation_bytes(self) -> int:
        return self.batch_bytes - ARRAY_HEADER_MAX

    def add(self, encoded: bytes) -> Batch | None:
        """Queue one encoded mutation; returns the previous batch when this one did not fit in it."""
        done = None
        if self.items and self.size + len(encoded) > self.batch_bytes:
            done = self.finish()
        self.items.append(encoded)
        self.size += len(encoded)
        return done

    def note(self, rows: int, data_bytes: int) -> None:
        """Count rows and source bytes into the batch being built (what its acknowledgement means)."""
        self.rows += rows
        self.data_bytes += data_bytes

    def finish(self) -> Batch | None:
        if not self.items and not self.rows and not self.data_bytes:
            return None
        payload = _array_header(len(self.items)) + b"".join(self.items)
        batch = Batch(request_lines(payload, self.part_bytes) if self.items else [], len(self.items),
                      self.rows, self.data_bytes, self.source)
        self.items = []
        self.size = ARRAY_HEADER_MAX
        self.rows = self.data_bytes = 0
        return batch


class AdminConnection:
    """One connection to the node's admin socket."""

    def __init__(self, path: Path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(REPLY_TIMEOUT_SECONDS)
        try:
            self.sock.connect(os.fspath(path))
        except (FileNotFoundError, ConnectionRefusedError):
            self.sock.close()
            raise LoadFailed(f"no running node has its admin socket at {path} "
                             f"(is the node up? is --data-dir right?)") from None
        except PermissionError:
            self.sock.close()
            raise LoadFailed(f"permission denied on {path}: run as the node's user") from None
        self.stream = self.sock.makefile("rb")

    def exchange(self, lines: list[bytes]) -> list[AdminReply]:
        """Send every line, then read one reply per line."""
        self.sock.sendall(b"".join(lines))
        replies = []
        for _ in lines:
            line = self.stream.readline()
            if not line:
                raise LoadFailed("the node closed the admin connection")
            replies.append(_decode_reply(line))
        return replies

    def limits(self) -> Limits:
        reply = self.exchange([_encode_request(AdminRequest(IMPORT_OP, {})) + b"\n"])[0]
        if not reply.ok:
            raise LoadFailed(f"the node refuses imports: {reply.error}")
        return msgspec.convert(reply.result, Limits)

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


class Sender:
    """Sends batches on ``connections`` admin connections in parallel; see the module docstring.

    Batches wait in a queue bounded by bytes (``max_queued_bytes``): a caller blocks while the
    queue is not empty and its batches would take it over the bound, so the converter never runs
    further ahead of the node than that, yet a whole spool of validated batches can be handed over
    at once while the next SSTable is validated.
    """

    def __init__(self, path: Path, connections: int, max_queued_bytes: int,
                 on_done: Callable[[Batch], None]):
        self.on_done = on_done
        self.max_queued_bytes = max_queued_bytes
        self.batches: deque[Batch] = deque()
        self.queued_bytes = 0
        self.pending = 0          # queued or in flight
        self.closing = False
        self.error: str | None = None
        self.cond = threading.Condition()
        links: list[AdminConnection] = []
        try:
            for _ in range(connections):
                links.append(AdminConnection(path))
        except LoadFailed:
            for link in links:
                link.close()
            raise
        self.threads = [threading.Thread(target=self._run, args=(link,), daemon=True,
                                         name=f"ferrosa-import-sender-{i}") for i, link in enumerate(links)]
        for thread in self.threads:
            thread.start()

    def send(self, batches: list[Batch], tick: Callable[[], None] = lambda: None) -> None:
        """Queue ``batches`` (waiting for room, see the class docstring); LoadFailed after a refusal."""
        size = sum(b.wire_bytes for b in batches)
        with self.cond:
            while (self.error is None and self.batches
                   and self.queued_bytes + size > self.max_queued_bytes):
                self.cond.wait(TICK_SECONDS)
                tick()
            if self.error is not None:
                raise LoadFailed(self.error)
            self.batches.extend(batches)
            self.queued_bytes += size
            self.pending += len(batches)
            self.cond.notify_all()

    def drain(self, tick: Callable[[], None] = lambda: None) -> None:
        """Wait until every batch sent so far is acknowledged; LoadFailed if one was refused."""
        with self.cond:
            while self.pending:
                self.cond.wait(TICK_SECONDS)
                tick()
        if self.error is not None:
            raise LoadFailed(self.error)

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()
        for thread in self.threads:
            thread.join()

    def _next(self) -> Batch | None:
        with self.cond:
            while not self.batches and not self.closing:
                self.cond.wait()
            if not self.batches:
                return None
            batch = self.batches.popleft()
            self.queued_bytes -= batch.wire_bytes
            self.cond.notify_all()
            return batch

    def _run(self, link: AdminConnection) -> None:
        try:
            while (batch := self._next()) is not None:
                try:
                    if self.error is None and batch.lines:
                        self._exchange(link, batch)
                    if self.error is None:
                        self.on_done(batch)
                finally:
                    with self.cond:
                        self.pending -= 1
                        self.cond.notify_all()
        finally:
            link.close()

    def _exchange(self, link: AdminConnection, batch: Batch) -> None:
        try:
            replies = link.exchange(batch.lines)
        except (OSError, LoadFailed, msgspec.DecodeError) as exc:
            self.error = f"admin connection failed while loading {batch.source}: {exc}"
            return
        refused = next((r for r in replies if not r.ok), None)
        if refused is not None:
            self.error = f"the node refused a batch of {batch.source}: {refused.error}"
