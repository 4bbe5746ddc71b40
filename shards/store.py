"""A shard's data and the handlers that serve front requests against it.

What it is: the shard's request dispatch table (message type -> handler) over its tables
(shards/tablestore.py: memtables and SSTables), and the scheduler of background work: memtable
flushes when the memtables outgrow their budget, size-tiered compactions otherwise, each run a
bounded step at a time by the worker between request batches. Each handler takes one decoded
request and returns exactly one reply message.

What it must not do: touch rings, doorbells, sockets or the commit log (the worker loop in
shards/worker.py does the I/O), or raise from a request handler: a request that cannot be served
becomes a Failure reply, so one bad request never takes the shard down.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from operator import attrgetter
from typing import Callable, Generator

from ferrosa.ipc import messages as m
from ferrosa.lru import OwnedLRU
from shards.encoder import (
    RowEncoder,
    encode_plan_row,
    encode_point_row,
    pk_splitter,
    plain_plan_of,
    plain_prefix,
    point_plan,
)
from shards.errors import MutationRejected, SSTableError
from shards.memtable import Partition, Row, any_live_cell
from shards.sstable import SSTableReader, cleanup_incomplete, list_sstables
from shards.sstable.chunks import chunk_cache
from shards.sstable.codec import DecodeError
from shards.sstable.format import COMPONENTS, TOC, component_path
from shards.sstable.keycache import key_cache
from shards.sstable.reader import EncodedRows, RemoteOpener
from shards.tablestore import TableStore
from shards.tombstones import NO_DELETION

log = logging.getLogger(__name__)

# ErrorCode values used in Failure replies (protocol error codes; see ferrosa/protocol/errors.py).
SERVER_ERROR = 0x0000
INVALID = 0x2200

# A single reply carries at most this many bytes of rows; a read that would exceed it is cut and
# reported as `more`, so one huge partition cannot overflow the reply ring.
MAX_REPLY_ROW_BYTES = 2 * 1024 * 1024
# Memtable bytes of a shard (all tables) above which the largest memtable is flushed.
DEFAULT_MEMTABLE_BYTES = 64 * 1024 * 1024
_PLAIN_VALUES = attrgetter("plain_values")
# Cell operations that need the row's current value: the row is pulled from SSTables first.
_READ_BEFORE_WRITE = frozenset({m.CELL_COUNTER_ADD, m.CELL_LIST_SET_INDEX, m.CELL_LIST_REMOVE})


def set_aside(directory: str, table_id: bytes, generation: int) -> str:
    """Move an unreadable SSTable's files into DIR/corrupt/, kept for the operator."""
    target = os.path.join(directory, "corrupt")
    os.makedirs(target, exist_ok=True)
    for component in (TOC, *COMPONENTS):
        path = component_path(directory, table_id, generation, component)
        if os.path.exists(path):
            os.replace(path, os.path.join(target, os.path.basename(path)))
    return target


def _check_rows(mutation: m.Mutation) -> None:
    """Mutation.rows belong to a ROW_UPSERT, each with a value per plain name."""
    if mutation.kind != m.MUTATION_ROW_UPSERT:
        raise MutationRejected(f"a mutation of kind {mutation.kind} has more rows")
    names = len(mutation.plain_names)
    # The lengths counted in C; the loop only to name a bad row.
    if set(map(len, map(_PLAIN_VALUES, mutation.rows))) - {names}:
        for row in mutation.rows:
            if len(row.plain_values) != names:
                raise MutationRejected(f"a mutation has {names} plain cell names and a row of "
                                       f"{len(row.plain_values)} values")


def _only_puts(mutation: m.Mutation) -> bool:
    """True when every cell write is a plain put (CELL_SET == 0): such a mutation neither reads
    the current row nor can be refused by TableData.check."""
    for write in mutation.cells:
        if write.op:
            return False
    for write in mutation.static_cells:
        if write.op:
            return False
    return True


