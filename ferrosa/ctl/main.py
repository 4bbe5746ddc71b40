"""`ferrosa-ctl`: the operator's command line for a running node (Cassandra's nodetool, for Ferrosa).

What it is: a small client of the node's admin socket (ferrosa/ctl/messages.py). It finds the socket
the way the node finds its data directory (--data-dir, else the node's configuration: --config,
$FERROSA_CONFIG, $FERROSA_DATA_DIR, ./data), sends one command and prints the answer for people or,
with --json, for scripts. Exit status: 0 done, 1 the node answered with an error, 2 no node or bad
usage.

What it must not do: touch data files or shared memory itself: everything goes through the node,
which alone knows what is safe while it serves.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from ferrosa.config import ConfigError, load_config
from ferrosa.ctl.messages import (
    ADMIN_SOCKET_NAME,
    AdminReply,
    AdminRequest,
    CacheStatus,
    NodeStatus,
)

# How long to wait for the node's answer (a status pings every shard: 2 s at most each, in
# parallel); flush and compact wait for the work itself, which can take minutes on big tables.
REPLY_TIMEOUT_SECONDS = 10.0
STORAGE_TIMEOUT_SECONDS = 3600.0
EXIT_OK, EXIT_NODE_ERROR, EXIT_UNREACHABLE = 0, 1, 2


class CtlError(Exception):
    """No node to talk to, or an unusable answer (exit status 2)."""


def find_socket(args: argparse.Namespace) -> Path:
    if args.socket:
        return Path(args.socket)
    if args.data_dir:
        return Path(args.data_dir) / ADMIN_SOCKET_NAME
    try:
        return load_config(args.config).data_path / ADMIN_SOCKET_NAME
    except ConfigError as exc:
        raise CtlError(f"configuration error: {exc}") from None


def call(path: Path, op: str, args: dict[str, Any] | None = None) -> Any:
    """One request/answer exchange on the admin socket; the node's error becomes CtlError."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    timeout = REPLY_TIMEOUT_SECONDS if op == "status" else STORAGE_TIMEOUT_SECONDS
    sock.settimeout(timeout)
    try:
        sock.connect(os.fspath(path))
    except (FileNotFoundError, ConnectionRefusedError):
        raise CtlError(f"no running node has its admin socket at {path} "
                       f"(is the node up? is --data-dir right?)") from None
    except PermissionError:
        raise CtlError(f"permission denied on {path}: run as the node's user") from None
    with sock, sock.makefile("rb") as stream:
        sock.sendall(msgspec.json.encode(AdminRequest(op, args or {})) + b"\n")
        try:
            line = stream.readline()
        except TimeoutError:
            raise CtlError(f"the node did not answer {op!r} within {timeout:.0f}s") from None
    if not line:
        raise CtlError("the node closed the admin connection without answering")
    reply = msgspec.json.decode(line, type=AdminReply)
    if not reply.ok:
        raise NodeError(reply.error)
    return reply.result


