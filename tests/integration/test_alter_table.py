"""ALTER TABLE through the driver: ADD, DROP (dropped data never returns), RENAME, WITH, refusals."""

from __future__ import annotations

import pytest
from cassandra import InvalidRequest
from cassandra.protocol import ConfigurationException

NODE_HOST = "127.0.0.17"


@pytest.fixture(scope="module")
def s(node):
    from cassandra.cluster import Cluster
    cluster = Cluster([node.host], port=node.port, protocol_version=5)
    session = cluster.connect()
    session.execute("CREATE KEYSPACE alt WITH replication = {'class': 'SimpleStrategy', "
                    "'replication_factor': 1}")
    yield session
    cluster.shutdown()


def test_drop_then_re_add_hides_old_data(s):
    s.execute("CREATE TABLE alt.t (k int, c int, v text, w int, PRIMARY KEY (k, c))")
    s.execute("INSERT INTO alt.t (k, c, v, w) VALUES (1, 1, 'old', 7)")
    s.execute("ALTER TABLE alt.t DROP v")
    with pytest.raises(InvalidRequest, match="Undefined column name v"):
        s.execute("SELECT v FROM alt.t")
    s.execute("ALTER TABLE alt.t ADD v text")
    row = s.execute("SELECT v, w FROM alt.t WHERE k = 1").one()
    assert (row.v, row.w) == (None, 7)  # the old value of v stays dropped
    s.execute("UPDATE alt.t SET v = 'new' WHERE k = 1 AND c = 1")
    assert s.execute("SELECT v FROM alt.t WHERE k = 1").one().v == "new"
    meta = s.execute("SELECT column_name, type FROM system_schema.dropped_columns WHERE "
                     "keyspace_name = 'alt' AND table_name = 't'").all()
    assert [(r.column_name, r.type) for r in meta] == [("v", "text")]
    with pytest.raises(InvalidRequest, match="Cannot re-add previously dropped column 'w'|"
                                             "incompatible"):
        s.execute("ALTER TABLE alt.t DROP w")
        s.execute("ALTER TABLE alt.t ADD w text")


def test_dropped_column_alone_does_not_keep_a_row_alive(s):
    s.execute("CREATE TABLE alt.u (k int PRIMARY KEY, v int)")
    s.execute("UPDATE alt.u SET v = 1 WHERE k = 1")  # no row marker: v is its only live cell
    s.execute("ALTER TABLE alt.u DROP v")
    s.execute("ALTER TABLE alt.u ADD v int")
    assert s.execute("SELECT * FROM alt.u WHERE k = 1").one() is None


def test_rename_primary_key_columns_only(s):
    s.execute("CREATE TABLE alt.r (k int, c int, v int, PRIMARY KEY (k, c))")
    s.execute("INSERT INTO alt.r (k, c, v) VALUES (1, 2, 3)")
    s.execute("ALTER TABLE alt.r RENAME c TO cc")
    row = s.execute("SELECT k, cc, v FROM alt.r WHERE k = 1 AND cc = 2").one()
    assert tuple(row) == (1, 2, 3)
    with pytest.raises(InvalidRequest, match="Cannot rename non PRIMARY KEY column v"):
        s.execute("ALTER TABLE alt.r RENAME v TO vv")
    with pytest.raises(InvalidRequest, match="another column with that name already exists"):
        s.execute("ALTER TABLE alt.r RENAME cc TO v")


def test_add_options_and_refusals(s):
    s.execute("CREATE TABLE alt.o (k int PRIMARY KEY, v int)")
    s.execute("ALTER TABLE alt.o WITH gc_grace_seconds = 3600 AND comment = 'hi'")
    row = s.execute("SELECT gc_grace_seconds, comment FROM system_schema.tables WHERE "
                    "keyspace_name = 'alt' AND table_name = 'o'").one()
    assert (row.gc_grace_seconds, row.comment) == (3600, "hi")
    s.execute("ALTER TABLE alt.o ADD (a list<int>, b map<text, int>)")
    s.execute("UPDATE alt.o SET a = a + [1], b['x'] = 2 WHERE k = 1")
    row = s.execute("SELECT a, b FROM alt.o WHERE k = 1").one()
    assert (row.a, dict(row.b)) == ([1], {"x": 2})
    with pytest.raises(InvalidRequest, match="Altering column types is no longer supported"):
        s.execute("ALTER TABLE alt.o ALTER v TYPE bigint")
    with pytest.raises(InvalidRequest, match="Cannot drop PRIMARY KEY column k"):
        s.execute("ALTER TABLE alt.o DROP k")
    with pytest.raises(InvalidRequest, match="already exists"):
        s.execute("ALTER TABLE alt.o ADD v int")
    s.execute("ALTER TABLE alt.o ADD IF NOT EXISTS v int")
    with pytest.raises(InvalidRequest, match="doesn't exist"):
        s.execute("ALTER TABLE alt.nope ADD x int")
    s.execute("ALTER TABLE IF EXISTS alt.nope ADD x int")
    # TableMetadata.validate: a ConfigurationException prefixed with the table's name.
    with pytest.raises(ConfigurationException, match='Cannot have a counter column \\("c"\\) in a '
                                                     'non counter table'):
        s.execute("ALTER TABLE alt.o ADD c counter")


