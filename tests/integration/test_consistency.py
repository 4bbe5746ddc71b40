"""Consistency levels on a one-node cluster, through the real cassandra-driver and cqlsh: the
levels the keyspace's replication factor cannot meet answer UNAVAILABLE with Cassandra's counts,
the levels a statement may not use answer INVALID, and nothing is written by a refused request."""

from __future__ import annotations

import re

import pytest
from cassandra import ConsistencyLevel as CL
from cassandra import InvalidRequest, Unavailable
from cassandra.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile
from cassandra.policies import FallthroughRetryPolicy
from cassandra.query import BatchStatement, BatchType, SimpleStatement

from tests.integration.test_cqlsh import cqlsh

NODE_HOST = "127.0.0.27"


@pytest.fixture(scope="module")
def tables(node):
    from cassandra.cluster import Cluster
    cluster = Cluster([node.host], port=node.port)
    s = cluster.connect()
    for name, rf in (("one", 1), ("three", 3)):
        s.execute(f"CREATE KEYSPACE {name} WITH replication = {{'class': 'SimpleStrategy', "
                  f"'replication_factor': {rf}}}")
        s.execute(f"CREATE TABLE {name}.kv (k int PRIMARY KEY, v text)")
    s.execute("CREATE TABLE one.hits (k int PRIMARY KEY, n counter)")
    cluster.shutdown()


@pytest.fixture
def s(tables, cluster_factory):
    """A session whose errors reach the test as the node sent them: the default retry policy
    would retry an UNAVAILABLE on the next host and end in NoHostAvailable."""
    profile = ExecutionProfile(retry_policy=FallthroughRetryPolicy())
    return cluster_factory(execution_profiles={EXEC_PROFILE_DEFAULT: profile}).connect()


def run(session, query, level, values=None):
    return session.execute(SimpleStatement(query, consistency_level=level), values)


def test_levels_beyond_the_replicas_are_unavailable(s):
    insert = s.prepare("INSERT INTO one.kv (k, v) VALUES (?, ?)")
    for level in (CL.ANY, CL.ONE, CL.LOCAL_ONE, CL.QUORUM, CL.LOCAL_QUORUM, CL.EACH_QUORUM,
                  CL.ALL):
        insert.consistency_level = level
        s.execute(insert, (level, "ok"))
    for level, required in ((CL.TWO, 2), (CL.THREE, 3)):
        insert.consistency_level = level
        with pytest.raises(Unavailable) as info:
            s.execute(insert, (100 + level, "refused"))
        assert info.value.consistency == level
        assert (info.value.required_replicas, info.value.alive_replicas) == (required, 1)
        assert f"Cannot achieve consistency level {CL.value_to_name[level]}" in str(info.value)
        with pytest.raises(Unavailable):
            run(s, "SELECT v FROM one.kv WHERE k = %s", level, (0,))
    rows = run(s, "SELECT k FROM one.kv", CL.ALL)
    assert sorted(r.k for r in rows) == sorted([CL.ANY, CL.ONE, CL.LOCAL_ONE, CL.QUORUM,
                                               CL.LOCAL_QUORUM, CL.EACH_QUORUM, CL.ALL])


def test_quorum_of_three_replicas_needs_two(s):
    insert = s.prepare("INSERT INTO three.kv (k, v) VALUES (?, ?)")
    insert.consistency_level = CL.QUORUM
    with pytest.raises(Unavailable) as info:
        s.execute(insert, (1, "refused"))
    assert (info.value.required_replicas, info.value.alive_replicas) == (2, 1)
    insert.consistency_level = CL.ONE
    s.execute(insert, (2, "written"))
    for level in (CL.QUORUM, CL.ALL, CL.LOCAL_QUORUM):
        with pytest.raises(Unavailable):
            run(s, "SELECT v FROM three.kv WHERE k = 2", level)
    # A serial read of one partition is a Paxos round among the replicas that exist.
    assert run(s, "SELECT v FROM three.kv WHERE k = 2", CL.SERIAL).one().v == "written"
    assert run(s, "SELECT v FROM three.kv WHERE k = 1", CL.ONE).one() is None
    # Of a token range, it is a read at QUORUM.
    with pytest.raises(Unavailable) as info:
        run(s, "SELECT v FROM three.kv", CL.SERIAL)
    assert info.value.consistency == CL.SERIAL


