"""What every process of a node shares at start-up: its config, logging and its tie to the supervisor.

What it is: the hand-over from the supervisor to a child (front or shard): the NodeConfig travels as
JSON in an environment variable, ring and doorbell names in arguments, and each child asks the kernel
to kill it when the supervisor dies (PR_SET_PDEATHSIG), so a SIGKILLed node leaves no orphans behind.

What it must not do: start processes (the supervisor does) or touch data.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import signal
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
