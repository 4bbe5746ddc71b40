"""ferrosa-ctl against a real node: status for people and scripts, a dead shard, no node at all."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

from tests.integration.node import REPO

NODE_HOST = "127.0.0.14"


def ctl(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ferrosa.ctl.main", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_status_table_and_json(node, session):
    session.execute("CREATE KEYSPACE IF NOT EXISTS c WITH replication = {'class': "
                    "'SimpleStrategy', 'replication_factor': 1}")
    session.execute("CREATE TABLE IF NOT EXISTS c.t (k int PRIMARY KEY, v text)")
    for i in range(100):
        session.execute("INSERT INTO c.t (k, v) VALUES (%s, 'x')", (i,))
    out = ctl("--data-dir", str(node.data_dir), "status")
    assert out.returncode == 0, out.stderr
    assert f"{NODE_HOST}:9042" in out.stdout and "Shards 2/2 up" in out.stdout

    # The data directory also comes from the node's own environment variable.
    out = ctl("--json", "status", env={"FERROSA_DATA_DIR": str(node.data_dir)})
    status = json.loads(out.stdout)
    assert status["cql_address"] == f"{NODE_HOST}:9042"
    assert status["connections"] >= 1
    shards = status["shards"]
    assert [s["state"] for s in shards] == ["UP", "UP"]
    assert shards[0]["first_token"] == -2**63 and shards[-1]["last_token"] == 2**63 - 1
    assert shards[0]["last_token"] + 1 == shards[1]["first_token"]
    assert sum(s["partitions"] for s in shards) == 100
    assert all(s["partitions"] > 0 and s["memtable_bytes"] > 0 for s in shards)
    # Reads of flushed rows go through each shard's key and chunk caches, which status sums.
    assert ctl("--data-dir", str(node.data_dir), "flush", "c", "t").returncode == 0
    before = _cache_lookups(status["shards"])
    select = session.prepare("SELECT v FROM c.t WHERE k = ?")
    for _ in range(2):
        assert all(session.execute(select, (i,)).one().v == "x" for i in range(100))
    out = ctl("--data-dir", str(node.data_dir), "status")
    assert "Key cache " in out.stdout and "Chunk cache " in out.stdout
    shards = json.loads(ctl("--json", "--data-dir", str(node.data_dir), "status").stdout)["shards"]
    keys = [s["key_cache"] for s in shards]
    assert sum(k["entries"] for k in keys) >= 100
    assert sum(k["hits"] for k in keys) >= 100 and _cache_lookups(shards) >= before + 200
    assert all(s["chunk_cache"]["hits"] > 0 for s in shards)
    # Only the node's user may use the admin socket.
    mode = stat.S_IMODE(os.stat(node.data_dir / "admin.sock").st_mode)
    assert mode & 0o077 == 0


def _cache_lookups(shards: list[dict]) -> int:
    return sum(s["key_cache"]["hits"] + s["key_cache"]["misses"] for s in shards)


def test_status_reports_a_restarted_shard(node):
    before = json.loads(ctl("--json", "--data-dir", str(node.data_dir), "status").stdout)
    victim = before["shards"][1]
    os.kill(victim["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = json.loads(ctl("--json", "--data-dir", str(node.data_dir), "status").stdout)
        shard = now["shards"][1]
        if shard["state"] == "UP" and shard["pid"] != victim["pid"]:
            break
        time.sleep(0.2)
    assert shard["generation"] == victim["generation"] + 1
    assert now["shards"][0]["pid"] == before["shards"][0]["pid"]


def test_no_node_is_a_clear_error(tmp_path):
    out = ctl("--data-dir", str(tmp_path), "status")
    assert out.returncode == 2
    assert "no running node" in out.stderr and str(tmp_path) in out.stderr


def test_unknown_command_is_a_usage_error(tmp_path):
    out = ctl("--data-dir", str(tmp_path), "frobnicate")
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_bad_admin_requests_get_errors_and_do_not_disturb_the_node(node):
    import socket
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(node.data_dir / "admin.sock"))
        stream = sock.makefile("rb")
        sock.sendall(b"this is not json\n")
        assert "malformed admin request" in json.loads(stream.readline())["error"]
        sock.sendall(b'{"op": "launch_missiles"}\n')
        reply = json.loads(stream.readline())
        assert reply["ok"] is False and "unknown admin command" in reply["error"]
        sock.sendall(b'{"op": "status"}\n')
        assert json.loads(stream.readline())["ok"] is True
    assert ctl("--data-dir", str(node.data_dir), "status").returncode == 0