def test_driver_metadata_follows_alter(s, cluster_factory):
    s.execute("CREATE TABLE alt.m (k int PRIMARY KEY, v int)")
    s.execute("ALTER TABLE alt.m ADD extra text")
    cluster = cluster_factory(protocol_version=5)
    cluster.connect()
    table = cluster.metadata.keyspaces["alt"].tables["m"]
    assert list(table.columns) == ["k", "extra", "v"]
    assert table.columns["extra"].cql_type == "text"


def test_prepared_select_star_after_alter_gets_metadata_changed(s):
    # Protocol v5: the driver sends its result_metadata_id; after ALTER the node answers with
    # METADATA_CHANGED and the new metadata, and the driver decodes the new column.
    s.execute("CREATE TABLE alt.p (k int PRIMARY KEY, v int)")
    s.execute("INSERT INTO alt.p (k, v) VALUES (1, 2)")
    select = s.prepare("SELECT * FROM alt.p WHERE k = ?")
    assert tuple(s.execute(select, (1,)).one()) == (1, 2)
    s.execute("ALTER TABLE alt.p ADD w text")
    s.execute("UPDATE alt.p SET w = 'x' WHERE k = 1")
    row = s.execute(select, (1,)).one()
    assert (row.k, row.v, row.w) == (1, 2, "x")
    assert tuple(s.execute(select, (1,)).one()) == (1, 2, "x")


def test_skip_metadata_and_metadata_changed_on_the_wire(s, node):
    from ferrosa.protocol import requests as Q
    from tests.integration.raw_client import CONSISTENCY_ONE, RawClient
    s.execute("CREATE TABLE alt.w (k int PRIMARY KEY, v int)")
    s.execute("INSERT INTO alt.w (k, v) VALUES (1, 2)")
    client = RawClient(node.host, node.port)
    prepared = client.request(Q.Prepare("SELECT * FROM alt.w WHERE k = 1"))
    old_id = prepared.result_metadata_id
    params = Q.QueryParameters(CONSISTENCY_ONE, skip_metadata=True)
    rows = client.request(Q.Execute(prepared.query_id, params, old_id))
    assert rows.metadata.columns is None and rows.metadata.column_count == 2  # skipped
    # Answers after the first come from the metadata it cached, per skip flag.
    again = client.request(Q.Execute(prepared.query_id, params, old_id))
    assert again.metadata.columns is None and again.rows == rows.rows
    for _ in range(2):
        full = client.request(Q.Execute(prepared.query_id, Q.QueryParameters(CONSISTENCY_ONE),
                                        old_id))
        assert [c.name for c in full.metadata.columns] == ["k", "v"] and full.rows == rows.rows
    s.execute("ALTER TABLE alt.w ADD x int")
    rows = client.request(Q.Execute(prepared.query_id, params, old_id))
    assert rows.metadata.new_metadata_id not in (None, old_id)
    assert [c.name for c in rows.metadata.columns] == ["k", "v", "x"]
    assert rows.rows == [[b"\x00\x00\x00\x01", b"\x00\x00\x00\x02", None]]
    # With the new id, metadata can be skipped again.
    rows = client.request(Q.Execute(prepared.query_id, params, rows.metadata.new_metadata_id))
    assert rows.metadata.columns is None and rows.metadata.column_count == 3
    client.close()


def test_alter_type_add_and_rename_fields(s):
    s.execute("CREATE TYPE alt.point (x int, y int)")
    s.execute("CREATE TABLE alt.shapes (k int PRIMARY KEY, p frozen<point>, q point)")
    s.execute("INSERT INTO alt.shapes (k, p, q) VALUES (1, {x: 1, y: 2}, {x: 3, y: 4})")
    s.execute("ALTER TYPE alt.point ADD z int")
    s.execute("ALTER TYPE alt.point RENAME x TO xx")
    rows = s.execute("SELECT p, q FROM alt.shapes WHERE k = 1").one()
    assert (rows.p.xx, rows.p.y, rows.p.z) == (1, 2, None)
    assert (rows.q.xx, rows.q.y, rows.q.z) == (3, 4, None)
    s.execute("UPDATE alt.shapes SET q.z = 9 WHERE k = 1")
    assert s.execute("SELECT q FROM alt.shapes WHERE k = 1").one().q.z == 9
    with pytest.raises(InvalidRequest, match="a field with name y already exists"):
        s.execute("ALTER TYPE alt.point ADD y text")
    with pytest.raises(InvalidRequest, match="Unkown field nope"):
        s.execute("ALTER TYPE alt.point RENAME nope TO other")
    s.execute("CREATE TYPE alt.wrapper (inner frozen<point>)")
    with pytest.raises(InvalidRequest, match="circular reference"):
        s.execute("ALTER TYPE alt.point ADD w frozen<wrapper>")
    fields = s.execute("SELECT field_names FROM system_schema.types WHERE keyspace_name = 'alt' "
                       "AND type_name = 'point'").one().field_names
    assert fields == ["xx", "y", "z"]
