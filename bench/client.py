"""Load-generator processes: each one runs a python-driver session at its fastest and reports
per-second operation counts and latency histograms back to the harness.

Theory of operation
-------------------
The harness starts ``parts`` processes (``multiprocessing`` spawn context: a fresh interpreter,
no event-loop threads inherited from the parent). Each process:

  1. connects (libev reactor with coalesced socket writes, tuple rows, no schema or token
     metadata, round-robin policy, one connection), prepares the workload's statements, runs
     its share of the preload;
  2. reports READY and waits for the harness's ``Phases`` (absolute ``time.monotonic`` instants,
     a clock shared by every process on Linux): start, measure (end of warm-up) and end;
  3. keeps ``in_flight`` requests outstanding: every completion callback (on the driver's
     event-loop thread) records its latency and issues the next request -- the pattern of
     ``cassandra.concurrent`` without its bookkeeping;
     With ``rate`` set (``--rate``: a fixed offered load, wrk2's and cassandra-stress's
     ``fixed=`` mode) the event-loop thread issues requests on a schedule instead, at most
     ``in_flight`` outstanding, and each latency is measured from the request's scheduled
     instant: a server that falls behind shows as latency, not as a generator that quietly
     slows down (coordinated omission);
  4. after ``end`` issues nothing more, waits for the outstanding requests, and sends its
     ``ClientReport``. Only completions inside [measure, end) count; warm-up ones are tallied
     apart. The process's own CPU time over that window tells whether the generator saturated.

This module must NOT start servers or compute the summary: it only measures its own requests.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import traceback
from typing import Any, Callable

import msgspec

from bench.histogram import Histogram
from bench.workloads import BATCH, WORKLOADS, Settings

# Timeout of the set-up requests (schema, prepare): far above any healthy latency. The load
# itself runs without one: the driver arms a timer per request that has a timeout (a heap push
# and an event-loop wake-up), which cost a third of the generator's CPU at saturation (measured
# against the null server: 75 -> 54 us per op, 21.5k -> 28k ops/s). A request a stuck server
# never answers still shows: it is counted as unanswered after DRAIN_TIMEOUT.
REQUEST_TIMEOUT = 10.0
CONNECT_TIMEOUT = 10.0
# Error messages kept per client for the report (the first distinct ones).
MAX_ERROR_SAMPLES = 5
# Grace after ``end`` for outstanding requests before the client gives up on them.
DRAIN_TIMEOUT = REQUEST_TIMEOUT + 5.0
NS = 1_000_000_000
# Nagle's algorithm would hold small pipelined requests back for the peer's delayed ACK
# (the driver leaves it on unless told); cassandra-stress's Java driver sets TCP_NODELAY too.
_SOCKOPTS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class ClientConfig(msgspec.Struct, frozen=True):
    host: str
    port: int
    workload: str
    settings: Settings
    part: int
    parts: int
    in_flight: int
    protocol: int = 4
    compression: str = "none"
    consistency: str = "ONE"
    preload: bool = True
    rate: float = 0.0  # operations per second of this process; 0: as fast as in_flight allows


class Phases(msgspec.Struct, frozen=True):
    start: float
    measure: float
    end: float


class ClientReport(msgspec.Struct):
    part: int
    ok: list[int]
    errors: list[int]
    latency: list[Histogram]
    warmup_ops: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    late: int = 0  # requests still unanswered after DRAIN_TIMEOUT
    rows_read: int = 0  # rows the measured reads returned (first pages)
    error_samples: list[str] = []
    preload_ops: int = 0
    preload_errors: int = 0
    # Fixed-rate runs: latency from each request's actual send instead of its scheduled one
    # (what YCSB calls actual against intended latency). The difference is the generator's own
    # lateness: a timer wake-up in this VM is late by up to 2 ms at p99 on an idle machine.
    service: Histogram = msgspec.field(default_factory=Histogram)


def _coalescing(libev_connection: type) -> type:
    """The driver's libev connection, writing every queued request in one send.

    The stock one sends each queued request with its own system call; the requests a pass of
    completion callbacks issued go out together here, as the Java driver's write coalescing
    sends them (measured: generator CPU 60 -> 49 us per write against a node, and the node's
    CPU per write 44-51 -> 41-43 us, since its socket reads get bigger too)."""

    class CoalescingLibevConnection(libev_connection):  # type: ignore[misc, valid-type]
        def handle_write(self, watcher: Any, revents: int, errno: int | None = None) -> None:
            with self._deque_lock:
                if len(self.deque) > 1:
                    joined = b"".join(self.deque)
                    self.deque.clear()
                    self.deque.append(joined)
            super().handle_write(watcher, revents, errno)

    return CoalescingLibevConnection


class ClientFailure(msgspec.Struct):
    part: int
    message: str


def connect(host: str, port: int, *, protocol: int = 4, compression: str = "none",
            consistency: str = "ONE",
            request_timeout: float | None = REQUEST_TIMEOUT) -> tuple[Any, Any]:
    """(cluster, session) tuned for throughput; callers must ``cluster.shutdown()``.

    ``request_timeout`` None: requests run without the driver's per-request timer (the load)."""
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.io.libevreactor import LibevConnection
    from cassandra.policies import RoundRobinPolicy
    from cassandra.query import tuple_factory

    try:
        level = ConsistencyLevel.name_to_value[consistency.upper()]
    except KeyError:
        raise ValueError(f"unknown consistency level {consistency!r}") from None
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), consistency_level=level,
                               request_timeout=request_timeout, row_factory=tuple_factory)
    cluster = Cluster([host], port=port, protocol_version=protocol, sockopts=_SOCKOPTS,
                      compression=False if compression == "none" else compression,
                      connection_class=_coalescing(LibevConnection),
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      schema_metadata_enabled=False, token_metadata_enabled=False,
                      connect_timeout=CONNECT_TIMEOUT, control_connection_timeout=CONNECT_TIMEOUT)
    try:
        return cluster, cluster.connect()
    except Exception:
        cluster.shutdown()
        raise


