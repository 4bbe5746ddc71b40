from __future__ import annotations

import asyncio
import threading

import msgspec
import obstore
import pytest
from obstore.exceptions import AlreadyExistsError, PreconditionError

from ferrosa.objectstore.errors import ManifestError
from ferrosa.objectstore.manifest import (
    ComponentEntry,
    Manifest,
    ManifestStore,
    SSTableEntry,
    empty_manifest,
    expired,
    purge,
    retire,
    with_flushed,
    with_sstable,
)
from ferrosa.objectstore.settings import ObjectStoreSettings, open_store

HOST = "host-1"
TABLE = bytes.fromhex("aa" * 16)


def entry(generation: int, upload_id: int = 0x1234) -> SSTableEntry:
    return SSTableEntry(generation=generation, upload_id=upload_id, uploaded_at=1.0,
                        components=[ComponentEntry("Data", 10, 1), ComponentEntry("TOC", 5, 7)])


def test_moto_conditional_puts_behave_like_s3(store) -> None:
    """The server the other tests rely on: If-None-Match: * and If-Match: <etag> are enforced."""
    first = obstore.put(store, "m/x.json", b"1", mode="create")
    with pytest.raises(AlreadyExistsError):
        obstore.put(store, "m/x.json", b"2", mode="create")
    second = obstore.put(store, "m/x.json", b"3", mode={"e_tag": first["e_tag"]})
    with pytest.raises(PreconditionError):  # stale etag
        obstore.put(store, "m/x.json", b"4", mode={"e_tag": first["e_tag"]})
    obstore.put(store, "m/x.json", b"5", mode={"e_tag": second["e_tag"]})
    assert bytes(obstore.get(store, "m/x.json").bytes()) == b"5"


def test_edits_are_idempotent() -> None:
    m = empty_manifest(HOST, 0, TABLE)
    m1 = with_sstable(m, entry(1), (3, 100), now=10, grace_seconds=5)
    assert with_sstable(m1, entry(1), (3, 100), now=11, grace_seconds=5) is m1
    assert m1.flushed_through == (3, 100) and m1.revision == 1
    m2 = with_sstable(m1, entry(2), (2, 0), now=12, grace_seconds=5)  # position never goes back
    assert m2.flushed_through == (3, 100) and [e.generation for e in m2.sstables] == [1, 2]
    m3 = retire(m2, [1, 7], now=20, grace_seconds=5)
    assert [e.generation for e in m3.sstables] == [2]
    assert [(r.sstable.generation, r.delete_after) for r in m3.retired] == [(1, 25)]
    assert retire(m3, [1], now=21, grace_seconds=5) is m3
    assert expired(m3, 24) == [] and [r.sstable.generation for r in expired(m3, 25)] == [1]
    m4 = purge(m3, {(1, 0x1234)})
    assert m4.retired == [] and purge(m4, {(1, 0x1234)}) is m4


def test_truncate_position_only_grows() -> None:
    m = with_sstable(empty_manifest(HOST, 0, TABLE), entry(1), (3, 100), 0, 60)
    truncated = with_flushed(retire(m, [1], 5, 60), (4, 20))
    assert truncated.sstables == [] and truncated.flushed_through == (4, 20)
    assert truncated.revision == m.revision + 2
    assert with_flushed(truncated, (4, 19)) is truncated and with_flushed(truncated, None) is truncated


def test_reused_generation_retires_the_stale_entry() -> None:
    m = with_sstable(empty_manifest(HOST, 0, TABLE), entry(1, upload_id=1), None, 0, 60)
    m = with_sstable(m, entry(1, upload_id=2), None, 0, 60)
    assert [e.upload_id for e in m.sstables] == [2] and m.retired[0].sstable.upload_id == 1
    # a live entry sharing the retired one's identity protects its objects from the sweep
    m = with_sstable(retire(m, [1], 0, 0), entry(1, upload_id=1), None, 0, 0)
    assert all(r.sstable.upload_id != 1 for r in expired(m, 100))


def test_manifest_documents_are_json(store) -> None:
    ms = ManifestStore(store)
    key = "m/nodes/h/shard-0/manifest/aa.json"
    asyncio.run(ms.update(key, lambda m: with_sstable(m or empty_manifest(HOST, 0, TABLE),
                                                      entry(4), (1, 2), 0, 0)))
    raw = msgspec.json.decode(bytes(obstore.get(store, key).bytes()))
    assert raw["sstables"][0]["generation"] == 4 and raw["flushed_through"] == [1, 2]
    obstore.put(store, key, b"garbage")
    with pytest.raises(ManifestError, match="cannot be decoded"):
        asyncio.run(ms.read(key))


def test_a_lost_race_is_redone_on_the_winners_document(store) -> None:
    """Deterministic interleaving: another writer commits between our read and our put."""
    key = "m/race.json"
    ours, theirs = ManifestStore(store), ManifestStore(store)
    calls = []

    def edit(current: Manifest | None) -> Manifest:
        calls.append(current)
        if len(calls) == 1:  # first attempt: the other writer (own loop, own thread) wins
            t = threading.Thread(target=lambda: asyncio.run(theirs.update(
                key, lambda m: with_sstable(m or empty_manifest(HOST, 0, TABLE), entry(2), None,
                                            0, 0))))
            t.start()
            t.join()
        return with_sstable(current or empty_manifest(HOST, 0, TABLE), entry(1), None, 0, 0)

    result = asyncio.run(ours.update(key, edit))
    assert ours.conflicts == 1 and len(calls) == 2 and calls[0] is None
    assert [e.generation for e in result.sstables] == [1, 2]
    final = ours.read_sync(key)
    assert [e.generation for e in final.sstables] == [1, 2]


def _concurrent_writers(store_factory, key: str, writers: int = 3, each: int = 12) -> None:
    stores = [ManifestStore(store_factory()) for _ in range(writers)]
    barrier = threading.Barrier(writers)

    def run(w: int) -> None:
        async def go() -> None:
            barrier.wait()
            for i in range(each):
                gen = w * 1000 + i
                await stores[w].update(key, lambda m, gen=gen: with_sstable(
                    m or empty_manifest(HOST, 0, TABLE), entry(gen), (gen, 0), 0, 0))
                if i % 4 == 3:  # removals race with additions too
                    await stores[w].update(key, lambda m, gen=gen: retire(m, [gen - 1], 0, 0))
        asyncio.run(go())

    threads = [threading.Thread(target=run, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = stores[0].read_sync(key)
    live = {e.generation for e in final.sstables}
    retired = {r.sstable.generation for r in final.retired}
    expected_retired = {w * 1000 + i - 1 for w in range(writers) for i in range(each) if i % 4 == 3}
    expected = {w * 1000 + i for w in range(writers) for i in range(each)} - expected_retired
    assert live == expected and retired == expected_retired
    assert final.revision == writers * each + len(expected_retired)
    assert final.flushed_through == (max(expected), 0)
    assert sum(s.conflicts for s in stores) > 0  # the writers really did collide


def test_concurrent_writers_never_lose_entries_s3(settings) -> None:
    _concurrent_writers(lambda: open_store(settings), "m/nodes/h/shard-0/manifest/cc.json")


def test_concurrent_writers_never_lose_entries_local_store(tmp_path) -> None:
    settings = ObjectStoreSettings(local_store_path=str(tmp_path))
    _concurrent_writers(lambda: open_store(settings), "m/nodes/h/shard-0/manifest/cc.json")