def _cache_stats(cache: OwnedLRU | None) -> m.CacheStats | None:
    return None if cache is None else m.CacheStats(*cache.counts())


def _needs_current_row(mutation: m.Mutation) -> bool:
    return any(w.op in _READ_BEFORE_WRITE for w in mutation.cells) or any(
        w.op in _READ_BEFORE_WRITE for w in mutation.static_cells)


def _read_range(req: m.Read) -> tuple[bytes | None, bytes | None]:
    """The clustering range (lo, hi) of a Read's rows, None where unbounded: its start and end,
    narrowed by `after` when paging (exclusive of `after`, which may be the empty key)."""
    lo, hi = req.start or None, req.end or None
    if req.after is not None:
        if req.reverse:
            hi = req.after if hi is None else min(hi, req.after)
        else:
            lo = req.after
    return lo, hi


def _point_row(part: Partition, req: m.Read) -> m.RowsReply | None:
    """The answer to an unbounded read of `part`, a partition only the memtable holds, when
    it has one live row, no range tombstones and a PointPlan projection (the caller checks
    that the table has no dropped columns); None leaves the read to the general path, which
    also answers a dead row (a static row may still be returned).

    The point read of a table that has not flushed: _single_row's answer without the
    RowEncoder, the range bounds and the merge."""
    only = part.rows.only_item()
    if only is None or part.ranges is not None:
        return None
    plan = point_plan(bytes(req.projection))
    if plan is None:
        return None
    ck, row = only
    shadow = part.deletion if part.deletion > row.deletion else row.deletion  # no ranges
    now = req.now
    if row.floor <= shadow and not row.live(shadow, now):
        return None
    return m.RowsReply(req.req_id, 1,
                       encode_point_row(plan, part.pk, req.pk_components, row, shadow, now),
                       False, part.token, part.pk, ck)


