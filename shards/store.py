"""A shard's data and the handlers that serve front requests against it.

What it is: the shard's request dispatch table (message type -> handler) over its memtables. Each
handler takes one decoded request and returns exactly one reply message.

What it must not do: touch rings, doorbells or sockets (the worker loop in shards/worker.py does the
I/O), or raise: a request that cannot be served becomes a Failure reply, so one bad request never
takes the shard down.
"""

from __future__ import annotations

import logging
import os
from typing import Callable

from ferrosa.ipc import messages as m
from ferrosa.partitioner import decompose_partition_key
from shards.encoder import RowEncoder
from shards.errors import MutationRejected
from shards.memtable import Partition, TableData

log = logging.getLogger(__name__)

# ErrorCode values used in Failure replies (protocol error codes; see ferrosa/protocol/errors.py).
SERVER_ERROR = 0x0000
INVALID = 0x2200

# A single reply carries at most this many bytes of rows; a read that would exceed it is cut and
# reported as `more`, so one huge partition cannot overflow the reply ring.
MAX_REPLY_ROW_BYTES = 2 * 1024 * 1024


def _pk_splitter(components: int) -> Callable[[bytes], list[bytes]]:
    if components == 1:
        return lambda key: [key]
    return decompose_partition_key


class ShardStore:
    """The tables of one shard and the request handlers."""

    def __init__(self, shard: int) -> None:
        self.shard = shard
        self.tables: dict[bytes, TableData] = {}
        self.schemas: dict[bytes, m.TableSchema] = {}
        self.requests = 0
        self.handlers: dict[type, Callable[[object], object]] = {
            m.Write: self.on_write,
            m.Read: self.on_read,
            m.Scan: self.on_scan,
            m.DropTable: self.on_drop_table,
            m.TableSchema: self.on_table_schema,
            m.Ping: self.on_ping,
        }

    def handle(self, request: m.ShardRequest) -> m.ShardReply:
        self.requests += 1
        try:
            return self.handlers[type(request)](request)
        except Exception as exc:  # one bad request must not kill the shard
            log.exception("shard %d failed on %s", self.shard, type(request).__name__)
            return m.Failure(request.req_id, SERVER_ERROR,
                             f"shard {self.shard}: {type(exc).__name__}: {exc}")

    def _table(self, table_id: bytes) -> TableData:
        table = self.tables.get(table_id)
        if table is None:
            schema = self.schemas.get(table_id)
            table = self.tables[table_id] = TableData(schema.dropped or None if schema else None)
        return table

    def on_write(self, req: m.Write) -> m.ShardReply:
        # All or nothing: checks that need the current data run before anything is applied.
        try:
            for mutation in req.mutations:
                self._table(mutation.table_id).check(mutation)
        except MutationRejected as exc:
            return m.Failure(req.req_id, INVALID, str(exc))
        for mutation in req.mutations:
            self._table(mutation.table_id).apply(mutation)
        return m.Ack(req.req_id)

    def on_read(self, req: m.Read) -> m.ShardReply:
        table = self.tables.get(req.table_id)
        part = None if table is None else table.partitions.get(req.pk)
        if part is None:
            return m.RowsReply(req.req_id, 0, b"")
        encoder = RowEncoder(req.projection, req.now, _pk_splitter(req.pk_components),
                             table.dropped)
        out: list[bytes] = []
        count, more, last_ck = self._read_partition(part, req, encoder, out, req.limit)
        return m.RowsReply(req.req_id, count, b"".join(out), more, part.token, part.pk, last_ck)

    def _read_partition(self, part: Partition, req: m.Read, encoder: RowEncoder,
                        out: list[bytes], limit: int) -> tuple[int, bool, bytes | None]:
        now = req.now
        rows = part.rows
        lo, hi = req.start or None, req.end or None
        if req.after is not None:
            if req.reverse:
                hi = req.after if hi is None else min(hi, req.after)
            else:
                lo = req.after
        inclusive = (req.after is None or req.reverse, False)
        keys = rows.irange(lo, hi, inclusive=inclusive, reverse=req.reverse)
        count, size, last_ck = 0, 0, None
        row_shadow = part.row_shadow
        dropped = encoder.dropped
        for ck in keys:
            row = rows[ck]
            shadow = row_shadow(ck, row)
            if not row.live(shadow, now, dropped):
                continue
            if (limit and count >= limit) or size > MAX_REPLY_ROW_BYTES:
                return count, True, last_ck
            before = len(out)
            encoder.encode(part, row, shadow, out)
            size += sum(len(b) for b in out[before:])
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
        encoder = RowEncoder(req.projection, req.now, _pk_splitter(req.pk_components),
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
        self.tables.pop(req.table_id, None)
        return m.Ack(req.req_id)

    def on_table_schema(self, req: m.TableSchema) -> m.ShardReply:
        self.schemas[req.table_id] = req
        self._table(req.table_id).dropped = req.dropped or None
        return m.Ack(req.req_id)

    def on_ping(self, req: m.Ping) -> m.ShardReply:
        partitions = sum(len(t.partitions) for t in self.tables.values())
        size = sum(t.bytes for t in self.tables.values())
        return m.Stats(req.req_id, self.shard, os.getpid(), partitions, size, self.requests)
