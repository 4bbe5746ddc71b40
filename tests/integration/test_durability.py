"""No acknowledged write is lost: kill -9 the node or a shard under write load, restart, read back.

The commit log's own tests (tests/shards/) cover its format, torn tails and corruption; here the
real node is killed while the real driver writes.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args

from tests.integration.node import NodeProcess

SCHEMA = ("CREATE KEYSPACE d WITH replication = {'class': 'SimpleStrategy', "
          "'replication_factor': 1}", "CREATE TABLE d.t (k int PRIMARY KEY, v text, l list<int>)")


def _session(node: NodeProcess):
    cluster = Cluster([node.host], port=node.port, protocol_version=5)
    session = cluster.connect()
    # These tests load the machine on purpose (kill -9 under load, restart, replay): allow a
    # slow answer rather than the driver's 10 s default.
    session.default_timeout = 60
    return cluster, session


class Writer:
    """Writes (k, 'v<k>') with up to `in_flight` requests outstanding; remembers what was acked."""

    def __init__(self, session, in_flight: int = 32) -> None:
        self.insert = session.prepare("INSERT INTO d.t (k, v) VALUES (?, ?)")
        self.session = session
        self.acked: set[int] = set()
        self.lock = threading.Lock()
        self.next = 0
        self.slots = threading.Semaphore(in_flight)
        self.stopped = False

    def run(self) -> None:
        while not self.stopped:
            self.slots.acquire()
            with self.lock:
                k = self.next
                self.next += 1
            future = self.session.execute_async(self.insert, (k, f"v{k}"))
            future.add_callbacks(self._ok, self._failed, callback_args=(k,), errback_args=(k,))

    def _ok(self, _result, k: int) -> None:
        with self.lock:
            self.acked.add(k)
        self.slots.release()

    def _failed(self, _exc, k: int) -> None:
        self.slots.release()


def _kill_under_load(node: NodeProcess, victim_pid: int, seconds: float = 1.5) -> set[int]:
    cluster, s = _session(node)
    writer = Writer(s)
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    time.sleep(seconds)
    os.kill(victim_pid, signal.SIGKILL)
    time.sleep(0.3)
    writer.stopped = True
    for _ in range(64):
        writer.slots.release()  # unblock the writer thread
    thread.join(10)
    cluster.shutdown()
    with writer.lock:
        return set(writer.acked)


def _read_all(node: NodeProcess, keys: set[int]) -> dict[int, str]:
    cluster, s = _session(node)
    select = s.prepare("SELECT k, v FROM d.t WHERE k = ?")
    got = {}
    for ok, result in execute_concurrent_with_args(s, select, [(k,) for k in keys],
                                                   concurrency=64, raise_on_first_error=True):
        for row in result:
            got[row.k] = row.v
    cluster.shutdown()
    return got


@pytest.mark.parametrize("mode", ["batch", "periodic"])
def test_node_killed_under_load_keeps_every_acked_write(tmp_path: Path, mode: str,
                                                        spawn) -> None:
    host = {"batch": "127.0.0.31", "periodic": "127.0.0.32"}[mode]
    node = spawn(tmp_path / "data", host=host, shards=2,
                       extra_env={"FERROSA_COMMITLOG_SYNC": mode}).start()
    cluster, s = _session(node)
    for statement in SCHEMA:
        s.execute(statement)
    cluster.shutdown()
    acked = _kill_under_load(node, node.proc.pid)  # the supervisor: every child follows
    node.proc.wait()
    assert len(acked) > 100
    node.start()
    got = _read_all(node, acked)
    # periodic mode loses at most what the OS had not written: a process kill loses nothing.
    assert got == {k: f"v{k}" for k in acked}
    assert "commit log replay" in node.log()
    assert node.stop() == 0


def test_killed_shard_replays_its_commit_log(tmp_path: Path, spawn) -> None:
    node = spawn(tmp_path / "data", host="127.0.0.33", shards=2,
                       extra_env={"FERROSA_COMMITLOG_SYNC": "batch"}).start()
    cluster, s = _session(node)
    for statement in SCHEMA:
        s.execute(statement)
    s.execute("UPDATE d.t SET l = l + [1, 2] WHERE k = -1")
    cluster.shutdown()
    shard = sorted(node.children())[0]
    acked = _kill_under_load(node, shard)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            got = _read_all(node, acked | {-1})
            break
        except Exception:
            time.sleep(0.2)
    assert {k: v for k, v in got.items() if k >= 0} == {k: f"v{k}" for k in acked}
    cluster, s = _session(node)
    assert s.execute("SELECT l FROM d.t WHERE k = -1").one().l == [1, 2]
    cluster.shutdown()
    assert node.stop() == 0


def test_torn_commit_log_tail_is_reported_and_the_node_starts(tmp_path: Path, spawn) -> None:
    node = spawn(tmp_path / "data", host="127.0.0.34", shards=1,
                       extra_env={"FERROSA_COMMITLOG_SYNC": "batch"}).start()
    cluster, s = _session(node)
    for statement in SCHEMA:
        s.execute(statement)
    for k in range(50):
        s.execute("INSERT INTO d.t (k, v) VALUES (%s, %s)", (k, f"v{k}"))
    cluster.shutdown()
    assert node.stop() == 0
    segment = max((tmp_path / "data" / "commitlog" / "shard-0").glob("CommitLog-*.log"))
    data = bytearray(segment.read_bytes())
    end = len(data.rstrip(b"\x00"))
    # Tear the last record: keep half of it, zero the rest (as a power cut mid-write leaves it).
    data[end - 10:end] = bytes(10)
    segment.write_bytes(bytes(data))
    node.start()
    got = _read_all(node, set(range(50)))
    # The hand-made tear stands for a power cut mid-write: the torn last record is dropped with a
    # log line and everything before it is replayed.
    assert got == {k: f"v{k}" for k in range(49)}
    assert "torn tail" in node.log()
    assert node.stop() == 0


def test_changing_the_shard_count_of_existing_data_is_refused(tmp_path: Path, spawn) -> None:
    node = spawn(tmp_path / "data", host="127.0.0.35", shards=2).start()
    assert node.stop() == 0
    other = spawn(tmp_path / "data", host="127.0.0.35", shards=3)
    with pytest.raises(RuntimeError, match="resharding"):
        other.start()


def test_too_many_live_segments_flush_the_tables_holding_the_oldest(tmp_path: Path,
                                                                    spawn) -> None:
    """Nothing else would flush (a large memtable budget), yet the commit log stays bounded:
    past MAX_LIVE_SEGMENTS the tables pinning the oldest segment are flushed."""
    from shards.worker import MAX_LIVE_SEGMENTS
    node = spawn(tmp_path / "data", host="127.0.0.36", shards=1,
                 extra_env={"FERROSA_COMMITLOG_SEGMENT_BYTES": str(1 << 20),
                            "FERROSA_MEMTABLE_BYTES": str(1 << 30)}).start()
    cluster, s = _session(node)
    for statement in SCHEMA:
        s.execute(statement)
    insert = s.prepare("INSERT INTO d.t (k, v) VALUES (?, ?)")
    value = "x" * 8000
    rows = (MAX_LIVE_SEGMENTS + 8) * (1 << 20) // len(value)  # more segments than the limit
    execute_concurrent_with_args(s, insert, [(k, value) for k in range(rows)], concurrency=32)
    segments = tmp_path / "data" / "commitlog" / "shard-0"
    deadline = time.monotonic() + 30
    while len(os.listdir(segments)) > MAX_LIVE_SEGMENTS + 1:
        assert time.monotonic() < deadline, len(os.listdir(segments))
        time.sleep(0.2)
    assert "commit log segments live; flushing" in node.log()
    assert any(p.endswith("-Data.db") for p in os.listdir(tmp_path / "data" / "data" / "shard-0"))
    assert s.execute("SELECT count(*) FROM d.t").one()[0] == rows
    cluster.shutdown()
    assert node.stop() == 0


def test_batches_of_rows_replay_whole(tmp_path: Path, spawn) -> None:
    """A BATCH of rows into one partition travels, and is logged, as one Mutation with more
    rows (ipc Mutation.rows): after kill -9, replay brings back every row of every acked batch,
    and rows of another partition in the same batch."""
    from cassandra.query import BatchStatement, BatchType
    node = spawn(tmp_path / "data", host="127.0.0.28", shards=2,
                 extra_env={"FERROSA_COMMITLOG_SYNC": "batch"}).start()
    cluster, s = _session(node)
    s.execute(SCHEMA[0])
    s.execute("CREATE TABLE d.c (p int, c int, v text, PRIMARY KEY (p, c))")
    insert = s.prepare("INSERT INTO d.c (p, c, v) VALUES (?, ?, ?)")
    expected: dict[int, list] = {}
    for p in range(20):
        batch = BatchStatement(BatchType.UNLOGGED)
        for c in range(10):
            batch.add(insert, (p, c, f"{p}.{c}"))
        if p % 5 == 4:  # and a row of the next partition: a second Mutation
            batch.add(insert, (p + 100, 0, "other"))
            expected[p + 100] = [(0, "other")]
        s.execute(batch)
        expected[p] = [(c, f"{p}.{c}") for c in range(10)]
    cluster.shutdown()
    os.kill(node.proc.pid, signal.SIGKILL)
    node.proc.wait()
    node.start()
    assert "commit log replay" in node.log()
    cluster, s = _session(node)
    for p, rows in expected.items():
        got = [(r.c, r.v) for r in s.execute("SELECT c, v FROM d.c WHERE p = %s", (p,))]
        assert got == rows, p
    cluster.shutdown()
    assert node.stop() == 0
