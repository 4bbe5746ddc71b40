"""Manifests: the documents in the bucket that say which SSTables make up a table on a shard.

What it is: the manifest records (msgspec, JSON in the bucket), the pure edits the uploader makes
to them (`with_sstable`, `retire`, `purge`), and `ManifestStore`, which applies an edit with a
read-modify-write guarded by a conditional put.

What it must NOT do: upload or delete SSTable objects (uploader.py does, and updates the manifest
LAST, so a listed SSTable is always complete), or hold a manifest across calls (every update
re-reads).

Theory of operation:
- One manifest per (host, shard, table) at layout.manifest_key. `sstables` are the live SSTables:
  a reader of the bucket (restore, cold reads) uses exactly these. `retired` are SSTables that
  compaction, TRUNCATE or DROP superseded: invisible to readers, their objects deleted once
  `delete_after` has passed (the grace period lets a reader that fetched the previous manifest
  finish). `flushed_through` is the commit log position the table's flushed SSTables cover
  (replay of archived segments skips records at or before it).
- Update = GET (document + ETag) -> edit -> PUT If-Match: <ETag> (or If-None-Match: * when the
  manifest does not exist yet). A 412 means another writer got in between: re-read and redo the
  edit on its result, with jittered backoff. Neither writer's entries are lost, because every
  edit is applied to the latest document, never to a stale copy. Edits are idempotent (adding an
  SSTable already listed, retiring one already retired, changes nothing), so redoing a notice
  after a crash is safe.
- obstore's LocalStore has no If-Match (it refuses PutMode::Update). For it the same
  compare-and-swap is done under an exclusive flock shared by every process of the host using that
  directory: read the ETag, compare, write. (A LocalStore on a network filesystem shared between
  hosts is not supported for concurrent writers.)
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import random
import tempfile
from collections.abc import Callable

import msgspec
import obstore
from obstore.exceptions import AlreadyExistsError, PreconditionError
from obstore.store import LocalStore

from ferrosa.objectstore.errors import ManifestConflict, ManifestError
from ferrosa.objectstore.transfer import NOT_FOUND

MANIFEST_VERSION = 1
# A conditional update that keeps losing races gives up after this many attempts (with jittered
# backoff from CAS_FIRST_BACKOFF doubling to CAS_MAX_BACKOFF, that is over a minute of contention,
# far beyond the handful of writers a manifest ever has).
MAX_CAS_ATTEMPTS = 64
CAS_FIRST_BACKOFF = 0.005
CAS_MAX_BACKOFF = 1.0


class ComponentEntry(msgspec.Struct, frozen=True):
    name: str
    size: int
    crc32: int


class SSTableEntry(msgspec.Struct, frozen=True, kw_only=True):
    generation: int
    # Random, chosen when the shard sealed the SSTable: with the generation it names the objects.
    # Content cannot serve: a file made of CRC-suffixed chunks (Data, and the TOC itself) always
    # has the same whole-file CRC32 (the CRC residue), so two SSTables with the same keys and
    # sizes have identical TOCs.
    upload_id: int
    components: list[ComponentEntry]  # every component, TOC last
    uploaded_at: float

    @property
    def size(self) -> int:
        return sum(c.size for c in self.components)

    @property
    def identity(self) -> tuple[int, int]:
        return self.generation, self.upload_id


class RetiredEntry(msgspec.Struct, frozen=True, kw_only=True):
    sstable: SSTableEntry
    retired_at: float
    delete_after: float


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    format_version: int = MANIFEST_VERSION
    host_id: str
    shard: int
    table_id: str  # hex
    revision: int = 0
    sstables: list[SSTableEntry] = []
    retired: list[RetiredEntry] = []
    flushed_through: tuple[int, int] | None = None

    def live(self, generation: int) -> SSTableEntry | None:
        for entry in self.sstables:
            if entry.generation == generation:
                return entry
        return None


def empty_manifest(host_id: str, shard: int, table_id: bytes) -> Manifest:
    return Manifest(host_id=host_id, shard=shard, table_id=table_id.hex())


def with_sstable(manifest: Manifest, entry: SSTableEntry, flushed_through: tuple[int, int] | None,
                 now: float, grace_seconds: float) -> Manifest:
    """List `entry` (idempotent). A different SSTable listed under the same generation is stale
    (the number was reused after its files were lost) and is retired."""
    current = manifest.live(entry.generation)
    flushed = _raised(manifest.flushed_through, flushed_through)
    if current is not None and current.identity == entry.identity:
        if flushed == manifest.flushed_through:
            return manifest
        return msgspec.structs.replace(manifest, flushed_through=flushed,
                                       revision=manifest.revision + 1)
    retired = list(manifest.retired)
    if current is not None:
        retired.append(RetiredEntry(sstable=current, retired_at=now,
                                    delete_after=now + grace_seconds))
    sstables = sorted((e for e in manifest.sstables if e.generation != entry.generation),
                      key=lambda e: e.generation)
    sstables.append(entry)
    sstables.sort(key=lambda e: e.generation)
    return msgspec.structs.replace(manifest, sstables=sstables, retired=retired,
                                   flushed_through=flushed, revision=manifest.revision + 1)


def _raised(flushed: tuple[int, int] | None,
            position: tuple[int, int] | None) -> tuple[int, int] | None:
    """The later of two commit log positions (flushed_through only grows)."""
    if position is not None and (flushed is None or tuple(position) > tuple(flushed)):
        return tuple(position)  # type: ignore[return-value]
    return flushed


def with_flushed(manifest: Manifest, position: tuple[int, int] | None) -> Manifest:
    """Raise flushed_through to `position` (TRUNCATE/DROP: nothing at or before it comes back)."""
    flushed = _raised(manifest.flushed_through, position)
    if flushed == manifest.flushed_through:
        return manifest
    return msgspec.structs.replace(manifest, flushed_through=flushed,
                                   revision=manifest.revision + 1)


def retire(manifest: Manifest, generations: list[int], now: float,
           grace_seconds: float) -> Manifest:
    """Move the live SSTables of `generations` to `retired` (idempotent: absent ones are
    skipped)."""
    doomed = set(generations)
    moved = [e for e in manifest.sstables if e.generation in doomed]
    if not moved:
        return manifest
    kept = [e for e in manifest.sstables if e.generation not in doomed]
    retired = list(manifest.retired) + [
        RetiredEntry(sstable=e, retired_at=now, delete_after=now + grace_seconds) for e in moved]
    return msgspec.structs.replace(manifest, sstables=kept, retired=retired,
                                   revision=manifest.revision + 1)


def expired(manifest: Manifest, now: float) -> list[RetiredEntry]:
    """Retired entries whose grace period is over and whose objects no live entry shares."""
    live = {e.identity for e in manifest.sstables}
    return [r for r in manifest.retired if r.delete_after <= now and r.sstable.identity not in live]


def purge(manifest: Manifest, identities: set[tuple[int, int]]) -> Manifest:
    """Drop retired entries whose objects have been deleted."""
    kept = [r for r in manifest.retired if r.sstable.identity not in identities]
    if len(kept) == len(manifest.retired):
        return manifest
    return msgspec.structs.replace(manifest, retired=kept, revision=manifest.revision + 1)


def decode_manifest(raw: bytes, key: str) -> Manifest:
    try:
        manifest = msgspec.json.decode(raw, type=Manifest)
    except msgspec.DecodeError as exc:
        raise ManifestError(f"manifest {key} cannot be decoded: {exc}") from None
    if manifest.format_version > MANIFEST_VERSION:
        raise ManifestError(f"manifest {key} has format {manifest.format_version}; this node reads "
                            f"up to {MANIFEST_VERSION}")
    return manifest


class _Conflict(Exception):
    """The manifest changed between our read and our conditional write."""


class ManifestStore:
    """Conditional read-modify-write of manifests in one store.

    `update(key, edit)`: `edit` receives the current manifest (None when absent) and returns the
    new one; returning its argument unchanged (or None) writes nothing. It may run several times
    (once per lost race), so it must be a pure function of its argument.
    """

    def __init__(self, store: object) -> None:
        self.store = store
        self.conflicts = 0  # lost races so far (tests and status read it)
        self._lock_path: str | None = None
        if isinstance(store, LocalStore):
            root = os.path.realpath(str(store.prefix))
            digest = hashlib.blake2b(root.encode(), digest_size=8).hexdigest()
            self._lock_path = os.path.join(tempfile.gettempdir(),
                                           f"ferrosa-manifest-{digest}.lock")

    async def read(self, key: str) -> tuple[Manifest | None, dict | None]:
        try:
            result = await obstore.get_async(self.store, key)
            raw = bytes(await result.bytes_async())
        except NOT_FOUND:
            return None, None
        meta = result.meta
        # obstore wants only the fields the store gave (a None value is a type error).
        version = {name: meta[name] for name in ("e_tag", "version") if meta.get(name) is not None}
        return decode_manifest(raw, key), version

    def read_sync(self, key: str) -> Manifest | None:
        try:
            raw = bytes(obstore.get(self.store, key).bytes())
        except NOT_FOUND:
            return None
        return decode_manifest(raw, key)

    async def update(self, key: str,
                     edit: Callable[[Manifest | None], Manifest | None]) -> Manifest | None:
        backoff = CAS_FIRST_BACKOFF
        for _attempt in range(MAX_CAS_ATTEMPTS):
            current, version = await self.read(key)
            new = edit(current)
            if new is None or new is current:
                return current
            data = msgspec.json.encode(new)
            try:
                await self._put(key, data, version)
                return new
            except _Conflict:
                self.conflicts += 1
                await asyncio.sleep(random.uniform(0, backoff))
                backoff = min(backoff * 2, CAS_MAX_BACKOFF)
        raise ManifestConflict(f"manifest {key}: {MAX_CAS_ATTEMPTS} conditional updates in a row "
                               f"lost to other writers")

    async def _put(self, key: str, data: bytes, version: dict | None) -> None:
        if self._lock_path is not None:
            await asyncio.to_thread(self._put_locked, key, data, version)
            return
        mode = "create" if version is None else version
        try:
            await obstore.put_async(self.store, key, data, mode=mode)
        except (PreconditionError, AlreadyExistsError):
            raise _Conflict from None
        except NOT_FOUND:
            if version is None:
                raise  # a create that finds no bucket
            # If-Match on an object deleted meanwhile: S3 answers 404, which is a lost race too.
            raise _Conflict from None

    def _put_locked(self, key: str, data: bytes, version: dict | None) -> None:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = obstore.head(self.store, key)["e_tag"]
            except NOT_FOUND:
                current = None
            expected = None if version is None else version.get("e_tag")
            if current != expected:
                raise _Conflict
            obstore.put(self.store, key, data, mode="overwrite")
        finally:
            os.close(fd)  # closing releases the flock

