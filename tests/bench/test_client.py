"""The load generator: what a stuck server looks like, and its coalesced socket writes.

The load runs without the driver's per-request timer (bench/client.py), so a request the server
never answers must still show, as unanswered once DRAIN_TIMEOUT has passed, and must not hang
the client.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench import client as C
from bench.harness import RunOptions, create_schema
from bench.server import NullServer, free_port
from bench.workloads import Settings

REPO = Path(__file__).resolve().parents[2]

HOST = "127.0.0.64"
IN_FLIGHT = 4


@pytest.fixture
def null_server():
    server = NullServer(HOST, free_port(HOST)).start()
    yield server
    os.kill(server.pid, signal.SIGCONT)
    server.stop()


def test_a_stuck_server_shows_as_unanswered_requests(null_server: NullServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(keys=100)
    create_schema(RunOptions(workload="write", settings=settings), HOST, null_server.port)
    client = C._Client(C.ClientConfig(HOST, null_server.port, "write", settings, part=0, parts=1,
                                      in_flight=IN_FLIGHT, preload=False))
    try:
        monkeypatch.setattr(C, "DRAIN_TIMEOUT", 1.0)
        os.kill(null_server.pid, signal.SIGSTOP)
        now = time.monotonic()
        report = client.measure(C.Phases(start=now, measure=now + 0.1, end=now + 0.3))
        assert time.monotonic() - now < C.REQUEST_TIMEOUT  # the drain gave up, no hang
        assert report.late == IN_FLIGHT
        assert sum(report.ok) == 0 and sum(report.errors) == 0
    finally:
        os.kill(null_server.pid, signal.SIGCONT)
        client.close()


class _CountingSocket(socket.socket):
    """A real socket that counts its send calls."""

    sends = 0

    def send(self, data, *flags):  # type: ignore[override]
        type(self).sends += 1
        return super().send(data, *flags)


def test_queued_requests_leave_in_one_send() -> None:
    from cassandra.io.libevreactor import LibevConnection

    left, right = socket.socketpair()
    sender = _CountingSocket(fileno=left.detach())
    try:
        conn = object.__new__(C._coalescing(LibevConnection))
        conn._deque_lock = threading.Lock()
        conn.deque = collections.deque([b"one|", b"two|", b"three"])
        conn._socket = sender
        conn._socket_writable = True
        conn.handle_write(None, 0)
        assert _CountingSocket.sends == 1 and not conn.deque
        assert right.recv(100) == b"one|two|three"
    finally:
        sender.close()
        right.close()


def test_recorder_keeps_latency_from_the_send_apart_when_given() -> None:
    # A fixed-rate request scheduled at 1 s, sent 3 ms late, answered 1 ms after the send.
    recorder = C.Recorder(0, C.Phases(start=0.0, measure=0.5, end=2.5))
    ms = 1_000_000
    recorder.record(1000 * ms, 1004 * ms, 1, sent=1003 * ms)
    recorder.record(1000 * ms, 1002 * ms, 0)  # a closed-loop completion: no send instant
    report = recorder.report
    assert report.ok == [2, 0] and report.rows_read == 1
    assert report.latency[0].total == 2 and report.latency[0].max_value >= 4000
    assert report.service.total == 1
    assert 900 <= report.service.max_value <= 1100  # 1 ms, within a histogram bucket


def test_precise_timers_take_the_timer_slack_away() -> None:
    # In a process of its own: the slack stays with the process that set it.
    code = ("from bench.client import precise_timers; ok = precise_timers(); "
            "print(ok, open('/proc/self/timerslack_ns').read().strip())")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.split() == ["True", "1"], done.stdout + done.stderr
