"""The uploader process for real: notices from a shard's NoticeWriter, a subprocess uploading to the
moto server, and the bucket checked object by object."""

from __future__ import annotations

import urllib.request
import xml.etree.ElementTree as ET
import zlib

import msgspec
import obstore

from ferrosa.objectstore import layout
from ferrosa.objectstore.manifest import Manifest
from ferrosa.objectstore.pending import NoticeWriter
from ferrosa.objectstore.status import uploads_dir
from ferrosa.objectstore.transfer import NOT_FOUND
from shards.sstable.format import component_name
from tests.objectstore.conftest import TABLE, write_sstable
from tests.objectstore.helpers import HOST, UploaderProcess, listed, manifest, wait_for

PREFIX = "cluster1"
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _object(store, key: str) -> bytes:
    return bytes(obstore.get(store, key).bytes())


def _exists(store, key: str) -> bool:
    try:
        obstore.head(store, key)
        return True
    except NOT_FOUND:
        return False


def _assert_matches_local(store, directory, shard: int, generation: int, table=TABLE) -> None:
    """Every object of a listed SSTable equals the local file, and the manifest's CRC32s hold."""
    entry = manifest(store, PREFIX, shard, table).live(generation)
    assert entry is not None and entry.components[-1].name == "TOC"
    for component in entry.components:
        local = (directory / component_name(table, generation, component.name)).read_bytes()
        key = layout.component_key(PREFIX, HOST, shard, table, generation, entry.upload_id,
                                   component.name)
        remote = _object(store, key)
        assert remote == local, key
        assert (len(remote), zlib.crc32(remote)) == (component.size, component.crc32)


def test_sealed_sstables_are_uploaded_then_listed(tmp_path, store, settings, s3_server,
                                                  bucket) -> None:
    data = tmp_path / "data"
    shard_dir = data / "data" / "shard-0"
    write_sstable(shard_dir, 1, partitions=40)
    write_sstable(shard_dir, 2, partitions=150, value_bytes=64 * 1024)  # ~10 MiB: multipart
    (data / "node.json").parent.mkdir(parents=True, exist_ok=True)
    (data / "node.json").write_bytes(b'{"host_id": "%s"}' % HOST.encode())
    (data / "schema.json").write_bytes(b"[]")
    writer = NoticeWriter(uploads_dir(data), 0)
    writer.sstable_sealed(str(shard_dir), TABLE, 1, flushed_through=(3, 640))
    uploader = UploaderProcess(data, settings).start()
    wait_for(lambda: listed(store, PREFIX, 0, TABLE) == {1}, what="generation 1 listed")
    # the manifest is written last: every request for the SSTable's objects precedes it
    requests = [r for r in s3_server.requests if f"/{bucket}/" in r[1]]
    first_manifest = min(i for i, r in enumerate(requests)
                         if r[0] == "PUT" and "/manifest/" in r[1])
    assert all(i < first_manifest for i, r in enumerate(requests) if "/sstables/" in r[1])
    writer.sstable_sealed(str(shard_dir), TABLE, 2, flushed_through=(4, 10))
    wait_for(lambda: listed(store, PREFIX, 0, TABLE) == {1, 2}, what="generation 2 listed")
    status = uploader.wait_idle()
    for generation in (1, 2):
        _assert_matches_local(store, shard_dir, 0, generation)
    assert any("uploadId" in r[1] and f"/{bucket}/" in r[1]  # Data of gen 2 went multipart
               for r in s3_server.requests)
    assert manifest(store, PREFIX, 0, TABLE).flushed_through == (4, 10)
    assert status.backlog_notices == 0 and status.backlog_bytes == 0
    assert status.uploaded_bytes > 150 * 64 * 1024 and status.failed_notices == 0
    assert _object(store, layout.meta_key(PREFIX, HOST, "schema.json")) == b"[]"
    (data / "schema.json").write_bytes(b'[{"keyspace": "ks"}]')  # a schema change is mirrored
    wait_for(lambda: _object(store, layout.meta_key(PREFIX, HOST, "schema.json")) ==
             b'[{"keyspace": "ks"}]', what="schema.json mirrored")
    assert not any(uploader.data_dir.joinpath("uploads", "staging", "shard-0").iterdir())
    assert uploader.stop() == 0 and uploader.status().state == "stopped"


