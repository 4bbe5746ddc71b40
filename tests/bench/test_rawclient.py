"""The raw generator against real servers: a started Ferrosa node (every workload's request
kinds, compressions, protocol v3 and v5) and a stopped null server (unanswered requests).

Only outcomes are checked (no errors, rows returned per request, pacing bounds), never timing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Iterator

import pytest

from bench import client as C
from bench import harness
from bench.rawclient import RawClient
from bench.server import NullServer, free_port
from bench.workloads import Settings
from tests.bench.test_run import paced_ceiling

NODE_HOST = "127.0.0.66"
NULL_HOST = "127.0.0.67"


def _run(workload: str, **options) -> harness.RunResult:
    settings = options.pop("settings", Settings(keys=2000, slice_rows=10))
    opts = harness.RunOptions(workload=workload, settings=settings, duration=1.0, warmup=0.3,
                              concurrency=8, clients=1, generator="raw", **options)
    return harness.run(opts, "ferrosa", (NODE_HOST, free_port(NODE_HOST)))


def _clean(result: harness.RunResult) -> None:
    assert result.errors == 0 and result.late == 0, result.error_samples
    assert result.ops > 0 and "-raw" in result.label


def test_point_reads_return_their_rows() -> None:
    result = _run("read", compression="lz4")
    _clean(result)
    assert result.preload_ops == 2000 and result.preload_errors == 0
    assert result.rows_per_second * result.seconds == result.ops  # one row per key


def test_slices_return_limit_rows_over_protocol_v3_with_snappy() -> None:
    result = _run("slice", protocol=3, compression="snappy")
    _clean(result)
    assert result.rows_per_second * result.seconds == 10 * result.ops


def test_batches_and_a_fixed_rate() -> None:
    batches = _run("batch")
    _clean(batches)
    assert batches.service_us == {}  # closed loop: latency counts from the send already
    paced = _run("write", rate=300.0)
    _clean(paced)
    # far below any machine's limit: short means a broken pacer, long one that runs ahead
    assert 150 <= paced.throughput <= paced_ceiling(300.0, 1.0, 0.3, 8)
    # A request is sent at or after its scheduled instant: each percentile from the send is
    # at most the same percentile from the schedule.
    assert paced.service_us.keys() == paced.latency_us.keys()
    assert all(paced.service_us[k] <= paced.latency_us[k] for k in paced.latency_us)


@contextlib.contextmanager
def _null_client(in_flight: int) -> Iterator[tuple[NullServer, RawClient]]:
    """A raw client of the write workload, connected to a null server of its own."""
    server = NullServer(NULL_HOST, free_port(NULL_HOST)).start()
    settings = Settings(keys=100)
    try:
        harness.create_schema(harness.RunOptions(workload="write", settings=settings), NULL_HOST,
                              server.port)
        client = RawClient(C.ClientConfig(NULL_HOST, server.port, "write", settings, part=0,
                                          parts=1, in_flight=in_flight, preload=False))
        try:
            yield server, client
        finally:
            os.kill(server.pid, signal.SIGCONT)
            client.close()
    finally:
        server.stop()


def test_a_stuck_server_shows_as_unanswered_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    with _null_client(in_flight=4) as (server, client):
        monkeypatch.setattr(C, "DRAIN_TIMEOUT", 1.0)
        os.kill(server.pid, signal.SIGSTOP)
        now = time.monotonic()
        report = client.measure(C.Phases(start=now, measure=now + 0.1, end=now + 0.3))
        assert time.monotonic() - now < C.REQUEST_TIMEOUT
        assert report.late == 4 and sum(report.ok) == 0 and sum(report.errors) == 0


def test_server_errors_are_counted_with_their_text() -> None:
    with _null_client(in_flight=2) as (_, client):
        client.conn.statements[0].execute_id = b"\x00\x02zz"  # an id the server never gave
        now = time.monotonic()
        report = client.measure(C.Phases(start=now, measure=now, end=now + 0.3))
        assert sum(report.errors) > 0 and sum(report.ok) == 0
        assert any("unknown prepared statement" in s for s in report.error_samples)


@pytest.mark.parametrize(("workload", "compression", "rows"), [
    ("write", "lz4", 0), ("read", "none", 1), ("slice", "lz4", 10)])
def test_protocol_v5_segments_carry_every_request_kind(workload: str, compression: str,
                                                       rows: int) -> None:
    result = _run(workload, protocol=5, compression=compression)
    _clean(result)
    assert "-v5" in result.label
    if rows:
        assert result.rows_per_second * result.seconds == rows * result.ops