class Pipeline:
    """Keeps ``in_flight`` requests outstanding until ``next_op`` says stop (returns None).

    ``on_done(t0_ns, now_ns, result)`` (rows, or the exception of a failure) runs on the driver's event-loop thread for every
    completion, before the next request of that slot is issued.
    """

    def __init__(self, session: Any, statements: list[Any], batch_of: Callable[[list], Any],
                 next_op: Callable[[int], tuple[int, Any] | None],
                 on_done: Callable[[int, int, Any], None]) -> None:
        self._execute = session.execute_async
        self._statements = statements
        self._batch_of = batch_of
        self._next_op = next_op
        self._on_done = on_done
        self._active = 0
        self._lock = threading.Lock()
        self.finished = threading.Event()

    @property
    def outstanding(self) -> int:
        return self._active

    def start(self, in_flight: int) -> None:
        with self._lock:
            self._active = in_flight
        for _ in range(in_flight):
            self._issue(time.monotonic_ns())

    def _issue(self, now: int) -> None:
        # start() runs on the caller's thread while early completions already run on the
        # driver's: the lock keeps op sources (generators among them) single-threaded.
        with self._lock:
            op = self._next_op(now)
            if op is None:
                self._active -= 1
                if self._active == 0:
                    self.finished.set()
                return
        kind, params = op
        request = self._batch_of(params) if kind == BATCH else self._statements[kind]
        t0 = time.monotonic_ns()  # latency includes the driver's encoding, as stress's does
        future = self._execute(request, None if kind == BATCH else params)
        future.add_callbacks(self._ok, self._error, callback_args=(t0,), errback_args=(t0,))

    def _ok(self, rows: Any, t0: int) -> None:
        now = time.monotonic_ns()
        self._on_done(t0, now, rows)
        self._issue(now)

    def _error(self, exc: BaseException, t0: int) -> None:
        now = time.monotonic_ns()
        self._on_done(t0, now, exc)
        self._issue(now)


