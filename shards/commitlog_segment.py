"""One commit-log segment file: its header, the record framing, writing it and scanning it back.

What it is: the byte format of `CommitLog-<version>-<segment_id>.log` and the two primitives on it,
`SegmentWriter` (create, append framed bytes, fdatasync) and `SegmentReader` (validate the header,
yield the records, say precisely where and why reading stopped).

What it must NOT do: decide policy. Sync modes, rotation, what counts as a torn tail versus
corruption, setting files aside and discarding them belong to shards/commitlog.py. It never looks
inside a record: records are opaque bytes.

Theory of operation
-------------------
All integers are little-endian. Checksums are CRC-32/ISO-HDLC (ferrosa.checksum: zlib's values,
the polynomial of Cassandra's java.util.zip.CRC32, computed by zlib-ng's folding code).

Segment header, HEADER_SIZE = 24 bytes:
    0  magic       8s   MAGIC
    8  version     u16  FORMAT_VERSION (READABLE_VERSIONS are read)
    10 flags       u16  0 (reserved; a non-zero value is an unsupported format)
    12 segment_id  u64  the same id as in the file name
    20 header_crc  u32  crc32(bytes 0..20)

Records follow back to back from offset 24; RECORD_OVERHEAD = 12 bytes each:
    0  length      u32  payload bytes, 1..max_record (0 never occurs, so zero fill is never a record)
    4  payload_crc u32  crc32(payload, seed)
    8  frame_crc   u32  crc32(bytes 0..8 of this record, seed)
    12 payload
The seed is the segment's header_crc, so a record is valid only inside the segment it was written
to. The frame checksum makes the length trustworthy before the payload is read: a damaged length is
detected as such instead of sending the reader to a wild offset.

After the last record the file holds zeros: the writer keeps the file zero-filled ZERO_AHEAD_BYTES
ahead of its write offset (see SegmentWriter), and bytes past the end of the file read as EOF. A
reader therefore ends cleanly at EOF or where every remaining byte is zero; anything else is a
damaged record, reported with the byte range [offset, extent) it occupies (`ScanStop`) and whether
every byte after that range is zero (`tail_zero`), which is what the commit log's torn-tail rule needs.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from typing import Iterable, Iterator, NamedTuple, Union

import msgspec

from ferrosa.checksum import crc32
from shards.errors import (
    CommitLogCorruption,
    CommitLogVersionError,
    RecordTooLargeError,
)

# What append accepts as one record: anything crc32 and bytes.join take without copying.
Record = Union[bytes, bytearray, memoryview]

MAGIC = b"FRSACLOG"
# The version is that of the whole segment: this framing and what its records hold, which is
# the shard's (shards/worker.py) even though this module never reads it. Version 1 records each
# hold one logged request; version 2 records may also hold a group of them (the front's group of
# a loop pass, logged as it came). The framing is the same in both. A build reads every version
# in READABLE_VERSIONS and refuses any other (CommitLogVersionError), so that an older build
# stops at a segment it would misread instead of replaying part of it.
FORMAT_VERSION = 2
READABLE_VERSIONS = frozenset({1, 2})
HEADER = struct.Struct("<8sHHQI")
HEADER_SIZE = HEADER.size  # 24
_HEADER_BODY = struct.Struct("<8sHHQ")
RECORD_HEADER = struct.Struct("<III")
RECORD_OVERHEAD = RECORD_HEADER.size  # 12
_FRAME_BODY = struct.Struct("<II")  # (length, payload_crc): what frame_crc covers

# The writer zero-fills this far ahead of its write offset. Writing into blocks that already hold
# data lets fdatasync skip the metadata journal commit that growing a file (or converting fallocated
# "unwritten" extents) costs: measured on this host's ext4, write+fdatasync of 6.4 KB took ~105 us
# into zero-filled space versus ~170-200 us when growing. 1 MiB bounds the extra latency of the one
# sync that flushes a fresh zero chunk (~1 ms) while changing the file size only every 1 MiB.
ZERO_AHEAD_BYTES = 1 << 20
_ZEROS = bytes(ZERO_AHEAD_BYTES)

_NAME = re.compile(r"^CommitLog-(\d+)-(\d+)\.log$")
TEMP_SUFFIX = ".tmp"
CORRUPT_SUFFIX = ".corrupt"


class Position(NamedTuple):
    """A place in the log: (segment id, offset just after a record or batch). Tuple order = log order."""

    segment_id: int
    offset: int


def segment_name(segment_id: int, version: int = FORMAT_VERSION) -> str:
    return f"CommitLog-{version}-{segment_id}.log"


def parse_segment_name(name: str) -> tuple[int, int] | None:
    """(version, segment_id) of a live segment file name, None for any other name."""
    match = _NAME.match(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def pack_header(segment_id: int, version: int = FORMAT_VERSION) -> bytes:
    body = _HEADER_BODY.pack(MAGIC, version, 0, segment_id)
    return body + struct.pack("<I", crc32(body))


def frame_records(records: Iterable[Record], seed: int, max_record: int) -> bytes:
    """The framed bytes of `records` for a segment whose seed is `seed`, ready for one write.

    Raises RecordTooLargeError for an empty or oversized record before anything is written.
    """
    parts: list[Record] = []
    add = parts.append
    crc = crc32
    pack_body = _FRAME_BODY.pack
    pack_header_ = RECORD_HEADER.pack
    for record in records:
        n = len(record)
        if not 0 < n <= max_record:
            raise RecordTooLargeError(n, max_record)
        payload_crc = crc(record, seed)
        add(pack_header_(n, payload_crc, crc(pack_body(n, payload_crc), seed)))
        add(record)
    return b"".join(parts)


def fsync_directory(path: str) -> None:
    """Make a create, rename or unlink inside `path` durable (POSIX needs the directory fsynced)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_datasync = getattr(os, "fdatasync", os.fsync)


