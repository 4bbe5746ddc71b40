"""The uploader process (`python -m ferrosa.objectstore.uploader`): write-behind to the bucket.

What it is: an asyncio loop that reads the shards' notices (pending.py), carries each out against
the object store and records it done; keeps the node's metadata files (schema, identity, roles)
mirrored; deletes retired SSTables once their grace period is over; and publishes its status
(status.py). The supervisor starts it next to the shards when an object store is configured.

What it must NOT do: touch the shards' data files (it reads only its own staging links and the
node's metadata files), serve reads, or drop a notice because the store is failing (only a local
file that does not match its TOC is given up, and that is reported).

Theory of operation
- Channel. Each shard appends notices to its own file under DATA_DIR/uploads/notices/ and fsyncs;
  the uploader polls those files every POLL_SECONDS. Polling a few files' sizes costs microseconds,
  the files are the durable record anyway (a socket would be a second channel to keep consistent
  with them), it works across uploader restarts with no handshake, and a 200 ms pickup delay is
  noise next to the upload itself: uploads are write-behind, nobody waits for them.
- Lanes. Work is ordered where order matters and concurrent elsewhere: all notices of one
  (shard, table) run one at a time in notice order, so a table's manifest always shows the
  table as it was after some prefix of its flushes, compactions and removals: a compaction's
  inputs are retired only after its output is listed, and the bucket never lacks data the shard
  had. Commit log notices of a shard form another lane; "segment discarded" also waits for every
  earlier notice of its shard (the SSTables that made the segment unnecessary must be listed
  first). Node metadata files have a lane each. Lanes run in parallel; objects in flight are
  bounded by the upload-concurrency semaphore, large (multipart) ones by LARGE_OBJECTS_IN_FLIGHT.
- One SSTable: every component is uploaded (checked against the TOC's size and CRC32), then the
  TOC, then the manifest is updated (conditional put). A reader of the bucket only follows
  manifests, so an SSTable is visible complete or not at all.
- Failure. Any store error retries the notice with exponential backoff, forever; its lane waits,
  other lanes go on, and the status shows the backlog and the last error. A redone notice first
  checks the manifest (already listed: done) and skips objects already present with the right
  size, so after a crash or an outage only the objects in flight are sent again.
- Grace. Every sweep (a quarter of the grace period, between 1 and 60 s) reads this node's
  manifests, deletes the objects of retired entries whose delete_after has passed, then drops
  those entries (objects first: an entry whose objects are gone is harmless, the reverse leaks).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
import obstore

from ferrosa.checksum import crc32
from ferrosa.objectstore import layout
from ferrosa.objectstore.errors import (
    BucketIdentityError,
    LocalDataError,
    ObjectStoreError,
    ObjectStoreUnavailable,
    short_error,
)
from ferrosa.objectstore.manifest import (
    ComponentEntry,
    ManifestStore,
    SSTableEntry,
    empty_manifest,
    expired,
    purge,
    retire,
    with_flushed,
    with_sstable,
)
from ferrosa.objectstore.marker import check_bucket
from ferrosa.objectstore.pending import (
    NoticeId,
    PendingNotices,
    SegmentClosed,
    SegmentDiscarded,
    SSTableSealed,
    SSTablesRemoved,
)
from ferrosa.objectstore.settings import (
    SETTINGS_ENV,
    ObjectStoreSettings,
    open_store,
    settings_from_env,
    settings_from_json,
)
from ferrosa.objectstore.status import (
    STATUS_INTERVAL,
    UploaderStatus,
    uploads_dir,
    write_status,
)
from ferrosa.objectstore.transfer import (
    MAX_BACKOFF,
    MULTIPART_THRESHOLD,
    NOT_FOUND,
    Backoff,
    delete_objects,
    object_size,
    put_file,
)
from ferrosa.process import add_helper_arguments, start_helper
from shards.errors import SSTableError
from shards.sstable.format import TOC, component_name, unpack_toc

log = logging.getLogger("ferrosa.objectstore.uploader")

# How often the shards' notice files and the node's metadata files are looked at (seconds).
POLL_SECONDS = 0.2
# Multipart uploads in flight at once (each holds up to MULTIPART_CONCURRENCY parts of
# PART_BYTES in memory: 2 x 4 x 8 MiB = 64 MiB at most).
LARGE_OBJECTS_IN_FLIGHT = 2
# Retired SSTables are looked at every grace/4 seconds, within these bounds.
MIN_SWEEP_SECONDS = 1.0
MAX_SWEEP_SECONDS = 60.0
# Exit status when the bucket is not ours: restarting cannot help.
EXIT_REFUSED = 2


class _MetaFile(msgspec.Struct, frozen=True):
    name: str


Work = SSTableSealed | SSTablesRemoved | SegmentClosed | SegmentDiscarded | _MetaFile


class _Job:
    __slots__ = ("bytes", "future", "nid", "queued_at", "recheck", "waits", "work")

    def __init__(self, nid: NoticeId | None, work: Work, waits: list[asyncio.Future],
                 size: int, recheck: bool) -> None:
        self.nid = nid
        self.work = work
        self.waits = waits
        self.future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.bytes = size
        self.queued_at = time.time()
        self.recheck = recheck


class _Lane:
    __slots__ = ("queue", "task")

    def __init__(self) -> None:
        self.queue: deque[_Job] = deque()
        self.task: asyncio.Task | None = None


def _lane_key(nid: NoticeId | None, work: Work) -> tuple:
    if isinstance(work, (SSTableSealed, SSTablesRemoved)):
        return ("table", nid.shard, work.table_id)
    if isinstance(work, _MetaFile):
        return ("meta", work.name)
    return ("segment", nid.shard)


class Uploader:
    def __init__(self, store: object, settings: ObjectStoreSettings, data_dir: str | Path,
                 host_id: str, cluster_name: str, *, max_backoff: float = MAX_BACKOFF) -> None:
        self.store = store
        self.settings = settings
        self.prefix = settings.prefix
        self.data_dir = Path(data_dir)
        self.host_id = host_id
        self.cluster_name = cluster_name
        self.max_backoff = max_backoff
        self.pending = PendingNotices(uploads_dir(self.data_dir))
        self.manifests = ManifestStore(store)
        self.status = UploaderStatus(pid=os.getpid(), state="checking",
                                     store=settings.describe(), host_id=host_id,
                                     started_at=time.time())
        self._objects = asyncio.Semaphore(settings.upload_concurrency)
        self._large = asyncio.Semaphore(LARGE_OBJECTS_IN_FLIGHT)
        self._lanes: dict[tuple, _Lane] = {}
        self._shard_jobs: dict[int, dict[NoticeId, _Job]] = {}
        self._meta_seen: dict[str, tuple[int, int]] = {}
        self._meta_queued: set[str] = set()
        self._meta_jobs: set[_Job] = set()
        self._failing = False
        self._last_logged_error: str | None = None
        self.sweep_seconds = min(MAX_SWEEP_SECONDS,
                                 max(MIN_SWEEP_SECONDS, settings.delete_grace_seconds / 4))
        self._handlers: dict[type, Callable[[_Job], Awaitable[None]]] = {
            SSTableSealed: self._upload_sstable,
            SSTablesRemoved: self._retire_sstables,
            SegmentClosed: self._archive_segment,
            SegmentDiscarded: self._discard_segment,
            _MetaFile: self._upload_meta,
        }

    # -- main loop ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> int:
        reporter = asyncio.create_task(self._report(stop))
        try:
            if not await self._check_bucket(stop):
                return EXIT_REFUSED if self.status.state == "refused" else 0
            self.status.state = "idle"
            self._failing = False
            sweeper = asyncio.create_task(self._sweep_loop(stop))
            first = True
            while not stop.is_set():
                for nid, notice in self.pending.poll():
                    self._enqueue(nid, notice, recheck=first)
                first = False
                self._poll_metadata()
                try:
                    await asyncio.wait_for(stop.wait(), POLL_SECONDS)
                except TimeoutError:
                    pass
            sweeper.cancel()
            for lane in list(self._lanes.values()):
                if lane.task is not None:
                    lane.task.cancel()
            await asyncio.gather(sweeper, *(lane.task for lane in self._lanes.values()
                                            if lane.task is not None), return_exceptions=True)
            self.status.state = "stopped"
            return 0
        finally:
            reporter.cancel()
            self.pending.close()
            self._refresh_status()
            write_status(self.data_dir, self.status)

    async def _check_bucket(self, stop: asyncio.Event) -> bool:
        backoff = Backoff(maximum=self.max_backoff)
        while not stop.is_set():
            try:
                await asyncio.to_thread(check_bucket, self.store, self.prefix, self.cluster_name)
                return True
            except BucketIdentityError as exc:
                log.error("%s", exc)
                self.status.state = "refused"
                self._failure(exc)
                return False
            except ObjectStoreUnavailable as exc:
                self._failure(exc)
                try:
                    await asyncio.wait_for(stop.wait(), backoff.next_delay())
                except TimeoutError:
                    pass
        return False

    def _enqueue(self, nid: NoticeId | None, work: Work, recheck: bool) -> None:
        waits: list[asyncio.Future] = []
        jobs = self._shard_jobs.setdefault(nid.shard, {}) if nid is not None else None
        if isinstance(work, SegmentDiscarded):
            waits = [job.future for job in jobs.values()]
        size = 0
        if nid is not None and isinstance(work, (SSTableSealed, SegmentClosed)):
            size = _tree_bytes(self.pending.staging_dir(nid))
        job = _Job(nid, work, waits, size, recheck)
        job.queued_at = getattr(work, "sealed_at", 0.0) or getattr(work, "closed_at", 0.0) or \
            job.queued_at
        if jobs is not None:
            jobs[nid] = job
        else:
            self._meta_jobs.add(job)  # a metadata file not yet in the bucket is backlog too
        self.status.backlog_notices += 1
        self.status.backlog_bytes += size
        key = _lane_key(nid, work)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.queue.append(job)
        if lane.task is None:
            lane.task = asyncio.create_task(self._drain(key, lane))

    async def _drain(self, key: tuple, lane: _Lane) -> None:
        while lane.queue:
            job = lane.queue[0]
            if job.waits:
                await asyncio.gather(*job.waits)
            ok = await self._carry_out(job)
            lane.queue.popleft()
            self._finish(job, ok)
        del self._lanes[key]

    def _finish(self, job: _Job, ok: bool) -> None:
        self.status.backlog_notices -= 1
        self.status.backlog_bytes -= job.bytes
        if job.nid is None:
            self._meta_jobs.discard(job)
            return
        self.pending.complete(job.nid, ok)
        del self._shard_jobs[job.nid.shard][job.nid]
        job.future.set_result(ok)

    async def _carry_out(self, job: _Job) -> bool:
        handler = self._handlers[type(job.work)]
        backoff = Backoff(maximum=self.max_backoff)
        while True:
            try:
                await handler(job)
                self._failing = False
                self.status.last_success_at = time.time()
                return True
            except LocalDataError as exc:
                log.error("notice %s given up: %s", job.nid, exc)
                self.status.failed_notices += 1
                self._failure(exc)
                return False
            except Exception as exc:  # noqa: BLE001 (the store, the network: wait and redo)
                self._failure(exc)
                self.status.retries += 1
                job.recheck = True
                await asyncio.sleep(backoff.next_delay())

    def _failure(self, exc: BaseException) -> None:
        text = short_error(exc)
        if text != self._last_logged_error:
            log.warning("object store: %s", text)
            self._last_logged_error = text
        self._failing = True
        self.status.last_error = text
        self.status.last_error_at = time.time()

    # -- work ---------------------------------------------------------------------------------
    async def _put(self, key: str, path: Path, size: int | None, crc: int | None,
                   recheck: bool) -> None:
        if recheck and size is not None and await object_size(self.store, key) == size:
            self.status.skipped_objects += 1
            return
        large = size is not None and size > MULTIPART_THRESHOLD
        if large:
            await self._large.acquire()
        try:
            async with self._objects:
                sent, _crc = await put_file(self.store, key, str(path), size, crc)
        finally:
            if large:
                self._large.release()
        self.status.uploaded_objects += 1
        self.status.uploaded_bytes += sent

    async def _upload_sstable(self, job: _Job) -> None:
        notice: SSTableSealed = job.work
        shard, table_id, generation = job.nid.shard, notice.table_id, notice.generation
        staging = self.pending.staging_dir(job.nid)
        toc_path = staging / notice.files[-1]
        try:
            toc_bytes = toc_path.read_bytes()
            toc = unpack_toc(str(toc_path), toc_bytes)
        except FileNotFoundError:
            raise LocalDataError(f"{toc_path} is missing: the staged SSTable is gone") from None
        except SSTableError as exc:
            raise LocalDataError(str(exc)) from None
        if toc.table_id != table_id or toc.generation != generation:
            raise LocalDataError(f"{toc_path} describes {toc.table_id.hex()}-{toc.generation}, "
                                 f"the notice {table_id.hex()}-{generation}")
        manifest_key = layout.manifest_key(self.prefix, self.host_id, shard, table_id)
        current, _ = await self.manifests.read(manifest_key)
        listed = current.live(generation) if current is not None else None
        if listed is not None and (listed.upload_id == notice.upload_id
                                   or await self._listed_toc(shard, table_id, listed) == toc_bytes):
            # Redone after a crash, or sealed again by a shard reconciling at start.
            if notice.flushed_through is not None:
                await self._update(manifest_key, lambda m: with_flushed(
                    m or empty_manifest(self.host_id, shard, table_id), notice.flushed_through))
            return

        def key(component: str) -> str:
            return layout.component_key(self.prefix, self.host_id, shard, table_id, generation,
                                        notice.upload_id, component)

        await _all([self._put(key(c.name), staging / component_name(table_id, generation, c.name),
                              c.size, c.crc32, job.recheck) for c in toc.components])
        await self._put(key(TOC), toc_path, len(toc_bytes), crc32(toc_bytes), job.recheck)
        entry = SSTableEntry(
            generation=generation, upload_id=notice.upload_id, uploaded_at=time.time(),
            components=[ComponentEntry(c.name, c.size, c.crc32) for c in toc.components]
            + [ComponentEntry(TOC, len(toc_bytes), crc32(toc_bytes))])
        now, grace = time.time(), self.settings.delete_grace_seconds
        await self._update(manifest_key, lambda m: with_sstable(
            m or empty_manifest(self.host_id, shard, table_id), entry, notice.flushed_through,
            now, grace))

    async def _listed_toc(self, shard: int, table_id: bytes, entry: SSTableEntry) -> bytes | None:
        key = layout.component_key(self.prefix, self.host_id, shard, table_id, entry.generation,
                                   entry.upload_id, TOC)
        try:
            return bytes(await (await obstore.get_async(self.store, key)).bytes_async())
        except NOT_FOUND:
            return None

    async def _retire_sstables(self, job: _Job) -> None:
        notice: SSTablesRemoved = job.work
        key = layout.manifest_key(self.prefix, self.host_id, job.nid.shard, notice.table_id)
        now, grace = time.time(), self.settings.delete_grace_seconds
        shard, flushed = job.nid.shard, notice.flushed_through

        def edit(manifest):
            if manifest is None:
                if flushed is None:
                    return None
                manifest = empty_manifest(self.host_id, shard, notice.table_id)
            return with_flushed(retire(manifest, notice.generations, now, grace), flushed)

        await self._update(key, edit)

    async def _archive_segment(self, job: _Job) -> None:
        if not self.settings.commitlog_archive:
            return
        notice: SegmentClosed = job.work
        path = self.pending.staging_dir(job.nid) / notice.name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise LocalDataError(f"{path} is missing: the staged segment is gone") from None
        key = layout.commitlog_key(self.prefix, self.host_id, job.nid.shard, notice.name)
        # Always recheck: a restarted shard notices every segment it finds, most of them
        # archived already, and one HEAD is cheap next to re-sending a segment.
        await self._put(key, path, size, None, True)
        self.status.archived_segments += 1

    async def _discard_segment(self, job: _Job) -> None:
        notice: SegmentDiscarded = job.work
        key = layout.commitlog_key(self.prefix, self.host_id, job.nid.shard, notice.name)
        await delete_objects(self.store, [key])

    async def _upload_meta(self, job: _Job) -> None:
        name = job.work.name
        path = self.data_dir / name
        try:
            stat = path.stat()
            data = path.read_bytes()
        except FileNotFoundError:
            self._meta_queued.discard(name)
            return
        await obstore.put_async(self.store, layout.meta_key(self.prefix, self.host_id, name), data)
        self._meta_seen[name] = (stat.st_mtime_ns, stat.st_size)
        self._meta_queued.discard(name)
        self.status.uploaded_objects += 1
        self.status.uploaded_bytes += len(data)

    async def _update(self, key: str, edit: Callable) -> None:
        before = self.manifests.conflicts
        try:
            await self.manifests.update(key, edit)
        finally:
            self.status.manifest_conflicts += self.manifests.conflicts - before
        self.status.manifest_updates += 1

    def _poll_metadata(self) -> None:
        for name in layout.NODE_METADATA_FILES:
            if name in self._meta_queued:
                continue
            try:
                stat = (self.data_dir / name).stat()
            except FileNotFoundError:
                continue
            if self._meta_seen.get(name) != (stat.st_mtime_ns, stat.st_size):
                self._meta_queued.add(name)
                self._enqueue(None, _MetaFile(name), recheck=False)

    # -- grace sweep --------------------------------------------------------------------------
    async def _sweep_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.sweep(time.time())
            except Exception as exc:  # noqa: BLE001 (reported; the next sweep tries again)
                self._failure(exc)
            try:
                await asyncio.wait_for(stop.wait(), self.sweep_seconds)
            except TimeoutError:
                pass

    async def sweep(self, now: float) -> int:
        """Delete the objects of every retired SSTable whose grace period is over; returns how
        many SSTables were purged."""
        purged = 0
        for shard in await self._shards_in_bucket():
            directory = layout.manifest_dir(self.prefix, self.host_id, shard).rstrip("/")
            async for chunk in obstore.list(self.store, prefix=directory):
                for meta in chunk:
                    parsed = layout.parse_manifest_key(meta["path"])
                    if parsed is not None:
                        purged += await self._sweep_manifest(meta["path"], parsed[0],
                                                             parsed[1], now)
        return purged

    async def _shards_in_bucket(self) -> list[int]:
        root = layout.node_root(self.prefix, self.host_id).rstrip("/")
        listing = await obstore.list_with_delimiter_async(self.store, prefix=root)
        found = (layout.parse_shard_prefix(p) for p in listing["common_prefixes"])
        return sorted(shard for shard in found if shard is not None)

    async def _sweep_manifest(self, key: str, shard: int, table_id: bytes, now: float) -> int:
        manifest, _ = await self.manifests.read(key)
        doomed = expired(manifest, now) if manifest is not None else []
        if not doomed:
            return 0
        keys = [layout.component_key(self.prefix, self.host_id, shard, table_id,
                                     r.sstable.generation, r.sstable.upload_id, c.name)
                for r in doomed for c in r.sstable.components]
        await delete_objects(self.store, keys)
        self.status.deleted_objects += len(keys)
        identities = {r.sstable.identity for r in doomed}
        await self._update(key, lambda m: None if m is None else purge(m, identities))
        return len(doomed)

    # -- status -------------------------------------------------------------------------------
    def _refresh_status(self) -> None:
        status = self.status
        status.updated_at = time.time()
        pending = [job for jobs in self._shard_jobs.values() for job in jobs.values()]
        pending += self._meta_jobs
        status.oldest_pending_at = min((job.queued_at for job in pending), default=None)
        if status.state in ("checking", "refused", "stopped"):
            return
        if self._failing and status.backlog_notices:
            status.state = "retrying"
        else:
            status.state = "uploading" if status.backlog_notices else "idle"

    async def _report(self, stop: asyncio.Event) -> None:
        last = b""
        while True:
            self._refresh_status()
            encoded = msgspec.json.encode(msgspec.structs.replace(self.status, updated_at=0.0))
            if encoded != last:
                write_status(self.data_dir, self.status)
                last = encoded
            await asyncio.sleep(STATUS_INTERVAL)


async def _all(coroutines: list[Awaitable[None]]) -> None:
    """Run every coroutine to its end; then raise the first failure (a LocalDataError first:
    it decides that the notice is given up rather than retried)."""
    results = await asyncio.gather(*coroutines, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        local = [f for f in failures if isinstance(f, LocalDataError)]
        raise (local or failures)[0]


def _tree_bytes(directory: Path) -> int:
    try:
        return sum(entry.stat().st_size for entry in os.scandir(directory) if entry.is_file())
    except FileNotFoundError:
        return 0


# -- process entry point ------------------------------------------------------------------------
async def _read_host_id(data_dir: Path, stop: asyncio.Event) -> str | None:
    """The host id the front wrote to node.json, waiting for it at a first start."""
    path = data_dir / "node.json"
    while not stop.is_set():
        try:
            identity = msgspec.json.decode(path.read_bytes(), type=dict)
            return str(identity["host_id"])
        except (FileNotFoundError, KeyError, msgspec.DecodeError):
            pass
        try:
            await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        except TimeoutError:
            pass
    return None


async def _serve(args: argparse.Namespace, settings: ObjectStoreSettings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    data_dir = Path(args.data_dir).resolve()
    host_id = args.host_id or await _read_host_id(data_dir, stop)
    if host_id is None:
        return 0
    store = open_store(settings)
    uploader = Uploader(store, settings, data_dir, host_id, args.cluster_name,
                        max_backoff=args.max_backoff)
    log.info("uploading to %s as host %s", settings.describe(), host_id)
    return await uploader.run(stop)


def uploader_argv(data_dir: str, host_id: str | None, cluster_name: str,
                  parent_pid: int | None = None) -> list[str]:
    """The command line the supervisor starts the uploader with (settings go in SETTINGS_ENV)."""
    argv = [sys.executable, "-m", "ferrosa.objectstore.uploader", "--data-dir", data_dir,
            "--cluster-name", cluster_name]
    if host_id:
        argv += ["--host-id", host_id]
    if parent_pid is not None:
        argv += ["--parent-pid", str(parent_pid)]
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ferrosa.objectstore.uploader")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--host-id", help="default: the host_id in DATA_DIR/node.json")
    parser.add_argument("--cluster-name",
                        default=os.environ.get("FERROSA_CLUSTER_NAME") or "Test Cluster")
    parser.add_argument("--max-backoff", type=float, default=MAX_BACKOFF,
                        help="longest wait between retries of a failing upload (seconds)")
    add_helper_arguments(parser)
    args = parser.parse_args(argv)
    start_helper(args, "uploader")
    try:
        text = os.environ.get(SETTINGS_ENV)
        settings = settings_from_json(text) if text else settings_from_env(os.environ)
    except ObjectStoreError as exc:
        log.error("%s", exc)
        return EXIT_REFUSED
    if not settings.enabled:
        log.error("no object store configured (FERROSA_S3_BUCKET or FERROSA_LOCAL_STORE_PATH)")
        return EXIT_REFUSED
    return asyncio.run(_serve(args, settings))


if __name__ == "__main__":
    sys.exit(main())
