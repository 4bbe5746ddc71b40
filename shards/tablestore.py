"""One table's data in one shard: the memtable, memtables being flushed, and the SSTables.

What it is: the LSM tree of a table. Writes go to the active memtable. A flush freezes it (reads
still see it) and writes it to a new SSTable a bounded step at a time; compaction (size-tiered)
merges SSTables a bounded step at a time. Reads merge every source that may hold a partition:
active memtable, frozen memtables, then SSTables whose token range and bloom filter admit it.

What it must not do: talk to the commit log or rings (the shard's store does), block the shard for
a whole flush or compaction (both are generators the worker steps between request batches), or
delete an SSTable a read could still be using (reads never span two steps of the shard loop).

Theory of operation: sources are listed newest first; merging is order-independent
(shards/sstable/merge.py), so the order only matters for speed. A partition held by the active
memtable alone is served as is, without copies (the common case for fresh data). Operations that
must see the current value of a row (counter increments, list index and value operations) first
pull that row from the older sources into the memtable (`pull_row`): merging is idempotent, so the
copy changes nothing but lets the memtable apply the operation to the full current state.
"""

from __future__ import annotations

import heapq
import logging
from typing import Callable, Generator, Iterator

from shards.flush import flush_steps
from shards.memtable import Partition, TableData
from shards.rowmap import RowMap
from shards.sstable import (
    SSTableReader,
    SSTableWriter,
    compact_steps,
    delete_sstable,
    delete_sstables,
    merge_into,
    purge_bound,
    size_tiered_buckets,
)
from shards.sstable.bloom import key_hash
from shards.sstable.chunks import MAX_CHUNK_BYTES, MIN_CHUNK_BYTES
from shards.sstable.keycache import key_cache
from shards.sstable.reader import EncodedRows
from shards.sstable.syncthread import steps_until_done
from shards.sstable.writer import DEFAULT_CHUNK_BYTES

log = logging.getLogger(__name__)

# Partitions a flushed memtable frees per step (TableData.release_steps, about 0.5 ms here;
# the last two took 1.1-1.8 ms in process: strace puts most of the flush's munmap calls
# there, the allocator handing back arenas that the last partitions emptied).
# (flush.py bounds the flush's own steps, and says why both were halved.)
RELEASE_STEP_PARTITIONS = 256
# A flush numbers its columns as the newest SSTable does, unless that one names more columns
# than this: a table whose columns were added and dropped many times starts afresh, far below
# the format's 65,535 (every name ever seeded stays in the dictionaries that follow).
MAX_SEEDED_COLUMNS = 1024
# Rows merged per compaction step (see compact_steps): about as long as a flush step.
COMPACTION_STEP_ROWS = 64
# Cassandra's default gc_grace_seconds, until the front sends the table's schema.
DEFAULT_GC_GRACE_SECONDS = 864000
# Size-tiered compaction: start when this many SSTables are of similar size (Cassandra's STCS
# min_threshold); small SSTables all count as one tier.
MIN_COMPACTION_THRESHOLD = 4


def _slice(part: Partition, lo: bytes, hi: bytes) -> Partition:
    """A view of `part` with only the rows lo <= ck < hi (partition-level data kept)."""
    view = Partition(part.token, part.pk)
    view.deletion, view.ldt, view.static, view.ranges = (part.deletion, part.ldt, part.static,
                                                         part.ranges)
    rows = RowMap()
    for ck, row in part.rows.irange_items(lo or None, hi or None, (True, False)):
        rows[ck] = row
    view.rows = rows
    return view


def _decoded(source: Partition | EncodedRows) -> Partition:
    """A source of `_older_sources` as a Partition: an SSTable's rows decoded."""
    return source.decode() if type(source) is EncodedRows else source


def _ignore_sealed(reader: SSTableReader, position: object) -> None:
    pass


def _ignore_removed(table_id: bytes, readers: list[SSTableReader], position: object) -> None:
    pass