class PacedPipeline:
    """Issues one request every ``1 / rate`` seconds, at most ``in_flight`` outstanding, until
    ``next_op`` says stop; ``on_done(scheduled_ns, now_ns, result, sent_ns)`` gets the scheduled
    instant as the request's start, and the instant it was issued.

    Everything runs on the driver's event-loop thread: a driver timer (``create_timer``, the
    reactor's own, which the driver uses for request timeouts) wakes the pacer at the next
    scheduled instant, and each completion issues what fell due meanwhile. A pacing thread of
    its own would hand the GIL to and from the event loop for every request: at 3,000 requests
    a second per process that hand-off was most of the generator's CPU.

    A late schedule (the limit reached, or the loop busy) is caught up at once: the requests
    keep their scheduled instants, so the wait shows in their latency.
    """

    def __init__(self, session: Any, statements: list[Any], batch_of: Callable[[list], Any],
                 next_op: Callable[[int], tuple[int, Any] | None],
                 on_done: Callable[[int, int, Any, int], None], rate: float,
                 in_flight: int) -> None:
        self._execute = session.execute_async
        self._create_timer = session.cluster.connection_class.create_timer
        self._statements = statements
        self._batch_of = batch_of
        self._next_op = next_op
        self._on_done = on_done
        self._interval_ns = max(1, int(NS / rate))
        self._limit = in_flight
        self._active = 0
        self._due = 0
        self._armed = False  # a timer is pending
        self._issuing = False  # inside _issue_due (a failure can complete a request at once)
        self._stopped = False
        self.finished = threading.Event()

    @property
    def outstanding(self) -> int:
        return self._active

    def start(self, in_flight: int) -> None:
        self._due = time.monotonic_ns()
        self._armed = True
        self._create_timer(0, self._tick)

    def _tick(self) -> None:
        self._armed = False
        self._issue_due()

    def _issue_due(self) -> None:
        if self._issuing or self._stopped:
            return
        self._issuing = True
        try:
            now = time.monotonic_ns()
            while self._active < self._limit and self._due <= now:
                op = self._next_op(self._due)
                if op is None:
                    self._stop()
                    return
                self._active += 1
                kind, params = op
                request = self._batch_of(params) if kind == BATCH else self._statements[kind]
                sent = time.monotonic_ns()
                future = self._execute(request, None if kind == BATCH else params)
                future.add_callbacks(self._done, self._done, callback_args=(self._due, sent),
                                     errback_args=(self._due, sent))
                self._due += self._interval_ns
                if self._due > now:
                    now = time.monotonic_ns()
            # At the limit, the next completion issues; else wake at the next instant.
            if self._active < self._limit and not self._armed:
                self._armed = True
                self._create_timer((self._due - now) / NS, self._tick)
        finally:
            self._issuing = False

    def _stop(self) -> None:
        self._stopped = True
        if self._active == 0:
            self.finished.set()

    def _done(self, result: Any, scheduled: int, sent: int) -> None:
        self._on_done(scheduled, time.monotonic_ns(), result, sent)
        self._active -= 1
        if self._stopped:
            if self._active == 0:
                self.finished.set()
            return
        self._issue_due()


