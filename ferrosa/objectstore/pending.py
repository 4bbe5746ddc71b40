"""The pending-upload log: durable notices from shards to the uploader, and the uploader's journal.

What it is: the channel between processes. A shard's `NoticeWriter` appends notices ("SSTable
sealed", "SSTables removed", "commit log segment closed", "segment discarded") to its own notice
files; the uploader's `PendingNotices` reads every shard's files, hands out the notices not yet
done and records each completion in its journal. Both kinds of file are append-only, framed and
checksummed.

What it must NOT do: talk to the object store, decide how a notice is carried out (uploader.py),
or let two processes write one file (each notice file has exactly one writer: its shard; the
journal has exactly one writer: the uploader).

Theory of operation
- Directory DATA_DIR/uploads/:
    notices/shard-<n>/<seq>.log  written by shard n; a new file at every shard start and past
                                 NOTICE_FILE_BYTES, so only the newest file can still grow
    staging/shard-<n>/<seq>-<i>/ hard links to the files notice (seq, i) is about, made before
                                 the notice is written: compaction, eviction or segment recycling
                                 can delete the originals and the uploader still has the bytes
    journal.log                  the uploader's Done records
- File: header `magic "FRSAPEND" | version u16 | kind u16 | 0 u32`, created under a temporary
  name and renamed, so a visible file always has its header. Then records
  `length u32 | crc32(body) u32 | body` (msgpack of a tagged Struct), appended with one write()
  and fsynced (a notice is acknowledged to nobody before it is durable).
- A notice's identity is (shard, file seq, index of the record in its file).
- Reading a file whose last record is incomplete or fails its CRC: in the newest file of a shard
  that is a record being written right now (try again at the next poll); in an older file it is a
  tail torn by a crash of the shard (the notice was never durable, so nothing relied on it): the
  rest of the file is skipped with a log line.
- Every notice is idempotent to carry out (manifest edits are; objects are re-put under the same
  key), so a Done lost in a crash only means the notice is redone.
- Compaction: at uploader start the journal is rewritten with only the Done records of notice
  files that still exist. A notice file that is not the newest of its shard and whose notices are
  all done is deleted, with its staging leftovers.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import struct
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import msgspec

from ferrosa.checksum import crc32
from ferrosa.objectstore.errors import LocalDataError, PendingLogError
from shards.commitlog_segment import fsync_directory
from shards.sstable.format import TOC, component_name, component_path, unpack_toc

log = logging.getLogger("ferrosa.objectstore.pending")

FILE_MAGIC = b"FRSAPEND"
FILE_VERSION = 1
KIND_NOTICES = 1
KIND_JOURNAL = 2
FILE_HEADER = struct.Struct("<8sHHI")
RECORD_HEADER = struct.Struct("<II")
# A notice is well under 1 KiB; a length field above this is damage, not a record.
MAX_RECORD_BYTES = 64 * 1024
# A shard starts a new notice file past this size, so finished files can be deleted whole.
NOTICE_FILE_BYTES = 1 << 20
# The uploader rewrites its journal (keeping only Done records of live notice files) past this.
JOURNAL_COMPACT_BYTES = 4 << 20
NOTICES_DIR = "notices"
STAGING_DIR = "staging"
JOURNAL_NAME = "journal.log"
_FILE_NAME = re.compile(r"^(\d{12})\.log$")
_SHARD_DIR = re.compile(r"^shard-(\d+)$")
_STAGING_NAME = re.compile(r"^(\d+)-(\d+)$")


class SSTableSealed(msgspec.Struct, tag="sealed", array_like=True, frozen=True):
    """An SSTable was finished; its files (TOC last in `files`) are in the staging directory."""

    table_id: bytes
    generation: int
    upload_id: int  # random: names this SSTable's objects (see manifest.SSTableEntry)
    files: list[str]
    flushed_through: tuple[int, int] | None = None
    sealed_at: float = 0.0  # unix time: the status reports the age of the oldest pending data


class SSTablesRemoved(msgspec.Struct, tag="removed", array_like=True, frozen=True):
    """These SSTables left the shard (compaction, TRUNCATE, DROP): retire them in the bucket.
    TRUNCATE and DROP also say through which commit log position the table's data is gone, so
    archived segments replayed at a restore do not bring it back."""

    table_id: bytes
    generations: list[int]
    flushed_through: tuple[int, int] | None = None


class SegmentClosed(msgspec.Struct, tag="segment", array_like=True, frozen=True):
    """A commit log segment will not change any more; a link to it is in the staging directory."""

    name: str
    closed_at: float = 0.0


class SegmentDiscarded(msgspec.Struct, tag="discarded", array_like=True, frozen=True):
    """Every table has flushed the segment's data: its archived copy is no longer needed."""

    name: str


