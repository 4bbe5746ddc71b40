"""Node configuration: a TOML file, overridden by FERROSA_* environment variables.

What it is: one immutable `NodeConfig` built once by the supervisor and handed to every process it
starts (serialised with msgspec), so all processes of a node agree on every setting.

What it must not do: read the environment or files anywhere but `load_config`, or hold runtime state.

Precedence, lowest to highest: built-in defaults (the embedded single-node setup: local disk, auth
off) < the config file (`--config PATH`, else `FERROSA_CONFIG`, else `./configs/ferrosa.toml` is NOT
read implicitly: the embedded default needs no file) < environment variables.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Callable, Mapping

import msgspec

from ferrosa.errors import ConfigError

# Cassandra's own default for native_transport_max_frame_size is 16 MiB (Cassandra 4.0+); a frame
# larger than this is refused with a protocol error rather than buffered.
DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
# Each (front, shard) ring pair: big enough for a few thousand in-flight small requests and the
# largest single message (a full result page); see ferrosa/ipc/ring.py for the record limit.
DEFAULT_RING_BYTES = 8 * 1024 * 1024
# The upper bound on shards a node runs: each shard is a process with its own rings and files.
MAX_SHARDS = 256
# The longest wake-up coalescing nap accepted: every request may wait this long twice in the
# front, so beyond 10 ms it would be a latency floor, not a batching aid.
MAX_COALESCE_US = 10_000
# Commit log sync modes, as Cassandra's commitlog_sync.
COMMITLOG_SYNC_MODES = ("periodic", "batch", "group")
# The Linux scheduling policy the supervisor gives itself and so every process it starts
# (ferrosa/process.py apply_cpu_scheduling): batch (SCHED_BATCH), other (SCHED_OTHER) or
# inherit (whatever the node was started with, e.g. systemd's CPUSchedulingPolicy).
CPU_SCHEDULING_CHOICES = ("batch", "other", "inherit")


class NodeConfig(msgspec.Struct, frozen=True):
    cql_host: str = "127.0.0.1"
    cql_port: int = 9042
    data_dir: str = "./data"
    auth_disabled: bool = True
    shards: int = 0  # 0 = one per core
    cluster_name: str = "Test Cluster"
    data_center: str = "datacenter1"
    rack: str = "rack1"
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    ring_bytes: int = DEFAULT_RING_BYTES
    # The number of tokens this node claims in system.local (Cassandra's num_tokens default is 16).
    num_tokens: int = 16
    log_level: str = "INFO"
    # Commit log (Cassandra's defaults: periodic sync every 10 s, 32 MiB segments; the group
    # window has no Cassandra default, 1000 ms is the value cassandra.yaml suggests).
    commitlog_sync: str = "periodic"
    commitlog_sync_period_ms: int = 10_000
    commitlog_sync_group_window_ms: int = 1_000
    commitlog_segment_bytes: int = 32 * 1024 * 1024
    # Memtable bytes per shard (all tables) before the largest memtable is flushed to an SSTable;
    # writes slow down when flushing lets memtables reach twice this.
    memtable_bytes: int = 64 * 1024 * 1024
    # Decompressed SSTable chunks kept per shard for reads (Cassandra's file_cache_size, which
    # defaults to 512 MiB per node); 0 turns the cache off.
    chunk_cache_bytes: int = 32 * 1024 * 1024
    # Index entries of recently read partitions kept per shard (Cassandra's key_cache_size, which
    # defaults to the lesser of 5% of the heap and 100 MiB per node): ~225 bytes per partition
    # with a 10-byte key, so 16 MiB holds ~75k; 0 turns the cache off.
    key_cache_bytes: int = 16 * 1024 * 1024
    # Wake-up coalescing (ferrosa/front/coalescer.py): above coalesce_min_rate requests a second
    # the front sleeps coalesce_us after each busy loop pass to gather requests and replies into
    # bigger batches; 0 (the default) turns it off. Off since clients coalesce their own writes:
    # the nap then cost throughput at saturation (docs/performance.md) and saved ~5% of the CPU
    # per request at half load, with no clearer p99.
    coalesce_us: int = 0
    coalesce_min_rate: int = 2500
    # The node's processes wake each other thousands of times a second (doorbells, sockets):
    # under SCHED_BATCH a process woken does not preempt the one that woke it, which goes on
    # with its pass (docs/performance.md, twenty-sixth session). One of CPU_SCHEDULING_CHOICES.
    cpu_scheduling: str = "batch"

    @property
    def shard_count(self) -> int:
        return self.shards if self.shards > 0 else (os.cpu_count() or 1)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"expected a boolean (true/false), got {text!r}")


def _parse_bind(text: str) -> dict[str, Any]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"expected host:port, got {text!r}")
    return {"cql_host": host.strip("[]"), "cql_port": int(port)}


def _int(name: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        try:
            return {name: int(text)}
        except ValueError:
            raise ConfigError(f"expected an integer for {name}, got {text!r}") from None
    return parse


def _str(name: str) -> Callable[[str], dict[str, Any]]:
    return lambda text: {name: text}


# Environment variable -> parser returning the NodeConfig fields it sets.
ENV_OVERRIDES: Mapping[str, Callable[[str], dict[str, Any]]] = {
    "FERROSA_CQL_BIND": _parse_bind,
    "FERROSA_DATA_DIR": _str("data_dir"),
    "FERROSA_AUTH_DISABLED": lambda t: {"auth_disabled": _parse_bool(t)},
    "FERROSA_SHARDS": _int("shards"),
    "FERROSA_CLUSTER_NAME": _str("cluster_name"),
    "FERROSA_DATA_CENTER": _str("data_center"),
    "FERROSA_RACK": _str("rack"),
    "FERROSA_MAX_FRAME_BYTES": _int("max_frame_bytes"),
    "FERROSA_RING_BYTES": _int("ring_bytes"),
    "FERROSA_NUM_TOKENS": _int("num_tokens"),
    "FERROSA_LOG_LEVEL": _str("log_level"),
    "FERROSA_COMMITLOG_SYNC": lambda t: {"commitlog_sync": t.strip().lower()},
    "FERROSA_COMMITLOG_SYNC_PERIOD_MS": _int("commitlog_sync_period_ms"),
    "FERROSA_COMMITLOG_SYNC_GROUP_WINDOW_MS": _int("commitlog_sync_group_window_ms"),
    "FERROSA_COMMITLOG_SEGMENT_BYTES": _int("commitlog_segment_bytes"),
    "FERROSA_MEMTABLE_BYTES": _int("memtable_bytes"),
    "FERROSA_CHUNK_CACHE_BYTES": _int("chunk_cache_bytes"),
    "FERROSA_KEY_CACHE_BYTES": _int("key_cache_bytes"),
    "FERROSA_COALESCE_US": _int("coalesce_us"),
    "FERROSA_COALESCE_MIN_RATE": _int("coalesce_min_rate"),
    "FERROSA_CPU_SCHEDULING": lambda t: {"cpu_scheduling": t.strip().lower()},
}

# TOML layout: [node] and [cql] tables; keys map onto NodeConfig fields.
_FILE_KEYS: Mapping[str, Mapping[str, Callable[[Any], dict[str, Any]]]] = {
    "node": {
        "data_dir": lambda v: {"data_dir": str(v)},
        "shards": lambda v: {"shards": int(v)},
        "cluster_name": lambda v: {"cluster_name": str(v)},
        "data_center": lambda v: {"data_center": str(v)},
        "rack": lambda v: {"rack": str(v)},
        "num_tokens": lambda v: {"num_tokens": int(v)},
        "ring_bytes": lambda v: {"ring_bytes": int(v)},
        "log_level": lambda v: {"log_level": str(v)},
        "cpu_scheduling": lambda v: {"cpu_scheduling": str(v).lower()},
    },
    "storage": {
        "commitlog_sync": lambda v: {"commitlog_sync": str(v).lower()},
        "commitlog_sync_period_ms": lambda v: {"commitlog_sync_period_ms": int(v)},
        "commitlog_sync_group_window_ms": lambda v: {"commitlog_sync_group_window_ms": int(v)},
        "commitlog_segment_bytes": lambda v: {"commitlog_segment_bytes": int(v)},
        "memtable_bytes": lambda v: {"memtable_bytes": int(v)},
        "chunk_cache_bytes": lambda v: {"chunk_cache_bytes": int(v)},
        "key_cache_bytes": lambda v: {"key_cache_bytes": int(v)},
    },
    "cql": {
        "bind": lambda v: _parse_bind(str(v)),
        "auth_disabled": lambda v: {"auth_disabled": bool(v)},
        "max_frame_bytes": lambda v: {"max_frame_bytes": int(v)},
        "coalesce_us": lambda v: {"coalesce_us": int(v)},
        "coalesce_min_rate": lambda v: {"coalesce_min_rate": int(v)},
    },
}


def _from_file(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    fields: dict[str, Any] = {}
    for section, values in document.items():
        keys = _FILE_KEYS.get(section)
        if keys is None or not isinstance(values, dict):
            raise ConfigError(f"{path}: unknown section [{section}]")
        for key, value in values.items():
            parse = keys.get(key)
            if parse is None:
                raise ConfigError(f"{path}: unknown setting {section}.{key}")
            try:
                fields.update(parse(value))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{path}: bad value for {section}.{key}: {exc}") from None
    return fields


def load_config(path: str | None = None, environ: Mapping[str, str] | None = None) -> NodeConfig:
    env = os.environ if environ is None else environ
    fields: dict[str, Any] = {}
    file_path = path or env.get("FERROSA_CONFIG")
    if file_path:
        fields.update(_from_file(Path(file_path)))
    for name, parse in ENV_OVERRIDES.items():
        if name in env and env[name] != "":
            fields.update(parse(env[name]))
    config = NodeConfig(**fields)
    _validate(config)
    return config


def _validate(config: NodeConfig) -> None:
    if not 1 <= config.shard_count <= MAX_SHARDS:
        raise ConfigError(f"shards must be between 1 and {MAX_SHARDS}, got {config.shard_count}")
    if not 0 < config.cql_port < 65536:
        raise ConfigError(f"CQL port out of range: {config.cql_port}")
    if config.ring_bytes < 1 << 16 or config.ring_bytes & (config.ring_bytes - 1):
        raise ConfigError("ring_bytes must be a power of two of at least 64 KiB")
    if config.max_frame_bytes < 1 << 16:
        raise ConfigError("max_frame_bytes must be at least 64 KiB")
    if not 1 <= config.num_tokens <= 1536:
        raise ConfigError("num_tokens must be between 1 and 1536")
    if config.commitlog_sync not in COMMITLOG_SYNC_MODES:
        raise ConfigError(f"commitlog_sync must be one of {', '.join(COMMITLOG_SYNC_MODES)}, got "
                          f"{config.commitlog_sync!r}")
    for name in ("commitlog_sync_period_ms", "commitlog_sync_group_window_ms"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be at least 1")
    if not 0 <= config.coalesce_us <= MAX_COALESCE_US:
        raise ConfigError(f"coalesce_us must be between 0 and {MAX_COALESCE_US}")
    if config.coalesce_min_rate < 0:
        raise ConfigError("coalesce_min_rate must not be negative")
    if config.cpu_scheduling not in CPU_SCHEDULING_CHOICES:
        raise ConfigError(f"cpu_scheduling must be one of {', '.join(CPU_SCHEDULING_CHOICES)}, "
                          f"got {config.cpu_scheduling!r}")
    if config.commitlog_segment_bytes < 1 << 20:
        raise ConfigError("commitlog_segment_bytes must be at least 1 MiB")
    if config.memtable_bytes < 1 << 16:
        raise ConfigError("memtable_bytes must be at least 64 KiB")
    for name in ("chunk_cache_bytes", "key_cache_bytes"):
        if getattr(config, name) < 0:
            raise ConfigError(f"{name} must not be negative")
