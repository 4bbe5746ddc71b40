"""The harness's server processes: where they run, and that stopping one stops its tree."""

from __future__ import annotations

import os

from bench.server import NullServer, free_port

HOST = "127.0.0.68"


def test_the_server_shares_the_harness_session_in_a_group_of_its_own() -> None:
    # One session, so that Linux's autogroup schedules the generator and the server as peers
    # (bench/server.py says what two sessions did to the latency tail); a process group of its
    # own, so that kill() reaches the whole server tree and nothing of the harness.
    server = NullServer(HOST, free_port(HOST)).start()
    try:
        assert os.getsid(server.pid) == os.getsid(0)
        assert os.getpgid(server.pid) == server.pid != os.getpgid(0)
    finally:
        server.kill()
    assert server.proc is not None and server.proc.poll() is not None
    server.stop()
