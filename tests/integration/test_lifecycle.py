"""Process architecture: clean stop, restart after SIGKILL, a dying shard restarted while others serve."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from cassandra.cluster import Cluster

from ferrosa.config import NodeConfig
from ferrosa.ipc.shm import list_segments
from ferrosa.process import node_id
from tests.integration.node import NodeProcess


def _segments(data_dir: Path) -> list[str]:
    return list_segments(node_id(NodeConfig(data_dir=str(data_dir))))


def _policies(pids) -> set[int]:
    """The scheduling policies of every thread of the processes `pids`."""
    return {os.sched_getscheduler(int(tid)) for pid in pids
            for tid in os.listdir(f"/proc/{pid}/task")}


def _connect(node: NodeProcess):
    cluster = Cluster([node.host], port=node.port, protocol_version=5)
    return cluster, cluster.connect()


def test_sigterm_stops_cleanly_and_leaves_no_shared_memory(tmp_path, spawn):
    node = spawn(tmp_path / "data", host="127.0.0.21").start()
    assert _segments(node.data_dir)
    assert node.stop() == 0
    assert _segments(node.data_dir) == []


def test_sigkill_then_restart_without_cleanup(tmp_path, spawn):
    node = spawn(tmp_path / "data", host="127.0.0.22").start()
    cluster, s = _connect(node)
    s.execute("CREATE KEYSPACE k1 WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}")
    cluster.shutdown()
    os.kill(node.proc.pid, signal.SIGKILL)  # the supervisor only: children follow (PDEATHSIG)
    node.proc.wait()
    time.sleep(0.5)
    node.start()
    cluster, s = _connect(node)
    names = [r.keyspace_name for r in s.execute("SELECT keyspace_name FROM system_schema.keyspaces")]
    assert "k1" in names  # the schema is durable
    cluster.shutdown()
    assert node.stop() == 0


def test_dead_shard_is_restarted_and_others_keep_serving(tmp_path, spawn):
    node = spawn(tmp_path / "data", host="127.0.0.23", shards=2).start()
    cluster, s = _connect(node)
    s.execute("CREATE KEYSPACE k WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}")
    s.execute("CREATE TABLE k.t (k int PRIMARY KEY, v int)")
    insert = s.prepare("INSERT INTO k.t (k, v) VALUES (?, ?)")
    for i in range(200):
        s.execute(insert, (i, i))
    shards = sorted(node.children())[:2]  # the shards start before the front
    # Every thread of every process runs under the default cpu_scheduling, SCHED_BATCH.
    assert _policies([node.proc.pid, *node.children()]) == {os.SCHED_BATCH}
    os.kill(shards[0], signal.SIGKILL)
    deadline = time.monotonic() + 20
    ok = errors = 0
    while time.monotonic() < deadline:
        try:
            s.execute(insert, (int(time.monotonic() * 1000) % 100000, 1))
            ok += 1
        except Exception as exc:  # requests to the dead shard fail fast with an error
            errors += 1
            assert "shard" in str(exc) or "Unavailable" in type(exc).__name__ or "consistency" in str(exc)
        if "shard 0 is up" in node.log().split("died")[-1]:
            break
    assert ok > 0
    assert "shard 0 is up (pid" in node.log().split("died")[-1]
    s.execute(insert, (1, 1))
    restarted = set(node.children()) - set(shards)
    assert len(restarted) == 2  # the front and the new shard 0
    assert _policies(restarted) == {os.SCHED_BATCH}  # inherited from the supervisor
    cluster.shutdown()
    assert node.stop() == 0
