"""Reads of one partition through a prepared statement, on a real node: slices and point reads,
with and without LIMIT and page size, page by page. A prepared read of one partition and one
clustering range takes the front's short path (CompiledSelect.start/finish, one shard request);
the same query sent as QUERY takes `execute`, so each case checks the rows against the expected
ones and every page, paging state included, against QUERY's."""

from __future__ import annotations

import pytest

from ferrosa.protocol import requests as Q
from ferrosa.protocol import responses as R
from ferrosa.protocol.constants import ConsistencyLevel
from ferrosa.protocol.errors import ErrorCode
from tests.integration.raw_client import RawClient

NODE_HOST = "127.0.0.26"
ONE = ConsistencyLevel.ONE
ROWS = 20  # clustering values 0..19 in partition "p" of pg.t and of pg.d
DELETED = (6, 7)  # rows of "p" in pg.t deleted after the insert
BIG_ROWS = 10
BIG_VALUE = 250_000  # 9 such rows pass the shard's 2 MiB reply cap (MAX_REPLY_ROW_BYTES)


def _int(n: int) -> bytes:
    return n.to_bytes(4, "big", signed=True)


def _ok(response):
    assert not isinstance(response, R.Error), response
    return response


@pytest.fixture(scope="module")
def schema(node):
    client = RawClient(node.host, node.port, version=4)
    for text in (("CREATE KEYSPACE pg WITH replication = {'class': 'SimpleStrategy', "
                  "'replication_factor': 1}"),
                 "CREATE TABLE pg.t (k text, c int, v text, PRIMARY KEY (k, c))",
                 ("CREATE TABLE pg.d (k text, c int, v text, PRIMARY KEY (k, c)) "
                  "WITH CLUSTERING ORDER BY (c DESC)"),
                 "CREATE TABLE pg.big (k text, c int, v blob, PRIMARY KEY (k, c))"):
        _ok(client.query(text))
    for table in ("t", "d"):
        insert = _ok(client.request(Q.Prepare(f"INSERT INTO pg.{table} (k, c, v) "
                                              "VALUES (?, ?, ?)"))).query_id
        for c in range(ROWS):
            _ok(client.request(Q.Execute(insert, Q.QueryParameters(
                values=[b"p", _int(c), b"v%d" % c], consistency=ONE))))
    for c in DELETED:
        _ok(client.query(f"DELETE FROM pg.t WHERE k = 'p' AND c = {c}"))
    insert = _ok(client.request(Q.Prepare("INSERT INTO pg.big (k, c, v) VALUES (?, ?, ?)")))
    for c in range(BIG_ROWS):
        _ok(client.request(Q.Execute(insert.query_id, Q.QueryParameters(
            values=[b"b", _int(c), bytes([c]) * BIG_VALUE], consistency=ONE))))
    client.close()


@pytest.fixture
def client(raw_client, schema):
    return raw_client


def _pages(client: RawClient, text: str, values: list, page_size: int | None,
           prepared: bool) -> list[tuple[list, bytes | None]]:
    """Every page of `text` (rows, paging state), following the paging states. A prepared
    statement is executed once first, unpaged: its answer caches the statement's rows
    metadata, which the front's quickest answer to a last page needs (as after a client's
    first execution)."""
    statement = _ok(client.request(Q.Prepare(text))) if prepared else None
    if statement is not None:
        _ok(client.request(Q.Execute(statement.query_id, Q.QueryParameters(
            values=values, consistency=ONE), statement.result_metadata_id)))
    pages, state = [], None
    for _ in range(100):
        params = Q.QueryParameters(values=values, consistency=ONE, page_size=page_size,
                                   paging_state=state)
        if statement is None:
            rows = _ok(client.request(Q.Query(text, params)))
        else:
            rows = _ok(client.request(Q.Execute(statement.query_id, params,
                                                statement.result_metadata_id)))
        state = rows.metadata.paging_state
        pages.append((rows.rows, state))
        if state is None:
            return pages
    raise AssertionError("more than 100 pages")


