"""TableStore's background jobs as a shard's loop runs them: a compaction swaps its output in,
then deletes its inputs' files on the sync thread while the loop goes on taking steps."""

from __future__ import annotations

import os
import threading
import time

from ferrosa.ipc import messages as m
from ferrosa.partitioner import token
from shards.sstable import list_sstables
from shards.store import ShardStore

TABLE = b"\x05" * 16
NOW = 1_000
SLOW_UNLINK_SECONDS = 0.01


def _flushed_store(directory: str, sstables: int, keys: int = 50) -> ShardStore:
    store = ShardStore(0, directory, 1 << 30, None)
    store.handle(m.TableSchema(0, TABLE))
    for generation in range(sstables):
        for i in range(keys):
            key = b"key%d" % (i * sstables + generation)
            mutation = m.Mutation(TABLE, token(key), key, b"", [], 5, m.MUTATION_ROW_UPSERT, [],
                                  [], 0, 0, True, NOW - 10, plain_names=["a"], plain_values=[key])
            assert type(store.handle(m.Write(0, [mutation]))) is m.Ack
        store.flush(TABLE)
        while store.maintenance_step():
            pass
    return store


def test_a_compaction_deletes_its_inputs_on_the_sync_thread(tmp_path, monkeypatch) -> None:
    store = _flushed_store(str(tmp_path), 4)
    table = store.tables[TABLE]
    inputs = {reader.generation for reader in table.sstables}
    assert len(inputs) == 4
    threads: set[str] = set()
    real = os.unlink

    def unlink(path: str) -> None:
        if "-TOC" not in path and any(f"-{g}-" in path for g in inputs):
            threads.add(threading.current_thread().name)
            time.sleep(SLOW_UNLINK_SECONDS)
        real(path)
    monkeypatch.setattr(os, "unlink", unlink)
    job = store.compact(TABLE, major=True)
    assert job is not None
    finished: list[bool] = []
    job.done.append(lambda: finished.append(True))
    steps_after_swap = 0
    started = time.monotonic()
    while store.maintenance_step():
        if len(table.sstables) == 1:
            steps_after_swap += 1
    elapsed = time.monotonic() - started
    # Four inputs of six data components each: the loop kept taking steps while they went.
    assert elapsed >= 4 * 6 * SLOW_UNLINK_SECONDS
    assert steps_after_swap >= 4 * 6 * SLOW_UNLINK_SECONDS / 0.002
    assert threads and all(name.startswith("sstable-sync") for name in threads)
    assert finished == [True]
    (output,) = table.sstables
    assert {generation for _, generation in list_sstables(str(tmp_path))} == {output.generation}
    assert not [name for name in os.listdir(tmp_path) if any(f"-{g}-" in name for g in inputs)]
    plain = m.encode_projection([(m.PROJ_CELL, "a")])
    for i in range(0, 200, 7):
        key = b"key%d" % i
        reply = store.handle(m.Read(1, TABLE, token(key), key, plain, NOW))
        assert reply.count == 1 and reply.rows.endswith(key)


def test_flushes_number_columns_as_the_newest_sstable_so_compaction_copies(tmp_path,
                                                                            monkeypatch) -> None:
    from shards.sstable import SSTableWriter
    store = ShardStore(0, str(tmp_path), 1 << 30, None)
    store.handle(m.TableSchema(0, TABLE))
    orders = [["b", "a"], ["a", "c"], ["c", "b", "a"], ["d"]]
    for n, names in enumerate(orders):
        for i in range(20):
            key = b"k%d-%d" % (n, i)
            mutation = m.Mutation(TABLE, token(key), key, b"", [], 5 + n, m.MUTATION_ROW_UPSERT,
                                  [], [], 0, 0, True, NOW - 10, plain_names=names,
                                  plain_values=[key] * len(names))
            assert type(store.handle(m.Write(0, [mutation]))) is m.Ack
        store.flush(TABLE)
        while store.maintenance_step():
            pass
    table = store.tables[TABLE]
    # Newest first: each flush extends the dictionary of the one before.
    assert [r.stats.columns for r in table.sstables] == [
        ["b", "a", "c", "d"], ["b", "a", "c"], ["b", "a", "c"], ["b", "a"]]
    copied = []
    real, real_plain = SSTableWriter.add_copy, SSTableWriter.add_plain_copy

    def add_copy(writer, sources, records, tally):
        copied.append(sources[0].part.pk)
        return real(writer, sources, records, tally)

    def add_plain_copy(writer, source, token, pk, *rest):
        copied.append(pk)
        return real_plain(writer, source, token, pk, *rest)
    monkeypatch.setattr(SSTableWriter, "add_copy", add_copy)
    monkeypatch.setattr(SSTableWriter, "add_plain_copy", add_plain_copy)
    store.compact(TABLE, major=True)
    while store.maintenance_step():
        pass
    assert len(copied) == 80 and len(table.sstables) == 1
    assert table.sstables[0].stats.columns == ["b", "a", "c", "d"]


def test_memtable_bytes_count_the_memtables_being_flushed(tmp_path) -> None:
    store = _flushed_store(str(tmp_path), 0)
    table = store.tables[TABLE]
    _write_keys(store, [b"old%d" % i for i in range(30)])
    before = table.memtable_bytes
    assert before == table.memtable.bytes > 0
    store.flush(TABLE)  # the memtable is frozen; its flush has not run a step yet
    _write_keys(store, [b"new0"])
    assert table.flushing
    assert table.memtable_bytes == before + table.memtable.bytes
    assert store.memtable_bytes() == table.memtable_bytes
    while store.maintenance_step():
        pass
    assert not table.flushing and table.memtable_bytes == table.memtable.bytes


def _write_keys(store: ShardStore, keys: list[bytes]) -> None:
    for key in keys:
        mutation = m.Mutation(TABLE, token(key), key, b"", [], 5, m.MUTATION_ROW_UPSERT, [], [],
                              0, 0, True, NOW - 10, plain_names=["a"], plain_values=[key])
        assert type(store.handle(m.Write(0, [mutation]))) is m.Ack
