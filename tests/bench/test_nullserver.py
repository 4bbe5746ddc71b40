"""The null server's statement catalog: prepared metadata mirrors the bind markers."""

from __future__ import annotations

import pytest

from bench.nullserver import Catalog, Unsupported
from bench.workloads import (CLUSTERED1_DDL, INSERT_CLUSTERED1, KEYSPACE_DDL, SELECT_STANDARD1,
                             SLICE_CLUSTERED1, STANDARD1_DDL)
from ferrosa.protocol.primitives import Reader
from ferrosa.protocol.results import decode_result


@pytest.fixture
def catalog() -> Catalog:
    c = Catalog("127.0.0.9", 9042)
    for ddl in (KEYSPACE_DDL, STANDARD1_DDL, CLUSTERED1_DDL):
        c.statement(ddl, None).result(4, [], False)
    return c


def test_insert_markers_follow_the_columns(catalog: Catalog) -> None:
    stmt = catalog.prepare(INSERT_CLUSTERED1, None)
    assert [(m[2], m[3]) for m in stmt.markers] == [
        ("key", "blob"), ("ck", "int"), ("C0", "blob"), ("C1", "blob"), ("C2", "blob"),
        ("C3", "blob"), ("C4", "blob")]
    assert stmt.pk_indexes == [0] and stmt.columns is None
    assert catalog.prepared[stmt.query_id] is stmt


def test_slice_answers_limit_rows(catalog: Catalog) -> None:
    stmt = catalog.prepare(SLICE_CLUSTERED1, None)
    assert [(m[2], m[3]) for m in stmt.markers] == [("key", "blob"), ("ck", "int"),
                                                    ("[limit]", "int")]
    assert [c[2] for c in stmt.columns] == ["key", "ck", "C0", "C1", "C2", "C3", "C4"]
    body = stmt.result(4, [b"k", b"\0\0\0\0", (7).to_bytes(4, "big")], False)
    rows = decode_result(Reader(body), 4)
    assert len(rows.rows) == 7 and len(rows.rows[0][2]) == 34


def test_point_select_answers_one_row_and_honours_skip_metadata(catalog: Catalog) -> None:
    stmt = catalog.prepare(SELECT_STANDARD1, None)
    rows = decode_result(Reader(stmt.result(5, [b"k"], True)), 5)
    assert len(rows.rows) == 1 and rows.metadata.columns is None
    assert rows.metadata.column_count == 6


def test_system_local_has_this_address(catalog: Catalog) -> None:
    stmt = catalog.statement("SELECT * FROM system.local WHERE key='local'", None)
    rows = decode_result(Reader(stmt.result(4, [], False)), 4)
    names = [c.name for c in rows.metadata.columns]
    row = dict(zip(names, rows.rows[0]))
    assert row["rpc_address"] == bytes([127, 0, 0, 9]) and len(rows.rows) == 1
    empty = catalog.statement("SELECT * FROM system_schema.tables", None).result(4, [], False)
    assert decode_result(Reader(empty), 4).rows == []


def test_unsupported_markers_are_refused(catalog: Catalog) -> None:
    with pytest.raises(Unsupported):
        catalog.prepare("SELECT * FROM bench.standard1 WHERE key IN ?", None)
    with pytest.raises(Unsupported):
        catalog.prepare("SELECT * FROM bench.nothere WHERE key = ?", None)
