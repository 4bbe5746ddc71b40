"""Compaction: merging several SSTables of a table into one, and choosing which ones (size-tiered).

What it is: `compact_steps` (a generator doing a bounded amount of work per `next()`, for the
shard loop to interleave with requests), `compact` (the same, run to the end), `purge_bound`
(the purgeable-timestamp bound from SSTables outside the compaction), `shared_columns` (the
output's column dictionary) and `size_tiered_buckets` (Cassandra's SizeTieredCompactionStrategy
bucketing, as a pure function of sizes).

What it must NOT do: delete the input SSTables or swap them for the output in the store (the
caller does that once the output is complete), or hold more than the partitions in flight: one
partition per input (the heads of the merged scans) plus the one being written.

Theory of operation:
- The inputs' scans are merged by (token, pk) on a heap. Consecutive equal keys form one
  group, folded with merge_into, purged with purge(now, gc_grace_seconds, bound) and written if
  anything remains. The output writer is created only for the first surviving partition, so a
  compaction that purges everything creates no file and ends without a reader.
- The scans keep rows encoded. A group that merging and purging would give back unchanged
  (versions with nothing deleted, expiring or purgeable: one version by `_copy_tally`, several
  by `_copy_source`, whose rows must be in one version only or overwritten in full by their
  newest version) is copied as its bytes
  (SSTableWriter.add_copy: the rows of every version in clustering order) and never decoded.
  The usual partition, a plain one-row one (SSTableReader.merge_entries hands it over as a
  bare PlainRow tuple), is tested by its row's tally alone, or with its other versions by
  `_newest_plain`, and copied whole by SSTableWriter.add_plain_copy. That needs the sources' column ids to be the output's: the output's dictionary is seeded
  with `shared_columns(readers)`, and sources whose dictionary is not a prefix of it are always
  decoded. Both ways write the same bytes.
- A tombstone may be dropped only if no data it could shadow exists outside the compaction:
  `max_purgeable(token, pk)` gives the oldest timestamp of that partition elsewhere (Cassandra's
  CompactionController.getPurgeEvaluator); `purge_bound(other_readers)` builds it from the other
  SSTables' bloom filters, token ranges and minimum timestamps. The memtable must be included by
  the caller (e.g. by taking the min with its partition's oldest timestamp) when it may hold older
  data for the partition (data written with client-supplied timestamps can be older).
- Size-tiered buckets: SSTables sorted by size join the first bucket whose average they are within
  (bucket_low, bucket_high) of, or any bucket when both they and its average are below
  min_sstable_size; buckets with at least min_threshold members are candidates, trimmed to
  max_threshold members (the smallest, as we keep no read rates to rank by hotness like Cassandra
  4+), the bucket with the smallest average first (Cassandra's tie-break).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator, Iterator, Sequence
from operator import itemgetter

from shards.errors import SSTableError
from shards.memtable import Partition
from shards.sstable.codec import PartitionDecoder, row_key
from shards.sstable.livewalk import (
    LIVE_COMPLEX,
    MAX_TIMESTAMP,
    LiveTally,
    live_cells,
    shaped_live_row,
)
from shards.sstable.merge import MAX_PURGEABLE, merge_into, purge
from shards.sstable.reader import EncodedRows, MergeEntry, SSTableReader
from shards.sstable.writer import CopyTally, SSTableWriter
from shards.tombstones import NO_DELETION

# Cassandra's STCS defaults (SizeTieredCompactionStrategyOptions and table compaction options).
MIN_THRESHOLD = 4
MAX_THRESHOLD = 32
BUCKET_LOW = 0.5
BUCKET_HIGH = 1.5
MIN_SSTABLE_SIZE = 50 * 1024 * 1024
# Work per compact_steps() step: at least one partition, and partitions are taken until this many
# rows (a partition without rows counts as one) have been merged, purged and written. ~200 small
# rows take ~2-4 ms, a pause the shard loop can afford between request batches.
STEP_ROWS = 200

PurgeBound = Callable[[int, bytes], int]


def _versions(readers: Sequence[SSTableReader]) -> Iterator[MergeEntry | list[MergeEntry]]:
    """The inputs' partitions merged by (token, pk): the heap entry of a partition one input
    alone holds (most), a list of the entries of one held by several, in the inputs' order.
    The heap holds `merge_entries`' tuples as they come, compared in C: the input's index
    breaks ties, so items are never compared, and an input's next partition is read once its
    last one left the heap (as heapq.merge would, without its key function and generator per
    partition)."""
    scans = [reader.merge_entries(index) for index, reader in enumerate(readers)]
    heap = [entry for entry in (next(scan, None) for scan in scans) if entry is not None]
    heapq.heapify(heap)
    pop, replace = heapq.heappop, heapq.heapreplace
    while heap:
        entry = heap[0]
        group = None
        while True:
            following = next(scans[heap[0][2]], None)
            if following is None:
                pop(heap)
                if not heap:
                    break
            else:
                replace(heap, following)
            top = heap[0]
            if top[1] != entry[1] or top[0] != entry[0]:
                break
            if group is None:
                group = [entry]
            group.append(top)
        yield entry if group is None else group


def shared_columns(readers: Sequence[SSTableReader]) -> list[str]:
    """The column dictionary to seed the output with: of the inputs' dictionaries, the one that
    the most Data (by size) has as a prefix, so that those inputs' partitions can be copied as
    bytes. Flushes of a table whose writes name the same columns in the same order all get the
    same dictionary."""
    best: list[str] = []
    best_size = -1
    for candidate in {tuple(reader.stats.columns) for reader in readers}:
        size = sum(reader.data_size for reader in readers
                   if candidate[:len(reader.stats.columns)] == tuple(reader.stats.columns))
        if size > best_size or size == best_size and list(candidate) < best:
            best, best_size = list(candidate), size
    return best


def compact_steps(readers: Sequence[SSTableReader], writer_factory: Callable[[], SSTableWriter],
                  now: int, gc_grace_seconds: int, max_purgeable: PurgeBound | None = None,
                  step_rows: int = STEP_ROWS,
                  ) -> Generator[SSTableReader | None, None, SSTableReader | None]:
    """Compact `readers` into one new SSTable, a bounded step per next(): yields None after each
    step, then the new SSTableReader as its last item (also the generator's return value). If
    every partition was purged, no SSTable is written and it ends without yielding a reader.
    Closing the generator early (or an error) aborts the output; the inputs are never touched."""
    if len({reader.table_id for reader in readers}) > 1:
        raise SSTableError("compaction inputs belong to different tables")
    seed = shared_columns(readers)
    output = _Output(writer_factory, seed)
    same_ids = {reader for reader in readers
                if seed[:len(reader.stats.columns)] == reader.stats.columns}
    same = [reader in same_ids for reader in readers]
    decoders = [reader.decoder for reader in readers]
    done = 0
    try:
        for version in _versions(readers):
            chosen = None
            if type(version) is tuple:
                item = version[3]
                # A plain one-row partition (most): copied if its row would come out unchanged.
                if type(item) is tuple and same[version[2]] and not item[4]:
                    row = shaped_live_row(decoders[version[2]], item[0], item[2], item[3])
                    if row is not None:
                        chosen = version, row
            else:
                chosen = _newest_plain(version, same, decoders)
            if chosen is not None:
                (token, pk, index, (buf, p, _start, end, _ldt, _cursor)), row = chosen
                (output.writer or output.open()).add_plain_copy(readers[index], token, pk, buf,
                                                                p, end, row)
                done += 1 if version is chosen[0] else len(version)
            else:
                group = [version] if type(version) is tuple else version
                done += _write_group([_encoded(readers, entry) for entry in group], same_ids,
                                     output, now, gc_grace_seconds, max_purgeable)
            if done >= step_rows:
                done = 0
                yield None
        writer = output.writer
        reader = (yield from writer.finish_steps()) if writer is not None else None
    except BaseException:
        if output.writer is not None:
            output.writer.abort()
        raise
    if reader is not None:
        yield reader
    return reader


def _encoded(readers: Sequence[SSTableReader], entry: MergeEntry) -> EncodedRows:
    """The EncodedRows of a heap entry, made from its PlainRow when it has one."""
    token, pk, index, item = entry
    return item if type(item) is not tuple else readers[index].plain_encoded(token, pk, item)


def _newest_plain(group: list[MergeEntry], same: list[bool],
                  decoders: list[PartitionDecoder]) -> tuple[MergeEntry, LiveTally] | None:
    """Of several versions of a partition, each a plain one-row partition (a PlainRow) of an
    input whose column ids are the output's (`same`, by input) and whose rows have one
    clustering key: the version whose row merging and purging give back alone and unchanged,
    with its row's tally, as `_merged_rows` decides (the first of the newest, its row
    overwriting every column and the marker of the others with newer timestamps, and no
    collection); None otherwise. The usual group of a table whose rows are overwritten whole,
    copied by SSTableWriter.add_plain_copy: the versions' headers are the same bytes."""
    best: MergeEntry | None = None
    best_row = None
    rows = []
    key = None
    for entry in group:
        item = entry[3]
        if type(item) is not tuple or item[4] or not same[entry[2]]:
            return None
        buf, _p, start, end, _ldt, _cursor = item
        row = shaped_live_row(decoders[entry[2]], buf, start, end)
        if row is None:
            return None
        if key is None:
            key = row_key(buf, start)
        elif row_key(buf, start) != key:
            return None
        rows.append(row)
        if best_row is None or row[1] > best_row[1]:
            best, best_row = entry, row
    assert best is not None and best_row is not None
    low, what = best_row[1], best_row[3]
    if what & LIVE_COMPLEX:
        return None  # a collection's elements merge by path: the versions' union survives
    for row in rows:
        if row is not best_row and (row[2] >= low or row[3] & ~what):
            return None
    return best, best_row