class Recorder:
    """Per-second tallies of the measured window, filled from completion callbacks."""

    def __init__(self, part: int, phases: Phases) -> None:
        seconds = max(1, int(-(-(phases.end - phases.measure) // 1)))
        self.measure_ns = int(phases.measure * NS)
        self.end_ns = int(phases.end * NS)
        self.report = ClientReport(part, [0] * seconds, [0] * seconds,
                                   [Histogram() for _ in range(seconds)])

    def next_allowed(self, now: int) -> bool:
        return now < self.end_ns

    def done(self, t0: int, now: int, result: Any, sent: int | None = None) -> None:
        """A driver completion: its rows, or the exception of a failure."""
        self.record(t0, now, driver_outcome(result), sent)

    def record(self, t0: int, now: int, result: int | str, sent: int | None = None) -> None:
        """A completion: the rows it returned, or the text of its error. ``t0`` is the
        request's start (its scheduled instant in a fixed-rate run), ``sent`` when it was
        actually issued (fixed-rate runs only)."""
        report = self.report
        if now < self.measure_ns:
            report.warmup_ops += 1
            return
        if now >= self.end_ns:
            return
        second = (now - self.measure_ns) // NS
        if result.__class__ is int:
            report.ok[second] += 1
            report.latency[second].record((now - t0) // 1000)
            if sent is not None:
                report.service.record((now - sent) // 1000)
            report.rows_read += result  # type: ignore[operator]
            return
        report.errors[second] += 1
        if len(report.error_samples) < MAX_ERROR_SAMPLES and result not in report.error_samples:
            report.error_samples.append(result)  # type: ignore[arg-type]


def driver_outcome(result: Any) -> int | str:
    """A driver completion (rows, or the exception of a failure) as ``Recorder.record`` takes
    it: the rows returned, or the error's text."""
    if isinstance(result, BaseException):
        return f"{type(result).__name__}: {result}"
    return len(result) if result else 0


class PreloadTally:
    """Completions of a client's preload: how many succeeded and failed, and the first error."""

    def __init__(self) -> None:
        self.ok = 0
        self.errors = 0
        self.first_error: str | None = None

    def done(self, t0: int, now: int, result: Any) -> None:
        """A driver completion."""
        self.record(t0, now, driver_outcome(result))

    def record(self, t0: int, now: int, result: int | str) -> None:
        """A completion: rows returned, or the error's text."""
        if result.__class__ is int:
            self.ok += 1
            return
        self.errors += 1
        if self.first_error is None:
            self.first_error = result  # type: ignore[assignment]

    def counts(self) -> tuple[int, int]:
        """(succeeded, failed), the first error logged."""
        if self.first_error is not None:
            logging.getLogger(__name__).warning("preload error: %s", self.first_error)
        return self.ok, self.errors


class _Client:
    def __init__(self, config: ClientConfig) -> None:
        from cassandra.query import BatchStatement, BatchType
        self.config = config
        self.workload = WORKLOADS[config.workload]
        self.cluster, self.session = connect(config.host, config.port, protocol=config.protocol,
                                             compression=config.compression,
                                             consistency=config.consistency,
                                             request_timeout=None)
        # (prepare runs with the session's default timeout, not the profile's)
        self.statements = [self.session.prepare(q) for q in self.workload.statements]
        batched = self.statements[self.workload.batch_statement]

        def batch_of(rows: list) -> Any:
            # no consistency_level here: statements inherit the execution profile's
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for row in rows:
                batch.add(batched, row)
            return batch
        self.batch_of = batch_of

    def preload(self) -> tuple[int, int]:
        c = self.config
        source = self.workload.preload(c.settings, c.part, c.parts)
        tally = PreloadTally()
        pipeline = Pipeline(self.session, self.statements, self.batch_of,
                            lambda now: next(source, None), tally.done)
        pipeline.start(c.in_flight)
        pipeline.finished.wait()
        return tally.counts()

    def measure(self, phases: Phases) -> ClientReport:
        c = self.config
        recorder = Recorder(c.part, phases)
        source = self.workload.operations(c.settings, c.part, c.parts)
        allowed = recorder.next_allowed

        def next_op(now: int) -> tuple[int, Any] | None:
            return source() if allowed(now) else None

        if c.rate > 0:
            pipeline: Pipeline | PacedPipeline = PacedPipeline(
                self.session, self.statements, self.batch_of, next_op, recorder.done, c.rate,
                c.in_flight)
        else:
            pipeline = Pipeline(self.session, self.statements, self.batch_of, next_op,
                                recorder.done)
        return measured(pipeline, recorder, phases, c.in_flight)

    def close(self) -> None:
        self.cluster.shutdown()


def measured(pipeline: Any, recorder: Recorder, phases: Phases, in_flight: int) -> ClientReport:
    """Runs ``pipeline`` (``start``, ``finished``, ``outstanding``) through the phases; the
    report of ``recorder`` with this process's CPU time over the measured window."""
    _sleep_until(phases.start)
    pipeline.start(in_flight)
    _sleep_until(phases.measure)
    cpu0, wall0 = time.process_time(), time.monotonic()
    _sleep_until(phases.end)
    report = recorder.report
    report.cpu_seconds = time.process_time() - cpu0
    report.wall_seconds = time.monotonic() - wall0
    if not pipeline.finished.wait(DRAIN_TIMEOUT):
        report.late = pipeline.outstanding
    return report


def _sleep_until(instant: float) -> None:
    delay = instant - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def client_main(config: ClientConfig, results: Any, go: Any) -> None:
    """Process entry point of the driver generator."""
    serve(_Client, config, results, go)


# prctl(2) option: the slack Linux may add to this process's timer expiries, in nanoseconds.
_PR_SET_TIMERSLACK = 29
# The default slack is 50 µs; 1 ns asks for none. Measured on this VM, a select() timeout on an
# idle machine woke 106 µs late at p50 with the default slack and 53 µs with none: a paced
# generator's lateness counts in the latency of each request it sends late. The raw generator
# asks for it (its gap between latency from the schedule and from the send fell from 0.10-0.11
# to 0.06-0.07 ms at p50, 3,000 ops/s); the driver's showed no such gain in the same test.
PACED_TIMER_SLACK_NS = 1


def precise_timers() -> bool:
    """Ask Linux for no timer slack in this process (a paced generator); False if unavailable."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_TIMERSLACK, PACED_TIMER_SLACK_NS, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def serve(factory: Callable[[ClientConfig], Any], config: ClientConfig, results: Any,
          go: Any) -> None:
    """A client process's life: READY (with preload counts) on ``results``, then the report.

    ``factory(config)`` connects and prepares; its product has ``preload()``,
    ``measure(phases)`` and ``close()``."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("cassandra").setLevel(logging.ERROR)
    try:
        client = factory(config)
    except Exception:
        results.put(ClientFailure(config.part, traceback.format_exc()))
        return
    try:
        preload_ok, preload_errors = client.preload() if config.preload else (0, 0)
        results.put(("ready", config.part, preload_ok, preload_errors))
        phases = go.get()
        if phases is None:  # the harness gave up on another client
            return
        report = client.measure(phases)
        report.preload_ops, report.preload_errors = preload_ok, preload_errors
        results.put(report)
    except Exception:
        results.put(ClientFailure(config.part, traceback.format_exc()))
    finally:
        client.close()
