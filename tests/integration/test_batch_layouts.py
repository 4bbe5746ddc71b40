"""BATCH bodies read by their prepared statement's learnt batch layout
(protocol/batchlayouts.py), on a real node: every part of the body is honoured after the layout
is learnt, and bodies the layout does not read take decode_request with the same answers."""

from __future__ import annotations

import pytest

from ferrosa.protocol import requests as Q
from ferrosa.protocol import responses as R
from ferrosa.protocol import results as RS
from ferrosa.protocol.constants import BatchType, ConsistencyLevel
from ferrosa.protocol.errors import ErrorCode
from tests.integration.raw_client import RawClient

NODE_HOST = "127.0.0.25"
ONE = ConsistencyLevel.ONE
# Batches of one body shape before the one a test looks at: the first teaches the layout.
WARM = 3
INSERT = "INSERT INTO blay.rows (k, c, v) VALUES (?, ?, ?)"


@pytest.fixture(scope="module")
def schema(node):
    client = RawClient(node.host, node.port)
    for text in (("CREATE KEYSPACE blay WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}"),
                 "CREATE TABLE blay.rows (k text, c int, v text, PRIMARY KEY (k, c))",
                 "CREATE TABLE blay.other (k text PRIMARY KEY, v text)",
                 "CREATE TABLE blay.counts (k text PRIMARY KEY, n counter)"):
        assert not isinstance(client.query(text), R.Error)
    client.close()


@pytest.fixture(params=[3, 4, 5])
def client(node, schema, request):
    made = RawClient(node.host, node.port, version=request.param)
    yield made
    made.close()


def _prepare(client: RawClient, text: str) -> bytes:
    prepared = client.request(Q.Prepare(text))
    assert not isinstance(prepared, R.Error), prepared
    return prepared.query_id


def _batch(client: RawClient, statements: list[tuple[bytes, list]], **fields):
    fields.setdefault("consistency", ONE)
    fields.setdefault("batch_type", BatchType.UNLOGGED)
    return client.request(Q.Batch(statements=[Q.BatchStatement(query_id, values)
                                              for query_id, values in statements], **fields))


def _rows(key: bytes, start: int, count: int, v: bytes) -> list[list]:
    return [[key, c.to_bytes(4, "big"), v] for c in range(start, start + count)]


def _partition(client: RawClient, key: bytes) -> list[list]:
    answer = client.query(f"SELECT c, v FROM blay.rows WHERE k = '{key.decode()}'")
    assert not isinstance(answer, R.Error), answer
    return [[int.from_bytes(c, "big"), v] for c, v in answer.rows]


def test_values_of_the_same_and_other_lengths(client) -> None:
    insert = _prepare(client, INSERT)
    key = b"len-%d" % client.version
    # The same lengths (read by the layout after the first), then others (misses and the
    # back-off), then the first lengths again (learnt again).
    values = [b"aaaa"] * WARM + [b"b", b"cccccccc", b"", b"dd"] + [b"eeee"] * WARM
    for i, v in enumerate(values):
        answer = _batch(client, [(insert, row) for row in _rows(key, 3 * i, 3, v)],
                        timestamp=10 + i)
        assert isinstance(answer, RS.VoidResult), answer
    assert _partition(client, key) == [[3 * i + j, v] for i, v in enumerate(values)
                                       for j in range(3)]


def test_each_batch_s_timestamp_is_the_one_written(client) -> None:
    insert = _prepare(client, INSERT)
    key = b"ts-%d" % client.version
    for ts, v in ((100, b"at-100"), (300, b"at-300"), (200, b"at-200"), (250, b"at-250")):
        answer = _batch(client, [(insert, row) for row in _rows(key, 0, 2, v)], timestamp=ts)
        assert isinstance(answer, RS.VoidResult), answer
    # The batch at 300 wins: a layout that kept one timestamp would let the last one win.
    assert _partition(client, key) == [[0, b"at-300"], [1, b"at-300"]]
    refused = _batch(client, [(insert, row) for row in _rows(key, 0, 2, b"at-min")],
                     timestamp=-(1 << 63))
    assert isinstance(refused, R.Error) and refused.code == ErrorCode.PROTOCOL_ERROR
    assert "Out of bound timestamp" in refused.message
    assert _partition(client, key) == [[0, b"at-300"], [1, b"at-300"]]