def test_levels_a_statement_may_not_use(s):
    with pytest.raises(InvalidRequest, match="ANY ConsistencyLevel is only supported for "
                                             "writes"):
        run(s, "SELECT v FROM one.kv WHERE k = 1", CL.ANY)
    with pytest.raises(InvalidRequest, match="You must use conditional updates for "
                                             "serializable writes"):
        run(s, "INSERT INTO one.kv (k, v) VALUES (500, 'serial')", CL.SERIAL)
    assert run(s, "SELECT v FROM one.kv WHERE k = 500", CL.ONE).one() is None
    with pytest.raises(InvalidRequest, match="may only be requested for one partition"):
        run(s, "SELECT v FROM one.kv WHERE k IN (1, 2)", CL.LOCAL_SERIAL)
    with pytest.raises(InvalidRequest, match="not yet supported for counter table hits"):
        run(s, "UPDATE one.hits SET n = n + 1 WHERE k = 1", CL.ANY)
    with pytest.raises(InvalidRequest, match="inherently non-serializable"):
        run(s, "UPDATE one.hits SET n = n + 1 WHERE k = 1", CL.SERIAL)
    run(s, "UPDATE one.hits SET n = n + 1 WHERE k = 1", CL.QUORUM)
    assert run(s, "SELECT n FROM one.hits WHERE k = 1", CL.ONE).one().n == 1


def test_batches_check_every_keyspace(s):
    one = s.prepare("INSERT INTO one.kv (k, v) VALUES (?, ?)")
    three = s.prepare("INSERT INTO three.kv (k, v) VALUES (?, ?)")
    batch = BatchStatement(BatchType.UNLOGGED, consistency_level=CL.QUORUM)
    batch.add(one, (700, "a"))
    batch.add(three, (700, "b"))
    with pytest.raises(Unavailable) as info:
        s.execute(batch)
    assert (info.value.required_replicas, info.value.alive_replicas) == (2, 1)
    assert run(s, "SELECT v FROM one.kv WHERE k = 700", CL.ONE).one() is None
    repeated = BatchStatement(BatchType.UNLOGGED, consistency_level=CL.THREE)
    for k in (701, 702):
        repeated.add(one, (k, "c"))
    with pytest.raises(Unavailable):
        s.execute(repeated)
    repeated.consistency_level = CL.SERIAL  # BATCH validates no level: SERIAL counts as QUORUM
    s.execute(repeated)
    assert run(s, "SELECT v FROM one.kv WHERE k = 702", CL.ONE).one().v == "c"


def test_altering_the_replication_factor_changes_the_answer(s):
    insert = s.prepare("INSERT INTO three.kv (k, v) VALUES (?, ?)")
    insert.consistency_level = CL.QUORUM
    with pytest.raises(Unavailable):
        s.execute(insert, (800, "before"))
    s.execute("ALTER KEYSPACE three WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}")
    try:
        s.execute(insert, (800, "after"))  # the prepared statement, recompiled
        assert run(s, "SELECT v FROM three.kv WHERE k = 800", CL.ALL).one().v == "after"
    finally:
        s.execute("ALTER KEYSPACE three WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 3}")


def test_cqlsh_reports_the_level(node, tables):
    out = cqlsh(node, stdin="CONSISTENCY THREE;\nINSERT INTO one.kv (k, v) VALUES (900, 'x');\n"
                            "CONSISTENCY ONE;\nSELECT count(*) FROM one.kv WHERE k = 900;\n")
    said = out.stdout + out.stderr
    assert "Cannot achieve consistency level THREE" in said
    assert re.search(r"required_replicas\W+3\W+alive_replicas\W+1", said), said
    assert "\n     0\n" in out.stdout