def _enable_versioning(s3_server, bucket: str) -> None:
    body = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Status>Enabled</Status></VersioningConfiguration>")
    urllib.request.urlopen(urllib.request.Request(f"{s3_server.endpoint}/{bucket}?versioning",
                                                  data=body, method="PUT",
                                                  headers={"Content-Type": "application/xml"}))


def _manifest_history(s3_server, store, bucket: str, key: str) -> list[Manifest]:
    listing = urllib.request.urlopen(f"{s3_server.endpoint}/{bucket}?versions&prefix={key}").read()
    versions = [(v.find(f"{S3_NS}LastModified").text, v.find(f"{S3_NS}VersionId").text)
                for v in ET.fromstring(listing).iter(f"{S3_NS}Version")
                if v.find(f"{S3_NS}Key").text == key]
    history = []
    for _, version in versions:
        raw = bytes(obstore.get(store, key, options={"version": version}).bytes())
        history.append(msgspec.json.decode(raw, type=Manifest))
    return sorted(history, key=lambda m: m.revision)


def test_compaction_output_is_listed_before_its_inputs_are_retired(
        tmp_path, store, settings, s3_server, bucket) -> None:
    """Every version the manifest ever had holds all the data: {1,2} -> {1,2,3} -> {3}; the
    retired inputs' objects are deleted after the grace period."""
    _enable_versioning(s3_server, bucket)
    settings = msgspec.structs.replace(settings, delete_grace_seconds=1)
    data = tmp_path / "data"
    shard_dir = data / "data" / "shard-1"
    writer = NoticeWriter(uploads_dir(data), 1)
    for generation in (1, 2):
        write_sstable(shard_dir, generation, partitions=30, seed=generation)
        writer.sstable_sealed(str(shard_dir), TABLE, generation)
    write_sstable(shard_dir, 3, partitions=60, seed=3)  # the "compaction output"
    writer.sstable_sealed(str(shard_dir), TABLE, 3)
    writer.sstables_removed(TABLE, [1, 2])
    uploader = UploaderProcess(data, settings).start()
    wait_for(lambda: listed(store, PREFIX, 1, TABLE) == {3}, what="compaction applied")
    current = manifest(store, PREFIX, 1, TABLE)
    old = [layout.component_key(PREFIX, HOST, 1, TABLE, r.sstable.generation,
                                r.sstable.upload_id, c.name)
           for r in current.retired for c in r.sstable.components]
    assert len(old) == 14 and all(_exists(store, key) for key in old)  # still there in grace
    wait_for(lambda: not manifest(store, PREFIX, 1, TABLE).retired, timeout=15,
             what="retired entries purged after the grace period")
    assert not any(_exists(store, key) for key in old)
    _assert_matches_local(store, shard_dir, 1, 3)
    key = layout.manifest_key(PREFIX, HOST, 1, TABLE)
    states = [sorted(e.generation for e in m.sstables) for m in
              _manifest_history(s3_server, store, bucket, key)]
    assert states[:4] == [[1], [1, 2], [1, 2, 3], [3]] and states[-1] == [3]
    assert uploader.stop() == 0


def test_commit_log_segments_are_archived_then_discarded(tmp_path, store, settings) -> None:
    data = tmp_path / "data"
    writer = NoticeWriter(uploads_dir(data), 0)
    segment = tmp_path / "CommitLog-1-42.log"
    segment.write_bytes(b"\x01" * 5000)
    writer.segment_closed(str(segment))
    segment.unlink()  # the commit log may delete it at once: the staged link keeps the bytes
    uploader = UploaderProcess(data, settings).start()
    key = layout.commitlog_key(PREFIX, HOST, 0, "CommitLog-1-42.log")
    wait_for(lambda: _exists(store, key), what="archive")
    assert _object(store, key) == b"\x01" * 5000
    writer.segment_discarded("CommitLog-1-42.log")
    wait_for(lambda: not _exists(store, key), what="discarded segment deleted")
    assert uploader.wait_idle().archived_segments == 1
    assert uploader.stop() == 0