def _write_group(group: list[EncodedRows], same_ids: set[SSTableReader], output: _Output,
                 now: int, gc_grace_seconds: int, max_purgeable: PurgeBound | None) -> int:
    """Write the versions of one partition (what merging and purging them leaves): copied as
    their bytes when that is what it would write, else decoded, merged and purged. Returns the
    rows it counts for compact_steps' step (a partition without rows counts as one)."""
    if len(group) == 1:  # one version: copied by its tally alone
        found = group[0]
        tally = _copy_tally(found) if found.reader in same_ids else None
        copy = None if tally is None else (group, found.records, tally)
    else:
        copy = _copy_source(group, same_ids)
    if copy is not None:
        (output.writer or output.open()).add_copy(*copy)
        return sum(len(found.records) or 1 for found in group)
    target = group[0].decode()
    for other in group[1:]:
        merge_into(target, other.decode())
    bound = MAX_PURGEABLE if max_purgeable is None else max_purgeable(target.token, target.pk)
    out = purge(target, now, gc_grace_seconds, bound)
    if out is not None:
        (output.writer or output.open()).add(out)
    return max(1, len(target.rows))


class _Output:
    """The compaction's output SSTable, made for its first surviving partition (so that a
    compaction that purges everything makes no file), with the column dictionary `seed`."""

    __slots__ = ("factory", "seed", "writer")

    def __init__(self, factory: Callable[[], SSTableWriter], seed: list[str]) -> None:
        self.factory = factory
        self.seed = seed
        self.writer: SSTableWriter | None = None

    def open(self) -> SSTableWriter:
        writer = self.factory()
        try:
            writer.seed_columns(self.seed)
        except BaseException:
            writer.abort()
            raise
        self.writer = writer
        return writer


