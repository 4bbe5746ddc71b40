"""Every partition and row of the SSTables Cassandra itself wrote (shared/testdata, see its README):

    CREATE TABLE legacy_tables.legacy_V_simple (pk text PRIMARY KEY, val text);
    CREATE TABLE legacy_tables.legacy_V_clust  (pk text, ck text, val text, PRIMARY KEY (pk, ck));

5 partitions pk = '0'..'4'; simple: val = 'foo bar baz'; clust: 50 rows per partition with
ck = str(n) + '0123456789' * 120 (n in 0..49) and one 128-character lowercase val in every row.
Written by Cassandra 4.0 (BIG "nb") and 5.0 (BTI "da"), LZ4 in 16 KiB chunks, ByteOrderedPartitioner.
"""

from __future__ import annotations

import json
import os
import re
from itertools import pairwise

import pytest

from ferrosa.importer import bti
from ferrosa.importer.files import PARTITIONS, ROWS, STATISTICS, format_version, parse_descriptor
from ferrosa.importer.main import main
from ferrosa.importer.model import Row
from ferrosa.importer.reader import SSTableReader
from ferrosa.importer.statistics import read_statistics

from .synth import TESTDATA

BOP = "org.apache.cassandra.dht.ByteOrderedPartitioner"
UTF8 = "org.apache.cassandra.db.marshal.UTF8Type"
KEYS = [b"0", b"1", b"2", b"3", b"4"]
# Text clustering sorts by UTF-8 bytes: "0...", "1...", "10...", "11...", ..., "2...", ...
CLUSTERINGS = sorted((str(n) + "0123456789" * 120).encode() for n in range(50))
TABLES = {
    (version, kind): os.path.join(TESTDATA, version, "legacy_tables", f"legacy_{version}_{kind}",
                                  f"{version}-1-{'big' if version == 'nb' else 'bti'}-Data.db")
    for version in ("nb", "da") for kind in ("simple", "clust")
}

pytestmark = pytest.mark.skipif(not os.path.isdir(TESTDATA), reason="shared SSTable test data not present")


def _check_simple(parts: list, stats) -> None:
    assert [p.key for p in parts] == KEYS
    for p in parts:
        assert p.deletion is None and p.static_row is None
        assert len(p.unfiltereds) == 1
        row = p.unfiltereds[0]
        assert type(row) is Row and row.clustering == () and row.deletion is None and row.ttl == 0
        assert stats.min_timestamp <= row.timestamp <= stats.max_timestamp
        assert [(c.column, c.value, c.timestamp, c.ttl, c.path) for c in row.cells] == \
               [("val", b"foo bar baz", row.timestamp, 0, None)]


def _check_clust(parts: list, stats) -> None:
    assert [p.key for p in parts] == KEYS
    vals = set()
    for p in parts:
        assert p.deletion is None and p.static_row is None
        rows = list(p.rows())
        assert len(rows) == len(p.unfiltereds) == 50
        assert [r.clustering for r in rows] == [(ck,) for ck in CLUSTERINGS]
        for r in rows:
            assert r.deletion is None and r.ttl == 0 and not r.complex_deletions
            assert stats.min_timestamp <= r.timestamp <= stats.max_timestamp
            assert len(r.cells) == 1
            cell = r.cells[0]
            assert (cell.column, cell.timestamp, cell.ttl, cell.path) == ("val", r.timestamp, 0, None)
            assert re.fullmatch(rb"[a-z]{128}", cell.value)
            vals.add(cell.value)
    assert len(vals) == 1  # "the same in every row"


CHECKS = {"simple": _check_simple, "clust": _check_clust}


@pytest.mark.parametrize("version,kind", sorted(TABLES))
def test_every_partition_and_row(version: str, kind: str) -> None:
    with SSTableReader(TABLES[version, kind]) as r:
        assert r.partitioner == BOP
        assert r.format == ("big" if version == "nb" else "bti")
        assert r.header.key_type == UTF8
        assert r.header.clustering_types == ((UTF8,) if kind == "clust" else ())
        assert [(c.name, c.type) for c in r.header.regular_columns] == [(b"val", UTF8)]
        assert r.header.static_columns == ()
        parts = list(r.partitions())
        CHECKS[kind](parts, r.statistics.stats)
        assert r.statistics.stats.total_rows == sum(len(p.unfiltereds) for p in parts)
        # Partitions tile the decompressed stream exactly.
        assert parts[0].position == 0 and parts[-1].end == r.data.data_length
        assert all(a.end == b.position for a, b in pairwise(parts))
        # The index visits the same partitions and its block offsets are row starts (checked inside).
        assert list(r.partitions_via_index()) == parts
        assert [r.partition_at(p.position) for p in parts] == parts


