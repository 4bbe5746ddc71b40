"""What every process of a node shares at start-up: its config, logging and its tie to the supervisor.

What it is: the hand-over from the supervisor to a child (front or shard): the NodeConfig travels as
JSON in an environment variable, ring and doorbell names in arguments, and each child asks the kernel
to kill it when the supervisor dies (PR_SET_PDEATHSIG), so a SIGKILLed node leaves no orphans behind.
The CPU scheduling policy every process runs under is set once, by the supervisor, and inherited.

What it must not do: start processes (the supervisor does) or touch data.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import logging
import os
import platform
import signal
import socket
import sys
import sysconfig

import msgspec

from ferrosa.config import NodeConfig

CONFIG_ENV = "FERROSA_NODE_CONFIG"
_PR_SET_PDEATHSIG = 1
# NodeConfig.cpu_scheduling -> the name of the policy in `os` (sched(7)); "inherit" sets none.
_POLICIES = {"batch": "SCHED_BATCH", "other": "SCHED_OTHER"}

log = logging.getLogger(__name__)


def encode_config(config: NodeConfig) -> str:
    return msgspec.json.encode(config).decode()


def config_from_env() -> NodeConfig:
    return msgspec.json.decode(os.environ[CONFIG_ENV].encode(), type=NodeConfig)


def node_id(config: NodeConfig) -> str:
    """A short stable id of this node's data directory: the prefix of its shared-memory names."""
    return hashlib.blake2b(str(config.data_path).encode(), digest_size=5).hexdigest()


def shm_prefix(config: NodeConfig) -> str:
    return f"ferrosa_{node_id(config)}_"


def die_with_parent(expected_parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: orphans are reaped by the supervisor's process group instead
    if os.getppid() != expected_parent:
        sys.exit(1)


def apply_cpu_scheduling(choice: str) -> None:
    """Put every thread of the calling process under the scheduling policy `choice` names
    (NodeConfig.cpu_scheduling: batch, other or inherit); the processes it starts afterwards
    inherit it. The supervisor calls this before it starts any child, so every process of the
    node runs under it, restarted shards too. A policy the system refuses is logged (the
    calling thread is tried first, so a refusal usually leaves every thread as it was): the
    node works either way, only its scheduling differs.

    Why batch: the kernel lets a woken SCHED_OTHER task preempt the one running on its core,
    and the node's processes wake each other for every pass (doorbells, replies). The front
    that rang a shard's doorbell was then preempted by that shard before it wrote the replies
    of its pass. Under SCHED_BATCH a woken process runs on an idle core or when the running
    one sleeps or ends its slice; it still gets its fair share of the CPU."""
    name = _POLICIES.get(choice)
    if name is None:
        return
    try:
        policy, param = getattr(os, name), os.sched_param(0)
        # Every thread of the process: a policy is per thread, and native threads (OpenBLAS's,
        # started when numpy is imported) run before this.
        for tid in _threads():
            try:
                os.sched_setscheduler(tid, policy, param)
            except ProcessLookupError:  # a thread that ended meanwhile
                pass
    except (AttributeError, OSError) as exc:
        log.warning("cannot run every thread under %s (cpu_scheduling = %r): %s", name, choice,
                    exc)
        return
    log.info("running under %s (cpu_scheduling = %r)", name, choice)


def _threads() -> list[int]:
    """The ids of the calling process's threads, the calling thread first (0: itself; it comes
    again among the others, which costs a call and no harm)."""
    try:
        return [0, *map(int, os.listdir("/proc/self/task"))]
    except OSError:  # no /proc: the calling thread only
        return [0]


def libpython_library(maps: str = "/proc/self/maps") -> str | None:
    """The path of the libpython shared library this process mapped (a CPython configured with
    --enable-shared that loads it), None when the interpreter is linked into its executable or
    `maps` (/proc/PID/maps) cannot be read."""
    try:
        with open(maps, encoding="utf-8", errors="replace") as f:
            for line in f:
                # address, perms, offset, device, inode, then the path (which may hold spaces)
                fields = line.rstrip("\n").split(maxsplit=5)
                if len(fields) == 6 and os.path.basename(fields[5]).startswith("libpython"):
                    return fields[5]
    except OSError:
        pass
    return None


def interpreter_text(maps: str = "/proc/self/maps") -> str:
    """This process's Python in one line: implementation and version, the executable (a
    virtual environment's link resolved to the interpreter it runs), and whether
    libpython is a shared library it loaded or is linked into the executable. The build
    matters: on the reference machine a node served a fifth fewer requests a second at
    saturation under pyenv's default CPython (shared libpython, no profile-guided
    optimisation) than under Debian's python3.11 (docs/performance.md, "The interpreter's
    build")."""
    library = libpython_library(maps)
    linkage = (f"libpython shared ({os.path.basename(library)})" if library
               else "libpython linked into the executable")
    return (f"{platform.python_implementation()} {platform.python_version()}, "
            f"{os.path.realpath(sys.executable)}, {linkage}")


def unoptimised_shared_build(maps: str = "/proc/self/maps",
                             configure_args: str | None = None) -> bool:
    """Whether this CPython loads libpython as a shared library and was configured without
    --enable-optimizations (`configure_args`: sysconfig's CONFIG_ARGS), as pyenv builds it by
    default: the build on which a node served a fifth fewer requests. A shared libpython
    alone says nothing: distributions that ship one build it with profile-guided
    optimisation, and a static build need not list its optimisations here (Debian's does
    not)."""
    if configure_args is None:
        configure_args = sysconfig.get_config_var("CONFIG_ARGS") or ""
    return libpython_library(maps) is not None and "--enable-optimizations" not in configure_args


def setup_logging(config: NodeConfig, role: str) -> None:
    logging.basicConfig(
        level=getattr(logging, config.log_level.upper(), logging.INFO),
        format=f"%(asctime)s %(levelname)s [{role}] %(name)s: %(message)s",
        stream=sys.stderr,
    )


class ControlMessage(msgspec.Struct, omit_defaults=True):
    """One line on the supervisor <-> front control socket.

    op: shard_down (supervisor -> front), shard_reset and ready (front -> supervisor).
    """

    op: str
    shard: int = -1


class ControlChannel:
    """JSON lines over the non-blocking socketpair between the supervisor and the front."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        sock.setblocking(False)
        self._buffer = b""

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, msg: ControlMessage) -> None:
        self.sock.sendall(msgspec.json.encode(msg) + b"\n")

    def receive(self) -> list[ControlMessage] | None:
        """Messages complete so far; None once the peer has closed its end."""
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return []
        if not chunk:
            return None
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [msgspec.json.decode(line, type=ControlMessage) for line in lines]


def add_helper_arguments(parser: argparse.ArgumentParser) -> None:
    """--parent-pid and --log-level, shared by the node's helper processes (uploader, warm-up)."""
    parser.add_argument("--parent-pid", type=int, help="exit when this process dies")
    parser.add_argument("--log-level", default=os.environ.get("FERROSA_LOG_LEVEL", "INFO"))


def start_helper(args: argparse.Namespace, role: str) -> None:
    """Log to stderr tagged with `role` and die with the parent named by --parent-pid."""
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format=f"%(asctime)s %(levelname)s [{role}] %(name)s: %(message)s",
                        stream=sys.stderr)
    if args.parent_pid is not None:
        die_with_parent(args.parent_pid)
