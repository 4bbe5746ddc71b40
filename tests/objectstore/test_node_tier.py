"""A real node with the object store tier: uploads after flushes, recovery of a node whose disk
is lost, and a bucket that belongs to another cluster refused at start."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cassandra.cluster import Cluster

from tests.integration.node import REPO, NodeProcess
from tests.objectstore.conftest import settings_env

ROWS = 400


def _status(node: NodeProcess) -> dict:
    out = subprocess.run([sys.executable, "-m", "ferrosa.ctl.main", "--json", "--data-dir",
                          str(node.data_dir), "status"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    return json.loads(out.stdout)


def _ctl(node: NodeProcess, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "ferrosa.ctl.main", "--data-dir", str(node.data_dir),
                    *args], cwd=REPO, check=True, capture_output=True, timeout=120)


def _wait_uploaded(node: NodeProcess, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        uploader = _status(node).get("uploader")
        if uploader and uploader["backlog_notices"] == 0 and uploader["manifest_updates"] > 0:
            return uploader
        time.sleep(0.3)
    raise AssertionError(f"uploads did not finish: {_status(node).get('uploader')}")


def test_lost_disk_is_restored_from_the_bucket(tmp_path: Path, settings) -> None:
    env = settings_env(settings)
    node = NodeProcess(tmp_path / "data", host="127.0.0.47", shards=2, extra_env=env).start()
    try:
        cluster = Cluster([node.host], port=node.port, protocol_version=5)
        s = cluster.connect()
        s.execute("CREATE KEYSPACE tier WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}")
        s.execute("CREATE TABLE tier.t (k int PRIMARY KEY, v text)")
        insert = s.prepare("INSERT INTO tier.t (k, v) VALUES (?, ?)")
        for k in range(ROWS):
            s.execute(insert, (k, f"value {k}"))
        cluster.shutdown()
        _ctl(node, "flush")
        uploader = _wait_uploaded(node)
        assert uploader["uploaded_bytes"] > 0 and uploader["state"] in ("idle", "uploading")
        assert "Uploader" in subprocess.run(
            [sys.executable, "-m", "ferrosa.ctl.main", "--data-dir", str(node.data_dir),
             "status"], cwd=REPO, capture_output=True, text=True, timeout=60).stdout
        assert node.stop() == 0
        shutil.rmtree(node.data_dir)  # the disk is lost
        node.start()
        assert "restored node" in node.log()
        cluster = Cluster([node.host], port=node.port, protocol_version=5)
        s = cluster.connect()
        got = {r.k: r.v for r in s.execute("SELECT k, v FROM tier.t")}
        assert got == {k: f"value {k}" for k in range(ROWS)}
        cluster.shutdown()
        assert node.stop() == 0
    finally:
        node.kill()


def test_a_bucket_of_another_cluster_is_refused(tmp_path: Path, settings) -> None:
    env = settings_env(settings)
    first = NodeProcess(tmp_path / "a", host="127.0.0.48", shards=1, extra_env=env).start()
    try:
        assert first.stop() == 0
        other = NodeProcess(tmp_path / "b", host="127.0.0.48", shards=1,
                            extra_env={**env, "FERROSA_CLUSTER_NAME": "Another Cluster"})
        with pytest.raises(RuntimeError) as info:
            other.start()
        assert "object store" in str(info.value)
    finally:
        first.kill()