class NodeError(Exception):
    """The node answered the command with an error (exit status 1)."""


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _uptime(seconds: float) -> str:
    s = int(seconds)
    days, s = divmod(s, 86400)
    return (f"{days}d " if days else "") + f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def format_status(status: NodeStatus) -> str:
    up = sum(1 for s in status.shards if s.state == "UP")
    lines = [
        f"Node {status.host_id}  {status.cql_address}  ({status.release_version}-compatible)",
        f"Cluster '{status.cluster_name}'  datacenter {status.data_center}  rack {status.rack}",
        f"Uptime {_uptime(status.uptime_seconds)}  connections {status.connections}  "
        f"auth {'on' if status.auth_enabled else 'off'}  schema {status.schema_version}",
        f"Data {status.data_dir}",
        *([f"Uploader {status.uploader['state']} to {status.uploader['store']}: backlog "
           f"{status.uploader['backlog_notices']} notices, {_size(status.uploader['backlog_bytes'])}"
           f", uploaded {_size(status.uploader['uploaded_bytes'])}"
           + (f", last error: {status.uploader['last_error']}"
              if status.uploader.get('last_error') else "")]
          if status.uploader else []),
        f"Shards {up}/{len(status.shards)} up",
        "",
    ]
    header = ("Shard", "State", "PID", "Gen", "First token", "Last token", "Partitions",
              "Memtable", "SSTables", "On disk", "Jobs", "Requests")
    rows = [header] + [(str(s.shard), s.state, str(s.pid), str(s.generation), str(s.first_token),
                        str(s.last_token), str(s.partitions), _size(s.memtable_bytes),
                        str(s.sstables), _size(s.sstable_bytes), str(s.pending_jobs),
                        str(s.requests)) for s in status.shards]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(cell.rjust(w) if i >= 2 else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
    if up:
        lines += ["", _cache_line("Key cache", [s.key_cache for s in status.shards]),
                  _cache_line("Chunk cache", [s.chunk_cache for s in status.shards])]
    return "\n".join(lines)


def _cache_line(name: str, caches: list[CacheStatus | None]) -> str:
    """One cache of every shard that reports it, summed (as `nodetool info` prints its caches)."""
    known = [c for c in caches if c is not None]
    if not known:
        return f"{name:<12} off"
    entries, size, capacity, hits, misses = (sum(getattr(c, f) for c in known) for f in (
        "entries", "bytes", "capacity", "hits", "misses"))
    lookups = hits + misses
    served = (f"{hits / lookups:.1%} of {lookups:,} lookups hit" if lookups
              else "no lookups yet")
    return f"{name:<12} {entries:,} entries, {_size(size)} of {_size(capacity)}; {served}"


def cmd_status(path: Path, args: argparse.Namespace) -> int:
    result = call(path, "status")
    status = msgspec.convert(result, NodeStatus)
    if args.json:
        print(msgspec.json.format(msgspec.json.encode(status)).decode())
    else:
        print(format_status(status))
    return EXIT_OK if all(s.state == "UP" for s in status.shards) else EXIT_NODE_ERROR


def _storage_command(op: str) -> Callable[[Path, argparse.Namespace], int]:
    def run(path: Path, args: argparse.Namespace) -> int:
        target = {k: v for k, v in (("keyspace", args.keyspace), ("table", args.table)) if v}
        result = call(path, op, target)
        if args.json:
            print(msgspec.json.encode(result).decode())
        else:
            tables = ", ".join(result["tables"]) or "no tables"
            print(f"{op}: {tables} ({result['seconds']:.2f} s)")
        return EXIT_OK
    return run


COMMANDS: dict[str, tuple[str, Callable[[Path, argparse.Namespace], int]]] = {
    "status": ("the node, its shards and their token ranges (exit 1 if a shard is not UP)",
               cmd_status),
    "flush": ("write memtables to SSTables ([keyspace [table]], default all); waits until done",
              _storage_command("flush")),
    "compact": ("merge each table's SSTables into one ([keyspace [table]]); waits until done",
                _storage_command("compact")),
}
_TABLE_COMMANDS = ("flush", "compact")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ferrosa-ctl", description="Administer a running "
                                     "Ferrosa node through its admin socket.")
    parser.add_argument("--data-dir", help="the node's data directory (default: from the node's "
                        "configuration: --config, $FERROSA_CONFIG, $FERROSA_DATA_DIR, ./data)")
    parser.add_argument("--config", help="the node's TOML config file")
    parser.add_argument("--socket", help="the admin socket itself (default: DATA_DIR/admin.sock)")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (help_text, _fn) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text)
        if name in _TABLE_COMMANDS:
            command.add_argument("keyspace", nargs="?")
            command.add_argument("table", nargs="?")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][1](find_socket(args), args)
    except CtlError as exc:
        print(f"ferrosa-ctl: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except NodeError as exc:
        print(f"ferrosa-ctl: the node says: {exc}", file=sys.stderr)
        return EXIT_NODE_ERROR


if __name__ == "__main__":
    sys.exit(main())