def test_a_null_after_the_layout_is_learnt(client) -> None:
    insert = _prepare(client, INSERT)
    key = b"null-%d" % client.version
    for _ in range(WARM):
        _batch(client, [(insert, row) for row in _rows(key, 0, 2, b"set!")])
    answer = _batch(client, [(insert, [key, b"\x00\x00\x00\x01", None]),
                             (insert, [key, b"\x00\x00\x00\x00", b"set!"])])
    assert isinstance(answer, RS.VoidResult), answer
    assert _partition(client, key) == [[0, b"set!"], [1, None]]


def test_a_bad_value_of_a_learnt_length_is_refused(client) -> None:
    insert = _prepare(client, INSERT)
    key = b"utf8-%d" % client.version
    for _ in range(WARM):
        _batch(client, [(insert, row) for row in _rows(key, 0, 2, b"ok")])
    # Text of the learnt length that is not UTF-8: the layout reads it, the binding refuses it.
    answer = _batch(client, [(insert, row) for row in _rows(key, 0, 2, b"\xff\xfe")])
    assert isinstance(answer, R.Error) and answer.code == ErrorCode.INVALID, answer
    assert _partition(client, key) == [[0, b"ok"], [1, b"ok"]]


def test_partitions_on_both_shards_after_a_one_partition_layout(client) -> None:
    insert = _prepare(client, INSERT)
    for _ in range(WARM):
        _batch(client, [(insert, row) for row in _rows(b"one-%d" % client.version, 0, 2, b"v")])
    # Keys of the learnt length on (very likely) both shards: the layout reads the body, the
    # mutations go to every owning shard.
    keys = [b"many%02d-%d" % (i, client.version) for i in range(12)]
    answer = _batch(client, [(insert, [key, b"\x00\x00\x00\x05", b"w"]) for key in keys])
    assert isinstance(answer, RS.VoidResult), answer
    assert all(_partition(client, key) == [[5, b"w"]] for key in keys)


def test_other_statements_and_batch_types_after_the_layout_is_learnt(client) -> None:
    insert = _prepare(client, INSERT)
    other = _prepare(client, "INSERT INTO blay.other (k, v) VALUES (?, ?)")
    key = b"mixed-%d" % client.version
    for _ in range(WARM):
        _batch(client, [(insert, row) for row in _rows(key, 0, 2, b"x")])
    mixed = _batch(client, [(insert, [key, b"\x00\x00\x00\x09", b"x"]), (other, [key, b"y"])])
    assert isinstance(mixed, RS.VoidResult), mixed
    assert _partition(client, key)[-1] == [9, b"x"]
    assert client.query(f"SELECT v FROM blay.other WHERE k = '{key.decode()}'").rows == [[b"y"]]
    counter = _batch(client, [(insert, row) for row in _rows(key, 0, 2, b"x")],
                     batch_type=BatchType.COUNTER)
    assert isinstance(counter, R.Error) and counter.code == ErrorCode.INVALID, counter
    assert "Cannot include non-counter statement in a counter batch" in counter.message
    logged = _batch(client, [(insert, row) for row in _rows(key, 0, 2, b"L")],
                    batch_type=BatchType.LOGGED)
    assert isinstance(logged, RS.VoidResult), logged
    assert _partition(client, key)[:2] == [[0, b"L"], [1, b"L"]]


def test_a_counter_batch_learnt_and_replayed(client) -> None:
    add = _prepare(client, "UPDATE blay.counts SET n = n + ? WHERE k = ?")
    key = b"count-%d" % client.version
    for _ in range(WARM + 2):
        answer = _batch(client, [(add, [(2).to_bytes(8, "big"), key])] * 2,
                        batch_type=BatchType.COUNTER)
        assert isinstance(answer, RS.VoidResult), answer
    rows = client.query(f"SELECT n FROM blay.counts WHERE k = '{key.decode()}'").rows
    assert rows == [[(4 * (WARM + 2)).to_bytes(8, "big")]]


