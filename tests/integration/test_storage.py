"""The storage engine through real processes: memtables flushed to SSTables under a small budget,
reads merging memtables and SSTables, point reads through the key cache, compaction, restarts,
TRUNCATE, a damaged SSTable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args

from tests.integration.node import REPO, NodeProcess

ROWS = 3000
VALUE = "x" * 120


def _session(node: NodeProcess):
    cluster = Cluster([node.host], port=node.port, protocol_version=5)
    return cluster, cluster.connect()


def ctl(node: NodeProcess, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "ferrosa.ctl.main", "--json", "--data-dir",
                          str(node.data_dir), *args], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def _sstables(node: NodeProcess) -> int:
    return sum(s["sstables"] for s in ctl(node, "status")["shards"])


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    proc = NodeProcess(tmp_path_factory.mktemp("storage") / "data", host="127.0.0.36", shards=2,
                       extra_env={"FERROSA_MEMTABLE_BYTES": str(256 * 1024)}).start()
    cluster, s = _session(proc)
    s.execute("CREATE KEYSPACE st WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}")
    s.execute("CREATE TABLE st.kv (k int PRIMARY KEY, v text)")
    s.execute("CREATE TABLE st.wide (k int, c int, v text, PRIMARY KEY (k, c))")
    s.execute("CREATE TABLE st.cnt (k int PRIMARY KEY, n counter)")
    insert = s.prepare("INSERT INTO st.kv (k, v) VALUES (?, ?)")
    execute_concurrent_with_args(s, insert, [(k, f"{VALUE}{k}") for k in range(ROWS)],
                                 concurrency=64, raise_on_first_error=True)
    cluster.shutdown()
    yield proc
    assert proc.stop() == 0


def _all_kv(s) -> dict[int, str]:
    return {r.k: r.v for r in s.execute("SELECT k, v FROM st.kv")}


def test_small_budget_flushes_and_reads_merge(node):
    assert _sstables(node) >= 2
    cluster, s = _session(node)
    assert _all_kv(s) == {k: f"{VALUE}{k}" for k in range(ROWS)}
    # Newer writes and deletes in the memtable shadow flushed data.
    s.execute("UPDATE st.kv SET v = 'new' WHERE k = 7")
    s.execute("DELETE FROM st.kv WHERE k = 8")
    s.execute("DELETE v FROM st.kv WHERE k = 9")
    assert s.execute("SELECT v FROM st.kv WHERE k = 7").one().v == "new"
    assert s.execute("SELECT v FROM st.kv WHERE k = 8").one() is None
    assert s.execute("SELECT v FROM st.kv WHERE k = 9").one().v is None  # INSERT's row marker
    assert s.execute("SELECT count(*) FROM st.kv").one()[0] == ROWS - 1
    cluster.shutdown()


def test_wide_partition_slices_across_flushes(node):
    cluster, s = _session(node)
    insert = s.prepare("INSERT INTO st.wide (k, c, v) VALUES (1, ?, ?)")
    execute_concurrent_with_args(s, insert, [(c, VALUE) for c in range(2000)], concurrency=64)
    ctl(node, "flush", "st", "wide")
    s.execute("DELETE FROM st.wide WHERE k = 1 AND c >= 100 AND c < 200")
    execute_concurrent_with_args(s, insert, [(c, "late") for c in range(150, 160)])
    rows = [(r.c, r.v) for r in s.execute("SELECT c, v FROM st.wide WHERE k = 1 AND c >= 95 "
                                          "AND c < 205")]
    assert rows == ([(c, VALUE) for c in range(95, 100)] + [(c, "late") for c in range(150, 160)]
                    + [(c, VALUE) for c in range(200, 205)])
    desc = [r.c for r in s.execute("SELECT c FROM st.wide WHERE k = 1 ORDER BY c DESC LIMIT 3")]
    assert desc == [1999, 1998, 1997]
    cluster.shutdown()


def test_counters_survive_flushes_and_restarts_exactly(node):
    cluster, s = _session(node)
    inc = s.prepare("UPDATE st.cnt SET n = n + ? WHERE k = ?")
    for _ in range(5):
        s.execute(inc, (2, 1))
    ctl(node, "flush", "st", "cnt")
    for _ in range(3):
        s.execute(inc, (1, 1))
    assert s.execute("SELECT n FROM st.cnt WHERE k = 1").one().n == 13
    cluster.shutdown()
    assert node.stop() == 0
    node.start()
    cluster, s = _session(node)
    assert s.execute("SELECT n FROM st.cnt WHERE k = 1").one().n == 13
    cluster.shutdown()


def test_compact_merges_sstables_and_kill_restart_keeps_everything(node):
    ctl(node, "flush")
    before = _sstables(node)
    result = ctl(node, "compact", "st", "kv")
    assert result["tables"] == ["st.kv"]
    assert _sstables(node) < before
    os.kill(node.proc.pid, signal.SIGKILL)
    node.proc.wait()
    node.start()
    cluster, s = _session(node)
    kv = _all_kv(s)
    assert len(kv) == ROWS - 1 and kv[7] == "new" and kv[9] is None
    cluster.shutdown()


def test_point_reads_from_the_key_cache_follow_compaction(node):
    """Point reads of flushed partitions, read again (from the shards' key caches), then after
    newer values were flushed and a compaction replaced the SSTables the entries came from,
    answer the newest values."""
    cluster, s = _session(node)
    insert = s.prepare("INSERT INTO st.kv (k, v) VALUES (?, ?)")
    select = s.prepare("SELECT v FROM st.kv WHERE k = ?")
    keys = list(range(10_000, 10_300))

    def values() -> dict[int, str]:
        rows = execute_concurrent_with_args(s, select, [(k,) for k in keys], concurrency=32)
        return {k: result.one().v for k, (_ok, result) in zip(keys, rows)}

    execute_concurrent_with_args(s, insert, [(k, f"old{k}") for k in keys], concurrency=32)
    ctl(node, "flush", "st", "kv")
    assert values() == values() == {k: f"old{k}" for k in keys}
    # Keys no SSTable holds: no row (not an error, not a row of nulls), in either shard.
    assert [list(s.execute(select, (k,))) for k in (-1, 20_000, 20_001)] == [[], [], []]
    execute_concurrent_with_args(s, insert, [(k, f"new{k}") for k in keys[::2]], concurrency=32)
    ctl(node, "flush", "st", "kv")
    expected = {k: f"new{k}" if i % 2 == 0 else f"old{k}" for i, k in enumerate(keys)}
    assert values() == expected
    assert ctl(node, "compact", "st", "kv")["tables"] == ["st.kv"]
    assert values() == values() == expected
    cluster.shutdown()


def test_truncate_removes_data_files(node):
    cluster, s = _session(node)
    ctl(node, "flush", "st", "wide")
    data = Path(node.data_dir) / "data"
    table_id = s.execute("SELECT id FROM system_schema.tables WHERE keyspace_name = 'st' AND "
                         "table_name = 'wide'").one().id.bytes.hex()
    assert list(data.glob(f"shard-*/{table_id}-*"))
    s.execute("TRUNCATE st.wide")
    assert not list(data.glob(f"shard-*/{table_id}-*"))
    assert s.execute("SELECT * FROM st.wide WHERE k = 1").one() is None
    cluster.shutdown()


def test_damaged_sstable_is_reported_and_set_aside(tmp_path, spawn):
    node = spawn(tmp_path / "data", host="127.0.0.37", shards=1).start()
    cluster, s = _session(node)
    s.execute("CREATE KEYSPACE dmg WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}")
    s.execute("CREATE TABLE dmg.t (k int PRIMARY KEY, v text)")
    for k in range(100):
        s.execute("INSERT INTO dmg.t (k, v) VALUES (%s, 'v')", (k,))
    cluster.shutdown()
    ctl(node, "flush")
    assert node.stop() == 0
    (index,) = (tmp_path / "data" / "data" / "shard-0").glob("*-Index.db")
    index.write_bytes(index.read_bytes()[:-7])  # a truncated tail
    node.start()
    assert "moved to" in node.log() and index.name in node.log()
    assert (tmp_path / "data" / "data" / "shard-0" / "corrupt" / index.name).exists()
    cluster, s = _session(node)
    s.execute("INSERT INTO dmg.t (k, v) VALUES (1000, 'after')")
    assert s.execute("SELECT v FROM dmg.t WHERE k = 1000").one().v == "after"
    cluster.shutdown()
    assert node.stop() == 0