Copy = tuple[list[EncodedRows], list[tuple[bytes, int, int]], CopyTally]
# _merged_rows sorts (clustering key, version, record, tally) by its first two.
_CLUSTERING_THEN_VERSION = itemgetter(0, 1)


def _copy_source(group: list[EncodedRows], same_ids: set[SSTableReader]) -> Copy | None:
    """What merging and purging `group`, several versions of a partition, would give back
    unchanged, as add_copy's arguments (the versions, the rows to copy, their tally:
    `_merged_rows`); None when the group must be decoded. Only sources whose column ids are
    the output's (`same_ids`) qualify. (compact_steps tests a group of one version itself,
    by `_copy_tally`.)"""
    for found in group:
        if found.reader not in same_ids:
            return None
    return _merged_rows(group)


def _plain_header(part: Partition) -> bool:
    """No partition deletion and no range tombstone: nothing in the header purge could change."""
    return not (part.deletion != NO_DELETION or part.ldt
                or part.ranges is not None and len(part.ranges))


def _copy_tally(found: EncodedRows) -> CopyTally | None:
    """What a partition of `scan_encoded` holds, when compaction would write it exactly as it
    is (nothing deleted, expiring or purgeable; see livewalk.live_row); None otherwise."""
    part = found.part
    if not _plain_header(part):
        return None
    records = found.records
    if len(records) == 1 and not part.static:
        # One row, most partitions: its tally is the partition's (a live row's newest
        # timestamp is above NO_DELETION, so purge keeps the partition).
        buf, start, end = records[0]
        row = shaped_live_row(found.decoder, buf, start, end)
        return None if row is None else row[:3]
    cells, low, high = 0, MAX_TIMESTAMP, NO_DELETION
    if part.static:
        static = live_cells(part.static)
        if static is None:
            return None
        cells, low, high = static
    decoder = found.decoder
    for buf, start, end in records:
        row = shaped_live_row(decoder, buf, start, end)
        if row is None:
            return None
        cells += row[0]
        low = min(low, row[1])
        high = max(high, row[2])
    if high == NO_DELETION:
        return None  # no row and no static cell: purge drops the partition
    return cells, low, high