class SegmentWriter:
    """The open, active segment: appends framed bytes at `offset` and syncs them.

    The file is created under a temporary name, given its header and first zero chunk, fsynced and
    only then renamed to its final name (and the directory fsynced): a file with a final name always
    has a durable, valid header, so a damaged header is never a crash artefact.

    Appends are copies into a shared memory map of the zero-filled part of the file, as
    Cassandra's memory-mapped segments take them: a shard appends once per loop pass, and a
    `pwrite` system call of a pass's few hundred bytes cost ~1.45 us of CPU against ~0.3 for the
    copy (page faults included). The zero fill still goes through `pwrite`, so every mapped page
    has its disk blocks before a record lands in it (a full disk fails the zero fill, an OSError,
    never a store into the map); the map is made anew over the whole file each time the fill
    grows it (every ZERO_AHEAD_BYTES), and unmapped before the seal truncates the file. `sync`
    is fdatasync on the file, which on Linux writes back the pages dirtied through the map too.
    The trade is Cassandra's: should the file lose its blocks under the map (another process
    truncating it), the next append faults (SIGBUS) and the shard dies instead of raising.
    """

    __slots__ = ("segment_id", "path", "capacity", "seed", "offset", "zeroed", "_fd", "_map")

    def __init__(self, segment_id: int, path: str, capacity: int, fd: int, seed: int) -> None:
        self.segment_id = segment_id
        self.path = path
        self.capacity = capacity
        self.seed = seed
        self.offset = HEADER_SIZE
        self.zeroed = HEADER_SIZE
        self._fd = fd
        self._map: mmap.mmap | None = None

    @classmethod
    def create(cls, directory: str, segment_id: int, capacity: int) -> SegmentWriter:
        path = os.path.join(directory, segment_name(segment_id))
        temp = path + TEMP_SUFFIX
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        writer = None
        try:
            header = pack_header(segment_id)
            _write_all(fd, header, 0)
            writer = cls(segment_id, path, capacity, fd, crc32(header[:-4]))
            writer._zero_fill(HEADER_SIZE)
            _datasync(fd)
            os.rename(temp, path)
            fsync_directory(directory)
        except BaseException:
            if writer is not None:
                writer._unmap()
            os.close(fd)
            raise
        return writer

    def write(self, data: bytes) -> int:
        """Write `data` at the current offset (the caller checked it fits); returns the new offset."""
        offset = self.offset
        end = offset + len(data)
        if end > self.zeroed:
            self._zero_fill(end)
        self._map[offset:end] = data  # type: ignore[index]  # mapped by the first zero fill
        self.offset = end
        return end

    def _zero_fill(self, end: int) -> None:
        """Extend the zero-filled region to ZERO_AHEAD_BYTES past `end` (capped at capacity),
        and map the file anew over it."""
        start = max(self.zeroed, end)
        target = min(self.capacity, end + ZERO_AHEAD_BYTES)
        if target > start:
            _write_all(self._fd, memoryview(_ZEROS)[: target - start], start)
        self.zeroed = max(self.zeroed, target)
        old, self._map = self._map, mmap.mmap(self._fd, self.zeroed)
        if old is not None:
            old.close()

    def sync(self) -> None:
        _datasync(self._fd)

    def seal(self) -> None:
        """This segment takes no more appends: drop the zero-filled tail (so an archived copy holds
        just the records), make that durable, and close it."""
        self._unmap()  # before the truncation: no mapped page may lie past the file's end
        os.ftruncate(self._fd, self.offset)
        _datasync(self._fd)
        self.close()

    def close(self) -> None:
        self._unmap()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _unmap(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None


def _write_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    written = os.pwrite(fd, data, offset)
    if written == len(data):  # a regular file takes it all, barring a full disk or a signal
        return
    view = memoryview(data)[written:]
    offset += written
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


class ScanStop(msgspec.Struct, frozen=True):
    """Where and why a reader stopped before a clean end.

    offset: where the damaged record starts (everything before it was valid).
    extent: the first byte after what the damaged record is known to occupy: the end of its frame
        when the frame checksum held, else offset + RECORD_OVERHEAD (its length cannot be trusted).
    tail_zero: every byte from `extent` to the end of the file is zero (true also at or past EOF).
    """

    offset: int
    extent: int
    reason: str
    tail_zero: bool


class SegmentReader:
    """Reads one segment file into memory and validates its header (raising on a bad one).

    Iterating `records()` yields (end_offset, payload) for each valid record in order; when the
    iteration ends, `valid_end` is the offset after the last valid record and `stop` is None for a
    clean end or a ScanStop describing the damage.
    """

    def __init__(self, path: str, expected_id: int, max_record: int) -> None:
        self.path = path
        self.segment_id = expected_id
        self.max_record = max_record
        with open(path, "rb") as f:
            self.data = f.read()
        self.seed = self._check_header()
        self.valid_end = HEADER_SIZE
        self.stop: ScanStop | None = None

    def _check_header(self) -> int:
        data, path = self.data, self.path
        if len(data) < HEADER_SIZE:
            raise CommitLogCorruption(path, 0, f"file of {len(data)} bytes is shorter than the "
                                               f"{HEADER_SIZE}-byte segment header")
        magic, version, flags, segment_id, header_crc = HEADER.unpack_from(data, 0)
        if magic != MAGIC:
            raise CommitLogCorruption(path, 0, f"bad magic {magic!r}")
        seed = crc32(data[: HEADER_SIZE - 4])
        if seed != header_crc:
            raise CommitLogCorruption(path, 0, "segment header checksum mismatch")
        if version not in READABLE_VERSIONS or flags != 0:
            raise CommitLogVersionError(path, version, READABLE_VERSIONS, flags)
        if segment_id != self.segment_id:
            raise CommitLogCorruption(path, 12, f"header names segment {segment_id}, "
                                                f"file name says {self.segment_id}")
        return seed

    def records(self) -> Iterator[tuple[int, bytes]]:
        data = self.data
        size = len(data)
        seed = self.seed
        crc = crc32
        unpack = RECORD_HEADER.unpack_from
        pack_body = _FRAME_BODY.pack
        max_record = self.max_record
        offset = HEADER_SIZE
        while offset < size:
            if size - offset < RECORD_OVERHEAD:
                if not _all_zero(data, offset):
                    self._stopped(offset, offset + RECORD_OVERHEAD, "record header cut short by EOF")
                break
            n, payload_crc, frame_crc = unpack(data, offset)
            # A zero length is never written, so it marks the zero fill; scanning for the end of the
            # zeros happens once per segment, not once per record.
            if n == 0 and _all_zero(data, offset):
                break
            if crc(pack_body(n, payload_crc), seed) != frame_crc:
                self._stopped(offset, offset + RECORD_OVERHEAD, "record frame checksum mismatch")
                break
            if not 0 < n <= max_record:
                self._stopped(offset, offset + RECORD_OVERHEAD,
                              f"record length {n} outside 1..{max_record}")
                break
            start = offset + RECORD_OVERHEAD
            end = start + n
            if end > size:
                self._stopped(offset, end, f"record of {n} bytes cut short by EOF")
                break
            payload = data[start:end]
            if crc(payload, seed) != payload_crc:
                self._stopped(offset, end, "record payload checksum mismatch")
                break
            offset = end
            self.valid_end = end
            yield end, payload

    def _stopped(self, offset: int, extent: int, reason: str) -> None:
        self.stop = ScanStop(offset, extent, reason, extent >= len(self.data)
                             or _all_zero(self.data, extent))


def _all_zero(data: bytes, start: int) -> bool:
    return data.count(0, start) == len(data) - start
