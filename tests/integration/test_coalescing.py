"""A node whose front naps after every pass (wake-up coalescing forced on at any rate) still
answers every request, correctly, with the real driver: concurrent prepared writes, point reads,
a batch and a multi-partition read."""

from __future__ import annotations

import pytest
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import BatchStatement

from tests.integration.node import NodeProcess

ROWS = 2000


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    proc = NodeProcess(tmp_path_factory.mktemp("coalescing") / "data", host="127.0.0.63",
                       shards=2, extra_env={"FERROSA_COALESCE_US": "500",
                                            "FERROSA_COALESCE_MIN_RATE": "0"}).start()
    cluster = Cluster([proc.host], port=proc.port, protocol_version=4)
    s = cluster.connect()
    s.execute("CREATE KEYSPACE co WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}")
    s.execute("CREATE TABLE co.kv (k int PRIMARY KEY, v text)")
    yield s
    cluster.shutdown()
    assert proc.stop() == 0


def test_concurrent_writes_and_reads_all_answered(session) -> None:
    insert = session.prepare("INSERT INTO co.kv (k, v) VALUES (?, ?)")
    results = execute_concurrent_with_args(session, insert, [(k, f"v{k}") for k in range(ROWS)],
                                           concurrency=64, raise_on_first_error=True)
    assert all(ok for ok, _ in results)
    select = session.prepare("SELECT v FROM co.kv WHERE k = ?")
    reads = execute_concurrent_with_args(session, select, [(k,) for k in range(ROWS)],
                                         concurrency=64, raise_on_first_error=True)
    assert [rows.one().v for _, rows in reads] == [f"v{k}" for k in range(ROWS)]


def test_batch_and_scan_through_napping_front(session) -> None:
    batch = BatchStatement()
    for k in range(ROWS, ROWS + 10):
        batch.add("INSERT INTO co.kv (k, v) VALUES (%s, %s)", (k, "b"))
    session.execute(batch)
    rows = {r.k: r.v for r in session.execute("SELECT k, v FROM co.kv")}
    assert len(rows) == ROWS + 10 and all(rows[k] == "b" for k in range(ROWS, ROWS + 10))