def test_archive_off_uploads_no_segment(tmp_path, store, settings) -> None:
    settings = msgspec.structs.replace(settings, commitlog_archive=False)
    data = tmp_path / "data"
    segment = tmp_path / "CommitLog-1-7.log"
    segment.write_bytes(b"x" * 100)
    NoticeWriter(uploads_dir(data), 0).segment_closed(str(segment))
    uploader = UploaderProcess(data, settings).start()
    assert uploader.wait_idle().archived_segments == 0
    assert not [m for c in obstore.list(store, prefix=f"{PREFIX}/nodes") for m in c
                if "commitlog" in m["path"]]
    assert uploader.stop() == 0


def test_kill_9_mid_upload_then_restart_uploads_everything_once(
        tmp_path, store, settings, s3_server, bucket) -> None:
    data = tmp_path / "data"
    shard_dir = data / "data" / "shard-0"
    writer = NoticeWriter(uploads_dir(data), 0)
    for generation in (1, 2, 3):
        write_sstable(shard_dir, generation, partitions=40, seed=generation)
        writer.sstable_sealed(str(shard_dir), TABLE, generation)
    s3_server.delay = 0.08  # slow enough to be caught in the middle
    settings = msgspec.structs.replace(settings, upload_concurrency=1)
    uploader = UploaderProcess(data, settings).start()
    try:
        wait_for(lambda: any(r[2] == 200 for r in s3_server.puts(f"/{bucket}/")
                             if "/sstables/" in r[1]), what="a first component uploaded")
        uploader.kill()
    finally:
        s3_server.delay = 0.0
    before = {r[1] for r in s3_server.puts(f"/{bucket}/") if r[2] == 200 and "/sstables/" in r[1]}
    assert before and listed(store, PREFIX, 0, TABLE) != {1, 2, 3}
    count = len(s3_server.requests)
    restarted = UploaderProcess(data, settings).start()
    wait_for(lambda: listed(store, PREFIX, 0, TABLE) == {1, 2, 3}, what="all listed")
    status = restarted.wait_idle()
    after = [r[1] for r in s3_server.requests[count:]
             if r[0] == "PUT" and f"/{bucket}/" in r[1] and "/sstables/" in r[1]]
    assert not before & set(after), "objects finished before the crash were sent again"
    assert len(after) == len(set(after)) and status.skipped_objects >= len(before)
    m = manifest(store, PREFIX, 0, TABLE)
    assert [e.generation for e in m.sstables] == [1, 2, 3] and not m.retired
    for generation in (1, 2, 3):
        _assert_matches_local(store, shard_dir, 0, generation)
    assert restarted.stop() == 0


def test_store_down_queues_uploads_and_resumes(tmp_path, store, settings, s3_server) -> None:
    data = tmp_path / "data"
    shard_dir = data / "data" / "shard-2"
    writer = NoticeWriter(uploads_dir(data), 2)
    uploader = UploaderProcess(data, settings).start()
    uploader.wait_idle()
    s3_server.stop()
    try:
        for generation in (1, 2):
            write_sstable(shard_dir, generation, partitions=20, seed=generation)
            writer.sstable_sealed(str(shard_dir), TABLE, generation)
        status = wait_for(lambda: (s := uploader.status()) and s.state == "retrying" and
                          s.backlog_notices == 2 and s, what="a visible backlog")
        assert status.backlog_bytes > 0 and status.last_error and status.retries > 0
        assert status.oldest_pending_at is not None
    finally:
        s3_server.start()
    wait_for(lambda: listed(store, PREFIX, 2, TABLE) == {1, 2}, what="uploads resumed")
    status = uploader.wait_idle()
    assert status.backlog_notices == 0 and status.oldest_pending_at is None
    for generation in (1, 2):
        _assert_matches_local(store, shard_dir, 2, generation)
    assert uploader.stop() == 0


def test_bucket_of_another_cluster_stops_the_uploader(tmp_path, store, settings) -> None:
    obstore.put(store, f"{PREFIX}/ferrosa.json", msgspec.json.encode(
        {"format": "ferrosa-objectstore", "format_version": 1, "cluster_name": "Other",
         "created_at": 0}))
    env = {"FERROSA_S3_BUCKET": settings.bucket, "FERROSA_S3_ENDPOINT": settings.endpoint,
           "FERROSA_S3_ACCESS_KEY_ID": "k", "FERROSA_S3_SECRET_ACCESS_KEY": "s",
           "FERROSA_S3_ALLOW_HTTP": "true", "FERROSA_S3_PREFIX": PREFIX}
    uploader = UploaderProcess(tmp_path / "data", settings, env=env).start()
    assert uploader.proc.wait(timeout=20) == 2
    status = uploader.status()
    assert status.state == "refused" and "belongs to cluster 'Other'" in status.last_error
    assert "belongs to cluster 'Other'" in uploader.log()


