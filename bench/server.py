"""The servers a benchmark runs against (a fresh Ferrosa node, the null server) and the psutil
sampler that measures their CPU time and memory.

Theory of operation (measurement)
---------------------------------
A server is a process tree: the root pid (the Ferrosa supervisor, the null server, or the pid
given with --server-pid) and all its descendants (front, shards, resource tracker).

* CPU: ``ProcessSampler.mark(name)`` snapshots user+system CPU seconds of every process in the
  tree. The harness marks the start and the end of the measured phase; the difference, summed
  over the processes, is the server's CPU spent on the measured operations (preload and warm-up
  excluded). A process that appears between the marks counts from zero; one that exits between
  them loses its share (psutil cannot read a dead process) -- the report says so.
* The machine's busy share (``psutil.cpu_times()``, all cores) is marked alongside, so the
  verdict can tell "all cores busy" from "processes waiting on each other".
* Memory: every ``SAMPLE_INTERVAL`` seconds the sampler sums the RSS of the tree's processes;
  peak memory is the largest such sum from start to the end mark (data preloaded in memory is
  part of what a node holds while serving, so the preload is included). RSS counts pages
  shared between processes (shared libraries, shared-memory rings) once per process, so the
  sum overstates the node's footprint by those pages; it is the figure `ps`/`top` users
  compare, and it is cheap to sample (PSS needs a full smaps walk per process).

This module must NOT drive load or format results.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import msgspec
import psutil

REPO = Path(__file__).resolve().parents[1]


class CacheUse(msgspec.Struct):
    """A node's key cache or chunk cache, summed over its shards: counters since the shards
    started, and what it holds (`ferrosa-ctl status`)."""

    entries: int
    bytes: int
    capacity: int
    hits: int
    misses: int

    def since(self, before: CacheUse | None) -> CacheUse:
        """The lookups made since `before` (the counters' difference), with what it holds now."""
        if before is None:
            return self
        return CacheUse(self.entries, self.bytes, self.capacity, self.hits - before.hits,
                        self.misses - before.misses)
# How often the sampler reads RSS: often enough to catch a peak lasting a second.
SAMPLE_INTERVAL = 0.5
# How long a fresh server may take to listen (a node spawns a front and its shards).
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
# Flushing a preloaded node (100k rows: seconds; far more keys: minutes).
FLUSH_TIMEOUT = 600.0
# `ferrosa-ctl status` pings every shard (2 s at most each, in parallel).
STATUS_TIMEOUT = 30.0
_PORT_POLL = 0.05


def parse_bind(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """'127.0.0.41:9042' / '127.0.0.41' / ':9042' -> (host, port); port 0 = a free one."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "0")
    host = host or default_host
    number = int(port or 0)
    return host, number or free_port(host)


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(_PORT_POLL)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


# The server's processes get a process group of their own, so that kill() reaches the whole tree,
# but stay in the harness's session. Linux's autogroup (CONFIG_SCHED_AUTOGROUP, on by default)
# makes each session a scheduling group, and the kernel shares a core between groups before it
# shares it between their threads. With the server in a session of its own (start_new_session,
# until 2026-11-25), the generator's processes and the server's were two groups, and a woken
# generator thread could wait for its group's turn while the server's group ran. Measured
# (tcpdump on lo and lateness probes in every process): the node had sent its replies, and the
# generator thread that was to read them went unscheduled for tens of milliseconds (up to
# 213 ms), a few times in a 30 s run: the runs' largest latencies, reported as the server's. In one session every
# thread competes as a peer, as on a machine without autogroup (where the same run's largest
# latency was 13 ms).


class ServerProcess:
    """A server started by the harness in its own process group (in the harness's session),
    logging to a file."""

    name = "server"

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))
        self.log_path = self.workdir / f"{self.name}.log"

    def command(self) -> list[str]:
        raise TypeError(f"{type(self).__name__} does not say how to start")

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), env=self.env(),
                                         cwd=getattr(self, "source", None) or REPO, stdout=log,
                                         stderr=subprocess.STDOUT, process_group=0)
        try:
            wait_for_port(self.host, self.port, START_TIMEOUT, self.proc)
        except (TimeoutError, RuntimeError) as exc:
            self.kill()
            raise RuntimeError(f"{self.name} did not start ({exc}); log:\n{self.log()[-4000:]}") from None
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        """SIGTERM, wait, SIGKILL the group if it lingers; removes the work directory."""
        code = 0
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                code = -signal.SIGKILL
        elif self.proc is not None:
            code = self.proc.returncode
        shutil.rmtree(self.workdir, ignore_errors=True)
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


class FerrosaNode(ServerProcess):
    name = "ferrosa"

    def __init__(self, host: str, port: int, shards: int, source: Path | None = None,
                 memtable_bytes: int = 0) -> None:
        super().__init__(host, port)
        self.shards = shards
        self.memtable_bytes = memtable_bytes  # per shard; 0: the node's default
        # Another checkout's code (`python -m bench ab`): its processes import from there.
        self.source = source

    def command(self) -> list[str]:
        return [sys.executable, "-m", "ferrosa.supervisor"]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.source is not None:
            env["PYTHONPATH"] = str(self.source)
        env.update({"FERROSA_DATA_DIR": str(self.workdir / "data"),
                    "FERROSA_CQL_BIND": f"{self.host}:{self.port}",
                    "FERROSA_SHARDS": str(self.shards),
                    "FERROSA_AUTH_DISABLED": "true"})
        if self.memtable_bytes:
            env["FERROSA_MEMTABLE_BYTES"] = str(self.memtable_bytes)
        return env

    def sstables(self) -> int:
        """SSTables on the node's disk now, of every shard and table: after a run, whether its
        flushes and compactions ran."""
        from shards.sstable.format import list_sstables
        return sum(len(list_sstables(directory))
                   for directory, _, _ in os.walk(self.workdir / "data"))

    def caches(self) -> dict[str, CacheUse]:
        """The shards' key and chunk caches now, summed (`ferrosa-ctl --json status`); empty
        when the node does not report them (an older checkout under `bench ab`) or does not
        answer: a run's figures do not depend on them."""
        try:
            done = subprocess.run([sys.executable, "-m", "ferrosa.ctl.main", "--json",
                                   "--data-dir", str(self.workdir / "data"), "status"],
                                  env=self.env(), cwd=self.source or REPO, capture_output=True,
                                  text=True, timeout=STATUS_TIMEOUT, check=False)
            shards = json.loads(done.stdout)["shards"]
        except (subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
            return {}
        out = {}
        for name in ("key", "chunk"):
            known = [s.get(f"{name}_cache") for s in shards if s.get(f"{name}_cache")]
            if known:
                out[name] = CacheUse(*(sum(c[f] for c in known) for f in CacheUse.__struct_fields__))
        return out

    def flush(self) -> None:
        """`ferrosa-ctl flush`: every memtable written to SSTables; returns once done."""
        done = subprocess.run([sys.executable, "-m", "ferrosa.ctl.main", "--data-dir",
                               str(self.workdir / "data"), "flush"], env=self.env(),
                              cwd=self.source or REPO, capture_output=True, text=True,
                              timeout=FLUSH_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"ferrosa-ctl flush failed: {done.stdout}{done.stderr}")


class NullServer(ServerProcess):
    name = "null"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.nullserver", "--bind", f"{self.host}:{self.port}"]


# --- measurement ---------------------------------------------------------------------------


def describe(proc: psutil.Process) -> str:
    """A short role name from a process's command line ('front', 'shard 1', ...)."""
    try:
        cmd = proc.cmdline()
    except psutil.Error:
        return f"pid {proc.pid}"
    if "-m" in cmd and cmd.index("-m") + 1 < len(cmd):
        module = cmd[cmd.index("-m") + 1]
        if "--shard" in cmd and cmd.index("--shard") + 1 < len(cmd):
            return f"shard {cmd[cmd.index('--shard') + 1]}"
        return module.rsplit(".", 2)[-2] if module.endswith(".main") else module.rsplit(".", 1)[-1]
    if any("resource_tracker" in part for part in cmd):
        return "resource_tracker"
    return os.path.basename(cmd[0]) if cmd else f"pid {proc.pid}"


def all_processes_cpu() -> float:
    """CPU seconds (user+system) of every process on the machine, plus interrupt time.

    Summed per process rather than read from /proc/stat's idle counter: that counter is sampled
    at the timer tick, and a generator that wakes on timers runs between ticks, so the machine
    looked 5-40% busy at fixed rates where its processes used 45-70% of the cores. A process's
    own user+system time adds up to its scheduler runtime, which is exact. (Processes that exit
    between two marks are missed; none do while a run is measured.)"""
    total = 0.0
    for proc in psutil.process_iter():
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    machine = psutil.cpu_times()
    return total + getattr(machine, "irq", 0.0) + getattr(machine, "softirq", 0.0)


class KernelCounters(msgspec.Struct, array_like=True):
    """What the kernel did for a set of processes, summed over them (cumulative counters, or
    their growth between two marks).

    - ``system_seconds``: CPU time in the kernel on their behalf (system calls, page faults).
    - ``sleeps``: voluntary context switches: a process blocked (epoll, poll, a futex) and was
      woken later. Per operation, about how many hand-offs between processes it cost.
    - ``preemptions``: involuntary context switches: the scheduler gave the core to another
      task (often one the process had just woken) while it still had work.
    - ``faults``: minor page faults, first touches of fresh memory (a growing memtable);
      None where /proc does not tell them.
    """

    system_seconds: float = 0.0
    sleeps: int = 0
    preemptions: int = 0
    faults: int | None = 0

    def __sub__(self, other: KernelCounters) -> KernelCounters:
        faults = (None if self.faults is None or other.faults is None
                  else self.faults - other.faults)
        return KernelCounters(self.system_seconds - other.system_seconds,
                              self.sleeps - other.sleeps,
                              self.preemptions - other.preemptions, faults)

    def __add__(self, other: KernelCounters) -> KernelCounters:
        faults = (None if self.faults is None or other.faults is None
                  else self.faults + other.faults)
        return KernelCounters(self.system_seconds + other.system_seconds,
                              self.sleeps + other.sleeps,
                              self.preemptions + other.preemptions, faults)


def minor_faults(pid: int) -> int | None:
    """The process's minor page faults so far (/proc/PID/stat field 10), None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[7])  # fields after the command name start at field 3 (state)
    except (OSError, IndexError, ValueError):
        return None


def kernel_counters(proc: psutil.Process, system_seconds: float) -> KernelCounters:
    switches = proc.num_ctx_switches()
    return KernelCounters(system_seconds, switches.voluntary, switches.involuntary,
                          minor_faults(proc.pid))


class CpuMark:
    """CPU seconds (user+system) and kernel counters per pid at one instant, with the
    processes' role names, and the CPU seconds of the whole machine (every process, every
    core)."""

    def __init__(self, at: float, cpu: dict[int, float], names: dict[int, str],
                 kernel: dict[int, KernelCounters] | None = None) -> None:
        self.at = at
        self.cpu = cpu
        self.names = names
        self.kernel = kernel or {}
        self.machine_cpu = all_processes_cpu()
        self.stolen = stolen_cpu()


def stolen_cpu() -> float:
    """CPU seconds the hypervisor gave other guests while this machine's vCPUs wanted to run
    (/proc/stat's steal, all cores; 0 on bare metal). A run with much of it measured a slower
    machine than the same run without."""
    return getattr(psutil.cpu_times(), "steal", 0.0)


class ProcessSampler:
    """Samples a process tree's RSS in a thread; takes CPU marks on demand."""

    def __init__(self, root_pid: int) -> None:
        self.root = psutil.Process(root_pid)
        self._known: dict[int, psutil.Process] = {}
        self.peak_rss = 0
        self.rss_series: list[tuple[float, int]] = []
        self.marks: dict[str, CpuMark] = {}
        self.lost: set[int] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def processes(self) -> list[psutil.Process]:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []
        out = []
        for proc in tree:  # keep one Process per pid: psutil checks pid reuse on it
            out.append(self._known.setdefault(proc.pid, proc))
        return out

    def start(self) -> ProcessSampler:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL):
            self.sample()

    def sample(self) -> None:
        total = 0
        for proc in self.processes():
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        with self._lock:
            self.rss_series.append((time.monotonic(), total))
            self.peak_rss = max(self.peak_rss, total)

    def mark(self, name: str) -> CpuMark:
        cpu, names, kernel = {}, {}, {}
        for proc in self.processes():
            try:
                times = proc.cpu_times()
                kernel[proc.pid] = kernel_counters(proc, times.system)
            except psutil.Error:
                continue
            cpu[proc.pid] = times.user + times.system
            names[proc.pid] = describe(proc)
        self.sample()
        mark = CpuMark(time.monotonic(), cpu, names, kernel)
        self.marks[name] = mark
        return mark

    def machine_busy(self, first: str, second: str) -> float:
        """Share of all cores busy between two marks (anything running, not just the server)."""
        a, b = self.marks[first], self.marks[second]
        capacity = (b.at - a.at) * (psutil.cpu_count() or 1)
        return min(1.0, (b.machine_cpu - a.machine_cpu) / capacity) if capacity > 0 else 0.0

    def stolen_share(self, first: str, second: str) -> float:
        """Share of all cores' time stolen by the hypervisor between two marks."""
        a, b = self.marks[first], self.marks[second]
        capacity = (b.at - a.at) * (psutil.cpu_count() or 1)
        return min(1.0, max(0.0, b.stolen - a.stolen) / capacity) if capacity > 0 else 0.0

    def kernel_between(self, first: str, second: str) -> KernelCounters:
        """The kernel counters' growth between two marks, summed over the processes alive at
        the second (one started in between counts from zero, as in cpu_between)."""
        a, b = self.marks[first], self.marks[second]
        total = KernelCounters()
        for pid, counters in b.kernel.items():
            total = total + (counters - a.kernel.get(pid, KernelCounters()))
        return total

    def settle(self, name: str, quiet_share: float, interval: float, quiet_intervals: int,
               timeout: float) -> bool:
        """Wait until the process tree has used less than `quiet_share` of a core in each of
        `quiet_intervals` intervals in a row, then take mark `name` (at the start of those
        quiet intervals, so their idle CPU is not counted). False, without the mark, when
        `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        before = quiet_since = self.mark(name)
        quiet = 0
        while time.monotonic() < deadline:
            time.sleep(interval)
            after = self.mark(name)
            used = sum(seconds - before.cpu.get(pid, 0.0) for pid, seconds in after.cpu.items())
            if used < quiet_share * (after.at - before.at):
                quiet_since, quiet = (before, 1) if not quiet else (quiet_since, quiet + 1)
            else:
                quiet = 0
            if quiet >= quiet_intervals:
                self.marks[name] = quiet_since
                return True
            before = after
        del self.marks[name]
        return False

    def cpu_between(self, first: str, second: str) -> tuple[float, dict[str, float]]:
        """(total CPU seconds, CPU seconds per role) spent between two marks."""
        a, b = self.marks[first], self.marks[second]
        self.lost = set(a.cpu) - set(b.cpu)
        per_role: dict[str, float] = {}
        for pid, seconds in b.cpu.items():
            role = b.names[pid]
            per_role[role] = per_role.get(role, 0.0) + seconds - a.cpu.get(pid, 0.0)
        return sum(per_role.values()), per_role
