"""The harness's server processes: where they run, and that killing one ends its whole tree."""

from __future__ import annotations

import os

import psutil

from bench.server import FerrosaNode, NullServer, free_port

HOST = "127.0.0.68"
NODE_HOST = "127.0.0.69"


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


def test_kill_ends_every_process_of_a_node() -> None:
    node = FerrosaNode(NODE_HOST, free_port(NODE_HOST), shards=1).start()
    try:
        tree = psutil.Process(node.pid).children(recursive=True)
        assert len(tree) >= 2  # the front and the shard, at least
        # kill() signals the node's process group: every process of the tree must be in it
        # (they would also exit on their own once the supervisor's control channel closes,
        # which is slower and is not what kill() promises).
        assert {os.getpgid(p.pid) for p in tree} == {node.pid}
        assert {os.getsid(p.pid) for p in tree} == {os.getsid(0)}
    finally:
        node.kill()
    _gone, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, f"still running after kill(): {alive}"
    node.stop()