def test_a_file_that_fails_its_toc_is_reported_and_skipped(tmp_path, store, settings) -> None:
    data = tmp_path / "data"
    shard_dir = data / "data" / "shard-0"
    writer = NoticeWriter(uploads_dir(data), 0)
    write_sstable(shard_dir, 1, partitions=30)
    write_sstable(shard_dir, 2, partitions=30, seed=2)
    writer.sstable_sealed(str(shard_dir), TABLE, 1)
    writer.sstable_sealed(str(shard_dir), TABLE, 2)
    index = shard_dir / component_name(TABLE, 1, "Index")
    damaged = bytearray(index.read_bytes())
    damaged[10] ^= 0xFF  # same inode as the staged link: the upload sees the damage
    index.write_bytes(damaged)
    uploader = UploaderProcess(data, settings).start()
    status = uploader.wait_idle()
    assert status.failed_notices == 1 and "CRC32" in status.last_error
    assert listed(store, PREFIX, 0, TABLE) == {2}
    assert uploader.stop() == 0


def test_a_reused_generation_never_loses_the_new_sstable(tmp_path, store, settings) -> None:
    """TRUNCATE then new data: generation 1 comes back with other content. The old objects are
    deleted after the grace period, the new ones (another upload id) stay."""
    settings = msgspec.structs.replace(settings, delete_grace_seconds=1)
    data = tmp_path / "data"
    shard_dir = data / "data" / "shard-0"
    writer = NoticeWriter(uploads_dir(data), 0)
    write_sstable(shard_dir, 1, partitions=10, seed=1)
    writer.sstable_sealed(str(shard_dir), TABLE, 1)
    writer.sstables_removed(TABLE, [1])
    for name in list(shard_dir.iterdir()):
        name.unlink()
    write_sstable(shard_dir, 1, partitions=10, seed=2)  # same size, same keys, other values
    writer.sstable_sealed(str(shard_dir), TABLE, 1)
    uploader = UploaderProcess(data, settings).start()
    wait_for(lambda: (m := manifest(store, PREFIX, 0, TABLE)) and len(m.sstables) == 1
             and m.revision >= 3 and not m.retired, timeout=15, what="old generation 1 purged")
    _assert_matches_local(store, shard_dir, 0, 1)
    assert uploader.stop() == 0


def test_sealing_again_at_start_uploads_nothing_twice(tmp_path, store, settings, s3_server,
                                                       bucket) -> None:
    """A shard may notice every local SSTable at start (catching up when the tier was switched
    on): SSTables already listed are recognised by their TOC and not uploaded again."""
    data = tmp_path / "data"
    shard_dir = data / "data" / "shard-0"
    write_sstable(shard_dir, 1, partitions=20)
    write_sstable(shard_dir, 2, partitions=20, seed=2)
    writer = NoticeWriter(uploads_dir(data), 0)
    writer.sstable_sealed(str(shard_dir), TABLE, 1)
    uploader = UploaderProcess(data, settings).start()
    wait_for(lambda: listed(store, PREFIX, 0, TABLE) == {1}, what="generation 1 listed")
    uploader.wait_idle()
    revision = manifest(store, PREFIX, 0, TABLE).revision
    count = len(s3_server.requests)
    later = NoticeWriter(uploads_dir(data), 0)  # the shard restarts and reconciles
    for generation in (1, 2):
        later.sstable_sealed(str(shard_dir), TABLE, generation)
    wait_for(lambda: listed(store, PREFIX, 0, TABLE) == {1, 2}, what="generation 2 listed")
    uploader.wait_idle()
    sent = {r[1].rsplit("/", 2)[-2] for r in s3_server.requests[count:]
            if r[0] == "PUT" and f"/{bucket}/" in r[1] and "/sstables/" in r[1]}
    assert len(sent) == 1 and sent.pop().startswith("2-")  # only generation 2 went up
    assert manifest(store, PREFIX, 0, TABLE).revision == revision + 1
    _assert_matches_local(store, shard_dir, 0, 1)
    assert uploader.stop() == 0
