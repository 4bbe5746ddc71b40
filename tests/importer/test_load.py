"""ferrosa-import into a real node (127.0.0.45), through the real command line, read back with the driver.

* Cassandra's own SSTables (BTI "da" and BIG "nb", shared/testdata): every row with its value and its
  original WRITETIME; importing twice changes nothing; --dry-run writes nothing.
* Damaged copies (a flipped byte, a truncated Data.db, a flipped last chunk found only after most
  partitions were read): exit 1 naming the file, nothing of that SSTable loaded, the good SSTable
  next to it loaded.
* A table that does not fit the SSTable: exit 1 naming the difference.
* Synthetic SSTables (loadcases.py): TTLs, row/cell/collection/partition/range deletions, statics,
  collections, UDTs, DESC order, composite keys, counters: SELECT returns exactly what Cassandra would.
* The admin command's own guards (parts in order, known tables, tokens, size).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

from ferrosa.importer.reader import SSTableReader
from ferrosa.ipc import messages as m
from ferrosa.partitioner import token

from ..integration.node import REPO, NodeProcess
from . import loadcases as L
from .test_real_sstables import CLUSTERINGS, KEYS, TABLES, TESTDATA

HOST = "127.0.0.45"
pytestmark = pytest.mark.skipif(not os.path.isdir(TESTDATA), reason="shared SSTable test data not present")

LEGACY_CQL = [
    "CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}",
    "CREATE TABLE {ks}.legacy_da_simple (pk text PRIMARY KEY, val text)",
    "CREATE TABLE {ks}.legacy_nb_simple (pk text PRIMARY KEY, val text)",
    "CREATE TABLE {ks}.legacy_da_clust (pk text, ck text, val text, PRIMARY KEY (pk, ck))",
    "CREATE TABLE {ks}.legacy_nb_clust (pk text, ck text, val text, PRIMARY KEY (pk, ck))",
]


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    proc = NodeProcess(tmp_path_factory.mktemp("load") / "data", host=HOST).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(scope="module")
def session(node):
    from cassandra.cluster import Cluster

    cluster = Cluster([HOST], port=node.port)
    s = cluster.connect()
    for ks in ("legacy_tables", "dry"):
        for q in LEGACY_CQL:
            s.execute(q.format(ks=ks))
    s.execute("CREATE TABLE legacy_tables.damaged (pk text, ck text, val text, PRIMARY KEY (pk, ck))")
    s.execute("CREATE TABLE legacy_tables.mixed (pk text PRIMARY KEY, val text)")
    s.execute("CREATE TABLE legacy_tables.wrong (pk text PRIMARY KEY, val int)")
    s.execute("CREATE TABLE legacy_tables.guard (pk text PRIMARY KEY, val text)")
    for q in L.SCHEMA_CQL:
        s.execute(q)
    yield s
    cluster.shutdown()


def ferrosa_import(node, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ferrosa.importer.main",
            "--data-dir",
            str(node.data_dir),
            "--host",
            HOST,
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _summary(out: subprocess.CompletedProcess) -> dict[str, int]:
    first = out.stdout.splitlines()[0]
    return {k: int(v.replace(",", "")) for k, v in re.findall(r"(\w+) (\d[\d,]*)", first)}


def _expected(version: str, kind: str) -> set[tuple]:
    """(pk, ck, val, writetime) of every row, straight from the SSTable."""
    out = set()
    with SSTableReader(TABLES[version, kind]) as r:
        for p in r.partitions():
            for row in p.rows():
                cell = row.cells[0]
                ck = row.clustering[0].decode() if row.clustering else None
                out.add((p.key.decode(), ck, cell.value.decode(), cell.timestamp))
    return out


def _selected(session, ks: str, version: str, kind: str) -> set[tuple]:
    if kind == "simple":
        q = f"SELECT pk, val, WRITETIME(val) FROM {ks}.legacy_{version}_simple"
        return {(r[0], None, r[1], r[2]) for r in session.execute(q)}
    q = f"SELECT pk, ck, val, WRITETIME(val) FROM {ks}.legacy_{version}_clust"
    return set(map(tuple, session.execute(q)))


def _count(session, table: str) -> int:
    return session.execute(f"SELECT COUNT(*) FROM {table}").one()[0]


# ------------------------------------------------------------------------------ real SSTables


def test_dry_run_writes_nothing(node, session) -> None:
    out = ferrosa_import(node, "--dry-run", "--keyspace", "dry", TESTDATA)
    assert out.returncode == 0, out.stderr
    assert _summary(out) == {
        "sstables": 4,
        "partitions": 20,
        "rows": 510,
        "cells": 510,
        "tombstones": 0,
        "bytes": _summary(out)["bytes"],
        "errors": 0,
    }
    assert "dry run: nothing written (510 mutations would be" in out.stdout
    for version in ("da", "nb"):
        for kind in ("simple", "clust"):
            assert _count(session, f"dry.legacy_{version}_{kind}") == 0


def test_real_sstables_every_row_and_writetime(node, session) -> None:
    out = ferrosa_import(node, TESTDATA)  # keyspace and tables from the directory layout
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # no progress line off a terminal
    assert _summary(out)["rows"] == 510 and _summary(out)["errors"] == 0
    assert "loaded 510 rows as 510 mutations" in out.stdout
    before = {}
    for version in ("da", "nb"):
        for kind in ("simple", "clust"):
            got = _selected(session, "legacy_tables", version, kind)
            assert got == _expected(version, kind)
            before[version, kind] = got
            assert {r[0].encode() for r in got} == set(KEYS)
        clust = _selected(session, "legacy_tables", version, "clust")
        assert len(clust) == 250 and {r[1].encode() for r in clust} == set(CLUSTERINGS)
        assert all(len(r[2]) == 128 for r in clust)
        rows = list(session.execute(f"SELECT ck FROM legacy_tables.legacy_{version}_clust WHERE pk = '3'"))
        assert [r.ck.encode() for r in rows] == CLUSTERINGS  # clustering order as Cassandra's
    # Importing again (one table directory and one Data.db this time) changes nothing.
    again = ferrosa_import(
        node,
        "--spool-mib",  # no spool: the load pass reads each SSTable again
        "0",
        os.path.dirname(TABLES["nb", "clust"]),
        TABLES["da", "simple"],
        os.path.dirname(TABLES["da", "simple"]),
    )
    assert again.returncode == 0, again.stderr
    assert _summary(again)["sstables"] == 2  # the same SSTable named twice is imported once
    for key, got in before.items():
        assert _selected(session, "legacy_tables", *key) == got


# ------------------------------------------------------------------------------ damaged input


def _copy(src_data: str, directory: Path, prefix: str | None = None) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    src_dir, base = os.path.split(src_data)
    stem = base[: -len("Data.db")]
    for name in os.listdir(src_dir):
        if name.startswith(stem):
            shutil.copyfile(os.path.join(src_dir, name), directory / name.replace(stem, prefix or stem))
    return str(directory / (base.replace(stem, prefix or stem)))


def _flip(path: str, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes((b[0] ^ 0x20,)))


def _truncate(path: str) -> None:
    os.truncate(path, os.path.getsize(path) * 2 // 3)


@pytest.mark.parametrize(
    "damage,extra",
    [
        ("flip", ()),  # Digest.crc32 catches it before any partition is read
        ("truncate", ()),
        ("flip-last-chunk", ("--no-digest",)),  # found by the chunk CRC after most partitions were read
    ],
)
def test_damaged_copy_loads_nothing(node, session, tmp_path, damage, extra) -> None:
    data = _copy(TABLES["da", "clust"], tmp_path / "legacy_tables" / "damaged")
    size = os.path.getsize(data)
    {
        "flip": lambda: _flip(data, size // 2),
        "truncate": lambda: _truncate(data),
        "flip-last-chunk": lambda: _flip(data, size - 40),
    }[damage]()
    out = ferrosa_import(node, *extra, str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert data in out.stderr
    assert _summary(out)["errors"] == 1 and _summary(out)["sstables"] == 0
    assert _count(session, "legacy_tables.damaged") == 0


def test_good_sstable_next_to_a_damaged_one(node, session, tmp_path) -> None:
    directory = tmp_path / "legacy_tables" / f"mixed-{'ab' * 16}"
    _copy(TABLES["da", "simple"], directory)
    bad = _copy(TABLES["nb", "simple"], directory)
    _flip(bad, os.path.getsize(bad) // 2)
    out = ferrosa_import(node, str(directory))
    assert out.returncode == 1
    assert bad in out.stderr and "da-1-bti" not in out.stderr
    rows = {
        (r.pk, r.val, r.writetime_val)
        for r in session.execute("SELECT pk, val, WRITETIME(val) FROM legacy_tables.mixed")
    }
    assert rows == {(pk, val, ts) for pk, _ck, val, ts in _expected("da", "simple")}


def test_schema_mismatch_is_reported(node, session) -> None:
    out = ferrosa_import(node, "-k", "legacy_tables", "-t", "wrong", TABLES["da", "simple"])
    assert out.returncode == 1
    assert (
        "does not fit table legacy_tables.wrong: column val is int in the table, the SSTable has text"
        in out.stderr
        and TABLES["da", "simple"] in out.stderr
    )
    out = ferrosa_import(node, "-t", "nowhere", TABLES["da", "simple"])
    assert out.returncode == 1 and "table legacy_tables.nowhere does not exist" in out.stderr
    out = ferrosa_import(node, "-k", "legacy_tables", "-t", "legacy_da_simple", TABLES["da", "clust"])
    assert out.returncode == 1 and "1 clustering column(s) in the SSTable, 0 in the table" in out.stderr
    assert _count(session, "legacy_tables.wrong") == 0


def test_no_node_is_a_usage_error(tmp_path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferrosa.importer.main",
            "--data-dir",
            str(tmp_path),
            "--host",
            "127.0.0.47",
            TABLES["da", "simple"],
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "cannot reach the node's CQL port" in out.stderr


# ------------------------------------------------------------------------------ synthetic cases


def _rich(session) -> list[tuple]:
    rows = []
    for r in session.execute("SELECT k, c, s, v, l, st, mp, u, f FROM imp.rich"):
        rows.append(
            (
                r.k,
                r.c,
                r.s,
                r.v,
                r.l,
                set(r.st) if r.st is not None else None,
                dict(r.mp) if r.mp is not None else None,
                tuple(r.u) if r.u is not None else None,
                r.f,
            )
        )
    return sorted(rows, key=lambda x: (x[0], x[1] or 0))


def _synthetic_state(session) -> tuple:
    return (
        _rich(session),
        list(map(tuple, session.execute("SELECT * FROM imp.rev"))),
        list(map(tuple, session.execute("SELECT * FROM imp.comp"))),
        list(map(tuple, session.execute("SELECT * FROM imp.cnt"))),
        list(map(tuple, session.execute("SELECT k, c, WRITETIME(v), TTL(v) FROM imp.rich WHERE k = 1"))),
    )


def test_synthetic_sstables_convert_exactly(node, session, tmp_path) -> None:
    L.write_cases(str(tmp_path))
    out = ferrosa_import(node, str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert _summary(out)["tombstones"] == 10
    assert _rich(session) == L.RICH_ROWS
    assert list(map(tuple, session.execute("SELECT * FROM imp.rev"))) == L.REV_ROWS
    assert list(map(tuple, session.execute("SELECT * FROM imp.comp"))) == L.COMP_ROWS
    assert list(map(tuple, session.execute("SELECT * FROM imp.cnt"))) == L.CNT_ROWS
    before = time.time()
    times = {
        r[1]: r[2:] for r in session.execute("SELECT k, c, WRITETIME(v), TTL(v) FROM imp.rich WHERE k = 1")
    }
    assert times[1] == (L.T1, None) and times[7] == (L.T3, None)
    # The cases expire at L.NOW + 3600, NOW being taken when the module was imported (at
    # collection, maybe minutes before this test runs in a full suite). The node counts the
    # TTL from its own now in whole seconds, taken after `before`: at most the expiry less
    # the whole second `before` fell in (a bound from a clock read after the query failed
    # when the query crossed a second).
    expiry = L.NOW + 3600
    assert times[2][0] == L.T1 and expiry - before - 60 < times[2][1] <= expiry - int(before)
    state = _synthetic_state(session)
    # Idempotent, counters included; tiny batches on one connection this time.
    again = ferrosa_import(node, "--batch-kib", "1", "--connections", "1", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert _synthetic_state(session)[:4] == state[:4]
    session.execute("UPDATE imp.cnt SET n = n + 1 WHERE k = 1")
    assert session.execute("SELECT n FROM imp.cnt WHERE k = 1").one().n == 43


# ------------------------------------------------------------------------------ the admin command


class Admin:
    def __init__(self, node):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(node.data_dir / "admin.sock"))
        self.stream = self.sock.makefile("rb")

    def __call__(self, args: dict) -> dict:
        self.sock.sendall(json.dumps({"op": "import", "args": args}).encode() + b"\n")
        return json.loads(self.stream.readline())


def _batch(mutations: list[m.Mutation]) -> str:
    return base64.b64encode(msgspec.msgpack.encode(mutations)).decode()


def test_admin_import_guards(node, session) -> None:
    admin = Admin(node)
    limits = admin({})["result"]
    assert limits["shards"] == 2 and 0 < limits["max_part_bytes"] < 64 * 1024 <= limits["max_batch_bytes"]
    table_id = (
        session.execute(
            "SELECT id FROM system_schema.tables WHERE keyspace_name = 'legacy_tables' "
            "AND table_name = 'guard'"
        )
        .one()
        .id.bytes
    )
    good = m.Mutation(
        table_id, token(b"guard"), b"guard", b"", [], 5, m.MUTATION_ROW_UPSERT, [m.CellWrite("val", b"v")]
    )
    unknown = m.Mutation(b"\x07" * 16, good.token, good.pk, b"", [], 5, m.MUTATION_ROW_UPSERT)
    wrong_token = m.Mutation(table_id, good.token + 1, good.pk, b"", [], 5, m.MUTATION_ROW_UPSERT)
    assert "no user table has the id" in admin({"data": _batch([good, unknown])})["error"]
    assert "is not the token of key" in admin({"data": _batch([wrong_token])})["error"]
    assert "not base64" in admin({"data": "@@@"})["error"]
    assert "malformed batch" in admin({"data": base64.b64encode(b"\x93\x01").decode()})["error"]
    # Parts must arrive in order; a missing part drops the upload (no shorter batch slips through).
    payload = msgspec.msgpack.encode([good])
    assert admin({"data": base64.b64encode(payload[:10]).decode(), "upload": "u1", "part": 0, "more": True})[
        "ok"
    ]
    assert (
        "arrived after 1 part(s)"
        in admin({"data": base64.b64encode(payload[10:]).decode(), "upload": "u1", "part": 2})["error"]
    )
    assert (
        "arrived after 0 part(s)"
        in admin({"data": base64.b64encode(payload[10:]).decode(), "upload": "u1", "part": 1})["error"]
    )
    assert _count(session, "legacy_tables.guard") == 0
    assert admin({"data": base64.b64encode(payload[:10]).decode(), "upload": "u2", "part": 0, "more": True})[
        "ok"
    ]
    assert admin({"data": base64.b64encode(payload[10:]).decode(), "upload": "u2", "part": 1})["result"] == {
        "mutations": 1
    }
    assert tuple(session.execute("SELECT val, WRITETIME(val) FROM legacy_tables.guard").one()) == ("v", 5)
    # A batch over the node's limit is refused while it is still arriving.
    piece = base64.b64encode(b"\x00" * limits["max_part_bytes"]).decode()
    parts = limits["max_batch_bytes"] // limits["max_part_bytes"] + 1  # the last one goes over
    replies = [admin({"data": piece, "upload": "big", "part": i, "more": True}) for i in range(parts)]
    assert all(r["ok"] for r in replies[:-1]) and "refused" in replies[-1]["error"]
