"""The lean load generator (``--generator raw``): client processes that speak the native protocol
over one socket each, with no driver, so that the generator's CPU per request is a fraction of
the server's and the server, not the generator, limits the run.

Theory of operation
-------------------
The harness runs these processes exactly as it runs the driver's (bench/client.py ``serve``:
preload, READY, phases, report). Each one:

  1. connects, sends STARTUP (lz4 or snappy when asked) and PREPAREs the workload's statements,
     blocking, with REQUEST_TIMEOUT per reply;
  2. runs ``RawPipeline`` on a thread of its own: one ``select`` loop over the socket that reads
     every complete reply frame, records it, issues the next request (closed loop) or the
     requests that fell due (``rate``), and writes what a pass issued in one ``send``. Stream
     ids are the in-flight slots; a reply on a stream with no request is a protocol error;
  3. stops issuing when the op source says so and ends when the last request is answered;
     the process's main thread meanwhile only sleeps through the phases and reads its CPU time.

It sends what the python driver sends for the same statements (EXECUTE with values, skip
metadata for reads, the driver's page size and a client timestamp; UNLOGGED batches of the
prepared INSERT), so the server's work per request is the same as under the driver generator.
Latency runs from the request's encoding (closed loop) or its scheduled instant (``rate``).

This module must NOT start servers or compute the summary (harness.py does).
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Any, Callable

from bench import client as C
from bench import rawproto as P
from bench.workloads import BATCH, WORKLOADS

# Bytes asked of one recv: room for a few hundred replies of a pass. They are read into one
# buffer the loop keeps: `sock.recv(RECV_BYTES)` would allocate that much per call, which glibc
# serves (past its 128 KiB mmap threshold) with an mmap, an mremap to shrink it to what came and
# an munmap when freed: three system calls and fresh pages per pass.
RECV_BYTES = 1 << 18
# Longest sleep of the loop: it then checks whether its connection is being closed.
IDLE_WAKE = 1.0
# Streams v3-v5 give a connection: a client process keeps at most this many requests out.
MAX_STREAMS = 32768
NS = 1_000_000_000


class RawConnection:
    """One connection: set-up requests answered in turn (blocking), then requests encoded for
    ``RawPipeline``."""

    def __init__(self, host: str, port: int, *, protocol: int = 4, compression: str = "none",
                 consistency: str = "ONE") -> None:
        try:
            self.consistency = P.CONSISTENCY[consistency.upper()]
        except KeyError:
            raise ValueError(f"unknown consistency level {consistency!r}") from None
        self.codec = P.FrameCodec(protocol, compression)
        self.sock = socket.create_connection((host, port), timeout=C.CONNECT_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(C.REQUEST_TIMEOUT)
        self.statements: list[P.Prepared] = []
        options = {"CQL_VERSION": "3.0.0"}
        if compression != "none":
            options["COMPRESSION"] = compression
        opcode, body = self.call(P.STARTUP, P.string_map(options))
        if opcode == P.AUTHENTICATE:
            raise P.RawProtocolError("the server asks for authentication; the raw generator "
                                     "does not log in (run the node with auth off)")
        if opcode != P.READY:
            raise P.RawProtocolError(f"STARTUP: {P.outcome(opcode, body)}")
        self.codec.start_compressing()

    def call(self, opcode: int, body: bytes) -> tuple[int, bytes]:
        """One request on stream 0 and its reply (set-up only: nothing else is outstanding)."""
        self.sock.sendall(self.codec.frame(0, opcode, body))
        while True:
            data = self.sock.recv(P.HEADER.size + 65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            for stream, reply_opcode, reply in self.codec.feed(data):
                if stream == 0:
                    return reply_opcode, reply

    def prepare(self, query: str) -> P.Prepared:
        opcode, body = self.call(P.PREPARE, P.prepare_body(query, self.codec.version))
        stmt = P.prepared(query, opcode, body, self.codec.version)
        self.statements.append(stmt)
        return stmt

    def request(self, kind: int, params: Any, batched: P.Prepared) -> tuple[int, bytes]:
        """(opcode, body) of one workload operation."""
        timestamp = time.time_ns() // 1000
        if kind == BATCH:
            return P.BATCH, P.batch_body(batched, params, self.consistency, timestamp)
        return P.EXECUTE, P.execute_body(self.statements[kind], params, self.consistency,
                                         timestamp)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class RawPipeline:
    """Keeps up to ``in_flight`` requests outstanding on ``conn`` until ``next_op`` returns
    None; ``on_done(start_ns, now_ns, rows or error text)`` for each reply.

    ``rate`` > 0: one request every ``1 / rate`` seconds instead of one per completion, the
    start being the scheduled instant, and ``on_done`` also gets the instant the request was
    issued (a fourth argument); a late schedule is caught up at once (the wait shows as
    latency, not as a slower generator)."""

    def __init__(self, conn: RawConnection, batched: P.Prepared,
                 next_op: Callable[[int], tuple[int, Any] | None],
                 on_done: Callable[..., None], in_flight: int,
                 rate: float = 0.0) -> None:
        if not 0 < in_flight <= MAX_STREAMS:
            raise ValueError(f"in-flight requests per connection must be in 1..{MAX_STREAMS}")
        self._conn = conn
        self._batched = batched
        self._next_op = next_op
        self._on_done = on_done
        self._limit = in_flight
        self._interval_ns = int(NS / rate) if rate > 0 else 0
        self._free = list(range(in_flight - 1, -1, -1))
        self._starts = [0] * in_flight
        self._sent = [0] * in_flight  # paced: when each stream's request was issued
        self._busy = bytearray(in_flight)
        self._out: list[bytes] = []
        self._pending = b""
        self._due = 0
        self._stopped = False
        self._closing = False
        self.failure: str | None = None
        self.finished = threading.Event()

    @property
    def outstanding(self) -> int:
        return self._limit - len(self._free)

    def start(self, in_flight: int | None = None) -> None:
        self._conn.sock.setblocking(False)
        threading.Thread(target=self._run, name="raw-pipeline", daemon=True).start()

    def close(self) -> None:
        self._closing = True

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # reported by the process, the loop is over either way
            self.failure = f"{type(exc).__name__}: {exc}"
        self.finished.set()

    def _loop(self) -> None:
        sock, feed, outcome = self._conn.sock, self._conn.codec.feed, P.outcome
        on_done, starts, busy, free = self._on_done, self._starts, self._busy, self._free
        now, paced, monotonic_ns = time.monotonic_ns(), self._interval_ns > 0, time.monotonic_ns
        self._due = now
        if not paced:
            while free and self._issue(now):
                now = monotonic_ns()
        readers = [sock]
        buffer = memoryview(bytearray(RECV_BYTES))
        recv_into = sock.recv_into
        while not self._closing:
            if paced:
                now = monotonic_ns()
                self._issue_due(now)
            self._flush(sock)
            if self._stopped and len(free) == self._limit:
                return
            readable, _, _ = select.select(readers, [sock] if self._pending else (), (),
                                           self._timeout())
            if not readable:
                continue
            received = recv_into(buffer)
            if not received:
                raise ConnectionError("the server closed the connection")
            for stream, opcode, body in feed(bytes(buffer[:received])):
                if not 0 <= stream < self._limit or not busy[stream]:
                    raise P.RawProtocolError(f"a reply on stream {stream}, which has no request")
                now = monotonic_ns()
                result = outcome(opcode, body)
                busy[stream] = 0
                free.append(stream)
                if paced:
                    on_done(starts[stream], now, result, self._sent[stream])
                else:
                    on_done(starts[stream], now, result)
                    if not self._stopped:
                        self._issue(now)

    def _timeout(self) -> float:
        if self._interval_ns and not self._stopped and self._free:
            return max(0.0, min(IDLE_WAKE, (self._due - time.monotonic_ns()) / NS))
        return IDLE_WAKE

    def _issue(self, start: int) -> bool:
        op = self._next_op(start)
        if op is None:
            self._stopped = True
            return False
        stream = self._free.pop()
        opcode, body = self._conn.request(op[0], op[1], self._batched)
        self._out.append(self._conn.codec.frame(stream, opcode, body))
        self._starts[stream] = start
        self._busy[stream] = 1
        return True

    def _issue_due(self, now: int) -> None:
        interval = self._interval_ns
        while self._free and not self._stopped and self._due <= now:
            stream = self._free[-1]
            if self._issue(self._due):
                self._sent[stream] = now
                self._due += interval

    def _flush(self, sock: socket.socket) -> None:
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            self._pending = self._pending + data if self._pending else data
        if self._pending:
            try:
                sent = sock.send(self._pending)
            except BlockingIOError:
                return
            self._pending = self._pending[sent:]


class RawClient:
    """A client process's session on the raw protocol (the ``bench.client.serve`` contract)."""

    def __init__(self, config: C.ClientConfig) -> None:
        self.config = config
        self.workload = WORKLOADS[config.workload]
        self.conn = RawConnection(config.host, config.port, protocol=config.protocol,
                                  compression=config.compression, consistency=config.consistency)
        try:
            for query in self.workload.statements:
                self.conn.prepare(query)
        except BaseException:
            self.conn.close()
            raise
        self.batched = self.conn.statements[self.workload.batch_statement]

    def preload(self) -> tuple[int, int]:
        c = self.config
        source = self.workload.preload(c.settings, c.part, c.parts)
        tally = C.PreloadTally()
        pipeline = RawPipeline(self.conn, self.batched, lambda now: next(source, None),
                               tally.record, c.in_flight)
        pipeline.start()
        pipeline.finished.wait()  # the harness gives up on a client that never gets READY
        if pipeline.failure is not None:
            raise ConnectionError(f"preload: {pipeline.failure}")
        return tally.counts()

    def measure(self, phases: C.Phases) -> C.ClientReport:
        c = self.config
        recorder = C.Recorder(c.part, phases)
        source = self.workload.operations(c.settings, c.part, c.parts)
        allowed = recorder.next_allowed

        def next_op(now: int) -> tuple[int, Any] | None:
            return source() if allowed(now) else None

        pipeline = RawPipeline(self.conn, self.batched, next_op, recorder.record, c.in_flight,
                               c.rate)
        report = C.measured(pipeline, recorder, phases, c.in_flight)
        pipeline.close()
        if pipeline.failure is not None:
            raise ConnectionError(f"raw generator: {pipeline.failure}")
        return report

    def close(self) -> None:
        self.conn.close()


def client_main(config: C.ClientConfig, results: Any, go: Any) -> None:
    """Process entry point of the raw generator."""
    if config.rate:
        C.precise_timers()
    C.serve(RawClient, config, results, go)