Notice = SSTableSealed | SSTablesRemoved | SegmentClosed | SegmentDiscarded


class Done(msgspec.Struct, tag="done", array_like=True, frozen=True):
    shard: int
    file: int
    index: int
    ok: bool


class NoticeId(NamedTuple):
    shard: int
    file: int
    index: int


_ENCODER = msgspec.msgpack.Encoder()
_NOTICE_DECODER = msgspec.msgpack.Decoder(Notice)
_DONE_DECODER = msgspec.msgpack.Decoder(Done)


def frame(record: msgspec.Struct) -> bytes:
    body = _ENCODER.encode(record)
    return RECORD_HEADER.pack(len(body), crc32(body)) + body


def scan(data: bytes | memoryview, start: int) -> tuple[list[bytes], int, str | None]:
    """Complete, checked record bodies from `start`; the offset after the last one; and why
    scanning stopped early (None when it reached the end exactly)."""
    bodies: list[bytes] = []
    pos, end = start, len(data)
    unpack, head = RECORD_HEADER.unpack_from, RECORD_HEADER.size
    while pos < end:
        if end - pos < head:
            return bodies, pos, f"incomplete record header at offset {pos}"
        length, crc = unpack(data, pos)
        if length > MAX_RECORD_BYTES:
            return bodies, pos, f"record length {length} at offset {pos} exceeds the limit"
        if end - pos - head < length:
            return bodies, pos, f"incomplete record at offset {pos}"
        body = bytes(data[pos + head:pos + head + length])
        if crc32(body) != crc:
            return bodies, pos, f"record checksum mismatch at offset {pos}"
        bodies.append(body)
        pos += head + length
    return bodies, pos, None


def _create(path: Path, kind: int, content: bytes = b"") -> None:
    """Create `path` with its header (and `content`) under a temporary name, then rename it."""
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as handle:
        handle.write(FILE_HEADER.pack(FILE_MAGIC, FILE_VERSION, kind, 0) + content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_directory(str(path.parent))


def _check_header(path: Path, data: bytes, kind: int) -> None:
    if len(data) < FILE_HEADER.size:
        raise PendingLogError(f"{path}: {len(data)} bytes, shorter than the file header")
    magic, version, found, _ = FILE_HEADER.unpack_from(data, 0)
    if magic != FILE_MAGIC or found != kind:
        raise PendingLogError(f"{path}: not a Ferrosa pending-upload file (magic {magic!r}, kind "
                              f"{found})")
    if version != FILE_VERSION:
        raise PendingLogError(f"{path}: pending-upload file version {version}, expected "
                              f"{FILE_VERSION}")


def _sequence_numbers(directory: Path) -> list[int]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(m.group(1)) for m in map(_FILE_NAME.match, names) if m)


def _file_name(seq: int) -> str:
    return f"{seq:012d}.log"


def link_or_copy(source: str, target: str) -> None:
    """A hard link (same filesystem, no bytes copied), else a copied and fsynced file."""
    try:
        os.link(source, target)
    except FileNotFoundError:
        raise LocalDataError(f"{source} does not exist") from None
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copyfile(source, target)
        with open(target, "rb") as handle:
            os.fsync(handle.fileno())


