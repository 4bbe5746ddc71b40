"""Restore: bring a node's data back from the bucket into an empty (or partial) data directory.

What it is: `list_hosts` (which nodes the prefix holds), `restore_node_files` (schema, identity,
layout, roles into DATA_DIR), and `restore` (every SSTable the manifests of one shard list, into
that shard's data directory, plus the archived commit log segments to replay). The supervisor
calls these before it starts the shards, so a node started on an empty disk with the same bucket
and prefix serves all its data.

What it must NOT do: overwrite a different local file (a clash is a RestoreError: the operator
decides), replay the commit log (the shard does that at start, skipping what `flushed` covers),
or write into a shard directory a running shard owns.

Theory of operation: the manifest is read once per table; each listed SSTable's components are
downloaded to `<name>.tmp`, checked against the manifest's size and CRC32, fsynced and renamed,
and the TOC comes last, so a restore interrupted anywhere leaves either complete SSTables or
TOC-less files and `.tmp` files that the shard's `cleanup_incomplete` removes at start; running
restore again finishes the job (SSTables already present with the same TOC are skipped).
A lazy restore (what the node does) writes a Remote marker instead of downloading Data: the
small components make an SSTable servable, so the node answers queries after fetching a few
percent of its bytes, and the warm-up (warmup.py) downloads Data behind the running node.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import msgspec
import obstore

from ferrosa.durable import write_atomically
from ferrosa.objectstore import layout
from ferrosa.objectstore.cache import RemoteData
from ferrosa.objectstore.errors import RestoreError
from ferrosa.objectstore.manifest import ManifestStore, SSTableEntry
from ferrosa.objectstore.transfer import NOT_FOUND, get_file
from shards.commitlog_segment import fsync_directory, parse_segment_name
from shards.sstable.format import (
    DATA,
    REMOTE,
    TEMP_SUFFIX,
    TOC,
    component_name,
    component_path,
)

# Objects downloaded at the same time by one restore.
RESTORE_CONCURRENCY = 8


class RestoreReport(msgspec.Struct, kw_only=True):
    host_id: str
    shard: int
    tables: int = 0
    sstables: int = 0          # downloaded now
    already_present: int = 0   # identical SSTables found locally, left alone
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    # table id hex -> the commit log position (segment id, offset) its SSTables cover: replay of
    # the table's records at or before it must be skipped (write it where the shard keeps it).
    flushed: dict[str, tuple[int, int]] = {}
    # Archived commit log segments of the shard, oldest first; `segments_downloaded` of them were
    # fetched into the commit log directory.
    segments: list[str] = []
    segments_downloaded: int = 0
    # Data bytes left in the bucket behind Remote markers (lazy restore).
    remote_bytes: int = 0


def list_hosts(store: object, prefix: str) -> list[str]:
    """Host ids that have anything under `<prefix>/nodes/`."""
    root = layout.nodes_root(prefix).rstrip("/")
    listing = obstore.list_with_delimiter(store, prefix=root)
    return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in listing["common_prefixes"])


def restore_node_files(store: object, prefix: str, host_id: str, data_dir: str | os.PathLike[str],
                       names: tuple[str, ...] | None = None) -> list[str]:
    """Download the node's metadata files that are missing locally; returns their names."""
    restored = []
    for name in names or layout.NODE_METADATA_FILES:
        target = Path(data_dir) / name
        if target.exists():
            continue
        try:
            data = bytes(obstore.get(store, layout.meta_key(prefix, host_id, name)).bytes())
        except NOT_FOUND:
            continue
        write_atomically(target, data)
        restored.append(name)
    return restored


def restore(store: object, prefix: str, host_id: str, shard: int, directory: str,
            commitlog_directory: str | None = None,
            concurrency: int = RESTORE_CONCURRENCY, lazy_data: bool = False) -> RestoreReport:
    """Download every SSTable the shard's manifests list into `directory` (and, when
    `commitlog_directory` is given, every archived segment into it). `lazy_data`: leave each
    Data in the bucket behind a Remote marker (the shard reads it remotely until the warm-up
    brings it home). Synchronous: for callers without an event loop (the supervisor)."""
    return asyncio.run(restore_async(store, prefix, host_id, shard, directory,
                                     commitlog_directory, concurrency, lazy_data))


