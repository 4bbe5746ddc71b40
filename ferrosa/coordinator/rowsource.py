"""Raw rows for SELECTs the front must post-process (filtering, functions, aggregates, GROUP BY,
JSON, DISTINCT, PER PARTITION LIMIT, token ranges), each with the paging state that resumes after it.

What it is: `RowSource`, which reads the rows a query's key restrictions select, chunk by chunk,
from the owning shards (partition reads for restricted partition keys, token-ordered scans
otherwise), decodes them into lists of serialized values, and attaches to every row the
`PagingState` that resumes right after it. The raw projection always starts with every partition
key component, then every clustering component, so positions can be computed for any row.

What it must not do: filter, evaluate selectors or count LIMITs (the pipeline in select_general.py
does), or hold more than one chunk of rows.

Paging state (opaque to clients, a msgpack `PagingState`): for partition-key queries the index of
the partition key and clustering prefix being read and the last clustering key returned; for scans
the last (token, partition key, clustering key); `ck` None with a partition named means "that
partition is finished". `remaining` is what the LIMIT still allows, `partition_rows` the rows the
PER PARTITION LIMIT already counted in the partition where the page stopped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import AsyncIterator

import msgspec

from ferrosa.coordinator.consistency import check_serial_partitions
from ferrosa.coordinator.execution import Execution, send_to_shard
from ferrosa.coordinator.keys import KeyPlan, slice_bounds
from ferrosa.coordinator.tableinfo import TableInfo
from ferrosa.ipc import messages as m
from ferrosa.partitioner import MAX_TOKEN, MIN_TOKEN, compose_partition_key, shard_of, shard_ranges
from ferrosa.partitioner import token as token_of
from ferrosa.schema import bytecomparable as BC
from ferrosa.schema.errors import InvalidRequest

_LEN = struct.Struct(">i")
# Rows asked of a shard per request on the general path: large enough to amortize a round trip,
# small enough that a reply stays far below the ring's record limit.
CHUNK_ROWS = 1000


class PagingState(msgspec.Struct, array_like=True):
    key_index: int = 0
    prefix_index: int = 0
    token: int | None = None
    pk: bytes = b""
    ck: bytes | None = None
    remaining: int = 0  # rows the LIMIT still allows (0 = no limit)
    partition_rows: int = 0  # rows already counted against PER PARTITION LIMIT in `pk`


paging_encoder = msgspec.msgpack.Encoder()
_paging_decoder = msgspec.msgpack.Decoder(PagingState)


def decode_paging(data: bytes | None) -> PagingState | None:
    if not data:
        return None
    try:
        return _paging_decoder.decode(data)
    except msgspec.DecodeError:
        raise InvalidRequest("Invalid value for the paging state") from None


def first_token(shard: int, n: int) -> int:
    return shard_ranges(n)[shard][0]


def split_rows(data: bytes, count: int, width: int) -> list[list[bytes | None]]:
    """RowsReply bytes -> rows of `width` serialized values (None for null)."""
    rows = []
    pos = 0
    unpack = _LEN.unpack_from
    for _ in range(count):
        row: list[bytes | None] = []
        for _ in range(width):
            (n,) = unpack(data, pos)
            pos += 4
            if n < 0:
                row.append(None)
            else:
                row.append(data[pos:pos + n])
                pos += n
        rows.append(row)
    return rows


@dataclass
class RawRow:
    values: list[bytes | None]
    partition: bytes  # the partition key bytes: rows of one partition arrive together
    state: PagingState  # resumes right after this row


class RowSource:
    """Rows selected by `plan` (and an optional token range), read with `projection`."""

    def __init__(self, info: TableInfo, plan: KeyPlan, projection: list, reverse: bool,
                 token_range: tuple[int, int] | None = None, per_partition_limit: int = 0) -> None:
        self.info = info
        self.plan = plan
        self.projection = projection
        self.encoded_projection = m.encode_projection(projection)
        self.reverse = reverse
        self.token_range = token_range
        self.per_partition_limit = per_partition_limit
        self.npk = len(info.partition_key)
        self.nck = len(info.clustering)
        self.width = len(projection)

    def _ck_bytes(self, values: list[bytes | None]) -> bytes | None:
        ck = values[self.npk:self.npk + self.nck]
        if not ck or ck[0] is None:
            return None  # a static-only row
        info = self.info
        return BC.encode_clustering(info.ck_types, info.ck_reversed, ck)

    def _pk_bytes(self, values: list[bytes | None]) -> bytes:
        parts = values[:self.npk]
        return parts[0] if self.npk == 1 else compose_partition_key(parts)

    def rows(self, ex: Execution, state: PagingState | None) -> AsyncIterator[RawRow]:
        if self.plan.has_partition_key:
            return self._partition_rows(ex, state)
        return self._scan_rows(ex, state)

    async def _partition_rows(self, ex: Execution, state: PagingState | None):
        plan, info = self.plan, self.info
        keys = sorted(plan.partition_keys(ex.values), key=token_of)
        check_serial_partitions(ex.consistency, len(set(keys)))
        if self.token_range is not None:
            low, high = self.token_range
            keys = [k for k in keys if low <= token_of(k) <= high]
        prefixes = plan.clustering_prefixes(ex.values) if plan.clustering else [[]]
        bounds = sorted((slice_bounds(plan, p, ex.values) for p in prefixes),
                        reverse=self.reverse)
        n = ex.node.router.shard_count
        key_index = state.key_index if state else 0
        prefix_index = state.prefix_index if state else 0
        after = state.ck if state else None
        now = ex.now_in_seconds
        while key_index < len(keys):
            key = keys[key_index]
            token = token_of(key)
            while prefix_index < len(bounds):
                start, end = bounds[prefix_index]
                read = m.Read(0, info.id_bytes, token, key, self.encoded_projection, now, self.npk,
                              start, end, CHUNK_ROWS, self.reverse, after)
                reply = await send_to_shard(ex, shard_of(token, n), read)
                for values in split_rows(reply.rows, reply.count, self.width):
                    ck = self._ck_bytes(values)
                    resume = (PagingState(key_index, prefix_index, ck=ck) if ck is not None
                              else PagingState(key_index, prefix_index + 1))
                    yield RawRow(values, key, resume)
                if reply.more:
                    after = reply.last_ck
                    continue
                prefix_index += 1
                after = None
            key_index += 1
            prefix_index = 0

    async def _scan_rows(self, ex: Execution, state: PagingState | None):
        n = ex.node.router.shard_count
        low, high = self.token_range or (MIN_TOKEN, MAX_TOKEN)
        if state is not None and state.token is not None:
            token, pk, ck = state.token, state.pk, state.ck
        else:
            token, pk, ck = low, b"", None
        partition_rows = state.partition_rows if state else 0
        shard, last_shard = shard_of(token, n), shard_of(high, n)
        now = ex.now_in_seconds
        ppl = self.per_partition_limit
        while shard <= last_shard:
            scan = m.Scan(0, self.info.id_bytes, self.encoded_projection, now, self.npk,
                          CHUNK_ROWS, token, pk, ck, high, ppl,
                          ppl - partition_rows if ppl and partition_rows else 0)
            reply = await send_to_shard(ex, shard, scan)
            for values in split_rows(reply.rows, reply.count, self.width):
                key = self._pk_bytes(values)
                yield RawRow(values, key, PagingState(token=token_of(key), pk=key,
                                                      ck=self._ck_bytes(values)))
            partition_rows = 0
            if reply.more:
                token, pk, ck = reply.last_token, reply.last_pk, reply.last_ck
                continue
            shard += 1
            if shard <= last_shard:
                token, pk, ck = first_token(shard, n), b"", None
