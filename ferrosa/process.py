"""What every process of a node shares at start-up: its config, logging and its tie to the supervisor.

What it is: the hand-over from the supervisor to a child (front or shard): the NodeConfig travels as
JSON in an environment variable, ring and doorbell names in arguments, and each child asks the kernel
to kill it when the supervisor dies (PR_SET_PDEATHSIG), so a SIGKILLed node leaves no orphans behind.

What it must not do: start processes (the supervisor does) or touch data.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import logging
import os
import signal
import socket
import sys

import msgspec

from ferrosa.config import NodeConfig

CONFIG_ENV = "FERROSA_NODE_CONFIG"
_PR_SET_PDEATHSIG = 1


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
