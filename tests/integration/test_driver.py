"""The real cassandra-driver against a real node: protocol versions, compression, CQL basics."""

from __future__ import annotations

import pytest
from cassandra import InvalidRequest, ProtocolVersion
from cassandra.cluster import Cluster
from cassandra.cmurmur3 import murmur3
from cassandra.query import BatchStatement, BatchType, SimpleStatement

NODE_HOST = "127.0.0.11"


@pytest.fixture(scope="module")
def schema(node):
    cluster = Cluster([node.host], port=node.port)
    s = cluster.connect()
    s.execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', "
              "'replication_factor': 1}")
    s.execute("CREATE TABLE ks.kv (k int PRIMARY KEY, v text)")
    s.execute("CREATE TABLE ks.clust (p text, c int, v bigint, PRIMARY KEY (p, c)) "
              "WITH CLUSTERING ORDER BY (c DESC)")
    s.execute("CREATE TABLE ks.multi (a int, b text, c int, v blob, PRIMARY KEY ((a, b), c))")
    cluster.shutdown()


@pytest.mark.parametrize("version", [3, 4, 5])
@pytest.mark.parametrize("compression", [False, "lz4", "snappy"])
def test_versions_and_compression(schema, cluster_factory, version, compression):
    cluster = cluster_factory(protocol_version=version, compression=compression)
    s = cluster.connect("ks")
    assert cluster.protocol_version == version
    s.execute("INSERT INTO kv (k, v) VALUES (%s, %s)", (version, f"compression={compression}"))
    row = s.execute("SELECT v FROM kv WHERE k = %s", (version,)).one()
    assert row.v == f"compression={compression}"
    # The front's short path answers prepared writes and one-partition batches itself (on
    # plain v3/v4 frames with a VOID RESULT made in one pack): every framing must read it.
    insert = s.prepare("INSERT INTO clust (p, c, v) VALUES (?, ?, ?)")
    key = f"v{version}-{compression}"
    assert s.execute(insert, (key, 1, 10)).one() is None
    batch = BatchStatement(BatchType.UNLOGGED)
    for c in (2, 3):
        batch.add(insert, (key, c, c * 10))
    assert s.execute(batch).one() is None
    assert [tuple(r) for r in s.execute(f"SELECT c, v FROM clust WHERE p = '{key}'")] == [
        (3, 30), (2, 20), (1, 10)]


def test_default_negotiation_reaches_v5(schema, cluster_factory):
    cluster = cluster_factory()
    cluster.connect()
    assert cluster.protocol_version == ProtocolVersion.V5


def test_prepared_statement_routing_and_values(schema, cluster_factory):
    cluster = cluster_factory()
    s = cluster.connect("ks")
    insert = s.prepare("INSERT INTO multi (a, b, c, v) VALUES (?, ?, ?, ?)")
    assert insert.routing_key_indexes == [0, 1]
    for i in range(50):
        s.execute(insert, (i, f"b{i}", i * 2, bytes([i % 256]) * 3))
    bound = insert.bind((7, "b7", 14, b"x"))
    # The driver's token for the routing key equals the node's own Murmur3 token for the key.
    token = cluster.metadata.token_map.token_class.from_key(bound.routing_key)
    assert token.value == murmur3(bound.routing_key)
    select = s.prepare("SELECT a, b, c, v FROM multi WHERE a = ? AND b = ?")
    assert select.routing_key_indexes == [0, 1]
    row = s.execute(select, (7, "b7")).one()
    assert (row.a, row.b, row.c, row.v) == (7, "b7", 14, bytes([7]) * 3)
    assert len(list(s.execute("SELECT * FROM multi"))) == 50


def test_clustering_order_slices_and_paging(schema, cluster_factory):
    s = cluster_factory().connect("ks")
    insert = s.prepare("INSERT INTO clust (p, c, v) VALUES (?, ?, ?)")
    for c in range(100):
        s.execute(insert, ("p", c, c * 10))
    rows = list(s.execute("SELECT c FROM clust WHERE p = 'p'"))
    assert [r.c for r in rows] == list(range(99, -1, -1))  # DESC clustering
    rows = list(s.execute("SELECT c FROM clust WHERE p = 'p' AND c >= 10 AND c < 20"))
    assert [r.c for r in rows] == list(range(19, 9, -1))
    rows = list(s.execute("SELECT c FROM clust WHERE p = 'p' ORDER BY c ASC LIMIT 5"))
    assert [r.c for r in rows] == [0, 1, 2, 3, 4]
    paged = s.execute(SimpleStatement("SELECT c FROM clust WHERE p = 'p'", fetch_size=7))
    assert [r.c for r in paged] == list(range(99, -1, -1))
    scanned = s.execute(SimpleStatement("SELECT k FROM kv", fetch_size=1))
    keys = [r.k for r in scanned]
    assert len(keys) == len(set(keys))


