"""EXECUTE bodies read by their statement's learnt layout (protocol/executelayouts.py), on a
real node: every part of the body is honoured after the layout is learnt, and bodies the layout
does not read take decode_request with the same answers."""

from __future__ import annotations

import pytest

from ferrosa.protocol import requests as Q
from ferrosa.protocol import responses as R
from ferrosa.protocol import results as RS
from ferrosa.protocol.constants import ConsistencyLevel
from ferrosa.protocol.errors import ErrorCode
from tests.integration.raw_client import RawClient

NODE_HOST = "127.0.0.24"
ONE = ConsistencyLevel.ONE
# Executions of one body shape before the one a test looks at: the first teaches the layout.
WARM = 3


@pytest.fixture(scope="module")
def schema(node):
    client = RawClient(node.host, node.port)
    for text in (("CREATE KEYSPACE lay WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}"),
                 "CREATE TABLE lay.kv (k text PRIMARY KEY, v text)",
                 "CREATE TABLE lay.rows (k text, c int, v text, PRIMARY KEY (k, c))"):
        assert not isinstance(client.query(text), R.Error)
    client.close()


@pytest.fixture
def client(raw_client, schema):
    return raw_client


def _prepare(client: RawClient, text: str) -> tuple[bytes, bytes | None]:
    prepared = client.request(Q.Prepare(text))
    assert not isinstance(prepared, R.Error), prepared
    return prepared.query_id, (prepared.result_metadata_id if client.version >= 5 else None)


def _execute(client: RawClient, statement, values: list, **params):
    query_id, metadata_id = statement
    params.setdefault("consistency", ONE)
    return client.request(Q.Execute(query_id, Q.QueryParameters(values=values, **params),
                                    metadata_id))


def _read(client: RawClient, key: bytes, **params):
    select = _prepare(client, "SELECT v FROM lay.kv WHERE k = ?")
    rows = _execute(client, select, [key], **params)
    assert not isinstance(rows, R.Error), rows
    return rows


def test_values_of_the_same_and_other_lengths(client) -> None:
    insert = _prepare(client, "INSERT INTO lay.kv (k, v) VALUES (?, ?)")
    written = {}
    # The same lengths (read by the layout after the first), then others (misses and the
    # back-off), then the first lengths again (learnt again).
    for i, v in enumerate([b"aaaa"] * WARM + [b"b", b"cccccccc", b"", b"dd"] + [b"eeee"] * WARM):
        key = b"k-%03d-%d" % (i, client.version)
        assert isinstance(_execute(client, insert, [key, v], page_size=5000, timestamp=10 + i),
                          RS.VoidResult)
        written[key] = v
    for key, v in written.items():
        assert _read(client, key).rows == [[v]]


def test_a_null_after_the_layout_is_learnt(client) -> None:
    insert = _prepare(client, "INSERT INTO lay.kv (k, v) VALUES (?, ?)")
    key = b"null-%d" % client.version
    for _ in range(WARM):
        _execute(client, insert, [key, b"set!"])
    assert _read(client, key).rows == [[b"set!"]]
    assert isinstance(_execute(client, insert, [key, None]), RS.VoidResult)
    assert _read(client, key).rows == [[None]]


def test_each_body_s_timestamp_is_the_one_written(client) -> None:
    insert = _prepare(client, "INSERT INTO lay.kv (k, v) VALUES (?, ?)")
    key = b"ts-%d" % client.version
    for ts, v in ((100, b"at-100"), (300, b"at-300"), (200, b"at-200"), (250, b"at-250")):
        assert isinstance(_execute(client, insert, [key, v], page_size=5000, timestamp=ts),
                          RS.VoidResult)
    # The write at 300 wins: a layout that kept one timestamp would let the last one win.
    assert _read(client, key).rows == [[b"at-300"]]
    refused = _execute(client, insert, [key, b"at-min"], page_size=5000, timestamp=-(1 << 63))
    assert isinstance(refused, R.Error) and refused.code == ErrorCode.PROTOCOL_ERROR
    assert "Out of bound timestamp" in refused.message
    assert _read(client, key).rows == [[b"at-300"]]


def test_each_body_s_page_size_and_skip_metadata(client) -> None:
    insert = _prepare(client, "INSERT INTO lay.rows (k, c, v) VALUES (?, ?, ?)")
    key = b"page-%d" % client.version
    for c in range(5):
        _execute(client, insert, [key, c.to_bytes(4, "big"), b"v"])
    select = _prepare(client, "SELECT c FROM lay.rows WHERE k = ?")
    for _ in range(WARM):
        whole = _execute(client, select, [key], page_size=5000)
        assert len(whole.rows) == 5 and whole.metadata.paging_state is None
    page = _execute(client, select, [key], page_size=2)
    assert len(page.rows) == 2 and page.metadata.paging_state is not None
    for _ in range(WARM):
        skipped = _execute(client, select, [key], page_size=5000, skip_metadata=True)
        assert skipped.metadata.columns is None and len(skipped.rows) == 5
    full = _execute(client, select, [key], page_size=5000)
    assert [c.name for c in full.metadata.columns] == ["c"]


def test_a_statement_prepared_again_after_a_schema_change(client) -> None:
    insert = _prepare(client, "INSERT INTO lay.kv (k, v) VALUES (?, ?)")
    key = b"alter-%d" % client.version
    for _ in range(WARM):
        _execute(client, insert, [key, b"before"])
    assert not isinstance(client.query(f"ALTER TABLE lay.kv ADD w{client.version} int"),
                          R.Error)
    assert isinstance(_execute(client, insert, [key, b"after"]), RS.VoidResult)
    assert _read(client, key).rows == [[b"after"]]


def test_a_wrong_value_count_is_refused_whatever_was_learnt(client) -> None:
    insert = _prepare(client, "INSERT INTO lay.kv (k, v) VALUES (?, ?)")
    for _ in range(WARM):
        _execute(client, insert, [b"count", b"v"])
    answer = _execute(client, insert, [b"count"])
    assert isinstance(answer, R.Error) and answer.code == ErrorCode.INVALID
    assert "2 markers(?) in CQL but 1 bound variables" in answer.message


def test_an_old_result_metadata_id_is_told_of_the_change_every_time(node, schema) -> None:
    client = RawClient(node.host, node.port, version=5)
    client.query("CREATE TABLE lay.meta (k text PRIMARY KEY, v int)")
    select = _prepare(client, "SELECT * FROM lay.meta WHERE k = ?")
    for _ in range(WARM):
        rows = _execute(client, select, [b"m"], skip_metadata=True)
        assert rows.metadata.columns is None and rows.metadata.new_metadata_id is None
    client.query("ALTER TABLE lay.meta ADD w int")
    for _ in range(WARM):  # never learnt from these bodies: each must carry the new metadata
        rows = _execute(client, select, [b"m"], skip_metadata=True)
        assert rows.metadata.new_metadata_id not in (None, select[1])
        assert [c.name for c in rows.metadata.columns] == ["k", "v", "w"]
    client.close()
