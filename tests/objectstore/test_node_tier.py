"""A real node with the object store tier: uploads after flushes, recovery of a node whose disk
is lost, and a bucket that belongs to another cluster refused at start."""

from __future__ import annotations

import json
import re
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


def _wait_uploader(node: NodeProcess, done, what: str, timeout: float = 60) -> dict:
    """Poll `ferrosa-ctl status` until done(uploader section) holds; returns that section."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        uploader = _status(node).get("uploader")
        if uploader and done(uploader):
            return uploader
        time.sleep(0.3)
    raise AssertionError(f"{what}: {_status(node).get('uploader')}")


def _wait_uploaded(node: NodeProcess, timeout: float = 60) -> dict:
    return _wait_uploader(node, lambda u: u["backlog_notices"] == 0 and u["manifest_updates"] > 0,
                          "uploads did not finish", timeout)


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
        # Lazy: the node serves before SSTable data is local; the warm-up then fetches it.
        restored = re.search(r"restored node .* (\d+) bytes of SSTable data stay in the bucket",
                             node.log())
        assert restored and int(restored.group(1)) > 0, node.log()
        cluster = Cluster([node.host], port=node.port, protocol_version=5)
        s = cluster.connect()
        got = {r.k: r.v for r in s.execute("SELECT k, v FROM tier.t")}
        assert got == {k: f"value {k}" for k in range(ROWS)}
        deadline = time.monotonic() + 30

        def shard_files() -> list[str]:
            return [p.name for p in (node.data_dir / "data").glob("shard-*/*.db")]
        while any(name.endswith("-Remote.db") for name in shard_files()):
            assert time.monotonic() < deadline, shard_files()
            time.sleep(0.3)
        assert "warm-up done" in node.log()
        assert any(name.endswith("-Data.db") for name in shard_files())
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


def _wait_archived(node: NodeProcess, since: int, timeout: float = 60) -> dict:
    """Wait until more than `since` segments are archived and nothing is pending."""
    return _wait_uploader(node, lambda u: u["archived_segments"] > since
                          and u["backlog_notices"] == 0, "no segment was archived", timeout)


def test_unflushed_writes_come_back_from_archived_segments(tmp_path: Path, settings) -> None:
    """Lose the disk with writes that never reached an SSTable: the archived segments bring them
    back, counters are not counted twice, and TRUNCATEd data stays gone."""
    env = {**settings_env(settings), "FERROSA_S3_COMMITLOG_ARCHIVE_SECONDS": "1"}
    node = NodeProcess(tmp_path / "data", host="127.0.0.57", shards=2, extra_env=env).start()
    try:
        cluster = Cluster([node.host], port=node.port, protocol_version=5)
        s = cluster.connect()
        s.execute("CREATE KEYSPACE arc WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}")
        s.execute("CREATE TABLE arc.t (k int PRIMARY KEY, v text)")
        s.execute("CREATE TABLE arc.u (k int PRIMARY KEY, v int)")
        s.execute("CREATE TABLE arc.c (k int PRIMARY KEY, n counter)")
        insert = s.prepare("INSERT INTO arc.t (k, v) VALUES (?, ?)")
        bump = s.prepare("UPDATE arc.c SET n = n + 1 WHERE k = ?")
        for k in range(ROWS // 2):
            s.execute(insert, (k, f"value {k}"))
            s.execute("INSERT INTO arc.u (k, v) VALUES (%s, 1)", (k,))
        for _ in range(10):
            s.execute(bump, (7,))
        _ctl(node, "flush")  # half of t, all of u before the truncate and 10 bumps in SSTables
        s.execute("TRUNCATE arc.u")
        for k in range(ROWS // 2, ROWS):
            s.execute(insert, (k, f"value {k}"))
        s.execute("INSERT INTO arc.u (k, v) VALUES (1000, 2)")
        for _ in range(5):
            s.execute(bump, (7,))
        cluster.shutdown()
        time.sleep(2.5)  # past the archive interval: the segments holding these writes are sealed
        uploader = _wait_archived(node, since=0)
        assert uploader["failed_notices"] == 0
        node.kill()
        shutil.rmtree(node.data_dir)  # the disk is lost; nothing was flushed after the truncate
        node.start()
        assert "archived commit log segments" in node.log()
        cluster = Cluster([node.host], port=node.port, protocol_version=5)
        s = cluster.connect()
        assert {r.k: r.v for r in s.execute("SELECT k, v FROM arc.t")} == {
            k: f"value {k}" for k in range(ROWS)}
        assert [(r.k, r.v) for r in s.execute("SELECT k, v FROM arc.u")] == [(1000, 2)]
        assert s.execute("SELECT n FROM arc.c WHERE k = 7").one().n == 15
        cluster.shutdown()
        assert node.stop() == 0
    finally:
        node.kill()


def test_cold_sstables_are_evicted_and_read_from_the_bucket(tmp_path: Path, settings) -> None:
    """FERROSA_CACHE_MAX_BYTES below the data size: uploaded Data leaves the disk and every read,
    before and after a restart, is served from the bucket."""
    env = {**settings_env(settings), "FERROSA_CACHE_MAX_BYTES": "1"}
    node = NodeProcess(tmp_path / "data", host="127.0.0.58", shards=1, extra_env=env).start()
    shard_dir = node.data_dir / "data" / "shard-0"
    try:
        cluster = Cluster([node.host], port=node.port, protocol_version=5)
        s = cluster.connect()
        s.execute("CREATE KEYSPACE cold WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}")
        s.execute("CREATE TABLE cold.t (k int, c int, v text, PRIMARY KEY (k, c))")
        insert = s.prepare("INSERT INTO cold.t (k, c, v) VALUES (?, ?, ?)")
        for k in range(40):
            for c in range(10):
                s.execute(insert, (k, c, f"value {k}.{c}" * 8))
        _ctl(node, "flush")
        _wait_uploaded(node)
        deadline = time.monotonic() + 30
        while any(p.name.endswith("-Data.db") for p in shard_dir.iterdir()):
            assert time.monotonic() < deadline, sorted(p.name for p in shard_dir.iterdir())
            time.sleep(0.3)
        assert any(p.name.endswith("-Remote.db") for p in shard_dir.iterdir())
        assert "evicted" in node.log()
        expected = {(k, c): f"value {k}.{c}" * 8 for k in range(40) for c in range(10)}
        assert {(r.k, r.c): r.v for r in s.execute("SELECT k, c, v FROM cold.t")} == expected
        assert [r.c for r in s.execute("SELECT c FROM cold.t WHERE k = 7 AND c >= 5")] == [
            5, 6, 7, 8, 9]
        cluster.shutdown()
        assert node.stop() == 0
        node.start()
        cluster = Cluster([node.host], port=node.port, protocol_version=5)
        s = cluster.connect()
        assert {(r.k, r.c): r.v for r in s.execute("SELECT k, c, v FROM cold.t")} == expected
        cluster.shutdown()
        assert node.stop() == 0
    finally:
        node.kill()
