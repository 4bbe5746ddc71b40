"""The admin protocol between `ferrosa-ctl` and a running node: one JSON object per line.

Theory of operation: the front process listens on a Unix socket in the data directory
(`admin.sock`, mode 0600: only the node's own user may administer it). A client writes one
`AdminRequest` line and reads one `AdminReply` line; the connection may carry several exchanges.
`op` selects the command; `result` holds the command's own Struct (e.g. `NodeStatus`) as JSON.

What it must not do: import the front or any I/O: both ends (front/admin.py, ctl/main.py) use it.
"""

from __future__ import annotations

from typing import Any

import msgspec

ADMIN_SOCKET_NAME = "admin.sock"
# Unix socket paths are limited by sockaddr_un.sun_path (108 bytes on Linux, NUL included).
MAX_SOCKET_PATH_BYTES = 107
# Requests are tiny JSON objects; a longer line is not a request.
MAX_REQUEST_BYTES = 64 * 1024


class AdminRequest(msgspec.Struct, omit_defaults=True):
    op: str
    args: dict[str, Any] = {}


class AdminReply(msgspec.Struct, omit_defaults=True):
    ok: bool
    result: Any = None
    error: str = ""


class CacheStatus(msgspec.Struct):
    """A shard's key cache or chunk cache since the shard started (`nodetool info`'s lines)."""

    entries: int
    bytes: int
    capacity: int
    hits: int
    misses: int


class ShardStatus(msgspec.Struct):
    shard: int
    state: str  # UP | DOWN (restarting) | TIMEOUT (alive but did not answer in time)
    pid: int
    generation: int  # 1 for the first process; +1 at each restart by the supervisor
    first_token: int
    last_token: int
    partitions: int = 0
    memtable_bytes: int = 0
    requests: int = 0
    sstables: int = 0
    sstable_bytes: int = 0
    pending_jobs: int = 0  # flushes and compactions queued or running
    # None: the shard is not UP, or runs without that cache.
    key_cache: CacheStatus | None = None
    chunk_cache: CacheStatus | None = None


class NodeStatus(msgspec.Struct):
    host_id: str
    cluster_name: str
    data_center: str
    rack: str
    cql_address: str
    release_version: str
    schema_version: str
    uptime_seconds: float
    front_pid: int
    connections: int
    data_dir: str
    auth_enabled: bool
    shards: list[ShardStatus]
    # The uploader's own status file (ferrosa/objectstore/status.py) when an object store is
    # configured: state, backlog, uploaded bytes, last error.
    uploader: dict | None = None