@pytest.mark.parametrize("version", ["nb", "da"])
def test_statistics_version_fields(version: str) -> None:
    path = TABLES[version, "clust"]
    desc, _ = parse_descriptor(path)
    st = read_statistics(desc.path(STATISTICS), format_version(desc.format, desc.version))
    assert st.validation.partitioner == BOP
    assert st.stats.min_local_deletion_time is None and st.stats.max_local_deletion_time is None
    assert st.stats.total_rows == 250 and st.stats.min_ttl == 0
    assert st.header.min_timestamp == st.stats.min_timestamp
    if version == "da":  # 5.0: key range, covered clustering, token space coverage
        assert (st.stats.first_key, st.stats.last_key) == (b"0", b"4")
        assert st.stats.clustering_types == (UTF8,)
        assert st.stats.covered_clustering[0].values == (CLUSTERINGS[0],)
        assert st.stats.covered_clustering[1].values == (CLUSTERINGS[-1],)
        assert st.stats.token_space_coverage == 1.0
    else:  # 4.0 "nb": none of those
        assert st.stats.first_key is None and st.stats.covered_clustering is None


def test_bti_partition_and_row_index() -> None:
    desc, _ = parse_descriptor(TABLES["da", "clust"])
    with open(desc.path(PARTITIONS), "rb") as f:
        index = bti.PartitionIndex(f.read(), desc.path(PARTITIONS))
    assert (index.first_key, index.last_key, index.key_count) == (b"0", b"4", 5)
    entries = list(index.entries())
    # Byte-comparable decorated keys: 0x40 separator, then the key's unique prefix.
    assert [e.prefix for e in entries] == [b"@" + k for k in KEYS]
    with open(desc.path(ROWS), "rb") as f:
        rows = bti.RowIndex(f.read(), desc.path(ROWS), uint_deletion=True)
    with SSTableReader(TABLES["da", "clust"]) as r:
        parts = list(r.partitions())
    for e, part in zip(entries, parts):
        entry = rows.entry(e.rows_position)
        assert (entry.key, entry.data_position, entry.deletion) == (part.key, part.position, None)
        blocks, end = rows.blocks(entry)
        assert len(blocks) == entry.block_count == 13
        starts = [u.position - part.position for u in part.unfiltereds]
        assert [b.offset for b in blocks] == [starts[i] for i in range(0, 50, 4)][:13]
        assert end == part.end - part.position - 1  # the end-of-partition byte
        assert blocks[0].separator == b""


def test_dump_cli(capsysbinary: pytest.CaptureFixture) -> None:
    assert main(["dump", os.path.dirname(TABLES["nb", "clust"]), TABLES["da", "simple"], "--via-index"]) == 0
    lines = capsysbinary.readouterr().out.decode().splitlines()
    assert len(lines) == 10
    first = json.loads(lines[0])
    assert first["partition"] == {"key": ["0"], "position": 0}
    rows = first["rows"]
    assert [r["clustering"] for r in rows] == [[ck.decode()] for ck in CLUSTERINGS]
    assert rows[0]["type"] == "row" and rows[0]["position"] == 15
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", rows[0]["liveness_info"]["tstamp"])
    assert rows[0]["cells"][0]["name"] == "val" and len(rows[0]["cells"][0]["value"]) == 128
    last = json.loads(lines[-1])
    assert last["partition"]["key"] == ["4"]
    assert last["rows"][0]["cells"] == [{"name": "val", "value": "foo bar baz"}]


def test_dump_cli_raw_timestamps(capsysbinary: pytest.CaptureFixture) -> None:
    assert main(["dump", "-t", TABLES["nb", "simple"]]) == 0
    lines = [json.loads(x) for x in capsysbinary.readouterr().out.decode().splitlines()]
    assert [x["rows"][0]["liveness_info"]["tstamp"] for x in lines] == \
           [1620986780234000, 1620986780346001, 1620986780402001, 1620986780453002, 1620986780500000]