class ShardStore:
    """The tables of one shard, the request handlers and the background work."""

    def __init__(self, shard: int, directory: str | None = None,
                 memtable_bytes: int = DEFAULT_MEMTABLE_BYTES,
                 remote: RemoteOpener | None = None) -> None:
        self.shard = shard
        self.directory = directory
        self.remote = remote  # opens the Data of SSTables evicted to the bucket (shards/cold.py)
        self.memtable_budget = memtable_bytes
        self.tables: dict[bytes, TableStore] = {}
        self.schemas: dict[bytes, m.TableSchema] = {}
        self.requests = 0
        self.written = True  # writes since schedule() last compared memtables with the budget
        # Background work (flushes, compactions), run one step at a time, oldest first.
        self.jobs: deque[Job] = deque()
        # Set by the worker: the commit log position now, and what to do once a flush is durable.
        self.position_fn: Callable[[], object] = lambda: None
        self.on_flushed: Callable[[bytes, object], None] = lambda table_id, position: None
        # Set by the worker when an object store is configured (see TableStore.on_sealed).
        self.on_sealed: Callable[[SSTableReader, object], None] = lambda reader, position: None
        self.on_removed: Callable[[bytes, list[SSTableReader], object], None] = (
            lambda table_id, readers, position: None)
        self.handlers: dict[type, Callable[[object], object]] = {
            m.Write: self.on_write,
            m.Read: self.on_read,
            m.Scan: self.on_scan,
            m.DropTable: self.on_drop_table,
            m.TableSchema: self.on_table_schema,
            m.KnownTables: self.on_known_tables,
            m.Ping: self.on_ping,
        }
        if directory is not None:
            self._open_sstables()

    def _open_sstables(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        for path in cleanup_incomplete(self.directory):
            log.warning("shard %d: removed unfinished SSTable file %s", self.shard, path)
        found = sorted(list_sstables(self.directory), key=lambda item: -item[1])
        for table_id, generation in found:
            table = self._table(table_id)
            table.next_generation = max(table.next_generation, generation + 1)
            try:
                table.sstables.append(SSTableReader.open(self.directory, table_id, generation,
                                                         self.remote))
            except SSTableError as exc:
                moved = set_aside(self.directory, table_id, generation)
                log.error("shard %d: %s; its files were moved to %s and are not served",
                          self.shard, exc, moved)
        if found:
            log.info("shard %d: opened %d SSTables of %d tables", self.shard, len(found),
                     len({t for t, _ in found}))

    def handle(self, request: m.ShardRequest) -> m.ShardReply:
        self.requests += 1
        try:
            return self.handlers[type(request)](request)
        except Exception as exc:  # one bad request must not kill the shard
            log.exception("shard %d failed on %s", self.shard, type(request).__name__)
            return m.Failure(request.req_id, SERVER_ERROR,
                             f"shard {self.shard}: {type(exc).__name__}: {exc}")

    def _table(self, table_id: bytes) -> TableStore:
        table = self.tables.get(table_id)
        if table is None:
            schema = self.schemas.get(table_id)
            table = self.tables[table_id] = TableStore(table_id, self.directory or "")
            # Late-bound: the worker sets the store's hooks after SSTables were opened.
            table.on_sealed = lambda reader, position: self.on_sealed(reader, position)
            table.on_removed = lambda table_id, readers, position: self.on_removed(
                table_id, readers, position)
            if schema is not None:
                table.set_schema(schema.dropped or None, schema.gc_grace_seconds,
                                 schema.compression, schema.chunk_bytes)
                table.auto_compaction = schema.auto_compaction
        return table

    # -- writes ---------------------------------------------------------------------------------
    def on_write(self, req: m.Write) -> m.ShardReply:
        self.written = True
        mutations = req.mutations
        # All or nothing: checks that need the current data run before anything is applied.
        tables = []
        known = self.tables
        try:
            for mutation in mutations:
                # A TableStore is always true: a known table without a call.
                table = known.get(mutation.table_id) or self._table(mutation.table_id)
                tables.append(table)
                if len(mutation.plain_names) != len(mutation.plain_values):
                    raise MutationRejected(
                        f"a mutation has {len(mutation.plain_names)} plain cell names and "
                        f"{len(mutation.plain_values)} values")
                if mutation.kind not in m.MUTATION_KINDS:
                    raise MutationRejected(f"unknown mutation kind {mutation.kind}")
                if mutation.rows:
                    _check_rows(mutation)
                # Nothing to check against the current data; an upsert of plain cells alone (the
                # common case) is told without calling _only_puts.
                if not (mutation.cells or mutation.static_cells) or _only_puts(mutation):
                    continue
                # Only older sources can hold a row the memtable lacks: skip the scan otherwise.
                if (table.sstables or table.flushing) and _needs_current_row(mutation):
                    table.pull_row(mutation.token, mutation.pk, mutation.ck)
                table.memtable.check(mutation)
        except MutationRejected as exc:
            return m.Failure(req.req_id, INVALID, str(exc))
        for table, mutation in zip(tables, mutations):
            table.memtable.apply(mutation)
        return m.Ack(req.req_id)

    # -- reads ----------------------------------------------------------------------------------
    def on_read(self, req: m.Read) -> m.ShardReply:
        table = self.tables.get(req.table_id)
        if table is None:
            return m.RowsReply(req.req_id, 0, b"")
        if not (req.start or req.end or req.reverse) and req.after is None:
            if not (table.sstables or table.flushing):
                part = table.memtable.partitions.get(req.pk)
                if part is None:
                    return m.RowsReply(req.req_id, 0, b"")
                reply = _point_row(part, req) if table.dropped is None else None
                if reply is not None:
                    return reply
            single = table.single_plain(req.token, req.pk)
            if single == ():
                return m.RowsReply(req.req_id, 0, b"")
            if single is not None:
                reply = self._read_single(single, req, table.dropped)
                if reply is not None:
                    return reply
        lo, hi = _read_range(req)
        lo, hi = lo or b"", hi or b""  # the sources take b"" for unbounded
        # A forward read with a limit decodes only a prefix of each SSTable's rows: one row
        # more than the limit shows whether the read has more (RowsReply.more), and a page
        # also decodes the row it resumes after (lo is that row's key; the page skips it).
        whole = True
        if req.reverse:
            part = table.partition(req.token, req.pk, lo, hi)
        else:
            rows = req.limit + (1 if req.after is None else 2) if req.limit else 0
            part, whole = table.partition_prefix(req.token, req.pk, lo, hi, rows, encoded=True)
        if part is None:
            return m.RowsReply(req.req_id, 0, b"")
        out: list[bytes] = []
        if type(part) is EncodedRows:
            read = self._read_plain(part, req, table.dropped, out, whole)
            if read is not None:
                count, more, last_ck = read
                return m.RowsReply(req.req_id, count, b"".join(out), more, part.part.token,
                                   part.part.pk, last_ck)
            out.clear()
            part = part.decode()
        encoder = RowEncoder(req.projection, req.now, pk_splitter(req.pk_components),
                             table.dropped)
        if (whole and len(part.rows) == 1 and part.ranges is None and req.after is None
                and not (lo or hi)):
            ck, row = part.rows.first_item()
            if self._single_row(part, ck, row, req.now, encoder, out):
                return m.RowsReply(req.req_id, 1, b"".join(out), False, part.token, part.pk, ck)
        count, more, last_ck = self._read_partition(part, req, encoder, out, req.limit)
        if not whole and not more:
            # The prefix ran out before the limit (rows deleted in newer sources): read it all.
            part = table.partition(req.token, req.pk, lo, hi)
            out.clear()
            count, more, last_ck = self._read_partition(part, req, encoder, out, req.limit)
        return m.RowsReply(req.req_id, count, b"".join(out), more, part.token, part.pk, last_ck)

    @staticmethod
    def _read_single(single: tuple[SSTableReader, bytes, int, int], req: m.Read,
                     dropped: dict[str, int] | None) -> m.RowsReply | None:
        """The answer to an unbounded read of a plain one-row partition in one SSTable
        (TableStore.single_plain), straight from the row's record as _read_plain reads it; None
        when the read needs the general path, which also reports a record that does not
        decode."""
        reader, buf, start, end = single
        decoder = reader.decoder
        if dropped is not None:  # the cells' visibility depends on the drop time
            return None
        plan = plain_plan_of(bytes(req.projection), decoder.columns_key)
        if plan is None:
            return None
        packed = (decoder.plain_packed(buf, start, end, plan) if plan.tail is not None
                  else None)
        if packed is not None:  # the row's values in one pack, without a RowEncoder
            ck, tail, live = packed
            if not live:
                return None
            rows = plain_prefix(plan, req.pk, req.pk_components) + tail
            return m.RowsReply(req.req_id, 1, rows, False, req.token, req.pk, ck)
        encoder = RowEncoder(req.projection, req.now, pk_splitter(req.pk_components))
        values = [None] * plan.width
        try:
            row = decoder.plain_row(buf, start, end, plan.slot_of, values)
        except DecodeError:
            return None
        if row is None or not row[2]:
            return None
        ck, ck_values, _live = row
        out: list[bytes] = []
        encoder.encode_plain(plan, req.pk, ck_values, values, out)
        return m.RowsReply(req.req_id, 1, b"".join(out), False, req.token, req.pk, ck)

    @staticmethod
    def _single_row(part: Partition, ck: bytes, row: Row, now: int, encoder: RowEncoder,
                    out: list[bytes]) -> bool:
        """Encode `row`, the only one of an unbounded read, when it is live; False leaves it to
        the general loop (a dead row may still leave a static row to return).

        Most reads are point reads of a table without clustering columns: this is
        _read_partition's answer for them without its bounds, range iterator and byte count."""
        shadow = part.row_shadow(ck, row)
        if not row.live(shadow, now, encoder.dropped):
            return False
        (encoder.encode if encoder.point is None else encoder.encode_row)(part, row, shadow, out)
        return True

    @staticmethod
    def _read_plain(found: EncodedRows, req: m.Read, dropped: dict[str, int] | None,
                    out: list[bytes], whole: bool) -> tuple[int, bool, bytes | None] | None:
        """`_read_partition` for a partition only one SSTable holds, straight from its rows'
        bytes (no Row objects), when nothing in it needs deletion or expiry rules: no
        partition deletion or range tombstones, plain rows and cells only (plain_row), a
        projection of key components and plain cells. None when the read needs the general
        path (the caller then decodes the rows), including reads that find no live row (a
        static row may answer those)."""
        part = found.part
        if (part.deletion != NO_DELETION or part.ranges is not None
                or dropped is not None):  # dropped: the cells' visibility needs the drop time
            return None
        decoder = found.decoder
        plan = plain_plan_of(bytes(req.projection), decoder.columns_key)
        if plan is None:
            return None
        # A RowEncoder only for a row its shape cannot pack (made at the first such row).
        plain_row, encode, pk = decoder.plain_row, None, part.pk
        slot_of, width, after, limit = plan.slot_of, plan.width, req.after, req.limit
        # Rows their shape reads are packed whole after the partition key's values (made at
        # the first such row: encode_plain splits the key only for a row it writes too).
        packed_row = decoder.plain_packed if plan.tail is not None else None
        prefix = None
        count, size, last_ck, previous = 0, 0, None, None
        try:
            for buf, start, end in found.records:
                packed = packed_row(buf, start, end, plan) if packed_row is not None else None
                if packed is None:
                    values = [None] * width
                    row = plain_row(buf, start, end, slot_of, values)
                    if row is None:
                        return None
                    ck, ck_values, live = row
                else:
                    ck, tail, live = packed
                if ck == previous:
                    raise DecodeError("a partition repeats a clustering key")
                previous = ck
                if not live or ck == after:  # a page resumes strictly after `after`
                    continue
                if (limit and count >= limit) or size > MAX_REPLY_ROW_BYTES:
                    return count, True, last_ck
                if packed is None:
                    if encode is None:
                        encode = RowEncoder(req.projection, req.now,
                                            pk_splitter(req.pk_components)).encode_plain
                    size += encode(plan, pk, ck_values, values, out)
                else:
                    if prefix is None:
                        prefix = plain_prefix(plan, pk, req.pk_components)
                    out += (prefix, tail)
                    size += len(prefix) + len(tail)
                count += 1
                last_ck = ck
        except DecodeError as exc:
            raise found.corrupt(str(exc)) from None
        if count == 0 or not whole:  # not whole: the SSTable has rows this prefix left out
            return None
        return count, False, last_ck

    def _read_partition(self, part: Partition, req: m.Read, encoder: RowEncoder,
                        out: list[bytes], limit: int) -> tuple[int, bool, bytes | None]:
        now = req.now
        rows = part.rows
        lo, hi = _read_range(req)
        inclusive = (req.after is None or req.reverse, False)
        count, size, last_ck = 0, 0, None
        # A projection of key items then plain cells (SELECT *): each row in one call, the
        # plan's unrolled `whole` for a whole row, else encode_plan_row, with the partition
        # key's pieces encoded once.
        plan = encoder.point
        unrolled = None
        if plan is not None:
            keys, names, pk_values = plan.keys, plan.names, encoder.key_pieces(part.pk)
            unrolled = plan.whole
        dropped = encoder.dropped
        pdel, ranges = part.deletion, part.ranges
        for ck, row in rows.irange_items(lo, hi, inclusive=inclusive, reverse=req.reverse):
            # Partition.row_shadow and Row.live inline: two calls per row of a slice.
            shadow = row.deletion if row.deletion > pdel else pdel
            if ranges is not None:
                covering = ranges.covering(ck)
                if covering > shadow:
                    shadow = covering
            # A row whose floor is above its shadow is live, whole (memtable.Row.floor),
            # unless a dropped column's cells are what keeps it live.
            whole = row.floor > shadow and not dropped
            if not whole:
                marker = row.marker
                if not ((marker is not None and marker.timestamp > shadow
                         and (marker.ttl == 0 or now < marker.expires))
                        or any_live_cell(row.cells, shadow, now, dropped)):
                    continue
            if (limit and count >= limit) or size > MAX_REPLY_ROW_BYTES:
                return count, True, last_ck
            if whole and unrolled is not None and (
                    appended := unrolled(pk_values, row.ck_values, row.cells, out)) >= 0:
                size += appended
            elif plan is not None:
                size += encode_plan_row(keys, names, pk_values, row.ck_values, row.cells,
                                        shadow, now, out, whole)
            else:
                size += encoder.encode(part, row, shadow, out)
            count += 1
            last_ck = ck
        if (count == 0 and req.after is None and not req.start and not req.end
                and part.has_live_static(now, dropped)):
            encoder.encode(part, None, part.deletion, out)
            return 1, False, None
        return count, False, last_ck

    def on_scan(self, req: m.Scan) -> m.ShardReply:
        table = self.tables.get(req.table_id)
        if table is None:
            return m.RowsReply(req.req_id, 0, b"")
        encoder = RowEncoder(req.projection, req.now, pk_splitter(req.pk_components),
                             table.dropped)
        out: list[bytes] = []
        count = 0
        limit = req.limit
        last: Partition | None = None
        last_ck: bytes | None = None
        end_token = req.end_token
        per_partition = req.per_partition_limit
        for part in table.partitions_after(req.after_token, req.after_pk):
            if end_token is not None and part.token > end_token:
                break
            resume = req.after_token is not None and part.pk == req.after_pk
            if resume and req.after_ck is None:
                continue  # that partition was finished (or was a static-only row)
            read = m.Read(req.req_id, req.table_id, part.token, part.pk, req.projection, req.now,
                          req.pk_components, after=req.after_ck if resume else None)
            budget = limit - count if limit else 0
            allowed = per_partition
            if resume and req.resume_partition_limit:
                allowed = req.resume_partition_limit
            if allowed and (not budget or allowed < budget):
                budget = allowed
            got, more, ck = self._read_partition(part, read, encoder, out, budget)
            if allowed and got >= allowed:
                more, ck = False, None  # cut by the per-partition limit: the partition is done
            if got:
                last, last_ck = part, ck
            count += got
            if more or (limit and count >= limit) or len(out) * 8 > MAX_REPLY_ROW_BYTES:
                return m.RowsReply(req.req_id, count, b"".join(out), True,
                                   last.token if last else 0, last.pk if last else b"", last_ck)
        return m.RowsReply(req.req_id, count, b"".join(out))

    def on_drop_table(self, req: m.DropTable) -> m.ShardReply:
        self._cancel_jobs(req.table_id)
        table = self.tables.pop(req.table_id, None)
        if table is not None:
            position = self.position_fn()
            table.drop(position)
            self.on_flushed(req.table_id, position)
        return m.Ack(req.req_id)

    def on_table_schema(self, req: m.TableSchema) -> m.ShardReply:
        self.schemas[req.table_id] = req
        table = self._table(req.table_id)
        table.set_schema(req.dropped or None, req.gc_grace_seconds, req.compression,
                         req.chunk_bytes)
        table.auto_compaction = req.auto_compaction
        return m.Ack(req.req_id)

    def on_known_tables(self, req: m.KnownTables) -> m.ShardReply:
        known = set(req.table_ids)
        for table_id in [t for t in self.tables if t not in known]:
            log.info("shard %d: dropping the data of table %s, which no longer exists",
                     self.shard, table_id.hex())
            self.on_drop_table(m.DropTable(req.req_id, table_id))
        return m.Ack(req.req_id)

    def on_ping(self, req: m.Ping) -> m.ShardReply:
        partitions = sum(t.partition_count() for t in self.tables.values())
        sstables = [r for t in self.tables.values() for r in t.sstables]
        return m.Stats(req.req_id, self.shard, os.getpid(), partitions, self.memtable_bytes(),
                       self.requests, len(sstables), sum(r.disk_size for r in sstables),
                       len(self.jobs), _cache_stats(key_cache()), _cache_stats(chunk_cache()))

    # -- background work ------------------------------------------------------------------------
    def memtable_bytes(self) -> int:
        return sum(t.memtable_bytes for t in self.tables.values())

    def _cancel_jobs(self, table_id: bytes) -> None:
        for job in [j for j in self.jobs if j.table_id == table_id]:
            job.steps.close()  # aborts the SSTable being written
            self.jobs.remove(job)
            job.finish()

    def flush(self, table_id: bytes) -> Job | None:
        """Queue a flush of one table's memtable; None if it is empty."""
        table = self.tables.get(table_id)
        if table is None:
            return None
        position = self.position_fn()
        steps = table.flush_steps(lambda: self.on_flushed(table_id, position), position)
        if steps is None:
            return None
        job = Job(table_id, "flush", steps)
        # Flushes go before compactions: they free memory and let the commit log shrink.
        self.jobs.insert(sum(1 for j in self.jobs if j.kind == "flush"), job)
        return job

    def compact(self, table_id: bytes, major: bool = False) -> Job | None:
        """Queue a size-tiered compaction of a table (`major`: of all its SSTables)."""
        table = self.tables.get(table_id)
        if table is None or any(j.table_id == table_id and j.kind == "compaction"
                                for j in self.jobs):
            return None
        inputs = ([r for r in table.sstables if id(r) not in table.compacting] if major
                  else table.compaction_candidates())
        if len(inputs) < 2:
            return None
        job = Job(table_id, "compaction", table.compaction_steps(inputs, int(time.time())))
        self.jobs.append(job)
        return job

    def admin(self, request: m.Flush | m.Compact) -> list[Job]:
        """ferrosa-ctl flush / compact: queue the jobs (the worker replies once all are done)."""
        tables = [request.table_id] if request.table_id else list(self.tables)
        if type(request) is m.Flush:
            jobs = [self.flush(t) for t in tables]
        else:
            jobs = [self.compact(t, major=True) for t in tables]
        return [job for job in jobs if job is not None]

    def schedule(self) -> None:
        """After writes: flush the largest memtable when the shard is over its budget."""
        if not self.written:  # nothing grew since the last look
            return
        self.written = False
        if self.memtable_bytes() <= self.memtable_budget:
            return
        flushing = {j.table_id for j in self.jobs if j.kind == "flush"}
        candidates = [t for t in self.tables.values()
                      if t.table_id not in flushing and t.memtable.partitions]
        if candidates:
            self.flush(max(candidates, key=lambda t: t.memtable.bytes).table_id)

    def queue_compactions(self) -> None:
        """Idle time: start a size-tiered compaction for any table that has a bucket ready."""
        if not self.jobs:
            for table_id, table in list(self.tables.items()):
                if table.auto_compaction:
                    self.compact(table_id)

    def over_budget(self) -> bool:
        """Memtables (flushing included) beyond twice the budget: writes must wait for flushes."""
        return self.memtable_bytes() > 2 * self.memtable_budget and any(
            j.kind == "flush" for j in self.jobs)

    def maintenance_step(self) -> bool:
        """Run one bounded step of the oldest background job; False when there is none."""
        if not self.jobs:
            return False
        job = self.jobs[0]
        try:
            next(job.steps)
        except StopIteration:
            self.jobs.popleft()
            job.finish()
        return True


class Job:
    """One background job: its steps, and what to call once it has finished (or was dropped)."""

    __slots__ = ("table_id", "kind", "steps", "done")

    def __init__(self, table_id: bytes, kind: str, steps: Generator) -> None:
        self.table_id, self.kind, self.steps = table_id, kind, steps
        self.done: list[Callable[[], None]] = []

    def finish(self) -> None:
        for callback in self.done:
            callback()