class NoticeWriter:
    """A shard's end of the channel. Every method returns once its notice is durable.

    Call order the uploader relies on:
    - `sstable_sealed` after the SSTable is finished and before the commit log is released for
      it. Calling it again for an SSTable already in the bucket (e.g. for every local SSTable at
      shard start, to catch up after the tier was switched on) is cheap: the uploader finds the
      same TOC listed and uploads nothing.
    - `sstables_removed` BEFORE deleting the files locally: a crash in between then leaves a
      local file the bucket no longer lists, never a bucket entry for data the shard dropped.
    - `segment_closed` before the segment can be deleted; `segment_discarded` after the flushes
      that made it unnecessary were noticed."""

    def __init__(self, uploads_dir: str | os.PathLike[str], shard: int) -> None:
        self.shard = shard
        root = Path(uploads_dir)
        self.directory = root / NOTICES_DIR / f"shard-{shard}"
        self.staging_root = root / STAGING_DIR / f"shard-{shard}"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.staging_root.mkdir(parents=True, exist_ok=True)
        existing = _sequence_numbers(self.directory)
        self.seq = (existing[-1] if existing else 0)
        self._fd = -1
        self._rotate()

    def _rotate(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self.seq += 1
        path = self.directory / _file_name(self.seq)
        _create(path, KIND_NOTICES)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self.index = 0
        self.size = FILE_HEADER.size

    def _append(self, notice: Notice) -> NoticeId:
        record = frame(notice)
        nid = NoticeId(self.shard, self.seq, self.index)
        written = os.write(self._fd, record)
        if written != len(record):
            raise OSError(errno.EIO, f"short write to notice file {self.directory}")
        os.fsync(self._fd)
        self.index += 1
        self.size += len(record)
        if self.size >= NOTICE_FILE_BYTES:
            self._rotate()
        return nid

    def _staging(self) -> Path:
        path = self.staging_root / f"{self.seq}-{self.index}"
        if path.exists():
            shutil.rmtree(path)  # left by a crash between staging and appending
        path.mkdir()
        return path

    def sstable_sealed(self, directory: str, table_id: bytes, generation: int,
                       flushed_through: tuple[int, int] | None = None) -> NoticeId:
        toc_path = component_path(directory, table_id, generation, TOC)
        try:
            with open(toc_path, "rb") as handle:
                toc = unpack_toc(toc_path, handle.read())
        except FileNotFoundError:
            raise LocalDataError(f"SSTable {toc_path} does not exist") from None
        staging = self._staging()
        files = []
        for component in [entry.name for entry in toc.components] + [TOC]:
            name = component_name(table_id, generation, component)
            link_or_copy(os.path.join(directory, name), str(staging / name))
            files.append(name)
        fsync_directory(str(staging))
        fsync_directory(str(self.staging_root))
        position = None if flushed_through is None else (int(flushed_through[0]),
                                                           int(flushed_through[1]))
        upload_id = int.from_bytes(os.urandom(4), "little")
        return self._append(SSTableSealed(table_id, generation, upload_id, files, position,
                                          time.time()))

    def sstables_removed(self, table_id: bytes, generations: list[int],
                         flushed_through: tuple[int, int] | None = None) -> NoticeId:
        position = None if flushed_through is None else (int(flushed_through[0]),
                                                           int(flushed_through[1]))
        return self._append(SSTablesRemoved(table_id, sorted(generations), position))

    def segment_closed(self, path: str) -> NoticeId:
        staging = self._staging()
        name = os.path.basename(path)
        link_or_copy(path, str(staging / name))
        fsync_directory(str(staging))
        fsync_directory(str(self.staging_root))
        return self._append(SegmentClosed(name, time.time()))

    def segment_discarded(self, name: str) -> NoticeId:
        return self._append(SegmentDiscarded(os.path.basename(name)))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _Cursor:
    __slots__ = ("file", "index", "offset")

    def __init__(self, file: int) -> None:
        self.file = file
        self.offset = 0
        self.index = 0


class PendingNotices:
    """The uploader's end: new notices from every shard, completions into the journal."""

    def __init__(self, uploads_dir: str | os.PathLike[str]) -> None:
        self.root = Path(uploads_dir)
        self.notices = self.root / NOTICES_DIR
        self.staging = self.root / STAGING_DIR
        self.notices.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)
        self.journal_path = self.root / JOURNAL_NAME
        self.done: set[NoticeId] = set()
        self._done_per_file: Counter[tuple[int, int]] = Counter()
        self._final_counts: dict[tuple[int, int], int] = {}
        self._cursors: dict[int, _Cursor] = {}
        self._load_journal()
        self._compact_journal()
        self._journal_fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)

    # -- journal ------------------------------------------------------------------------------
    def _load_journal(self) -> None:
        try:
            data = self.journal_path.read_bytes()
        except FileNotFoundError:
            return
        try:
            _check_header(self.journal_path, data, KIND_JOURNAL)
        except PendingLogError as exc:
            # Losing the journal only means redoing notices (all idempotent): start a new one.
            set_aside = self.journal_path.with_name(JOURNAL_NAME + ".corrupt")
            os.replace(self.journal_path, set_aside)
            log.error("%s; moved to %s, every pending notice will be redone", exc, set_aside)
            return
        bodies, _end, problem = scan(data, FILE_HEADER.size)
        if problem is not None:
            log.warning("uploader journal %s: %s; the notices after it will be redone",
                        self.journal_path, problem)
        for body in bodies:
            done = _DONE_DECODER.decode(body)
            self._mark(NoticeId(done.shard, done.file, done.index))

    def _mark(self, nid: NoticeId) -> None:
        if nid not in self.done:
            self.done.add(nid)
            self._done_per_file[(nid.shard, nid.file)] += 1

    def _compact_journal(self) -> None:
        live = {(shard, seq) for shard, directory in self._shard_dirs()
                for seq in _sequence_numbers(directory)}
        self.done = {nid for nid in self.done if (nid.shard, nid.file) in live}
        self._done_per_file = Counter((nid.shard, nid.file) for nid in self.done)
        body = b"".join(frame(Done(*nid, True)) for nid in sorted(self.done))
        _create(self.journal_path, KIND_JOURNAL, body)

    def complete(self, nid: NoticeId, ok: bool) -> None:
        """Record `nid` as done (durably), then drop its staging links and, when its whole file
        is done, the file."""
        record = frame(Done(nid.shard, nid.file, nid.index, ok))
        os.write(self._journal_fd, record)
        os.fsync(self._journal_fd)
        self._mark(nid)
        shutil.rmtree(self.staging_dir(nid), ignore_errors=True)
        self._maybe_delete_file(nid.shard, nid.file)
        if os.fstat(self._journal_fd).st_size > JOURNAL_COMPACT_BYTES:
            os.close(self._journal_fd)
            self._compact_journal()
            self._journal_fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)

    def staging_dir(self, nid: NoticeId) -> Path:
        return self.staging / f"shard-{nid.shard}" / f"{nid.file}-{nid.index}"

    def close(self) -> None:
        if self._journal_fd >= 0:
            os.close(self._journal_fd)
            self._journal_fd = -1

    # -- notice files -------------------------------------------------------------------------
    def _shard_dirs(self) -> list[tuple[int, Path]]:
        found = []
        for name in os.listdir(self.notices):
            match = _SHARD_DIR.match(name)
            if match:
                found.append((int(match.group(1)), self.notices / name))
        return sorted(found)

    def poll(self) -> list[tuple[NoticeId, Notice]]:
        """Notices written since the last poll (and, at the first poll, every one not done), in
        each shard's order."""
        out: list[tuple[NoticeId, Notice]] = []
        for shard, directory in self._shard_dirs():
            files = _sequence_numbers(directory)
            if not files:
                continue
            cursor = self._cursors.get(shard)
            if cursor is None or cursor.file < files[0]:
                cursor = self._cursors[shard] = _Cursor(files[0])
            while True:
                newest = cursor.file == files[-1]
                if not self._read(shard, directory, cursor, newest, out) or newest:
                    break
                later = [seq for seq in files if seq > cursor.file]
                self._finish_file(shard, cursor.file, cursor.index)
                cursor.file, cursor.offset, cursor.index = later[0], 0, 0
        return out

    def _read(self, shard: int, directory: Path, cursor: _Cursor, newest: bool,
              out: list[tuple[NoticeId, Notice]]) -> bool:
        """Read the cursor's file from its offset. True when the file is finished (fully read,
        or its torn tail skipped); False to wait for more bytes."""
        path = directory / _file_name(cursor.file)
        try:
            with open(path, "rb") as handle:
                if cursor.offset == 0:
                    _check_header(path, handle.read(FILE_HEADER.size), KIND_NOTICES)
                    cursor.offset = FILE_HEADER.size
                handle.seek(cursor.offset)
                data = handle.read()
        except FileNotFoundError:
            return True
        except PendingLogError as exc:
            # Not ours (or its header is damaged): keep it for the operator, read the next file.
            os.replace(path, path.with_name(path.name + ".corrupt"))
            log.error("%s; moved aside as %s.corrupt", exc, path.name)
            return True
        bodies, end, problem = scan(data, 0)
        for body in bodies:
            nid = NoticeId(shard, cursor.file, cursor.index)
            cursor.index += 1
            if nid in self.done:
                continue
            try:
                out.append((nid, _NOTICE_DECODER.decode(body)))
            except msgspec.DecodeError as exc:
                log.error("notice %s in %s cannot be decoded (%s); skipped", nid, path, exc)
                self.complete(nid, False)
        cursor.offset += end
        if problem is None:
            return True
        if newest:
            return False  # a record being appended right now
        log.warning("notice file %s: %s; a crash of shard %d tore its tail, the rest is skipped",
                    path, problem, shard)
        return True

    def _finish_file(self, shard: int, seq: int, count: int) -> None:
        self._final_counts[(shard, seq)] = count
        staging = self.staging / f"shard-{shard}"
        if staging.exists():
            for name in os.listdir(staging):
                match = _STAGING_NAME.match(name)
                if match and int(match.group(1)) == seq and int(match.group(2)) >= count:
                    shutil.rmtree(staging / name, ignore_errors=True)  # notice never written
        self._maybe_delete_file(shard, seq)

    def _maybe_delete_file(self, shard: int, seq: int) -> None:
        count = self._final_counts.get((shard, seq))
        if count is None or self._done_per_file[(shard, seq)] < count:
            return
        try:
            os.unlink(self.notices / f"shard-{shard}" / _file_name(seq))
        except FileNotFoundError:
            pass
        del self._final_counts[(shard, seq)]
