"""Moving whole files to and from the object store, checked against their sizes and CRC32s.

What it is: `put_file` (single PUT for small files, streamed multipart for large ones, the CRC32
computed on the bytes actually sent), `get_file` (streamed download into a temporary file,
checked, fsynced, renamed), `delete_objects` (missing objects are fine), `Backoff` (the
uploader's retry schedule) and NOT_FOUND (obstore reports a missing object as either its
NotFoundError or the builtin FileNotFoundError, depending on the call).

What it must NOT do: retry (callers own their retry policy), edit manifests, or hold more than
MULTIPART_CONCURRENCY parts of one file in memory.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Sequence

import obstore
from obstore.exceptions import BaseError, NotFoundError

from ferrosa.checksum import crc32
from ferrosa.objectstore.errors import LocalDataError, RemoteDataError

NOT_FOUND = (NotFoundError, FileNotFoundError)
# Everything a store call can raise for a store-side reason (obstore maps some to builtins).
STORE_ERRORS = (BaseError, OSError)

MiB = 1 << 20
# Part size of multipart uploads, and the read block of streamed uploads and downloads. S3 wants
# parts of at least 5 MiB (but the last); with 8 MiB parts S3's 10,000-part limit is 78 GiB.
PART_BYTES = 8 * MiB
# Files up to this size go up in one PUT from memory; larger ones are streamed as multipart.
MULTIPART_THRESHOLD = PART_BYTES
# Parts of one multipart upload in flight at once: obstore buffers each, so one large file holds
# at most this many PART_BYTES in memory.
MULTIPART_CONCURRENCY = 4
# The uploader's retry schedule for a failing object or manifest update: full-jitter exponential
# backoff from FIRST_BACKOFF up to MAX_BACKOFF seconds (a store that is down is polled at most
# every MAX_BACKOFF, and work resumes at most that long after it comes back).
FIRST_BACKOFF = 0.25
MAX_BACKOFF = 30.0


class Backoff:
    def __init__(self, first: float = FIRST_BACKOFF, maximum: float = MAX_BACKOFF) -> None:
        self.first = first
        self.maximum = maximum
        self.current = first

    def next_delay(self) -> float:
        delay = random.uniform(self.current / 2, self.current)
        self.current = min(self.current * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.current = self.first


def _read_all(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _check(path: str, what: str, expected: int | None, found: int) -> None:
    if expected is not None and expected != found:
        raise LocalDataError(f"{path}: {what} is {found:#x}, its TOC says {expected:#x}"
                             if what == "CRC32" else
                             f"{path}: {what} is {found}, its TOC says {expected}")


async def put_file(store: object, key: str, path: str, expected_size: int | None = None,
                   expected_crc: int | None = None) -> tuple[int, int]:
    """Upload `path` to `key`; returns (size, crc32) of what was sent. A file that does not
    match the expected size/CRC raises LocalDataError, and nothing stays under `key`."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise LocalDataError(f"{path} does not exist") from None
    _check(path, "size", expected_size, size)
    if size <= MULTIPART_THRESHOLD:
        data = await asyncio.to_thread(_read_all, path)
        crc = crc32(data)
        _check(path, "size", expected_size, len(data))
        _check(path, "CRC32", expected_crc, crc)
        await obstore.put_async(store, key, data, use_multipart=False)
        return len(data), crc
    state = [0, 0]  # bytes, crc32 of what the stream handed to obstore

    async def blocks() -> AsyncIterator[bytes]:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            while True:
                block = await asyncio.to_thread(os.pread, fd, PART_BYTES, state[0])
                if not block:
                    return
                state[0] += len(block)
                state[1] = crc32(block, state[1])
                yield block
        finally:
            os.close(fd)

    await obstore.put_async(store, key, blocks(), use_multipart=True, chunk_size=PART_BYTES,
                            max_concurrency=MULTIPART_CONCURRENCY)
    try:
        _check(path, "size", expected_size, state[0])
        _check(path, "CRC32", expected_crc, state[1])
    except LocalDataError:
        await delete_objects(store, [key])
        raise
    return state[0], state[1]


async def get_file(store: object, key: str, path: str, expected_size: int | None = None,
                   expected_crc: int | None = None, temp_suffix: str = ".part") -> int:
    """Download `key` into `path` (written as `path` + temp_suffix, checked, fsynced, renamed);
    returns its size. A size or CRC32 different from the expected raises RemoteDataError."""
    temp = path + temp_suffix
    result = await obstore.get_async(store, key)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    size = crc = 0
    try:
        async for block in result.stream(min_chunk_size=PART_BYTES):
            view = memoryview(block)
            crc = crc32(view, crc)
            size += len(view)
            while view:
                written = await asyncio.to_thread(os.write, fd, view)
                view = view[written:]
        if expected_size is not None and size != expected_size:
            raise RemoteDataError(f"object {key} has {size} bytes, its manifest says "
                                  f"{expected_size}")
        if expected_crc is not None and crc != expected_crc:
            raise RemoteDataError(f"object {key} has CRC32 {crc:#x}, its manifest says "
                                  f"{expected_crc:#x}")
        await asyncio.to_thread(os.fsync, fd)
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    os.close(fd)
    os.replace(temp, path)
    return size


async def object_size(store: object, key: str) -> int | None:
    """The size of `key`, None when it does not exist."""
    try:
        meta = await obstore.head_async(store, key)
    except NOT_FOUND:
        return None
    return int(meta["size"])


async def delete_objects(store: object, keys: Sequence[str]) -> None:
    """Delete `keys`; keys already gone are not an error (a redone delete finds them gone)."""
    for key in keys:
        try:
            await obstore.delete_async(store, key)
        except NOT_FOUND:
            pass
