"""Errors raised by the shard's storage engine (commit log now; memtable flush and SSTables later).

Every storage failure is a StorageError so that the shard loop can tell "my files are broken or my
disk failed: stop and let the supervisor decide" apart from a bad request. Errors that describe a
place in a file name the file and the byte offset, because an operator has to find it.

This module must NOT import anything from ferrosa or the rest of shards: it is the leaf every
storage module depends on.
"""

from __future__ import annotations

from collections.abc import Iterable


class StorageError(Exception):
    """Base class of every error raised by the shard storage engine."""


class CommitLogError(StorageError):
    """Base class of the commit log's errors."""


class CommitLogSettingsError(CommitLogError, ValueError):
    """A CommitLogSettings value is out of range or names an unknown sync mode."""


class CommitLogCorruption(CommitLogError):
    """A segment's bytes contradict its own checksums or framing at a known place.

    Replay does not raise this for a damaged segment: it sets the file aside and lists the problem
    in its ReplayReport (see ReplayReport.corruptions()); the exception type is the one shape in which
    such a problem is handed around and logged.
    """

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(f"commit log segment {path} is corrupt at offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


class CommitLogVersionError(CommitLogError):
    """A segment was written in a format version this build cannot read.

    Raised (never set aside) so that a node started by an older build refuses to run instead of
    discarding a newer build's acknowledged writes.
    """

    def __init__(self, path: str, version: int, supported: Iterable[int],
                 flags: int = 0) -> None:
        flagged = f" with unknown flags {flags:#06x}" if flags else ""
        readable = ", ".join(map(str, sorted(supported)))
        super().__init__(f"commit log segment {path} has format version {version}{flagged}; "
                         f"this build reads versions {readable}, without flags")
        self.path = path
        self.version = version
        self.flags = flags


class RecordTooLargeError(CommitLogError, ValueError):
    """One record is empty or longer than the commit log's max_record limit.

    The limit is half a segment (Cassandra's max_mutation_size default), so a record always fits an
    empty segment. Nothing of the refused batch has been written when this is raised.
    """

    def __init__(self, length: int, limit: int) -> None:
        what = "an empty record" if length == 0 else f"a record of {length} bytes"
        super().__init__(f"commit log refuses {what}: records must be 1..{limit} bytes")
        self.length = length
        self.limit = limit


class CommitLogStateError(CommitLogError):
    """The commit log was used out of order: append before replay, or after close or a failure."""


class CommitLogIOError(CommitLogError):
    """A write, fsync or file operation on the commit log failed.

    After this the log refuses every further append and sync (it raises this again): a failed fsync
    may have dropped dirty pages, so retrying it could report durability that does not exist. The
    shard must stop; its restart replays what reached the disk.
    """


class MutationRejected(Exception):
    """A mutation that cannot apply to the current data (e.g. a list index out of bounds).

    Not a StorageError: the request is refused with InvalidRequest and nothing of it is applied.
    """


class SSTableError(StorageError):
    """Base class of the SSTable library's errors (shards/sstable/)."""


class CorruptSSTable(SSTableError):
    """An SSTable file's bytes contradict its table of contents, its checksums or its own framing.

    Names the file and, where known, the byte offset (offset -1 = the whole file, e.g. a size or
    whole-file checksum mismatch). Data that fails a check is never returned.
    """

    def __init__(self, path: str, offset: int, reason: str) -> None:
        where = "" if offset < 0 else f" at offset {offset}"
        super().__init__(f"SSTable file {path} is corrupt{where}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


class SSTableVersionError(SSTableError):
    """An SSTable was written in a format version this build cannot read (refused, not skipped)."""

    def __init__(self, path: str, version: int, readable: tuple[int, ...]) -> None:
        super().__init__(f"SSTable {path} has format version {version}; this build reads "
                         f"versions {', '.join(map(str, readable))}")
        self.path = path
        self.version = version


class SSTableOrderError(SSTableError, ValueError):
    """SSTableWriter.add got a partition not strictly after the previous one in (token, pk) order."""


class SSTableOptionError(SSTableError, ValueError):
    """An SSTable writer option is out of range or names an unsupported compression."""


class SSTableStateError(SSTableError):
    """An SSTable writer or reader was used out of order (add after finish, read after close, ...)."""
