"""The warm-up process (`python -m ferrosa.objectstore.warmup`): bring evicted Data back to disk.

What it is: after a lazy restore the node serves with every SSTable's Data still in the bucket
(behind `<table>-<gen>-Remote.db` markers). The supervisor starts this process once the node
serves; it downloads those Data files into the shard directories, newest SSTables first, while
the node's local SSTable bytes stay under WARM_FILL_FRACTION of FERROSA_CACHE_MAX_BYTES (all of
them when it is 0), then exits. Each shard notices a Data file that appeared for one of its
remote SSTables and switches its reader to it (shards/cold.py `adopt_local`).

What it must NOT do: touch an SSTable a shard may be writing (only generations with a TOC and a
marker), overwrite anything (a Data file that exists is left alone), or leave a Data file for an
SSTable that was deleted meanwhile (checked after the rename).

Theory of operation: each download goes to `<Data>.tmp`, is checked against the marker's size
and CRC32 (the manifest's), fsynced and renamed. A shard that compacted the SSTable away during
the download deleted its TOC and marker; the warm-up then finds no TOC after the rename and
removes the orphan Data. A crash leaves a `.tmp` the shard's `cleanup_incomplete` removes.
Filling to 90% of the budget, not 100%, leaves room for new flushes so eviction does not at once
undo the warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

import msgspec
import obstore.exceptions as obstore_errors

from ferrosa.objectstore.cache import (
    REMOTE,
    RemoteData,
    local_sstable_bytes,
    read_remote_marker,
)
from ferrosa.objectstore.errors import ObjectStoreError, short_error
from ferrosa.objectstore.settings import (
    SETTINGS_ENV,
    ObjectStoreSettings,
    open_store,
    settings_from_json,
)
from ferrosa.objectstore.transfer import get_file
from ferrosa.process import add_helper_arguments, start_helper
from shards.sstable.format import (
    DATA,
    TEMP_SUFFIX,
    TOC,
    component_path,
    parse_component_name,
)

log = logging.getLogger("ferrosa.objectstore.warmup")

# Data files downloaded at once.
WARM_CONCURRENCY = 4
# With a cache budget, fill local disk up to this share of it (room for new flushes).
WARM_FILL_FRACTION = 0.9


class WarmReport(msgspec.Struct, kw_only=True):
    files: int = 0
    bytes: int = 0
    skipped_for_budget: int = 0
    seconds: float = 0.0


def remote_sstables(directory: Path) -> list[tuple[bytes, int, RemoteData]]:
    """(table id, generation, where its Data is) of every complete SSTable in `directory` whose
    Data is only in the bucket, newest generation first."""
    found = []
    for name in os.listdir(directory):
        parsed = parse_component_name(name)
        if parsed is None or parsed[3] or parsed[2] != REMOTE:
            continue
        table_id, generation = bytes.fromhex(parsed[0]), parsed[1]
        if os.path.exists(component_path(str(directory), table_id, generation, DATA)):
            continue
        if not os.path.exists(component_path(str(directory), table_id, generation, TOC)):
            continue
        remote = read_remote_marker(str(directory), table_id, generation)
        if remote is not None:
            found.append((table_id, generation, remote))
    return sorted(found, key=lambda item: -item[1])


async def warm(store: object, data_dir: Path, cache_max_bytes: int = 0,
               concurrency: int = WARM_CONCURRENCY) -> WarmReport:
    started = time.monotonic()
    report = WarmReport()
    shard_dirs = sorted((data_dir / "data").glob("shard-*"))
    budget = int(cache_max_bytes * WARM_FILL_FRACTION) if cache_max_bytes > 0 else None
    used = sum(sum(local_sstable_bytes(str(d)).values()) for d in shard_dirs)
    slots = asyncio.Semaphore(concurrency)
    chosen = []
    for directory in shard_dirs:
        for table_id, generation, remote in remote_sstables(directory):
            if budget is not None and used + remote.size > budget:
                report.skipped_for_budget += 1
                continue
            used += remote.size
            chosen.append((directory, table_id, generation, remote))

    async def fetch(directory: Path, table_id: bytes, generation: int,
                    remote: RemoteData) -> None:
        path = component_path(str(directory), table_id, generation, DATA)
        async with slots:
            await get_file(store, remote.key, path, remote.size, remote.crc32,
                           temp_suffix=TEMP_SUFFIX)
        if not os.path.exists(component_path(str(directory), table_id, generation, TOC)):
            os.unlink(path)  # compacted away while we downloaded
            return
        report.files += 1
        report.bytes += remote.size

    await asyncio.gather(*(fetch(*item) for item in chosen))
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ferrosa.objectstore.warmup")
    parser.add_argument("--data-dir", required=True)
    add_helper_arguments(parser)
    args = parser.parse_args(argv)
    start_helper(args, "warmup")
    text = os.environ.get(SETTINGS_ENV)
    if not text:
        log.error("%s is not set: no object store to warm up from", SETTINGS_ENV)
        return 2
    settings: ObjectStoreSettings = settings_from_json(text)
    try:
        report = asyncio.run(warm(open_store(settings), Path(args.data_dir),
                                  settings.cache_max_bytes))
    except (ObjectStoreError, OSError, obstore_errors.BaseError) as exc:
        log.error("warm-up stopped: %s (the node keeps reading that data from the bucket)",
                  short_error(exc))
        return 1
    log.info("warm-up done: %d SSTable data files, %d bytes in %.2f s (%.1f MiB/s)%s",
             report.files, report.bytes, report.seconds,
             report.bytes / max(report.seconds, 1e-9) / (1 << 20),
             f"; {report.skipped_for_budget} left in the bucket for the cache budget"
             if report.skipped_for_budget else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
