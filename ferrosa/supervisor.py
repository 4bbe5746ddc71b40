"""The `ferrosa` command: the supervisor process that starts, watches and stops a node's processes.

What it is: the node's root process. It owns the node's shared-memory rings and doorbells (it creates
and, at exit, unlinks them), starts one front process and one process per shard, restarts a shard that
dies, and stops everything on SIGTERM/SIGINT with exit status 0.

What it must not do: serve requests or touch data files; it only manages processes and resources.

Theory of operation (shard restart, the one delicate sequence):
1. A shard process exits unexpectedly (waitpid reports it).
2. The supervisor tells the front `shard_down` over the control socket. The front stops routing to
   that shard, fails every request in flight to it with a clear error, zeroes both rings' counters
   (safe: the only other user of the rings is dead) and answers `shard_reset`.
3. The supervisor starts a new shard process (next generation), which sends Hello on its reply ring;
   the front routes to it again from that moment.
Restarts of a shard that keeps crashing back off exponentially (up to MAX_RESTART_DELAY) so a crash
loop cannot eat the machine.

If the front process dies the node cannot serve; the supervisor stops the whole node and exits with
status 1, leaving the restart to systemd (Restart=on-failure), which starts from a clean slate.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time

from ferrosa.config import NodeConfig, load_config
from ferrosa.durable import write_atomically
from ferrosa.errors import ConfigError, FerrosaError, StartupError
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.shm import RingPair, remove_stale_segments
from ferrosa.process import (
    CONFIG_ENV,
    ControlChannel,
    ControlMessage,
    apply_cpu_scheduling,
    encode_config,
    interpreter_text,
    node_id,
    setup_logging,
    unoptimised_shared_build,
)
from ferrosa.tier import DurableTier

log = logging.getLogger("ferrosa.supervisor")

# Restart back-off for a shard that keeps dying: doubles from the first delay up to the maximum,
# and resets once a shard has stayed up for STABLE_AFTER seconds.
FIRST_RESTART_DELAY = 0.05
MAX_RESTART_DELAY = 5.0
STABLE_AFTER = 30.0
# How long SIGTERM'd children get to exit before SIGKILL.
STOP_GRACE_SECONDS = 10.0
# Records the shard count that wrote the data directory (see Supervisor._check_layout).
LAYOUT_FILE = "layout.json"


class ShardSlot:
    def __init__(self, index: int, rings: RingPair, doorbell: Doorbell) -> None:
        self.index = index
        self.rings = rings
        self.doorbell = doorbell
        self.proc: subprocess.Popen | None = None
        self.generation = 0
        self.started_at = 0.0
        self.delay = FIRST_RESTART_DELAY
        self.restart_at: float | None = None  # set once the front has reset the rings
        self.restarts = 0


class Supervisor:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.data = config.data_path
        self.node_id = node_id(config)
        self.slots: list[ShardSlot] = []
        self.front: subprocess.Popen | None = None
        self.reply_doorbell: Doorbell | None = None
        self.control: ControlChannel | None = None
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        self.exit_code = 0
        self._lock_file = None
        self.tier: DurableTier | None = None

    # -- start -------------------------------------------------------------------------------
    def start(self) -> None:
        # Before any child: each inherits the policy (restarted shards and the uploader too).
        apply_cpu_scheduling(self.config.cpu_scheduling)
        self.data.mkdir(parents=True, exist_ok=True)
        self._lock_data_dir()
        self._check_layout()
        self.tier = DurableTier.from_env(os.environ, self.data, self.config.cluster_name)
        if self.tier is not None:
            self.tier.prepare(self.config.shard_count)
        removed = remove_stale_segments(self.node_id)
        if removed:
            log.info("removed %d stale shared-memory segments of an earlier run", len(removed))
        self.reply_doorbell = Doorbell()
        for index in range(self.config.shard_count):
            rings = RingPair.create(self.node_id, 0, index, self.config.ring_bytes)
            self.slots.append(ShardSlot(index, rings, Doorbell()))
        front_side, own_side = socket.socketpair()
        self.control = ControlChannel(own_side)
        self.selector.register(self.control, selectors.EVENT_READ, self._on_control)
        for slot in self.slots:
            self._start_shard(slot)
        self._start_front(front_side)
        front_side.close()

    def _lock_data_dir(self) -> None:
        lock_path = self.data / "ferrosa.lock"
        self._lock_file = open(lock_path, "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            owner = self._lock_file.read().strip() or "another process"
            raise StartupError(f"data directory {self.data} is in use by {owner}") from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(f"pid {os.getpid()}\n")
        self._lock_file.flush()

    def _check_layout(self) -> None:
        """Each shard's files hold its token slice: the slices depend on the shard count, so a data
        directory is only ever served with the shard count that wrote it."""
        path = self.data / LAYOUT_FILE
        shards = self.config.shard_count
        if path.exists():
            written = json.loads(path.read_text())["shards"]
            if written != shards:
                raise StartupError(
                    f"data directory {self.data} was written by {written} shards but "
                    f"FERROSA_SHARDS gives {shards}: changing the shard count of existing data "
                    f"(resharding) is not supported yet; start with FERROSA_SHARDS={written}")
            return
        write_atomically(path, json.dumps({"shards": shards}).encode())

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env[CONFIG_ENV] = encode_config(self.config)
        if self.tier is not None:
            self.tier.child_env(env)
        return env

    def _start_shard(self, slot: ShardSlot) -> None:
        slot.generation += 1
        args = [sys.executable, "-m", "shards.worker", "--shard", str(slot.index),
                "--node-id", self.node_id, "--request-doorbell", str(slot.doorbell.fileno()),
                "--reply-doorbell", str(self.reply_doorbell.fileno()),
                "--generation", str(slot.generation), "--parent", str(os.getpid())]
        slot.proc = subprocess.Popen(args, env=self._child_env(),
                                     pass_fds=(slot.doorbell.fileno(), self.reply_doorbell.fileno()))
        slot.started_at = time.monotonic()
        slot.restart_at = None
        log.info("shard %d started (pid %d, generation %d)", slot.index, slot.proc.pid,
                 slot.generation)

    def _start_front(self, control: socket.socket) -> None:
        fds = [control.fileno(), self.reply_doorbell.fileno()]
        args = [sys.executable, "-m", "ferrosa.front.main", "--control", str(control.fileno()),
                "--node-id", self.node_id,
                "--reply-doorbell", str(self.reply_doorbell.fileno()), "--parent", str(os.getpid())]
        for slot in self.slots:
            args += ["--shard-doorbell", str(slot.doorbell.fileno())]
            fds.append(slot.doorbell.fileno())
        self.front = subprocess.Popen(args, env=self._child_env(), pass_fds=tuple(fds))
        log.info("front started (pid %d)", self.front.pid)

    # -- run ---------------------------------------------------------------------------------
    def run(self) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        signal.set_wakeup_fd(wake_w)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_stop_signal)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(wake_r, selectors.EVENT_READ, lambda: os.read(wake_r, 4096))
        while not self.stopping:
            for key, _ in self.selector.select(timeout=0.2):
                key.data()
            self._reap()
            self._restart_due()
            if self.tier is not None:
                self.tier.poll(self._child_env())
        self._stop_children()
        return self.exit_code

    def _on_stop_signal(self, signum: int, _frame) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.stopping = True

    def _reap(self) -> None:
        if self.front is not None and self.front.poll() is not None and not self.stopping:
            log.error("front process exited with status %s: stopping the node",
                      self.front.returncode)
            self.exit_code = 1
            self.stopping = True
            return
        for slot in self.slots:
            if slot.proc is not None and slot.proc.poll() is not None and not self.stopping:
                code = slot.proc.returncode
                log.error("shard %d (pid %d) died with status %s", slot.index, slot.proc.pid, code)
                slot.proc = None
                slot.restarts += 1
                if time.monotonic() - slot.started_at > STABLE_AFTER:
                    slot.delay = FIRST_RESTART_DELAY
                self._send_control(ControlMessage("shard_down", slot.index))

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.proc is None and slot.restart_at is not None and now >= slot.restart_at:
                self._start_shard(slot)

    def _on_control(self) -> None:
        # None: the front is gone; _reap notices its exit.
        for msg in self.control.receive() or ():
            if msg.op == "shard_reset":
                slot = self.slots[msg.shard]
                slot.restart_at = time.monotonic() + slot.delay
                slot.delay = min(slot.delay * 2, MAX_RESTART_DELAY)
            elif msg.op == "ready":
                log.info("node ready: CQL on %s:%d, %d shards, data in %s", self.config.cql_host,
                         self.config.cql_port, len(self.slots), self.data)
                if self.tier is not None and self.tier.proc is None:
                    self.tier.start_uploader(self._child_env())  # node.json exists now

    def _send_control(self, msg: ControlMessage) -> None:
        try:
            self.control.send(msg)
        except OSError as exc:
            log.error("cannot reach the front: %s", exc)

    # -- stop --------------------------------------------------------------------------------
    def _stop_children(self) -> None:
        uploader = self.tier.stop() if self.tier is not None else None
        procs = [p for p in [self.front, uploader] + [s.proc for s in self.slots]
                 if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in procs:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in time: killing it", proc.pid)
                proc.kill()
                proc.wait()
        self.close()

    def close(self) -> None:
        for slot in self.slots:
            slot.rings.close()
            slot.rings.unlink()
            slot.doorbell.close()
        if self.reply_doorbell is not None:
            self.reply_doorbell.close()
        if self._lock_file is not None:
            self._lock_file.close()
        log.info("node stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ferrosa", description="Run a Ferrosa node.")
    parser.add_argument("--config", help="TOML config file (default: $FERROSA_CONFIG, else none)")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"ferrosa: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config, "supervisor")
    log.info("Python: %s", interpreter_text())
    if unoptimised_shared_build():
        # Not an error: the node works the same, at a higher CPU cost per request.
        log.info("this CPython loads libpython as a shared library and was configured without "
                 "--enable-optimizations, as pyenv builds it by default: a node on such a "
                 "build served a fifth fewer requests a second at saturation than on Debian's "
                 "python3.11 (docs/performance.md, \"The interpreter's build\")")
    supervisor = Supervisor(config)
    try:
        supervisor.start()
    except FerrosaError as exc:
        log.error("%s", exc)
        supervisor.close()
        return 1
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
