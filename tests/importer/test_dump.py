"""``dump``: sstabledump-shaped JSON with CQL-typed values, on a hand-built SSTable with every feature."""

from __future__ import annotations

import io
import json
import os
import uuid

import pytest

from ferrosa.importer.dump import Dumper, render_value
from ferrosa.importer.files import format_version, parse_descriptor
from ferrosa.importer.model import (
    BoundKind, Cell, ComplexDeletion, DeletionTime, Partition, RangeTombstoneMarker, Row,
)
from ferrosa.importer.reader import SSTableReader
from ferrosa.importer.types import KeyType, counter_context_total
from ferrosa.protocol import types as T

from .synth import TESTDATA, write_sstable
from .test_unfiltered import RICH

pytestmark = pytest.mark.skipif(not os.path.isdir(TESTDATA), reason="shared SSTable test data not present")

TS = 1_700_000_000_000_000
LDT = 1_700_000_000
KEY = b"\x00\x02ab\x00" + b"\x00\x04\x00\x00\x00\x07\x00"   # ('ab', 7)
I = lambda n: n.to_bytes(4, "big", signed=True)
TU = uuid.UUID("e7d6d0c0-7e8b-11ee-8c99-0242ac120002")


def _partition() -> Partition:
    static = Row((), TS, cells=[Cell("s", b"static!", TS), Cell("ss", b"", TS, path=I(3))], static=True)
    row = Row((I(1), b"x"), TS, 3600, LDT + 3600, cells=[
        Cell("a", I(-5), TS, 3600, LDT + 3600),                      # uses the row TTL
        Cell("b", None, TS + 1, 0, LDT),                             # tombstone
        Cell("c", b"\x01", TS + 2),
        Cell("l", I(10), TS, path=TU.bytes), Cell("l", I(11), TS, path=TU.bytes[:-1] + b"\x03"),
        Cell("m", I(1), TS, path=b"k1"),
        Cell("u", b"Main St", TS, path=b"\x00\x00"), Cell("u", I(12345), TS, path=b"\x00\x01"),
    ], complex_deletions=[ComplexDeletion("m", DeletionTime(TS - 1, LDT))])
    deleted = Row((I(2), b""), None, deletion=DeletionTime(TS + 5, LDT + 5))
    marker_open = RangeTombstoneMarker(BoundKind.INCL_START_BOUND, (I(3),), None,
                                       DeletionTime(TS + 6, LDT + 6))
    boundary = RangeTombstoneMarker(BoundKind.EXCL_END_INCL_START_BOUNDARY, (I(4),),
                                    DeletionTime(TS + 6, LDT + 6), DeletionTime(TS + 7, LDT + 7))
    marker_close = RangeTombstoneMarker(BoundKind.INCL_END_BOUND, (I(5), b"z"),
                                        DeletionTime(TS + 7, LDT + 7), None)
    return Partition(KEY, DeletionTime(TS - 10, LDT - 10), static,
                     [row, deleted, marker_open, boundary, marker_close])


def test_dump_every_feature(tmp_path) -> None:
    path = write_sstable(str(tmp_path / "ks" / "t"), "da", RICH, [_partition()])
    out = io.BytesIO()
    with SSTableReader(path) as r:
        assert Dumper(r).dump(out, via_index=False) == 1
    doc = json.loads(out.getvalue())
    head = doc["partition"]
    assert head["key"] == ["ab", 7] and head["position"] == 0
    assert head["deletion_info"] == {"marked_deleted": "2023-11-14T22:13:19.999990Z",
                                     "local_delete_time": "2023-11-14T22:13:10Z"}
    static, row, deleted, m1, m2, m3 = doc["rows"]
    assert static["type"] == "static_block" and "clustering" not in static
    assert static["cells"] == [{"name": "s", "value": "static!"}, {"name": "ss", "path": [3]}]
    assert row["clustering"] == [1, "x"]
    assert row["liveness_info"] == {"tstamp": "2023-11-14T22:13:20.000000Z", "ttl": 3600,
                                    "expires_at": "2023-11-14T23:13:20Z"}
    assert row["complex_deletions"] == [{"name": "m", "deletion_info": {
        "marked_deleted": "2023-11-14T22:13:19.999999Z", "local_delete_time": "2023-11-14T22:13:20Z"}}]
    cells = {(c["name"], json.dumps(c.get("path"))): c for c in row["cells"]}
    assert cells["a", "null"] == {"name": "a", "value": -5, "ttl": 3600, "expires_at": "2023-11-14T23:13:20Z"}
    assert cells["b", "null"] == {"name": "b", "deletion_info": {"local_delete_time": "2023-11-14T22:13:20Z"},
                                  "tstamp": "2023-11-14T22:13:20.000001Z"}
    assert cells["c", "null"]["value"] is True
    assert cells["l", json.dumps([str(TU)])]["value"] == 10
    assert cells["m", '["k1"]']["value"] == 1
    assert cells["u", '["street"]']["value"] == "Main St" and cells["u", '["zip"]']["value"] == 12345
    assert deleted["clustering"] == [2, ""]
    assert deleted["deletion_info"]["marked_deleted"].endswith(".000005Z")
    assert m1["type"] == "range_tombstone_bound" and m1["start"]["type"] == "inclusive" and "end" not in m1
    assert m2["type"] == "range_tombstone_boundary"
    assert (m2["end"]["type"], m2["start"]["type"]) == ("exclusive", "inclusive")
    assert m3["end"]["clustering"] == [5, "z"] and m3["end"]["type"] == "inclusive"


