"""Faults of the object store seen from a real node: the store down or answering errors while the
node runs, and a prefix that is not a Ferrosa store at start.

Theory of the outage tests: the node writes and flushes once with the store healthy (so the
uploader is known to work), then the store goes away (the test S3 server stopped, or switched to
answering every request with an S3 error). Driver writes and reads must go on; a flush queues its
SSTable, and `ferrosa-ctl status` (JSON and human) must show the state "retrying", the backlog and
the last error. When the store returns the backlog drains with nothing given up, and the proof that
the bucket holds everything is a restore: the node is stopped, its disk deleted, and a node started
on the empty directory with the same bucket and prefix reads back every row.

The last two tests pin what the status says during an outage: the S3 error itself (not just
the object URL) and metadata uploads (a schema change) counted in the backlog.

What these tests must NOT do: leave the session's shared `s3_server` stopped or failing (every test
that breaks it restores it in a `finally`), or use node addresses other than 127.0.0.55/.56.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import obstore
import pytest
from cassandra.cluster import Cluster, Session

from ferrosa.objectstore import check_bucket
from tests.integration.node import REPO, NodeProcess
from tests.objectstore.conftest import settings_env

DOWN_HOST = "127.0.0.55"
FAILING_HOST = "127.0.0.56"
# Rows written before the outage and again during it (each batch flushed into one SSTable).
ROWS = 200
# How long the uploader may take to notice the outage, and to catch up once the store is back
# (its backoff doubles up to 30 s; the outages here last a few seconds, so the next retry comes
# within about 8 s).
STALL_TIMEOUT = 20.0
DRAIN_TIMEOUT = 30.0
CTL_TIMEOUT = 30.0


def _ctl(node: NodeProcess, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "ferrosa.ctl.main", "--data-dir",
                          str(node.data_dir), *args], cwd=REPO, capture_output=True, text=True,
                         timeout=CTL_TIMEOUT)
    assert out.returncode == 0, f"ferrosa-ctl {' '.join(args)}: {out.stderr}"
    return out.stdout


def _status(node: NodeProcess) -> dict:
    return json.loads(_ctl(node, "--json", "status"))


def _poll_uploader(node: NodeProcess, done: Callable[[dict], bool], timeout: float,
                   what: str) -> dict:
    deadline = time.monotonic() + timeout
    uploader = None
    while time.monotonic() < deadline:
        uploader = _status(node).get("uploader")
        if uploader and done(uploader):
            return uploader
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}: {uploader}")


def _wait_drained(node: NodeProcess, listed_after: int) -> dict:
    """Backlog empty and more manifest updates than `listed_after` (a flush was listed)."""
    return _poll_uploader(
        node, lambda u: u["backlog_notices"] == 0 and u["manifest_updates"] > listed_after,
        DRAIN_TIMEOUT, "the backlog to drain")


def _wait_stalled(node: NodeProcess) -> dict:
    return _poll_uploader(
        node, lambda u: u["state"] == "retrying" and u["backlog_notices"] > 0
        and u["last_error"], STALL_TIMEOUT, "a retrying uploader with a backlog")


def _connect(node: NodeProcess) -> tuple[Cluster, Session]:
    cluster = Cluster([node.host], port=node.port, protocol_version=5)
    return cluster, cluster.connect()


def _insert(session: Session, keys: range) -> None:
    insert = session.prepare("INSERT INTO faults.t (k, v) VALUES (?, ?)")
    for k in keys:
        session.execute(insert, (k, f"value {k}"))


def _rows(session: Session) -> dict[int, str]:
    return {r.k: r.v for r in session.execute("SELECT k, v FROM faults.t")}


def _expected(keys: range) -> dict[int, str]:
    return {k: f"value {k}" for k in keys}


def _write_and_upload(node: NodeProcess) -> tuple[Cluster, Session, dict]:
    """Schema and a first flushed batch, uploaded while the store is healthy."""
    cluster, session = _connect(node)
    session.execute("CREATE KEYSPACE faults WITH replication = {'class': 'SimpleStrategy', "
                    "'replication_factor': 1}")
    session.execute("CREATE TABLE faults.t (k int PRIMARY KEY, v text)")
    _insert(session, range(ROWS))
    _ctl(node, "flush")
    return cluster, session, _wait_drained(node, listed_after=0)


def _write_during_outage(node: NodeProcess, session: Session) -> dict:
    """Writes and reads go on locally; a flush queues; both status forms show the backlog."""
    _insert(session, range(ROWS, 2 * ROWS))  # execute() raises if a write fails
    assert _rows(session) == _expected(range(2 * ROWS))
    _ctl(node, "flush")
    stalled = _wait_stalled(node)
    assert stalled["backlog_bytes"] > 0 and stalled["retries"] > 0
    assert stalled["oldest_pending_at"] is not None and stalled["failed_notices"] == 0
    human = _ctl(node, "status")
    assert re.search(r"^Uploader retrying to s3://.+?: backlog [1-9]\d* notices, .*last error: "
                     r"\S", human, re.MULTILINE), human
    return stalled


def _check_resumed(node: NodeProcess, before: dict) -> dict:
    drained = _wait_drained(node, listed_after=before["manifest_updates"])
    assert drained["failed_notices"] == 0 and drained["state"] in ("idle", "uploading")
    assert drained["uploaded_bytes"] > before["uploaded_bytes"]
    assert drained["oldest_pending_at"] is None
    return drained


def _restore_and_read(node: NodeProcess, host_id: str) -> None:
    """The bucket holds everything: a node on an empty disk gets every row back."""
    assert node.stop() == 0
    shutil.rmtree(node.data_dir)
    log_before = len(node.log())
    node.start()
    assert f"restored node {host_id}" in node.log()[log_before:]
    cluster, session = _connect(node)
    try:
        assert _rows(session) == _expected(range(2 * ROWS))
    finally:
        cluster.shutdown()
    assert _status(node)["host_id"] == host_id
    assert node.stop() == 0


def test_store_down_writes_go_on_and_uploads_resume(tmp_path: Path, settings,
                                                    s3_server) -> None:
    node = NodeProcess(tmp_path / "data", host=DOWN_HOST, shards=1,
                       extra_env=settings_env(settings)).start()
    try:
        cluster, session, healthy = _write_and_upload(node)
        host_id = _status(node)["host_id"]
        s3_server.stop()
        try:
            stalled = _write_during_outage(node, session)
            assert "error" in stalled["last_error"].lower()
        finally:
            s3_server.start()
        _check_resumed(node, healthy)
        cluster.shutdown()
        _restore_and_read(node, host_id)
    finally:
        node.kill()


@pytest.mark.parametrize("fault", ["SlowDown", "InternalError"])
def test_store_answering_errors_queues_then_resumes(tmp_path: Path, settings, s3_server,
                                                    fault: str) -> None:
    node = NodeProcess(tmp_path / "data", host=FAILING_HOST, shards=1,
                       extra_env=settings_env(settings)).start()
    try:
        cluster, session, healthy = _write_and_upload(node)
        host_id = _status(node)["host_id"]
        first_fault = len(s3_server.requests)
        s3_server.failing = fault
        try:
            _write_during_outage(node, session)
            bucket_path = f"/{settings.bucket}/{settings.prefix}/"
            answered = {r[2] for r in s3_server.requests[first_fault:] if bucket_path in r[1]}
            assert answered == {503 if fault == "SlowDown" else 500}
        finally:
            s3_server.failing = None
        _check_resumed(node, healthy)
        cluster.shutdown()
        _restore_and_read(node, host_id)
    finally:
        node.kill()


FOREIGN_HOST_ID = "0c0ffee0-0000-4000-8000-000000000001"


def _another_programs_prefix(store) -> str:
    obstore.put(store, "backups/2026-11-20/db.dump", b"not ferrosa's")
    return "backups"


def _root_above_a_cluster(store) -> str:
    check_bucket(store, "cluster1", "Test Cluster")
    return ""


def _inside_a_cluster(store) -> str:
    check_bucket(store, "cluster1", "Test Cluster")
    obstore.put(store, f"cluster1/nodes/{FOREIGN_HOST_ID}/meta/node.json", b"{}")
    return "cluster1/nodes"


@pytest.mark.parametrize("layout", [_another_programs_prefix, _root_above_a_cluster,
                                    _inside_a_cluster], ids=["foreign", "above", "inside"])
def test_a_prefix_that_is_not_a_ferrosa_store_is_refused_at_start(
        tmp_path: Path, settings, store, layout: Callable[[object], str]) -> None:
    prefix = layout(store)
    objects = sorted(meta["path"] for batch in obstore.list(store) for meta in batch)
    node = NodeProcess(tmp_path / "data", host=DOWN_HOST, shards=1,
                       extra_env={**settings_env(settings), "FERROSA_S3_PREFIX": prefix})
    with pytest.raises(RuntimeError, match="node did not start"):
        node.start()
    assert node.proc.returncode not in (None, 0)
    log = node.log()
    where = f"prefix {prefix!r}" if prefix else "(bucket root)"
    assert re.search(rf"object store s3://{settings.bucket}\S* at \S+: .*{re.escape(where)} holds "
                     r"objects but no ferrosa\.json marker: it is not a Ferrosa store \(wrong "
                     r"FERROSA_S3_PREFIX\?\)", log), log
    assert "Traceback" not in log
    # Refused means untouched: no marker, no metadata, nothing written under the prefix.
    assert sorted(meta["path"] for batch in obstore.list(store) for meta in batch) == objects


# -- what the status says during an outage ----------------------------------------------------

def test_last_error_names_the_s3_error_of_an_sstable_upload(tmp_path: Path, settings,
                                                            s3_server) -> None:
    node = NodeProcess(tmp_path / "data", host=FAILING_HOST, shards=1,
                       extra_env=settings_env(settings)).start()
    try:
        cluster, session, _healthy = _write_and_upload(node)
        s3_server.failing = "SlowDown"
        try:
            _insert(session, range(ROWS, ROWS + 10))
            _ctl(node, "flush")
            stalled = _wait_stalled(node)
        finally:
            s3_server.failing = None
        cluster.shutdown()
        assert "503" in stalled["last_error"] or "SlowDown" in stalled["last_error"], stalled
    finally:
        node.kill()


def _schema_in_bucket(store, settings, host_id: str) -> bytes | None:
    key = f"{settings.prefix}/nodes/{host_id}/meta/schema.json"
    try:
        return bytes(obstore.get(store, key).bytes())
    except FileNotFoundError:
        return None


def test_a_schema_change_waiting_for_the_store_shows_in_the_status(
        tmp_path: Path, settings, s3_server, store) -> None:
    node = NodeProcess(tmp_path / "data", host=DOWN_HOST, shards=1,
                       extra_env=settings_env(settings)).start()
    try:
        cluster, session = _connect(node)
        host_id = _status(node)["host_id"]
        _poll_uploader(node, lambda u: u["state"] == "idle" and u["uploaded_objects"] > 0,
                       STALL_TIMEOUT, "the uploader past its bucket check, metadata mirrored")
        s3_server.failing = "SlowDown"
        try:
            session.execute("CREATE KEYSPACE pending_ddl WITH replication = {'class': "
                            "'SimpleStrategy', 'replication_factor': 1}")
            during = _poll_uploader(node, lambda u: u["last_error"] and "schema.json" in
                                    u["last_error"], STALL_TIMEOUT, "a failing schema upload")
        finally:
            s3_server.failing = None
        cluster.shutdown()
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while b"pending_ddl" not in (_schema_in_bucket(store, settings, host_id) or b""):
            assert time.monotonic() < deadline, "schema.json never reached the bucket"
            time.sleep(0.25)
        assert during["state"] == "retrying", during
    finally:
        node.kill()
