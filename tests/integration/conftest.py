from __future__ import annotations

import pytest

from ferrosa.config import NodeConfig
from ferrosa.ipc.shm import remove_stale_segments
from ferrosa.process import node_id
from tests.integration.node import NodeProcess


@pytest.fixture(scope="module")
def node(tmp_path_factory, request):
    """One node per test module, on its own loopback address (127.0.0.x)."""
    host = getattr(request.module, "NODE_HOST", "127.0.0.11")
    proc = NodeProcess(tmp_path_factory.mktemp("node") / "data", host=host,
                       auth=getattr(request.module, "NODE_AUTH", False)).start()
    yield proc
    code = proc.stop()
    assert code == 0, proc.log()


@pytest.fixture
def cluster_factory(node):
    from cassandra.cluster import Cluster
    made = []

    def make(**kwargs):
        kwargs.setdefault("port", node.port)
        cluster = Cluster([node.host], **kwargs)
        made.append(cluster)
        return cluster
    yield make
    for cluster in made:
        cluster.shutdown()


@pytest.fixture
def session(cluster_factory):
    return cluster_factory().connect()


@pytest.fixture(params=[4, 5])
def raw_client(node, request):
    """A RawClient on the module's node: protocol v4, then v5."""
    from tests.integration.raw_client import RawClient
    made = RawClient(node.host, node.port, version=request.param)
    yield made
    made.close()


@pytest.fixture
def spawn():
    """NodeProcess factory for tests that start nodes themselves: whatever a failing test leaves
    running is killed at teardown, so it cannot hold its address for the next test."""
    made: list[NodeProcess] = []

    def make(*args, **kwargs) -> NodeProcess:
        node = NodeProcess(*args, **kwargs)
        made.append(node)
        return node
    yield make
    for node in made:
        node.kill()
        # A node killed with SIGKILL leaves its rings in /dev/shm (RAM) for the next start from
        # the same directory to remove; test directories are never started again.
        remove_stale_segments(node_id(NodeConfig(data_dir=str(node.data_dir))))