def test_a_statement_prepared_again_after_a_schema_change(client) -> None:
    insert = _prepare(client, INSERT)
    key = b"alter-%d" % client.version
    for _ in range(WARM):
        _batch(client, [(insert, row) for row in _rows(key, 0, 2, b"before")])
    assert not isinstance(client.query(f"ALTER TABLE blay.rows ADD w{client.version} int"),
                          R.Error)
    answer = _batch(client, [(insert, row) for row in _rows(key, 0, 2, b"after!")])
    assert isinstance(answer, RS.VoidResult), answer
    assert _partition(client, key) == [[0, b"after!"], [1, b"after!"]]


def test_a_wrong_value_count_is_refused_whatever_was_learnt(client) -> None:
    insert = _prepare(client, INSERT)
    for _ in range(WARM):
        _batch(client, [(insert, row) for row in _rows(b"count", 0, 2, b"v")])
    answer = _batch(client, [(insert, [b"count", b"\x00\x00\x00\x00"])] * 2)
    assert isinstance(answer, R.Error) and answer.code == ErrorCode.INVALID
    assert "3 markers(?) in CQL but 2 bound variables" in answer.message


def test_a_dropped_column_is_not_written_by_a_learnt_layout(client) -> None:
    """The layout belongs to the statement as prepared against one schema: after the table
    changes, the batch is compiled again (and here refused), never written by the old plan."""
    table = f"blay.dropped{client.version}"
    assert not isinstance(client.query(f"CREATE TABLE {table} (k text, c int, v text, "
                                       "PRIMARY KEY (k, c))"), R.Error)
    insert = _prepare(client, f"INSERT INTO {table} (k, c, v) VALUES (?, ?, ?)")
    for _ in range(WARM):
        assert isinstance(_batch(client, [(insert, row) for row in _rows(b"d", 0, 2, b"v")]),
                          RS.VoidResult)
    assert not isinstance(client.query(f"ALTER TABLE {table} DROP v"), R.Error)
    answer = _batch(client, [(insert, row) for row in _rows(b"d", 0, 2, b"v")])
    assert isinstance(answer, R.Error) and answer.code == ErrorCode.INVALID, answer
    assert "Undefined column name v" in answer.message


@pytest.mark.parametrize("version", [4, 5])
def test_the_python_driver_s_batches(cluster_factory, schema, version) -> None:
    """The driver's BatchStatement of one prepared INSERT (v5: naming its keyspace in the
    body), executed often enough to be read by its layout, then with other lengths and a
    LOGGED type: every row as written, each batch at its own client timestamp."""
    from cassandra.query import BatchStatement
    from cassandra.query import BatchType as DriverBatchType

    clock = iter(range(1_000, 2_000))
    timestamps = [lambda: next(clock)]  # the driver's client timestamp for each request
    cluster = cluster_factory(protocol_version=version, timestamp_generator=lambda: timestamps[0]())
    session = cluster.connect()
    assert cluster.protocol_version == version
    insert = session.prepare(INSERT)
    key = f"driver-{version}"
    expected = {}
    for i in range(WARM + 6):
        batch = BatchStatement(DriverBatchType.LOGGED if i == WARM + 4 else
                               DriverBatchType.UNLOGGED)
        v = "x" * (4 if i != WARM + 2 else 9)
        for c in range(3 * i, 3 * i + 3):
            batch.add(insert, (key, c, v))
            expected[c] = v
        session.execute(batch)
    rows = session.execute("SELECT c, v FROM blay.rows WHERE k = %s", (key,))
    assert {row.c: row.v for row in rows} == expected
    # Batches of the learnt layout at older client timestamps lose to the rows there.
    timestamps[0] = lambda: 1
    for _ in range(WARM):
        batch = BatchStatement(DriverBatchType.UNLOGGED)
        for c in range(3):
            batch.add(insert, (key, c, "old!"))
        session.execute(batch)
    rows = session.execute("SELECT c, v FROM blay.rows WHERE k = %s", (key,))
    assert {row.c: row.v for row in rows} == expected
