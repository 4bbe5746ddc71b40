"""Restore: an empty data directory and the same bucket + prefix give back every file."""

from __future__ import annotations

import os

import msgspec
import pytest

from ferrosa.objectstore.errors import RestoreError
from ferrosa.objectstore.pending import NoticeWriter
from ferrosa.objectstore.restore import list_hosts, restore, restore_node_files
from ferrosa.objectstore.settings import ObjectStoreSettings, open_store
from ferrosa.objectstore.status import uploads_dir
from shards.sstable import SSTableReader, cleanup_incomplete, list_sstables
from shards.sstable.format import TOC, component_path
from tests.objectstore.conftest import TABLE, write_sstable
from tests.objectstore.helpers import HOST, upload_in_process

OTHER = bytes.fromhex("0b1ec7000000000000000000000000b2")


def _files(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _populate(data) -> None:
    """Two shards, two tables, a compaction, a large SSTable, node files and a segment."""
    (data).mkdir(parents=True)
    (data / "node.json").write_bytes(msgspec.json.encode({"host_id": HOST, "tokens": ["1"]}))
    (data / "schema.json").write_bytes(b'[{"name": "ks"}]')
    for shard in (0, 1):
        directory = data / "data" / f"shard-{shard}"
        writer = NoticeWriter(uploads_dir(data), shard)
        for generation in (1, 2, 3):
            write_sstable(directory, generation, partitions=25, seed=shard)
            writer.sstable_sealed(str(directory), TABLE, generation,
                                  flushed_through=(10 + generation, 64))
        write_sstable(directory, 4, partitions=80, seed=shard)  # compaction of 1 and 2
        writer.sstable_sealed(str(directory), TABLE, 4)
        writer.sstables_removed(TABLE, [1, 2])
        for generation in (1, 2):
            os.unlink(component_path(str(directory), TABLE, generation, TOC))
        cleanup_incomplete(str(directory))
        write_sstable(directory, 1, partitions=120, value_bytes=70_000, table_id=OTHER)
        writer.sstable_sealed(str(directory), OTHER, 1, flushed_through=(12, 8))
        segment = data / f"CommitLog-1-{20 + shard}.log"
        segment.write_bytes(b"records" * 1000)
        writer.segment_closed(str(segment))


def _restore_and_compare(store, settings, data, target) -> None:
    assert list_hosts(store, settings.prefix) == [HOST]
    assert sorted(restore_node_files(store, settings.prefix, HOST, target)) == [
        "node.json", "schema.json"]
    assert (target / "schema.json").read_bytes() == (data / "schema.json").read_bytes()
    for shard in (0, 1):
        source = data / "data" / f"shard-{shard}"
        directory = target / "data" / f"shard-{shard}"
        report = restore(store, settings.prefix, HOST, shard, str(directory),
                         commitlog_directory=str(target / "commitlog" / f"shard-{shard}"))
        assert report.sstables == 3 and report.tables == 2 and report.already_present == 0
        assert report.flushed == {TABLE.hex(): (13, 64), OTHER.hex(): (12, 8)}
        assert report.segments == [f"CommitLog-1-{20 + shard}.log"]
        assert report.segments_downloaded == 1
        assert _files(directory) == _files(source)  # byte-identical, nothing more, nothing less
        segment = target / "commitlog" / f"shard-{shard}" / f"CommitLog-1-{20 + shard}.log"
        assert segment.read_bytes() == b"records" * 1000
        for table_id, generation in list_sstables(str(directory)):
            restored = SSTableReader.open(str(directory), table_id, generation)
            original = SSTableReader.open(str(source), table_id, generation)
            assert [p.pk for p in restored.scan()] == [p.pk for p in original.scan()]
            restored.close()
            original.close()
        again = restore(store, settings.prefix, HOST, shard, str(directory))
        assert again.sstables == 0 and again.already_present == 3


def test_restore_into_empty_directory_is_byte_identical(tmp_path, store, settings) -> None:
    data = tmp_path / "node"
    _populate(data)
    status = upload_in_process(store, settings, data)
    assert status.failed_notices == 0
    _restore_and_compare(store, settings, data, tmp_path / "fresh")


def test_restore_from_a_local_store(tmp_path) -> None:
    settings = ObjectStoreSettings(local_store_path=str(tmp_path / "objects"), prefix="p")
    store = open_store(settings)
    data = tmp_path / "node"
    _populate(data)
    upload_in_process(store, settings, data)
    _restore_and_compare(store, settings, data, tmp_path / "fresh")


def test_interrupted_restore_is_finished_by_running_it_again(tmp_path, store, settings) -> None:
    data = tmp_path / "node"
    _populate(data)
    upload_in_process(store, settings, data)
    directory = tmp_path / "fresh" / "shard-0"
    restore(store, settings.prefix, HOST, 0, str(directory))
    # as if the restore died: one SSTable without its TOC, a half-downloaded temporary file
    os.unlink(component_path(str(directory), TABLE, 4, TOC))
    (directory / (os.path.basename(component_path(str(directory), TABLE, 3, "Data")) + ".tmp")
     ).write_bytes(b"partial")
    removed = cleanup_incomplete(str(directory))  # what the shard does at start
    assert len(removed) == 7
    report = restore(store, settings.prefix, HOST, 0, str(directory))
    assert report.sstables == 1 and report.already_present == 2
    assert _files(directory) == _files(data / "data" / "shard-0")


def test_a_different_local_sstable_is_never_overwritten(tmp_path, store, settings) -> None:
    data = tmp_path / "node"
    _populate(data)
    upload_in_process(store, settings, data)
    directory = tmp_path / "fresh"
    write_sstable(directory, 3, partitions=5, seed=99)  # same name, other content
    with pytest.raises(RestoreError, match="is not the SSTable the bucket lists"):
        restore(store, settings.prefix, HOST, 0, str(directory))


def test_unknown_host_restores_nothing(tmp_path, store, settings) -> None:
    report = restore(store, settings.prefix, "00000000-dead", 0, str(tmp_path / "d"))
    assert (report.tables, report.sstables, report.segments) == (0, 0, [])
    assert restore_node_files(store, settings.prefix, "00000000-dead", tmp_path) == []