LIVE = [c for c in range(ROWS) if c not in DELETED]
SLICE = "SELECT * FROM pg.t WHERE k = ? AND c >= ? LIMIT ?"
CASES = [
    # (query, values, page size, expected clustering values, expected rows per page)
    (SLICE, [b"p", _int(3), _int(5)], 5000, [3, 4, 5, 8, 9], [5]),
    (SLICE, [b"p", _int(3), _int(5)], 2, [3, 4, 5, 8, 9], [2, 2, 1]),
    (SLICE, [b"p", _int(3), _int(5)], 5, [3, 4, 5, 8, 9], [5]),
    (SLICE, [b"p", _int(15), _int(100)], 5000, [15, 16, 17, 18, 19], [5]),
    (SLICE, [b"p", _int(0), _int(1)], 1, [0], [1]),
    (SLICE, [b"nowhere", _int(0), _int(3)], 5000, [], [0]),
    ("SELECT * FROM pg.t WHERE k = ? AND c >= ?", [b"p", _int(10)], 4,
     list(range(10, ROWS)), [4, 4, 2]),
    ("SELECT * FROM pg.t WHERE k = ? AND c >= ?", [b"p", _int(10)], 5,
     list(range(10, ROWS)), [5, 5]),
    ("SELECT * FROM pg.t WHERE k = ?", [b"p"], 7, LIVE, [7, 7, 4]),
    ("SELECT * FROM pg.t WHERE k = ? AND c >= ? AND c < ? ORDER BY c DESC LIMIT ?",
     [b"p", _int(2), _int(12), _int(6)], 4, [11, 10, 9, 8, 5, 4], [4, 2]),
    ("SELECT c FROM pg.t WHERE k = ? AND c > ? LIMIT ?", [b"p", _int(4), _int(3)], 5000,
     [5, 8, 9], [3]),
    ("SELECT * FROM pg.t WHERE k = ? AND c = ? LIMIT ?", [b"p", _int(9), _int(1)], 5000,
     [9], [1]),
    ("SELECT * FROM pg.t WHERE k = ? AND c = ?", [b"p", _int(6)], 5000, [], [0]),
    ("SELECT * FROM pg.d WHERE k = ? AND c > ? LIMIT ?", [b"p", _int(12), _int(5)], 3,
     [19, 18, 17, 16, 15], [3, 2]),
    ("SELECT * FROM pg.t WHERE k = ? AND (c) >= (?) LIMIT ?", [b"p", _int(17), _int(2)], 5000,
     [17, 18], [2]),
]


@pytest.mark.parametrize("text,values,page_size,expected,sizes", CASES)
def test_prepared_pages_match_the_query_path(client, text, values, page_size, expected,
                                             sizes) -> None:
    pages = _pages(client, text, values, page_size, prepared=True)
    columns = "c" if text.startswith("SELECT c ") else "*"
    got = [row[0 if columns == "c" else 1] for rows, _ in pages for row in rows]
    assert got == [_int(c) for c in expected]
    assert [len(rows) for rows, _ in pages] == sizes
    assert pages == _pages(client, text, values, page_size, prepared=False)


@pytest.mark.parametrize("page_size", [5000, None])
@pytest.mark.parametrize("limit,message", [(0, "LIMIT must be strictly positive"),
                                           (-1, "LIMIT must be strictly positive")])
def test_a_limit_that_is_not_positive_is_refused(client, limit, message, page_size) -> None:
    statement = _ok(client.request(Q.Prepare(SLICE)))
    error = client.request(Q.Execute(statement.query_id, Q.QueryParameters(
        values=[b"p", _int(0), _int(limit)], consistency=ONE, page_size=page_size),
        statement.result_metadata_id))
    assert isinstance(error, R.Error) and error.code == ErrorCode.INVALID, error
    assert message in error.message


@pytest.mark.parametrize("limit,expected", [(4, [0, 1, 2, 3]), (None, LIVE)])
def test_unpaged_reads_return_every_row(client, limit, expected) -> None:
    text = "SELECT * FROM pg.t WHERE k = ? AND c >= ?" + (" LIMIT ?" if limit else "")
    values = [b"p", _int(0)] + ([_int(limit)] if limit else [])
    pages = _pages(client, text, values, None, prepared=True)
    assert len(pages) == 1
    assert [row[1] for row in pages[0][0]] == [_int(c) for c in expected]


@pytest.mark.parametrize("page_size,limit", [(5000, 10), (5000, None), (4, 10), (None, 10),
                                             (None, None)])
def test_rows_past_the_reply_cap_come_in_later_pages(client, page_size, limit) -> None:
    # Nine rows of 250 kB fill the shard's reply: the short path answers them with a paging
    # state for the rest (the LIMIT's remainder in it), as a short page; unpaged, `execute`
    # reads on until the LIMIT.
    text = "SELECT c, v FROM pg.big WHERE k = ? AND c >= ?" + (" LIMIT ?" if limit else "")
    values = [b"b", _int(0)] + ([_int(limit)] if limit else [])
    pages = _pages(client, text, values, page_size, prepared=True)
    rows = [row for page, _ in pages for row in page]
    assert [row[0] for row in rows] == [_int(c) for c in range(BIG_ROWS)]
    assert all(row[1] == bytes([c]) * BIG_VALUE for c, row in enumerate(rows))
    sizes = [len(page) for page, _ in pages]
    assert sizes == {5000: [9, 1], 4: [4, 4, 2], None: [10]}[page_size]


@pytest.mark.parametrize("version", [4, 5])
def test_driver_pages_through_a_prepared_slice(node, schema, cluster_factory, version) -> None:
    session = cluster_factory(protocol_version=version).connect()
    select = session.prepare(SLICE)
    select.fetch_size = 3
    rows = session.execute(select, ("p", 2, 6))
    assert [r.c for r in rows] == [2, 3, 4, 5, 8, 9]
    select.fetch_size = 10
    result = session.execute(select, ("p", 2, 6))
    assert not result.has_more_pages
    assert [r.c for r in result.current_rows] == [2, 3, 4, 5, 8, 9]