def _merged_rows(group: list[EncodedRows]) -> Copy | None:
    """Several versions of a partition, each with rows only (no static cells) and nothing
    deleted, expiring or purgeable: the union of their rows, in clustering order. A row in
    several versions qualifies when one of its versions has every column and the marker the
    others have, each with a timestamp above every timestamp of theirs (a row overwritten in
    full, the common upsert): its cells and marker win every reconciliation and nothing of
    the others survives beside them. Collections merge by element, so a row with one in
    several versions does not qualify."""
    rows = []
    for version, found in enumerate(group):
        if found.part.static or not _plain_header(found.part):
            return None
        decoder = found.decoder
        for record in found.records:
            buf, start, end = record
            tally = shaped_live_row(decoder, buf, start, end)
            if tally is None:
                return None
            rows.append((row_key(buf, start), version, record, tally))
    rows.sort(key=_CLUSTERING_THEN_VERSION)
    records = []
    cells, low, high = 0, MAX_TIMESTAMP, NO_DELETION
    i = 0
    while i < len(rows):
        ck = rows[i][0]
        best = j = i
        while j + 1 < len(rows) and rows[j + 1][0] == ck:
            j += 1
            if rows[j][3][1] > rows[best][3][1]:
                best = j
        row_cells, row_low, row_high, what = rows[best][3]
        if j > i and what & LIVE_COMPLEX:
            return None  # a collection's elements merge by path: the versions' union survives
        for k in range(i, j + 1):
            if k != best:
                _cells, _low, other_high, other = rows[k][3]
                if other_high >= row_low or other & ~what:
                    return None
        records.append(rows[best][2])
        cells += row_cells
        low = min(low, row_low)
        high = max(high, row_high)
        i = j + 1
    if not records:
        return None
    return group, records, (cells, low, high)


def compact(readers: Sequence[SSTableReader], writer_factory: Callable[[], SSTableWriter],
            now: int, gc_grace_seconds: int, max_purgeable: PurgeBound | None = None,
            ) -> SSTableReader | None:
    """compact_steps run to the end: the new SSTable, or None if nothing survived."""
    result = None
    for result in compact_steps(readers, writer_factory, now, gc_grace_seconds, max_purgeable):
        pass
    return result


def purge_bound(others: Sequence[SSTableReader]) -> PurgeBound:
    """max_purgeable for a compaction that leaves `others` out: the minimum timestamp of every
    other SSTable that may hold the partition (token in range and bloom filter says maybe)."""

    def bound(token: int, pk: bytes) -> int:
        low = MAX_PURGEABLE
        for reader in others:
            stats = reader.stats
            if (stats.min_timestamp < low and stats.min_token <= token <= stats.max_token
                    and reader.may_contain(pk)):
                low = stats.min_timestamp
        return low

    return bound


def size_tiered_buckets(sizes: Sequence[int], min_threshold: int = MIN_THRESHOLD,
                        max_threshold: int = MAX_THRESHOLD, bucket_low: float = BUCKET_LOW,
                        bucket_high: float = BUCKET_HIGH,
                        min_sstable_size: int = MIN_SSTABLE_SIZE) -> list[list[int]]:
    """Indexes into `sizes` of the SSTables to compact together, best bucket first; empty when
    no bucket reaches min_threshold. Take the first bucket for the next compaction."""
    if not 2 <= min_threshold <= max_threshold:
        raise ValueError(f"need 2 <= min_threshold ({min_threshold}) <= max_threshold "
                         f"({max_threshold})")
    buckets: list[list[int]] = []
    averages: list[int] = []
    for i in sorted(range(len(sizes)), key=lambda k: (sizes[k], k)):
        size = sizes[i]
        for b, average in enumerate(averages):
            if (average * bucket_low < size < average * bucket_high
                    or (size < min_sstable_size and average < min_sstable_size)):
                members = buckets[b]
                averages[b] = (average * len(members) + size) // (len(members) + 1)
                members.append(i)
                break
        else:
            buckets.append([i])
            averages.append(size)
    chosen = [sorted(bucket, key=lambda k: (sizes[k], k))[:max_threshold]
              for bucket in buckets if len(bucket) >= min_threshold]
    chosen.sort(key=lambda bucket: (sum(sizes[k] for k in bucket) / len(bucket), bucket))
    return chosen