def test_render_values() -> None:
    assert render_value(T.TEXT, b"h\xc3\xa9") == "hé"
    assert render_value(T.BLOB, b"\x01\xff") == "0x01ff"
    assert render_value(T.BIGINT, (2**40).to_bytes(8, "big")) == 2**40
    assert render_value(T.DOUBLE, b"\x7f\xf8" + b"\x00" * 6) == "NaN"
    assert render_value(T.TIMESTAMP, (0).to_bytes(8, "big")) == "1970-01-01T00:00:00.000Z"
    assert render_value(T.INT, b"") == ""
    assert render_value(T.INT, b"\x01") == {"invalid": "0x01"}
    assert render_value(T.TEXT, b"\xff") == {"invalid": "0xff"}
    frozen_map = T.MapType(T.TEXT, T.INT, frozen=True)
    one_entry = b"\x00\x00\x00\x01" b"\x00\x00\x00\x01k" b"\x00\x00\x00\x04\x00\x00\x00\x02"
    assert render_value(frozen_map, one_entry) == {"k": 2}
    # A counter cell holds a counter context; its value is the sum of the shards' counts.
    shard = lambda count: bytes(16) + (1).to_bytes(8, "big") + count.to_bytes(8, "big", signed=True)
    context = (1).to_bytes(2, "big") + (0).to_bytes(2, "big") + shard(5) + shard(-2)
    assert counter_context_total(context) == 3 and render_value(T.COUNTER, context) == 3
    assert render_value(T.COUNTER, b"\x00") == {"invalid": "0x00"}


def test_composite_key_split() -> None:
    k = KeyType(RICH.key_type, "x")
    assert k.split(KEY) == [b"ab", I(7)]
    from ferrosa.importer.errors import CorruptSSTable

    with pytest.raises(CorruptSSTable):
        k.split(KEY[:-3])


def test_descriptor_and_versions() -> None:
    d, component = parse_descriptor(
        "/data/ks1/events-0123456789abcdef0123456789abcdef/nb-3gzk_0b2x_1f2f42l3s58lkyfzwv-big-Index.db")
    assert (d.keyspace, d.table, d.version, d.generation, d.format, component) == \
           ("ks1", "events", "nb", "3gzk_0b2x_1f2f42l3s58lkyfzwv", "big", "Index.db")
    assert d.path("Data.db").endswith("nb-3gzk_0b2x_1f2f42l3s58lkyfzwv-big-Data.db")
    nb, nc, oa, da = (format_version(f, v)
                      for f, v in [("big", "nb"), ("big", "nc"), ("big", "oa"), ("bti", "da")])
    assert nb.legacy_min_max and not nb.improved_min_max and not nb.uint_deletion_time and not nb.key_range
    assert nc.legacy_min_max and nc.improved_min_max and nc.key_range and not nc.uint_deletion_time
    assert not oa.legacy_min_max and oa.improved_min_max and oa.uint_deletion_time and oa.token_space_coverage
    assert da.uint_deletion_time and da.key_range and not da.legacy_min_max
    from ferrosa.importer.errors import UnsupportedFormat

    for fmt, version in [("big", "la"), ("big", "pa"), ("bti", "ea"), ("trie", "aa")]:
        with pytest.raises(UnsupportedFormat):
            format_version(fmt, version)