class TableStore:
    def __init__(self, table_id: bytes, directory: str, dropped: dict[str, int] | None = None,
                 gc_grace_seconds: int = DEFAULT_GC_GRACE_SECONDS,
                 compression: str = "lz4") -> None:
        self.table_id = table_id
        self.directory = directory
        self.dropped = dropped
        self.gc_grace_seconds = gc_grace_seconds
        self.compression = compression
        self.chunk_bytes = DEFAULT_CHUNK_BYTES
        self.memtable = TableData(dropped)
        self.flushing: list[TableData] = []  # newest first
        self.sstables: list[SSTableReader] = []  # newest first
        self.compacting: set[int] = set()  # ids of the readers being compacted
        # Off until the front has sent the table's schema (m.TableSchema): SSTables found at start
        # may belong to a table whose options say otherwise, or that no longer exists.
        self.auto_compaction = False
        # Set by the shard when an object store is configured: told of every SSTable sealed
        # (with the commit log position a flush covers, before that position is recorded) and of
        # SSTables about to be deleted (before deletion; with the position TRUNCATE/DROP cover).
        self.on_sealed: Callable[[SSTableReader, object], None] = _ignore_sealed
        self.on_removed: Callable[[bytes, list[SSTableReader], object], None] = _ignore_removed
        self.next_generation = 1

    # -- schema ---------------------------------------------------------------------------------
    def set_schema(self, dropped: dict[str, int] | None, gc_grace_seconds: int,
                   compression: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        self.dropped = dropped
        self.memtable.dropped = dropped
        for frozen in self.flushing:
            frozen.dropped = dropped
        self.gc_grace_seconds = gc_grace_seconds
        self.compression = compression
        # chunk_length_in_kb accepts any power of two; chunks outside the range the SSTable
        # format takes (4 KiB to 16 MiB) are written at its nearest end.
        self.chunk_bytes = min(max(chunk_bytes, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES)

    @property
    def memtable_bytes(self) -> int:
        if not self.flushing:  # the usual case, asked after every pass of writes
            return self.memtable.bytes
        return self.memtable.bytes + sum(f.bytes for f in self.flushing)

    def partition_count(self) -> int:
        return len(self.memtable.partitions) + sum(r.stats.partitions for r in self.sstables)

    # -- reads ----------------------------------------------------------------------------------
    def _older_sources(self, token: int, pk: bytes, lo: bytes, hi: bytes,
                       limit: int = 0) -> tuple[list[Partition | EncodedRows], bytes | None]:
        """The partition's rows lo <= ck < hi in the flushing memtables and the SSTables (left
        encoded), each SSTable reading at most `limit` rows (0: all); and the lowest last key
        of an SSTable that left rows of the range unread (None: every source is whole)."""
        found: list[Partition | EncodedRows] = []
        for frozen in self.flushing:
            part = frozen.partitions.get(pk)
            if part is not None:
                found.append(_slice(part, lo, hi))
        h1, h2 = key_hash(pk)
        horizon: bytes | None = None
        for reader in self.sstables:
            low, high = reader.token_range
            if not low <= token <= high or not reader.may_contain_hash(h1, h2):
                continue
            rows = reader.find_cached(token, pk, lo, hi, limit)
            if rows is None:
                rows = reader.find(token, pk, lo, hi, limit, filtered=True)
                if rows is None:
                    continue
            found.append(rows)
            cut = rows.cut
            if cut is not None and (horizon is None or cut < horizon):
                horizon = cut
        return found, horizon

    def single_plain(self, token: int,
                     pk: bytes) -> tuple[SSTableReader, bytes, int, int] | tuple[()] | None:
        """(SSTable, buffer, start, end) of the record of the partition's only row, when one
        SSTable alone holds the partition and it is a plain one-row partition there
        (SSTableReader.plain_record); () when no source holds the partition; None: read it
        with partition_prefix.

        The point read of a table without clustering columns, once flushed. As _older_sources,
        each SSTable is asked its bloom filter, then the KeyCache, then its Index (which fills
        the KeyCache)."""
        if self.flushing or pk in self.memtable.partitions:
            return None
        keys = key_cache()
        found: tuple[SSTableReader, bytes, int, int] | None = None
        h1, h2 = key_hash(pk)
        for reader in self.sstables:
            low, high = reader.token_range
            if not low <= token <= high or not reader.may_contain_hash(h1, h2):
                continue
            if not reader.single_rows:
                return None  # partitions of several rows: the general path reads those
            entry = keys.get(reader.number, pk) if keys is not None else None
            located = None
            if entry is None:
                located = reader.locate_plain(token, pk)  # the entry and the record
                if located is None:
                    continue
            if found is not None:
                return None  # two SSTables hold it: their rows need merging
            record = (located[1] if located is not None
                      else reader.plain_record(entry, token, pk))
            if record is None:
                return None
            found = (reader, *record)
        return found if found is not None else ()

    def partition(self, token: int, pk: bytes, lo: bytes = b"", hi: bytes = b"") -> Partition | None:
        """The merged partition with at least the rows lo <= ck < hi (b"" = unbounded)."""
        return self.partition_prefix(token, pk, lo, hi, 0)[0]  # type: ignore[return-value]

    def partition_prefix(self, token: int, pk: bytes, lo: bytes, hi: bytes, rows: int,
                         encoded: bool = False) -> tuple[Partition | EncodedRows | None, bool]:
        """As `partition`, reading at most `rows` rows of [lo, hi) from each SSTable (0: all):
        (the merged partition, whether it holds every row of the range). ``encoded``: when one
        SSTable alone holds the partition, return its EncodedRows instead of decoding them.

        A forward read with a LIMIT needs its first rows only, and an SSTable decodes every row
        it returns: without the bound, a 100-row slice of a 1,000-row partition decoded the rest
        of the partition. An SSTable cut after `rows` rows is exact only up to its last
        decoded key (the horizon), so the merged partition keeps the rows up to the lowest
        horizon, from every source. When that prefix holds too few live rows the caller reads
        the whole range."""
        current = self.memtable.partitions.get(pk)
        if not (self.flushing or self.sstables):
            return current, True
        older, horizon = self._older_sources(token, pk, lo, hi, rows)
        if not older:
            return current, True
        if current is None and len(older) == 1:
            # One source: nothing to merge, and its rows all lie at or below the horizon.
            only = older[0]
            return (only if encoded else _decoded(only)), horizon is None
        decoded = [_decoded(part) for part in older]
        if horizon is not None:
            hi = horizon + b"\x00"  # the lowest key after the horizon: keys up to it are exact
            decoded = [_slice(part, lo, hi) for part in decoded]
        merged = Partition(token, pk)
        for part in decoded:
            merge_into(merged, part)
        if current is not None:
            merge_into(merged, _slice(current, lo, hi))
        return merged, horizon is None

    def partitions_after(self, after_token: int | None, after_pk: bytes) -> Iterator[Partition]:
        """Merged partitions in (token, pk) order from (after_token, after_pk) inclusive."""
        if not self.flushing and not self.sstables:
            yield from self.memtable.partitions_after(after_token, after_pk)
            return
        streams = [self.memtable.partitions_after(after_token, after_pk)]
        streams += [frozen.partitions_after(after_token, after_pk) for frozen in self.flushing]
        streams += [reader.scan(after_token, after_pk) for reader in self.sstables]
        keyed = [((p.token, p.pk, i, p) for p in stream) for i, stream in enumerate(streams)]
        pending: list[Partition] = []
        key = None
        for token, pk, _source, part in heapq.merge(*keyed, key=lambda item: item[:3]):
            if (token, pk) != key:
                if pending:
                    yield self._merged(pending)
                pending, key = [], (token, pk)
            pending.append(part)
        if pending:
            yield self._merged(pending)

    @staticmethod
    def _merged(parts: list[Partition]) -> Partition:
        if len(parts) == 1:
            return parts[0]
        merged = Partition(parts[0].token, parts[0].pk)
        for part in parts:
            merge_into(merged, part)
        return merged

    # -- writes ---------------------------------------------------------------------------------
    def pull_row(self, token: int, pk: bytes, ck: bytes) -> None:
        """Bring the current state of one row (and the partition's statics) into the memtable."""
        if not self.flushing and not self.sstables:
            return
        older = self._older_sources(token, pk, ck, ck + b"\x00")[0]
        if not older:
            return
        target = self.memtable.partition(token, pk)
        for part in older:
            merge_into(target, _decoded(part))

    # -- flush ----------------------------------------------------------------------------------
    def flush_steps(self, on_done: Callable[[], None],
                    position: object = None) -> Generator[None, None, None] | None:
        """Freeze the memtable and write it to an SSTable, one bounded step per next().
        `position`: the commit log position the memtable covers. None if there is nothing to
        flush."""
        frozen = self.memtable
        if not frozen.partitions:
            return None
        self.memtable = TableData(self.dropped)
        self.flushing.insert(0, frozen)
        return self._write(frozen, on_done, position)

    def _new_writer(self) -> SSTableWriter:
        generation = self.next_generation
        self.next_generation += 1
        return SSTableWriter(self.directory, self.table_id, generation, self.compression,
                             self.chunk_bytes)

    def _write(self, frozen: TableData, on_done: Callable[[], None], position: object):
        writer = self._new_writer()
        try:
            newest = self.sstables[0].stats.columns if self.sstables else []
            if len(newest) <= MAX_SEEDED_COLUMNS:
                # The newest SSTable's column ids first: the table's SSTables then number their
                # columns alike, and compaction copies their partitions as bytes.
                writer.seed_columns(newest)
            yield from flush_steps(frozen, writer)
            reader = yield from writer.finish_steps()
        except BaseException:
            writer.abort()
            raise
        self.on_sealed(reader, position)
        self.sstables.insert(0, reader)
        self.flushing.remove(frozen)
        log.info("flushed table %s: %d partitions, %d bytes on disk (generation %d)",
                 self.table_id.hex(), reader.stats.partitions, reader.disk_size,
                 reader.generation)
        on_done()
        yield from frozen.release_steps(RELEASE_STEP_PARTITIONS)

    # -- compaction -----------------------------------------------------------------------------
    def compaction_candidates(self) -> list[SSTableReader]:
        ready = [r for r in self.sstables if id(r) not in self.compacting]
        if len(ready) < MIN_COMPACTION_THRESHOLD:
            return []
        buckets = size_tiered_buckets([r.disk_size for r in ready],
                                      min_threshold=MIN_COMPACTION_THRESHOLD)
        return [ready[i] for i in buckets[0]] if buckets else []

    def compaction_steps(self, inputs: list[SSTableReader], now: int,
                         force: bool = False) -> Generator[None, None, None]:
        """Compact `inputs` into one SSTable a step at a time, then swap it in."""
        for reader in inputs:
            self.compacting.add(id(reader))
        others = [r for r in self.sstables if r not in inputs]
        other_bound = purge_bound(others)
        memtables = [self.memtable, *self.flushing]

        def max_purgeable(token: int, pk: bytes) -> int:
            bound = other_bound(token, pk)
            for table in memtables:
                if pk in table.partitions:
                    bound = min(bound, table.min_timestamp)
            return bound

        try:
            result = None
            for result in compact_steps(inputs, self._new_writer, now, self.gc_grace_seconds,
                                        max_purgeable, COMPACTION_STEP_ROWS):
                if result is None:
                    yield
            position = min(self.sstables.index(r) for r in inputs)
            if result is not None:
                self.on_sealed(result, None)  # listed before its inputs are retired
            self.on_removed(self.table_id, list(inputs), None)
            self.sstables = [r for r in self.sstables if r not in inputs]
            if result is not None:
                self.sstables.insert(min(position, len(self.sstables)), result)
            for reader in inputs:
                reader.close()
            # Unlinking the inputs' files and the directory fsyncs took 3-4 ms of the loop for
            # four 25k-partition inputs; on the sync thread the loop serves requests meanwhile.
            yield from steps_until_done(delete_sstables, self.directory, self.table_id,
                                        [reader.generation for reader in inputs])
            log.info("compacted %d SSTables of table %s into %s", len(inputs),
                     self.table_id.hex(), "one" if result is not None else "nothing")
        finally:
            for reader in inputs:
                self.compacting.discard(id(reader))

    # -- lifecycle ------------------------------------------------------------------------------
    def drop(self, position: object = None) -> None:
        """TRUNCATE / DROP TABLE: forget the memtables and delete every SSTable. `position`: the
        commit log position the drop covers (nothing at or before it may come back)."""
        self.memtable = TableData(self.dropped)
        self.flushing = []
        if self.sstables or position is not None:
            self.on_removed(self.table_id, list(self.sstables), position)
        for reader in self.sstables:
            reader.close()
            delete_sstable(self.directory, self.table_id, reader.generation)
        self.sstables = []

    def close(self) -> None:
        for reader in self.sstables:
            reader.close()
