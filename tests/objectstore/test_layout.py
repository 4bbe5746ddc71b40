from __future__ import annotations

import pytest

from ferrosa.objectstore import layout
from ferrosa.objectstore.errors import ObjectStoreError

HOST = "5f2b1c3e-0000-4000-8000-000000000001"
TABLE = bytes.fromhex("00112233445566778899aabbccddeeff")


def test_keys() -> None:
    assert layout.marker_key("p") == "p/ferrosa.json"
    assert layout.marker_key("") == "ferrosa.json"
    assert layout.manifest_key("p", HOST, 3, TABLE) == (
        f"p/nodes/{HOST}/shard-3/manifest/00112233445566778899aabbccddeeff.json")
    assert layout.component_key("p", HOST, 0, TABLE, 12, 0xAB, "Data") == (
        f"p/nodes/{HOST}/shard-0/sstables/00112233445566778899aabbccddeeff/12-000000ab/Data")
    assert layout.commitlog_key("", HOST, 1, "CommitLog-1-7.log") == (
        f"nodes/{HOST}/shard-1/commitlog/CommitLog-1-7.log")
    assert layout.meta_key("a/b", HOST, "schema.json") == f"a/b/nodes/{HOST}/meta/schema.json"


def test_parsers() -> None:
    key = layout.manifest_key("p", HOST, 7, TABLE)
    assert layout.parse_manifest_key(key) == (7, TABLE)
    assert layout.parse_manifest_key(key.replace(".json", ".tmp")) is None
    assert layout.parse_shard_prefix(f"p/nodes/{HOST}/shard-12") == 12
    assert layout.parse_shard_prefix(f"p/nodes/{HOST}/meta") is None


@pytest.mark.parametrize("call", [
    lambda: layout.node_root("p", "../etc"),
    lambda: layout.meta_key("p", HOST, "a/b"),
    lambda: layout.component_key("p", HOST, 0, TABLE, 1, 0, "../Data"),
    lambda: layout.shard_root("p", HOST, -1),
    lambda: layout.sstable_dir("p", HOST, 0, TABLE, -5, 0),
])
def test_escaping_inputs_are_refused(call) -> None:
    with pytest.raises(ObjectStoreError):
        call()
