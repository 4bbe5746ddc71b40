"""The shard's cache tier against a real object store (obstore's LocalStore in a temporary
directory): uploaded SSTables are evicted least recently used first, read back through the block
cache, reopened from their Remote marker, and never evicted before the bucket lists them."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from ferrosa.objectstore import NoticeWriter, uploads_dir
from ferrosa.objectstore.settings import ObjectStoreSettings, open_store
from shards.cold import ColdReadError, ColdTier
from shards.memtable import Cell, Partition, Row
from shards.sstable import SSTableWriter
from shards.sstable.format import DATA, REMOTE, component_path, delete_sstable
from shards.store import ShardStore
from tests.objectstore.helpers import HOST, upload_in_process

TABLE = bytes.fromhex("c01d0000000000000000000000000001")
PARTITIONS = 40


def _write(directory: Path, generation: int) -> None:
    with SSTableWriter(str(directory), TABLE, generation, compression="none") as writer:
        for i in range(PARTITIONS):
            part = Partition(generation * 1000 + i, b"k%d-%04d" % (generation, i))
            row = Row([b"c"])
            row.cells["v"] = Cell(1, os.urandom(200), 0, 0)
            part.rows[b"\x40c"] = row
            writer.add(part)
        writer.finish().close()


@pytest.fixture
def node(tmp_path: Path):
    settings = ObjectStoreSettings(local_store_path=str(tmp_path / "bucket"),
                                   cache_max_bytes=1)
    data_dir = tmp_path / "data"
    directory = data_dir / "data" / "shard-0"
    directory.mkdir(parents=True)
    (data_dir / "node.json").write_bytes(msgspec.json.encode({"host_id": HOST}))
    for generation in (1, 2, 3):
        _write(directory, generation)
    notices = NoticeWriter(uploads_dir(data_dir), 0)
    for generation in (1, 2):  # 3 is never uploaded
        notices.sstable_sealed(str(directory), TABLE, generation)
    notices.close()
    upload_in_process(open_store(settings), settings, data_dir)
    return settings, data_dir, directory


def _open(settings, data_dir: Path, directory: Path, budget: int) -> tuple[ColdTier, ShardStore]:
    cold = ColdTier(settings, 0, 1, str(directory), data_dir)
    cold.max_bytes = budget
    return cold, ShardStore(0, str(directory), remote=cold.open_remote)


def _everything(store: ShardStore) -> dict[bytes, bytes]:
    rows = {}
    for reader in store.tables[TABLE].sstables:
        for part in reader.scan():
            rows[part.pk] = part.rows[b"\x40c"].cells["v"].value
    return rows


def test_cold_data_is_evicted_lru_first_and_read_back(node) -> None:
    settings, data_dir, directory = node
    cold, store = _open(settings, data_dir, directory, budget=10**9)
    before = _everything(store)
    readers = {r.generation: r for r in store.tables[TABLE].sstables}
    assert cold.evict(store.tables.values(), now=100.0) == 0  # within budget: nothing
    readers[1].get(1000, b"k1-0000")  # generation 1 is hot now; 2 stays cold
    cold.max_bytes = cold.local_bytes(store.tables.values()) - 1
    freed = cold.evict(store.tables.values(), now=200.0)
    assert freed == readers[2].data_size
    assert not os.path.exists(component_path(str(directory), TABLE, 2, DATA))
    assert os.path.exists(component_path(str(directory), TABLE, 2, REMOTE))
    assert not readers[2].data_is_local and readers[1].data_is_local
    cold.max_bytes = 1
    cold.evict(store.tables.values(), now=300.0)
    # 1 goes too; 3 is not in the bucket, so it stays whatever the budget says.
    assert [g for g, r in sorted(readers.items()) if r.data_is_local] == [3]
    assert _everything(store) == before
    part = readers[2].get(2000 + 7, b"k2-0007")
    assert part is not None and part.rows[b"\x40c"].cells["v"].value == before[b"k2-0007"]
    assert cold.cache.misses > 0
    for table in store.tables.values():
        table.close()
    # A restarted shard opens evicted SSTables from their markers.
    cold, store = _open(settings, data_dir, directory, budget=1)
    assert sorted(r.generation for r in store.tables[TABLE].sstables
                  if not r.data_is_local) == [1, 2]
    assert _everything(store) == before
    for table in store.tables.values():
        table.close()
    delete_sstable(str(directory), TABLE, 2)
    assert not any(name.startswith(f"{TABLE.hex()}-2-") for name in os.listdir(directory))


def test_a_store_that_fails_gives_a_clear_read_error(node, tmp_path: Path) -> None:
    settings, data_dir, directory = node
    cold, store = _open(settings, data_dir, directory, budget=1)
    cold.evict(store.tables.values(), now=1.0)
    reader = next(r for r in store.tables[TABLE].sstables if r.generation == 2)
    assert not reader.data_is_local
    os.rename(tmp_path / "bucket", tmp_path / "gone")  # the objects are unreachable
    with pytest.raises(ColdReadError, match="evicted SSTable data"):
        reader.get(2000 + 3, b"k2-0003")
    os.rename(tmp_path / "gone", tmp_path / "bucket")
    assert reader.get(2000 + 3, b"k2-0003") is not None
    for table in store.tables.values():
        table.close()