async def restore_async(store: object, prefix: str, host_id: str, shard: int, directory: str,
                        commitlog_directory: str | None = None,
                        concurrency: int = RESTORE_CONCURRENCY,
                        lazy_data: bool = False) -> RestoreReport:
    started = time.monotonic()
    report = RestoreReport(host_id=host_id, shard=shard)
    os.makedirs(directory, exist_ok=True)
    manifests = ManifestStore(store)
    slots = asyncio.Semaphore(concurrency)
    manifest_dir = layout.manifest_dir(prefix, host_id, shard).rstrip("/")
    keys = [meta["path"] for chunk in obstore.list(store, prefix=manifest_dir) for meta in chunk]
    for key in sorted(keys):
        parsed = layout.parse_manifest_key(key)
        if parsed is None:
            continue
        manifest, _ = await manifests.read(key)
        if manifest is None:
            continue
        report.tables += 1
        table_id = parsed[1]
        if manifest.flushed_through is not None:
            report.flushed[table_id.hex()] = tuple(manifest.flushed_through)
        await asyncio.gather(*(
            _restore_sstable(store, prefix, host_id, shard, table_id, entry, directory, slots,
                             report, lazy_data) for entry in manifest.sstables))
    report.segments = _archived_segments(store, prefix, host_id, shard)
    if commitlog_directory is not None and report.segments:
        await _restore_segments(store, prefix, host_id, shard, commitlog_directory, slots, report)
    report.seconds = time.monotonic() - started
    return report


async def _restore_sstable(store: object, prefix: str, host_id: str, shard: int,
                           table_id: bytes, entry: SSTableEntry, directory: str,
                           slots: asyncio.Semaphore, report: RestoreReport,
                           lazy_data: bool) -> None:
    def key(component: str) -> str:
        return layout.component_key(prefix, host_id, shard, table_id, entry.generation,
                                    entry.upload_id, component)

    toc_path = component_path(directory, table_id, entry.generation, TOC)
    if os.path.exists(toc_path):
        local = await asyncio.to_thread(Path(toc_path).read_bytes)
        result = await obstore.get_async(store, key(TOC))
        if local == bytes(await result.bytes_async()):
            report.already_present += 1
            return
        raise RestoreError(f"{toc_path} exists and is not the SSTable the bucket lists: move it "
                           f"away or restore into an empty directory")

    async def fetch(component: str, size: int, crc: int) -> None:
        path = os.path.join(directory, component_name(table_id, entry.generation, component))
        async with slots:
            await get_file(store, key(component), path, size, crc, temp_suffix=TEMP_SUFFIX)
        report.files += 1
        report.bytes += size

    toc = [c for c in entry.components if c.name == TOC]
    if len(toc) != 1:
        raise RestoreError(f"manifest entry {table_id.hex()}-{entry.generation} lists no TOC")
    remote = [c for c in entry.components if c.name == DATA] if lazy_data else []
    await asyncio.gather(*(fetch(c.name, c.size, c.crc32) for c in entry.components
                           if c.name != TOC and c not in remote))
    for component in remote:
        # The marker takes Data's place; the TOC still comes last.
        write_atomically(Path(component_path(directory, table_id, entry.generation, REMOTE)),
                         msgspec.json.encode(RemoteData(key(DATA), component.size,
                                                        component.crc32)))
        report.remote_bytes += component.size
    fsync_directory(directory)
    await fetch(TOC, toc[0].size, toc[0].crc32)
    fsync_directory(directory)
    report.sstables += 1


def _archived_segments(store: object, prefix: str, host_id: str, shard: int) -> list[str]:
    directory = layout.commitlog_dir(prefix, host_id, shard).rstrip("/")
    found = []
    for chunk in obstore.list(store, prefix=directory):
        for meta in chunk:
            name = meta["path"].rsplit("/", 1)[-1]
            parsed = parse_segment_name(name)
            if parsed is not None:
                found.append((parsed[1], name))
    return [name for _, name in sorted(found)]


async def _restore_segments(store: object, prefix: str, host_id: str, shard: int,
                            directory: str, slots: asyncio.Semaphore,
                            report: RestoreReport) -> None:
    os.makedirs(directory, exist_ok=True)

    async def fetch(name: str) -> None:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return
        key = layout.commitlog_key(prefix, host_id, shard, name)
        async with slots:
            try:
                size = await get_file(store, key, path, temp_suffix=TEMP_SUFFIX)
            except NOT_FOUND:
                return  # discarded meanwhile: its data is in SSTables already
        report.segments_downloaded += 1
        report.bytes += size

    await asyncio.gather(*(fetch(name) for name in report.segments))
    fsync_directory(directory)
