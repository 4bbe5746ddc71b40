"""One benchmark run, end to end: server up, schema, client processes through preload, warm-up
and the measured phase, server CPU/memory, then the merged figures and the limiting side.

Theory of operation
-------------------
    start server (or use --host) -> DDL from the harness -> spawn clients (connect, prepare,
    preload) -> all READY -> Phases sent: start = now + GO_DELAY, measure = start + warmup,
    end = measure + duration -> harness marks server CPU at measure and end -> reports merged.

The verdict compares CPU utilisations over the measured phase: a client process near one full
core means the generator limited the run; else a server process near one core (each is single
threaded: the front, a shard) means the server did; else all cores busy (system-wide
``psutil.cpu_times``) means the machine did (the generator and the server share its cores);
else nothing saturated: the processes spend their time waiting on each other's round trips.

This module must NOT format output (report.py does) or parse the command line (__main__ does).
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from pathlib import Path
from typing import Any, Callable

import msgspec
import psutil

from bench import client as C
from bench import rawclient as R
from bench.histogram import Histogram, merged
from bench.server import (
    CacheUse,
    FerrosaNode,
    KernelCounters,
    NullServer,
    ProcessSampler,
    ServerProcess,
)
from bench.workloads import KEYSPACE_DDL, WORKLOADS, Settings
from ferrosa.process import interpreter_text

# Delay between sending the phases and the common start, so every client has them in time.
GO_DELAY = 0.5
# One process busy this share of a core (or more) counts as saturated.
SATURATED = 0.85
# All cores busy at this share counts as the machine being the limit.
MACHINE_SATURATED = 0.90
# Waiting for clients to connect and preload: this floor, plus PRELOAD_SECONDS_PER_KEY per key.
READY_TIMEOUT = 120.0
PRELOAD_SECONDS_PER_KEY = 0.002
# A fixed-rate run that completed this share of its offered operations kept up with it (the
# first and last requests of the window may fall just outside it).
KEPT_UP_SHARE = 0.99
REPORT_TIMEOUT = C.DRAIN_TIMEOUT + 30.0
# After a run with a small memtable budget, the node is idle ("settled") once its processes use
# less than SETTLED_SHARE of a core in SETTLED_INTERVALS intervals of SETTLE_INTERVAL seconds
# in a row (an idle node uses about 1%: the front's and the shards' timers); the flushes and
# compactions the run left are counted until then, for at most SETTLE_TIMEOUT seconds.
SETTLED_SHARE = 0.05
SETTLE_INTERVAL = 1.0
SETTLED_INTERVALS = 2
SETTLE_TIMEOUT = 300.0
PERCENTILES = (50.0, 95.0, 99.0, 99.9)


GENERATORS: dict[str, Callable[..., None]] = {"driver": C.client_main, "raw": R.client_main}


# Requests in flight, in all, unless --concurrency says otherwise. At this load a node on the
# 2-core machine is bound by round trips, not CPU (docs/performance.md, "Requests in flight").
DEFAULT_CONCURRENCY = 64
# Protocol version unless --protocol says otherwise: v4, the driver's cheapest framing and that
# of every earlier results row. The Python driver left to negotiate settles on v5.
DEFAULT_PROTOCOL = 4


class RunOptions(msgspec.Struct, frozen=True):
    workload: str
    settings: Settings
    duration: float = 10.0
    warmup: float = 1.0
    concurrency: int = DEFAULT_CONCURRENCY
    clients: int = 2
    protocol: int = DEFAULT_PROTOCOL
    compression: str = "none"
    consistency: str = "ONE"
    shards: int = 2
    host: str | None = None  # an external server; None: the harness starts one
    port: int = 9042
    server_pid: int | None = None
    rate: float = 0.0  # a fixed offered load in operations per second, in all; 0: closed loop
    # Flush the node's memtables after the preload (`ferrosa-ctl flush`): reads then come from
    # SSTables, as most of a long-running node's data does.
    flush: bool = False
    # The started node's memtable budget per shard in MiB (FERROSA_MEMTABLE_BYTES; 0: the
    # node's default). A small one makes a write run flush and compact as a node does that has
    # been taking writes for hours, so its CPU per write includes that background work.
    memtable_mib: int = 0
    # The load generator: "driver" (python-driver processes, what users run) or "raw" (the
    # lean native-protocol client of bench/rawclient.py, a fraction of the driver's CPU).
    generator: str = "driver"


class Second(msgspec.Struct, array_like=True):
    ops: int
    errors: int
    p99_us: int


class RunResult(msgspec.Struct):
    target: str  # "ferrosa", "null" or "external"
    address: str
    workload: str
    label: str
    options: RunOptions
    ops: int
    errors: int
    late: int
    seconds: float
    throughput: float
    rows_per_second: float  # rows written (ops x rows per write) or read (as returned)
    latency_us: dict[str, int]
    per_second: list[Second]
    client_cpu: list[float]
    server_cpu_seconds: float | None
    server_cpu_by_role: dict[str, float]
    lost_processes: int
    peak_rss: int | None
    machine_busy: float | None  # share of all cores busy during the measured phase
    verdict: str
    cores: int
    error_samples: list[str]
    preload_ops: int
    preload_errors: int
    preload_seconds: float
    # Fixed-rate runs: percentiles of the latency from each request's actual send (without
    # the generator's own lateness); empty otherwise.
    service_us: dict[str, int] = {}
    # Share of all cores' time the hypervisor ran other guests instead (None: not sampled).
    stolen: float | None = None
    # What the kernel did for the server's processes in the measured phase (None: not sampled).
    server_kernel: KernelCounters | None = None
    # SSTables on a started node's disk at the end of the run, once settled (None: not a
    # started node).
    sstables: int | None = None
    # Runs with a small memtable budget: the server's CPU from the end of the measured phase
    # until the node was idle, and how long that took (None: not such a run, or the node was
    # still busy after SETTLE_TIMEOUT). The flushes and compactions a run leaves are part of
    # what its writes cost.
    background_cpu_seconds: float | None = None
    settle_seconds: float | None = None
    # A started node's key and chunk caches: the lookups from the end of the preload (and
    # flush) to the end of the run, warm-up included, and what they held at the end. Empty
    # when the node does not report them.
    caches: dict[str, CacheUse] = {}
    # The processor's model name (/proc/cpuinfo): runs on different hosts of a cloud are not
    # comparable, and the cores' count alone does not tell them apart. "" when unknown.
    cpu: str = ""
    # The Python the harness, its clients and the servers it starts run on (ferrosa.process
    # interpreter_text): the build moves a node's throughput by a fifth. "" when unknown.
    python: str = ""

    @property
    def other_cpu(self) -> float | None:
        """Cores' share busy with neither the server nor the clients (the harness itself, and
        whatever else runs on the machine: a large value means a disturbed run)."""
        if self.machine_busy is None or self.server_cpu_seconds is None:
            return None
        ours = (self.server_cpu_seconds / self.seconds + sum(self.client_cpu)) / self.cores
        return max(0.0, self.machine_busy - ours)

    @property
    def cpu_us_per_op(self) -> float | None:
        if self.server_cpu_seconds is None or not self.ops:
            return None
        return self.server_cpu_seconds / self.ops * 1e6

    @property
    def settled_cpu_us_per_op(self) -> float | None:
        """CPU per op with the background work the run left (flushes, compactions)."""
        if self.background_cpu_seconds is None or self.server_cpu_seconds is None or not self.ops:
            return None
        return (self.server_cpu_seconds + self.background_cpu_seconds) / self.ops * 1e6


def split_in_flight(concurrency: int, clients: int) -> list[int]:
    """Requests in flight per client process, summing to ``concurrency``."""
    clients = max(1, min(clients, concurrency))
    base, extra = divmod(concurrency, clients)
    return [base + (1 if i < extra else 0) for i in range(clients)]


def create_schema(opts: RunOptions, host: str, port: int) -> None:
    cluster, session = C.connect(host, port, protocol=opts.protocol,
                                 compression=opts.compression, consistency=opts.consistency)
    try:
        session.execute(KEYSPACE_DDL)
        for ddl in WORKLOADS[opts.workload].tables:
            session.execute(ddl)
    finally:
        cluster.shutdown()


def run(opts: RunOptions, target: str, bind: tuple[str, int] | None = None,
        source: Path | None = None) -> RunResult:
    """One run against ``target``: 'ferrosa' or 'null' (started here at ``bind``) or
    'external' (``opts.host``/``opts.port``, CPU measured only with ``opts.server_pid``)."""
    server: ServerProcess | None = None
    if target == "external":
        host, port, pid = opts.host or "127.0.0.1", opts.port, opts.server_pid
    else:
        assert bind is not None
        host, port = bind
        server = (FerrosaNode(host, port, opts.shards, source, opts.memtable_mib << 20)
                  if target == "ferrosa"
                  else NullServer(host, port)).start()
        pid = server.pid
    sampler = ProcessSampler(pid).start() if pid is not None else None
    try:
        create_schema(opts, host, port)
        node = server if isinstance(server, FerrosaNode) else None
        caches_before: dict[str, CacheUse] = {}

        def after_preload() -> None:
            if opts.flush:
                node.flush()
            caches_before.update(node.caches())

        reports, preload_seconds = _drive_clients(opts, host, port, sampler,
                                                  after_preload if node is not None else None)
        if opts.memtable_mib and node is not None and sampler is not None:
            sampler.settle("settled", SETTLED_SHARE, SETTLE_INTERVAL, SETTLED_INTERVALS,
                           SETTLE_TIMEOUT)
        sstables = node.sstables() if node is not None else None
        caches = ({name: use.since(caches_before.get(name))
                   for name, use in node.caches().items()} if node is not None else {})
    finally:
        if sampler is not None:
            sampler.stop()
        if server is not None:
            server.stop()
    return _result(opts, target, f"{host}:{port}", reports, sampler, preload_seconds,
                   sstables, caches)


def _drive_clients(opts: RunOptions, host: str, port: int, sampler: ProcessSampler | None,
                   after_preload: Callable[[], None] | None = None,
                   ) -> tuple[list[C.ClientReport], float]:
    ctx = multiprocessing.get_context("spawn")
    results: Any = ctx.Queue()
    go: Any = ctx.Queue()
    shares = split_in_flight(opts.concurrency, opts.clients)
    procs = []
    for part, in_flight in enumerate(shares):
        config = C.ClientConfig(host, port, opts.workload, opts.settings, part, len(shares),
                                in_flight, opts.protocol, opts.compression, opts.consistency,
                                preload=True, rate=opts.rate / len(shares))
        proc = ctx.Process(target=GENERATORS[opts.generator], args=(config, results, go),
                           name=f"bench-client-{part}", daemon=True)
        proc.start()
        procs.append(proc)
    try:
        t0 = time.monotonic()
        ready_timeout = READY_TIMEOUT + PRELOAD_SECONDS_PER_KEY * opts.settings.keys
        _collect(results, procs, "ready", ready_timeout)
        if after_preload is not None:
            after_preload()
        preload_seconds = time.monotonic() - t0  # connecting and preparing included
        start = time.monotonic() + GO_DELAY
        phases = C.Phases(start, start + opts.warmup, start + opts.warmup + opts.duration)
        for _ in procs:
            go.put(phases)
        _sleep_until(phases.measure)
        if sampler is not None:
            sampler.mark("start")
        _sleep_until(phases.end)
        if sampler is not None:
            sampler.mark("end")
        reports = _collect(results, procs, "report", REPORT_TIMEOUT + opts.duration)
    except BaseException:
        for _ in procs:
            go.put(None)
        for proc in procs:
            proc.join(2.0)
            if proc.is_alive():
                proc.terminate()
        raise
    for proc in procs:
        proc.join(10.0)
        if proc.is_alive():
            proc.terminate()
    return reports, preload_seconds


def _collect(results: Any, procs: list, what: str, timeout: float) -> list:
    """One message per client: 'ready' tuples or ClientReports; raises on a client failure."""
    deadline = time.monotonic() + timeout
    got: list = []
    while len(got) < len(procs):
        try:
            item = results.get(timeout=1.0)
        except queue.Empty:
            dead = [p.name for p in procs if not p.is_alive() and p.exitcode not in (0, None)]
            if dead:
                raise RuntimeError(f"client process(es) died: {', '.join(dead)}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"clients not {what} after {timeout:.0f}s") from None
            continue
        if isinstance(item, C.ClientFailure):
            raise RuntimeError(f"client {item.part} failed:\n{item.message}")
        got.append(item)
    if what == "report":
        got.sort(key=lambda r: r.part)
    return got


def _sleep_until(instant: float) -> None:
    delay = instant - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _result(opts: RunOptions, target: str, address: str, reports: list[C.ClientReport],
            sampler: ProcessSampler | None, preload_seconds: float,
            sstables: int | None = None,
            caches: dict[str, CacheUse] | None = None) -> RunResult:
    workload = WORKLOADS[opts.workload]
    seconds = len(reports[0].ok)
    per_second = []
    for s in range(seconds):
        h = merged(r.latency[s] for r in reports)
        per_second.append(Second(sum(r.ok[s] for r in reports), sum(r.errors[s] for r in reports),
                                 h.percentile(99.0)))
    total: Histogram = merged(h for r in reports for h in r.latency)
    ops = total.total
    errors = sum(sum(r.errors) for r in reports)
    latency = _percentiles(total)
    service = _percentiles(merged(r.service for r in reports)) if opts.rate else {}
    cpu_seconds, by_role, lost, peak, busy, stolen = None, {}, 0, None, None, None
    kernel = background = settle_seconds = None
    if sampler is not None and "settled" in sampler.marks:
        background = sampler.cpu_between("end", "settled")[0]
        settle_seconds = sampler.marks["settled"].at - sampler.marks["end"].at
    if sampler is not None and "end" in sampler.marks:
        cpu_seconds, by_role = sampler.cpu_between("start", "end")
        kernel = sampler.kernel_between("start", "end")
        lost, peak = len(sampler.lost), sampler.peak_rss
        busy = sampler.machine_busy("start", "end")
        stolen = sampler.stolen_share("start", "end")
    client_cpu = [r.cpu_seconds / r.wall_seconds if r.wall_seconds else 0.0 for r in reports]
    samples = list(dict.fromkeys(s for r in reports for s in r.error_samples))
    return RunResult(
        target=target, address=address, workload=opts.workload,
        label=run_label(workload, opts), options=opts, ops=ops, errors=errors,
        late=sum(r.late for r in reports), seconds=opts.duration,
        throughput=ops / opts.duration,
        rows_per_second=_rows(workload, opts, ops, reports) / opts.duration,
        latency_us=latency, per_second=per_second, service_us=service, client_cpu=client_cpu,
        server_cpu_seconds=cpu_seconds, server_cpu_by_role=by_role, lost_processes=lost,
        peak_rss=peak, machine_busy=busy, stolen=stolen, server_kernel=kernel,
        verdict=verdict(client_cpu, by_role, opts.duration, psutil.cpu_count() or 1, busy,
                        kept_up=bool(opts.rate) and ops >= KEPT_UP_SHARE * opts.rate * opts.duration),
        cores=psutil.cpu_count() or 1, error_samples=samples,
        preload_ops=sum(r.preload_ops for r in reports),
        preload_errors=sum(r.preload_errors for r in reports), preload_seconds=preload_seconds,
        sstables=sstables, background_cpu_seconds=background, settle_seconds=settle_seconds,
        caches=caches or {}, cpu=cpu_model(), python=interpreter_text())


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The first processor's model name, "" where the file or the field is missing."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                name, sep, value = line.partition(":")
                if sep and name.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return ""


def run_label(workload: Any, opts: RunOptions) -> str:
    """The results name: fixed-rate, flushed, small-memtable, raw-generator runs and runs over
    another number of keys, with another number of requests in flight, another protocol
    version or a compression than the default get their own rows (``write@5000ops``,
    ``read-uniform-flushed``, ``write-memtable32MiB``, ``write-raw``,
    ``read-uniform-400000keys``, ``write-raw-256inflight``, ``write-raw-v5-lz4``)."""
    keys = opts.settings.keys
    label = (workload.label(opts.settings) + ("-flushed" if opts.flush else "")
             + (f"-memtable{opts.memtable_mib}MiB" if opts.memtable_mib else "")
             + ("-raw" if opts.generator == "raw" else "")
             + (f"-v{opts.protocol}" if opts.protocol != DEFAULT_PROTOCOL else "")
             + (f"-{opts.compression}" if opts.compression != "none" else "")
             + (f"-{keys}keys" if keys != Settings().keys else "")
             + (f"-{opts.concurrency}inflight"
                if opts.concurrency != DEFAULT_CONCURRENCY else ""))
    return f"{label}@{opts.rate:g}ops" if opts.rate else label


def _rows(workload: Any, opts: RunOptions, ops: int, reports: list[C.ClientReport]) -> int:
    read = sum(r.rows_read for r in reports)
    return read if workload.reads else ops * workload.rows_per_op(opts.settings)


def _percentiles(h: Histogram) -> dict[str, int]:
    """PERCENTILES and the max of `h`, in microseconds; empty when it holds nothing."""
    if not h.total:
        return {}
    out = {_pct_name(p): h.percentile(p) for p in PERCENTILES}
    out["max"] = h.max_value
    return out


def _pct_name(p: float) -> str:
    return f"p{p:g}"


def verdict(client_cpu: list[float], server_by_role: dict[str, float], seconds: float,
            cores: int, machine_busy: float | None, kept_up: bool = False) -> str:
    """Which side limited the run, from CPU utilisations over the measured phase.

    ``kept_up``: a fixed-rate run completed its offered load, so nothing limited it."""
    hottest_client = max(client_cpu, default=0.0)
    server_util = {role: cpu / seconds for role, cpu in server_by_role.items()} if seconds else {}
    hot_role, hot_util = max(server_util.items(), key=lambda kv: kv[1], default=("", 0.0))
    if kept_up:
        return (f"offered load: the fixed rate was served (busiest server process: {hot_role} "
                f"{hot_util:.0%}, client {hottest_client:.0%}"
                + ("" if machine_busy is None else f"; cores {machine_busy:.0%} busy") + ")")
    if hottest_client >= SATURATED and hottest_client >= hot_util:
        return (f"generator: a client process at {hottest_client:.0%} of a core "
                f"(add --clients if cores are free)")
    if hot_util >= SATURATED:
        return f"server: its {hot_role} process at {hot_util:.0%} of a core"
    if machine_busy is None:
        return (f"unknown: no server CPU figures (pass --server-pid); clients at most "
                f"{hottest_client:.0%} of a core")
    if machine_busy >= MACHINE_SATURATED:
        return (f"machine: all {cores} cores {machine_busy:.0%} busy, shared by generator and "
                f"server (busiest server process: {hot_role} {hot_util:.0%}, client "
                f"{hottest_client:.0%})")
    return (f"round trips: no process saturated (busiest server process: {hot_role} "
            f"{hot_util:.0%}, client {hottest_client:.0%}; cores {machine_busy:.0%} busy): the "
            f"processes spend the rest waiting on each other's replies and wake-ups")
