"""Test helpers: the uploader as a real subprocess, or in-process until its backlog is empty."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ferrosa.objectstore import layout
from ferrosa.objectstore.manifest import Manifest, ManifestStore
from ferrosa.objectstore.settings import (
    SETTINGS_ENV,
    ObjectStoreSettings,
    settings_to_json,
)
from ferrosa.objectstore.status import UploaderStatus, read_status
from ferrosa.objectstore.uploader import Uploader

HOST = "6d1e0c4b-0000-4000-8000-00000000000a"
CLUSTER = "Test Cluster"


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition",
              interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


class UploaderProcess:
    def __init__(self, data_dir: Path, settings: ObjectStoreSettings, host_id: str = HOST,
                 max_backoff: float = 0.3, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.host_id = host_id
        self.max_backoff = max_backoff
        self.extra_env = env
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / "uploader.log"

    def start(self) -> UploaderProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if self.extra_env is None:
            env[SETTINGS_ENV] = settings_to_json(self.settings)
        else:
            env.pop(SETTINGS_ENV, None)
            env.update(self.extra_env)
        argv = [sys.executable, "-m", "ferrosa.objectstore.uploader", "--data-dir",
                str(self.data_dir), "--host-id", self.host_id, "--cluster-name", CLUSTER,
                "--max-backoff", str(self.max_backoff)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        return self

    def status(self) -> UploaderStatus | None:
        return read_status(self.data_dir)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_idle(self, timeout: float = 20.0) -> UploaderStatus:
        def idle():
            status = self.status()
            if self.proc.poll() is not None:
                raise AssertionError(f"uploader exited {self.proc.returncode}:\n{self.log()}")
            return status if status and status.state == "idle" and status.pid == self.proc.pid \
                else None
        return wait_for(idle, timeout, "the uploader to be idle")

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def manifest(store: object, prefix: str, shard: int, table_id: bytes,
             host_id: str = HOST) -> Manifest | None:
    return ManifestStore(store).read_sync(layout.manifest_key(prefix, host_id, shard, table_id))


def listed(store: object, prefix: str, shard: int, table_id: bytes,
           host_id: str = HOST) -> set[int]:
    found = manifest(store, prefix, shard, table_id, host_id)
    return {e.generation for e in found.sstables} if found else set()


def upload_in_process(store: object, settings: ObjectStoreSettings, data_dir: Path,
                      host_id: str = HOST, timeout: float = 30.0) -> UploaderStatus:
    """Run an Uploader in this process until every notice written so far is carried out."""
    async def go() -> UploaderStatus:
        stop = asyncio.Event()
        uploader = Uploader(store, settings, data_dir, host_id, CLUSTER, max_backoff=0.3)
        task = asyncio.create_task(uploader.run(stop))
        deadline = time.monotonic() + timeout
        await asyncio.sleep(0.3)
        while uploader.status.backlog_notices or uploader.status.state in ("checking",):
            if time.monotonic() > deadline or task.done():
                stop.set()
                await task
                raise AssertionError(f"uploader did not drain: {uploader.status}")
            await asyncio.sleep(0.05)
        stop.set()
        assert await task == 0
        return uploader.status
    return asyncio.run(go())
