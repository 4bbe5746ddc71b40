"""Object-store figures: upload throughput of a ~100 MiB SSTable set through the uploader process,
restore time, and ranged-read latency through the block cache against local pread.

Run: .venv/bin/python -m tests.objectstore.bench_objectstore [--mib 100] [--local]
(--local uses a LocalStore directory instead of the moto S3 server, to separate our overhead
from the server's).
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
import uuid
from pathlib import Path

from ferrosa.objectstore.cache import BlockCache, LocalFile, RemoteFile
from ferrosa.objectstore.pending import NoticeWriter
from ferrosa.objectstore.restore import restore
from ferrosa.objectstore.settings import ObjectStoreSettings, open_store
from ferrosa.objectstore.status import uploads_dir
from shards.sstable.format import DATA, component_path
from tests.objectstore.conftest import TABLE, S3Server, write_sstable
from tests.objectstore.helpers import HOST, UploaderProcess, listed, manifest, wait_for

MiB = 1 << 20


def _percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] * 1e6
    return f"p50 {p(0.5):8.0f} us  p99 {p(0.99):8.0f} us"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--sstables", type=int, default=4)
    parser.add_argument("--local", action="store_true")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    root = Path(tempfile.mkdtemp(prefix="ferrosa-bench-"))
    server = None
    if args.local:
        settings = ObjectStoreSettings(local_store_path=str(root / "objects"), prefix="bench")
    else:
        server = S3Server().start()
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        server.create_bucket(bucket)
        settings = ObjectStoreSettings(bucket=bucket, endpoint=server.endpoint,
                                       region="us-east-1", access_key_id="k",
                                       secret_access_key="s", allow_http=True, prefix="bench")
    store = open_store(settings)
    data = root / "node"
    shard_dir = data / "data" / "shard-0"
    per_sstable = args.mib * MiB // args.sstables
    for generation in range(1, args.sstables + 1):  # 64 KiB incompressible values
        write_sstable(shard_dir, generation, partitions=per_sstable // (64 * 1024),
                      value_bytes=64 * 1024, compression="none")
    total = sum(p.stat().st_size for p in shard_dir.iterdir())
    uploader = UploaderProcess(data, settings).start()
    uploader.wait_idle(timeout=60)
    writer = NoticeWriter(uploads_dir(data), 0)
    started = time.monotonic()
    for generation in range(1, args.sstables + 1):
        writer.sstable_sealed(str(shard_dir), TABLE, generation)
    wanted = set(range(1, args.sstables + 1))
    wait_for(lambda: listed(store, settings.prefix, 0, TABLE) == wanted, timeout=600,
             what="upload", interval=0.02)
    upload_seconds = time.monotonic() - started
    uploader.stop()
    print(f"store: {settings.describe()}")
    print(f"upload  {total / MiB:7.1f} MiB in {upload_seconds:6.2f} s = "
          f"{total / MiB / upload_seconds:6.1f} MiB/s ({args.sstables} SSTables, "
          f"notice to listed in the manifest)")
    target = root / "restored"
    started = time.monotonic()
    report = restore(store, settings.prefix, HOST, 0, str(target))
    restore_seconds = time.monotonic() - started
    print(f"restore {report.bytes / MiB:7.1f} MiB in {restore_seconds:6.2f} s = "
          f"{report.bytes / MiB / restore_seconds:6.1f} MiB/s ({report.files} files)")

    entry = manifest(store, settings.prefix, 0, TABLE).live(1)
    from ferrosa.objectstore import layout
    key = layout.component_key(settings.prefix, HOST, 0, TABLE, 1, entry.upload_id, DATA)
    local = LocalFile(component_path(str(shard_dir), TABLE, 1, DATA))
    rng = random.Random(1)
    offsets = [rng.randrange(0, local.size - 65536) for _ in range(300)]
    cold, warm, disk = [], [], []
    cache = BlockCache(capacity_bytes=512 * MiB)
    remote = RemoteFile(store, key, local.size, cache)
    for offset in offsets:
        cache.drop(key)  # every read of this pass misses
        t = time.perf_counter()
        remote.pread(offset, 65536)
        cold.append(time.perf_counter() - t)
    for offset in offsets:
        remote.pread(offset, 65536)  # make sure its blocks are in
        t = time.perf_counter()
        remote.pread(offset, 65536)
        warm.append(time.perf_counter() - t)
        t = time.perf_counter()
        local.pread(offset, 65536)
        disk.append(time.perf_counter() - t)
    print(f"64 KiB pread, cache miss (ranged GET)  {_percentiles(cold)}")
    print(f"64 KiB pread, cache hit               {_percentiles(warm)}")
    print(f"64 KiB os.pread, local (page cache)   {_percentiles(disk)}")
    local.close()
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
