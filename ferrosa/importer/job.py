"""One import run: find the SSTables, check each against its table, validate it whole, then load it.

Theory of operation
-------------------
For every SSTable (sources.py), in order:

1. open: the reader verifies Data.db against Digest.crc32 (unless told not to) and reads the header;
2. target: the table (given, or implied by the SSTable's location) as the node's system_schema
   describes it, and ``check_header`` against it;
3. validate: every partition is read (chunk CRCs checked on the way) and converted (load.py); each
   mutation is encoded and sized against the node's batch limit. The encoded batches are kept (the
   spool) while they fit in ``spool_bytes``;
4. load (not with --dry-run), only once step 3 went through the whole SSTable: hand the spooled
   batches to the sender, which sends them while the next SSTable goes through steps 1-3, or, past
   the spool budget, read and convert the SSTable again (conversion is deterministic: the same
   mutations) and send as it goes. The run ends when every batch is acknowledged.

So a damaged or unconvertible SSTable (checksum, decoding error, a value that cannot be stored, a
schema mismatch) is reported by name and contributes nothing, and the other SSTables are still
imported. A node failure (unreachable, a refused batch) stops the run: what was sent stays, and
running the import again is safe, since every mutation carries the SSTable's own timestamps and
deletion times: applying it twice changes nothing.

This module must NOT parse arguments or print anything but errors and progress (main.py reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import msgspec

from ferrosa.front.admin import IMPORT_MAX_BATCH_BYTES, IMPORT_MAX_PART_BYTES
from ferrosa.importer.errors import LoadFailed, SchemaMismatch, SSTableImportError, Unrepresentable
from ferrosa.importer.link import AdminConnection, Batch, BatchBuilder, Limits, Sender
from ferrosa.importer.load import Converter, Counts, show_key
from ferrosa.importer.model import Partition
from ferrosa.importer.progress import Progress
from ferrosa.importer.reader import SSTableReader
from ferrosa.importer.sources import Source, find_sources
from ferrosa.importer.target import Session, TargetTable, check_header, read_target

# Admin connections sending at once: the front serves each one line at a time, so a few keep the
# front decoding the next batch while the shards apply the previous ones.
DEFAULT_CONNECTIONS = 4
# Target batch size: what one admin request line carries. Measured on 200k small rows, multi-part
# batches of 256 KiB - 1 MiB were no faster and often slower: the front holds its event loop while
# it decodes and splits a batch, which delays the shards' replies to the other connections.
DEFAULT_BATCH_BYTES = IMPORT_MAX_PART_BYTES
# Encoded batches of one SSTable kept from validation for loading, instead of reading it again.
# The sender's queue holds as much again: one SSTable's spool is sent while the next is validated.
DEFAULT_SPOOL_BYTES = 256 * 1024 * 1024
# Whatever the spool size, the sender may queue this many batches per connection (so that every
# connection has its next batch ready), counted as base64 request lines.
QUEUED_BATCHES_PER_CONNECTION = 2


@dataclass
class Options:
    paths: list[str]
    keyspace: str | None = None
    table: str | None = None
    dry_run: bool = False
    check_digest: bool = True
    socket_path: Path | None = None
    connections: int = DEFAULT_CONNECTIONS
    batch_bytes: int = DEFAULT_BATCH_BYTES
    spool_bytes: int = DEFAULT_SPOOL_BYTES


@dataclass
class Outcome:
    counts: Counts = field(default_factory=Counts)
    sstables: int = 0          # validated completely (and loaded, unless dry-run)
    data_bytes: int = 0        # their uncompressed Data.db bytes
    errors: int = 0
    skipped: int = 0           # SSTables of system keyspaces found while walking directories


class ImportJob:
    def __init__(self, options: Options, session: Session, err: TextIO, show_progress: bool):
        self.options = options
        self.session = session
        self.err = err
        self.show_progress = show_progress
        self.targets: dict[tuple[str, str], TargetTable | None] = {}
        self.encode = msgspec.msgpack.Encoder().encode
        self.limits = Limits(IMPORT_MAX_BATCH_BYTES, IMPORT_MAX_PART_BYTES, 0)
        self.sender: Sender | None = None
        self.outcome = Outcome()
        self.progress: Progress | None = None

    # ------------------------------------------------------------------------------ the run

    def run(self) -> Outcome:
        """Import every SSTable. Raises FileNotFoundError for a bad PATH and LoadFailed when the node's
        admin socket does not answer; errors after that are reported and counted in the outcome."""
        sources, self.outcome.skipped = find_sources(self.options.paths)
        self.progress = Progress(self.err, sum(map(_data_length, sources)), 1 if self.options.dry_run else 2,
                                 len(sources), self.show_progress)
        if not self.options.dry_run:
            self._connect()  # LoadFailed: no node to load into, nothing attempted
        try:
            for index, source in enumerate(sources, 1):
                try:
                    self._one(source, index)
                except SSTableImportError as exc:
                    self.report(str(exc))
                except OSError as exc:  # unreadable, vanished: this SSTable only
                    self.report(f"{source.data_path}: {exc}")
            if self.sender is not None:
                self.progress.start("loading", "(last batches)", len(sources))
                self.sender.drain(self.progress.tick)
        except LoadFailed as exc:
            self.report(f"{exc}; the import stopped (what was sent stays; importing again is safe)")
        finally:
            self.progress.clear()
            if self.sender is not None:
                self.sender.close()
        return self.outcome

    def report(self, message: str) -> None:
        assert self.progress is not None
        self.progress.clear()
        print(f"ferrosa-import: {message}", file=self.err, flush=True)
        self.outcome.errors += 1

    def _connect(self) -> None:
        path = self.options.socket_path
        assert path is not None, "loading needs the node's admin socket"
        probe = AdminConnection(path)
        try:
            self.limits = probe.limits()
        finally:
            probe.close()
        progress = self.progress
        assert progress is not None
        options = self.options
        line_bytes = min(options.batch_bytes, self.limits.max_batch_bytes) * 4 // 3
        queued = max(options.spool_bytes,
                     options.connections * QUEUED_BATCHES_PER_CONNECTION * line_bytes)
        self.sender = Sender(path, options.connections, queued,
                             lambda b: progress.loaded(b.rows, b.data_bytes, b.mutations))

    def _target(self, source: Source) -> TargetTable:
        keyspace = self.options.keyspace or source.keyspace
        table = self.options.table or source.table
        if not keyspace or not table:
            raise SchemaMismatch(source.data_path, "cannot tell the keyspace and table from the path: "
                                                   "give --keyspace and --table")
        if (keyspace, table) not in self.targets:
            try:
                self.targets[keyspace, table] = read_target(self.session, keyspace, table)
            except SSTableImportError:
                raise
            except Exception as exc:  # the driver's errors: the node stopped answering CQL
                raise LoadFailed(f"reading the schema of {keyspace}.{table}: {exc}") from None
        target = self.targets[keyspace, table]
        if target is None:
            raise SchemaMismatch(source.data_path, f"table {keyspace}.{table} does not exist on the node")
        return target

    def _one(self, source: Source, index: int) -> None:
        progress = self.progress
        assert progress is not None
        with SSTableReader(source.data_path, check_digest=self.options.check_digest) as reader:
            target = self._target(source)
            check_header(reader.decoder, target, reader.data_path)
            progress.start("validating", target.qualified, index)
            converter = Converter(target, reader.data_path)
            builder = None if self.options.dry_run else self._builder(reader.data_path)
            spool = self._validate(reader, converter, builder)
            if not self.options.dry_run:
                progress.start("loading", target.qualified, index)
                self._load(reader, target, spool)
        outcome = self.outcome
        outcome.counts.add(converter.counts)
        outcome.sstables += 1
        outcome.data_bytes += reader.data.data_length

    def _builder(self, source: str) -> BatchBuilder:
        return BatchBuilder(self.options.batch_bytes, self.limits, source)

    # ------------------------------------------------------------------------------ the passes

    def _encoded(self, converter: Converter, p: Partition, limit: int) -> list[bytes]:
        encoded = [self.encode(mutation) for mutation in converter.partition(p)]
        for e in encoded:
            if len(e) > limit:
                raise Unrepresentable(converter.path, f"partition {show_key(p.key)}: a mutation of "
                                                      f"{len(e)} bytes is over the node's batch limit of "
                                                      f"{limit} bytes", p.position)
        return encoded

    def _validate(self, reader: SSTableReader, converter: Converter,
                  builder: BatchBuilder | None) -> list[Batch] | None:
        """Pass 1: read and convert everything; the encoded batches while they fit in the spool."""
        progress = self.progress
        assert progress is not None
        limit = (builder or BatchBuilder(IMPORT_MAX_BATCH_BYTES, self.limits)).max_mutation_bytes
        spool: list[Batch] | None = [] if builder is not None else None
        spooled = 0
        counts = converter.counts
        for p in reader.partitions():
            rows = counts.rows
            encoded = self._encoded(converter, p, limit)
            rows = counts.rows - rows
            size = p.end - p.position
            if spool is not None and builder is not None:
                for e in encoded:
                    if (done := builder.add(e)) is not None:
                        spool.append(done)
                        spooled += done.wire_bytes
                builder.note(rows, size)
                if spooled > self.options.spool_bytes:
                    spool = None  # too big to keep: pass 2 reads the SSTable again
            progress.validated(rows, size)
            progress.tick()
        if spool is not None and builder is not None and (last := builder.finish()) is not None:
            spool.append(last)
        return spool

    def _load(self, reader: SSTableReader, target: TargetTable, spool: list[Batch] | None) -> None:
        """Pass 2: hand the spooled batches to the sender (they go while the next SSTable is
        validated), or read, convert and send again."""
        sender, progress = self.sender, self.progress
        assert sender is not None and progress is not None
        if spool is not None:
            sender.send(spool, progress.tick)
            return
        builder = self._builder(reader.data_path)
        converter = Converter(target, reader.data_path)
        counts = converter.counts
        for p in reader.partitions():
            rows = counts.rows
            for e in self._encoded(converter, p, builder.max_mutation_bytes):
                if (done := builder.add(e)) is not None:
                    sender.send([done], progress.tick)
            builder.note(counts.rows - rows, p.end - p.position)
            progress.tick()
        if (last := builder.finish()) is not None:
            sender.send([last], progress.tick)


def _data_length(source: Source) -> int:
    """Uncompressed Data.db size (for the ETA); 0 when the SSTable does not even open (the real
    pass reports why)."""
    try:
        with SSTableReader(source.data_path, check_digest=False) as reader:
            return reader.data.data_length
    except (SSTableImportError, OSError):
        return 0
