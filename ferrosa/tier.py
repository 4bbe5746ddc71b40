"""The object-store tier as the supervisor runs it: bucket check, restore at start, the uploader.

What it is: `DurableTier`, created by the supervisor when FERROSA_S3_* (or FERROSA_LOCAL_STORE_PATH)
configure an object store (ferrosa/objectstore). At start it checks that the bucket and prefix
belong to this cluster, and a node whose data directory has no identity yet (a new machine, a lost
disk) is restored from the bucket: its metadata files, then every shard's SSTables, flushed
positions and archived commit log segments (replayed by the shard as at any start). Once the node serves, it runs the uploader process and restarts it if
it dies (unless it refused the bucket).

What it must not do: block the supervisor's loop after start (restore happens before any child
runs), or start anything when no object store is configured (the embedded default).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from ferrosa.durable import write_atomically
from ferrosa.errors import StartupError

log = logging.getLogger("ferrosa.tier")

# The uploader exits with this status when it refuses the bucket: restarting would not help.
UPLOADER_REFUSED = 2
UPLOADER_RESTART_DELAY = 2.0


class DurableTier:
    def __init__(self, settings, data_dir: Path, cluster_name: str) -> None:
        from ferrosa.objectstore import open_store
        self.settings = settings
        self.data = data_dir
        self.cluster_name = cluster_name
        self.store = open_store(settings)
        self.proc: subprocess.Popen | None = None
        self.warmup: subprocess.Popen | None = None
        self.restart_at: float | None = None

    @classmethod
    def from_env(cls, environ, data_dir: Path, cluster_name: str) -> DurableTier | None:
        from ferrosa.objectstore import settings_from_env
        settings = settings_from_env(environ)
        if not settings.enabled:
            return None
        return cls(settings, data_dir, cluster_name)

    def child_env(self, env: dict[str, str]) -> dict[str, str]:
        from ferrosa.objectstore import SETTINGS_ENV, settings_to_json
        env[SETTINGS_ENV] = settings_to_json(self.settings)
        return env

    # -- start ----------------------------------------------------------------------------------
    def prepare(self, shard_count: int) -> None:
        """Check the bucket; restore a node that has no identity yet from it."""
        from ferrosa.objectstore import check_bucket
        from ferrosa.objectstore.errors import ObjectStoreError
        try:
            check_bucket(self.store, self.settings.prefix, self.cluster_name)
        except ObjectStoreError as exc:
            raise StartupError(f"object store {self.settings.describe()}: {exc}") from None
        if not (self.data / "node.json").exists():
            self._restore(shard_count)

    def _restore(self, shard_count: int) -> None:
        from ferrosa.objectstore import list_hosts, restore, restore_node_files
        hosts = list_hosts(self.store, self.settings.prefix)
        wanted = os.environ.get("FERROSA_HOST_ID")
        if wanted:
            hosts = [h for h in hosts if h == wanted] or [wanted]
        if not hosts:
            log.info("object store %s holds no node yet: starting empty",
                     self.settings.describe())
            return
        if len(hosts) > 1:
            raise StartupError(f"the bucket holds several nodes ({', '.join(hosts)}): set "
                               f"FERROSA_HOST_ID to the one this machine replaces")
        host = hosts[0]
        started = time.monotonic()
        names = restore_node_files(self.store, self.settings.prefix, host, self.data)
        total = segments = remote = 0
        for shard in range(shard_count):
            directory = self.data / "data" / f"shard-{shard}"
            directory.mkdir(parents=True, exist_ok=True)
            report = restore(self.store, self.settings.prefix, host, shard, str(directory),
                             commitlog_directory=str(self.data / "commitlog" / f"shard-{shard}"),
                             lazy_data=True)
            total += report.bytes
            remote += report.remote_bytes
            segments += len(report.segments)
            if report.flushed:
                write_atomically(directory / "flushed.json", msgspec.json.encode(
                    {table: list(position) for table, position in report.flushed.items()}))
        log.info("restored node %s from %s: %s, %d bytes of SSTables and %d archived commit log "
                 "segments in %.2f s; %d bytes of SSTable data stay in the bucket until the "
                 "warm-up brings them home", host, self.settings.describe(),
                 ", ".join(names) or "no metadata files", total, segments,
                 time.monotonic() - started, remote)

    # -- the uploader and warm-up processes ------------------------------------------------------
    def start_uploader(self, env: dict[str, str]) -> None:
        from ferrosa.objectstore.uploader import uploader_argv
        argv = uploader_argv(str(self.data), None, self.cluster_name, os.getpid())
        self.proc = subprocess.Popen(argv, env=self.child_env(dict(env)))
        self.restart_at = None
        log.info("uploader started (pid %d) for %s", self.proc.pid, self.settings.describe())
        if self.warmup is None and self._has_remote_data():
            self.warmup = subprocess.Popen(
                [sys.executable, "-m", "ferrosa.objectstore.warmup", "--data-dir",
                 str(self.data), "--parent-pid", str(os.getpid())],
                env=self.child_env(dict(env)))
            log.info("warm-up started (pid %d): SSTable data in the bucket comes home",
                     self.warmup.pid)

    def _has_remote_data(self) -> bool:
        """Data only in the bucket (after a lazy restore) with room for it on local disk."""
        from ferrosa.objectstore.warmup import remote_sstables
        return any(remote_sstables(d) for d in (self.data / "data").glob("shard-*"))

    def poll(self, env: dict[str, str]) -> None:
        """From the supervisor's loop: restart a dead uploader after a short delay."""
        now = time.monotonic()
        if self.warmup is not None and self.warmup.poll() is not None:
            if self.warmup.returncode:
                log.error("warm-up exited with status %s; the data it did not fetch is read from "
                          "the bucket", self.warmup.returncode)
            self.warmup = None
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            self.proc = None
            if code == UPLOADER_REFUSED:
                log.error("the uploader refused the object store (exit %d): not restarting it; "
                          "uploads wait in DATA_DIR/uploads", code)
                return
            log.error("uploader exited with status %s: restarting it", code)
            self.restart_at = now + UPLOADER_RESTART_DELAY
        if self.proc is None and self.restart_at is not None and now >= self.restart_at:
            self.start_uploader(env)

    def stop(self) -> subprocess.Popen | None:
        if self.warmup is not None and self.warmup.poll() is None:
            self.warmup.kill()  # nothing to finish: a partial download is a .tmp file
            self.warmup.wait()
        self.warmup = None
        proc, self.proc, self.restart_at = self.proc, None, None
        return proc