def test_update_delete_and_row_liveness(schema, cluster_factory):
    s = cluster_factory().connect("ks")
    s.execute("INSERT INTO kv (k) VALUES (1000)")
    assert s.execute("SELECT k, v FROM kv WHERE k = 1000").one() == (1000, None)
    s.execute("UPDATE kv SET v = 'u' WHERE k = 1001")
    s.execute("UPDATE kv SET v = null WHERE k = 1001")
    assert s.execute("SELECT * FROM kv WHERE k = 1001").one() is None  # UPDATE: no row marker
    s.execute("DELETE FROM kv WHERE k = 1000")
    assert s.execute("SELECT * FROM kv WHERE k = 1000").one() is None
    s.execute("INSERT INTO kv (k, v) VALUES (1002, 'old') USING TIMESTAMP 10")
    s.execute("INSERT INTO kv (k, v) VALUES (1002, 'older') USING TIMESTAMP 5")
    assert s.execute("SELECT v, writetime(v) FROM kv WHERE k = 1002").one() == ("old", 10)


def test_errors_carry_cassandra_codes(schema, cluster_factory):
    from cassandra import AlreadyExists
    from cassandra.protocol import SyntaxException
    s = cluster_factory().connect("ks")
    with pytest.raises(SyntaxException):
        s.execute("SELEC * FROM kv")
    with pytest.raises(AlreadyExists):
        s.execute("CREATE TABLE kv (k int PRIMARY KEY)")
    with pytest.raises(InvalidRequest, match="not supported yet"):
        s.execute("INSERT INTO kv (k, v) VALUES (1, 'x') IF NOT EXISTS")
    with pytest.raises(InvalidRequest, match="ALLOW FILTERING"):
        s.execute("SELECT * FROM kv WHERE v = 'x'")
    with pytest.raises(InvalidRequest):
        s.execute("SELECT * FROM nosuchtable")


def test_role_statements_need_a_login_when_auth_is_off(schema, cluster_factory):
    from cassandra import Unauthorized
    s = cluster_factory().connect()
    with pytest.raises(Unauthorized, match="logged in and not anonymous"):
        s.execute("CREATE ROLE alice")
    with pytest.raises(Unauthorized, match="logged in and not anonymous"):
        s.execute("LIST ROLES")
    # As with Cassandra's AllowAllAuthenticator, passwords are not a role option then.
    with pytest.raises(InvalidRequest, match="CassandraRoleManager doesn't support PASSWORD"):
        s.execute("CREATE ROLE alice WITH PASSWORD = 'x'")


def test_metadata_describes_schema_as_created(schema, cluster_factory):
    cluster = cluster_factory()
    cluster.connect()
    table = cluster.metadata.keyspaces["ks"].tables["multi"]
    assert [c.name for c in table.partition_key] == ["a", "b"]
    assert [c.name for c in table.clustering_key] == ["c"]
    assert table.columns["v"].cql_type == "blob"
    local = cluster.metadata.get_host(NODE_HOST)
    assert local is not None and local.datacenter == "datacenter1"


def test_schema_change_events_reach_other_sessions(schema, cluster_factory):
    watcher = cluster_factory()
    watcher.connect()
    actor = cluster_factory().connect()
    actor.execute("CREATE TABLE ks.evented (k int PRIMARY KEY)")
    watcher.refresh_schema_metadata(max_schema_agreement_wait=5)
    assert "evented" in watcher.metadata.keyspaces["ks"].tables
    actor.execute("DROP TABLE ks.evented")


def test_user_defined_type_column(schema, cluster_factory):
    s = cluster_factory().connect("ks")
    s.execute("CREATE TYPE addr (street text, num int)")
    s.execute("CREATE TABLE people (id int PRIMARY KEY, home frozen<addr>)")
    s.execute("INSERT INTO people (id, home) VALUES (1, {street: 'Main', num: 5})")
    row = s.execute("SELECT home FROM people WHERE id = 1").one()
    assert (row.home.street, row.home.num) == ("Main", 5)


def test_negative_decimal_clustering_order(schema, cluster_factory):
    s = cluster_factory().connect("ks")
    s.execute("CREATE TABLE dec (p int, c decimal, PRIMARY KEY (p, c))")
    for text in ("-10.5", "-2", "-0.25", "0", "3.5", "12"):
        s.execute(f"INSERT INTO dec (p, c) VALUES (1, {text})")
    got = [str(r.c) for r in s.execute("SELECT c FROM dec WHERE p = 1")]
    assert got == ["-10.5", "-2", "-0.25", "0", "3.5", "12"]
