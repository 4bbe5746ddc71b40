"""What a compiled statement executes with, and what it returns.

What it is: `Execution` (the bound values and query options of one request, plus the services a
statement may call: the schema, the shard router, the session), the result types every statement
produces, and `CompiledStatement`, the base of the prepared forms of statements.

What it must not do: encode protocol frames (the front's connection does), or hold per-connection
state beyond what it is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ferrosa.coordinator.consistency import ALL_LEVELS, Unavailable
from ferrosa.coordinator.router import ShardUnavailable
from ferrosa.coordinator.terms import MarkerSpec
from ferrosa.ipc import messages as m
from ferrosa.partitioner import shard_of
from ferrosa.protocol import types as T
from ferrosa.schema.errors import InvalidRequest, SchemaError


class ServerError(SchemaError):
    """A failure inside the node (a shard error, a dead shard): ERROR code SERVER_ERROR."""

    error_code = 0x0000


@dataclass(frozen=True)
class ResultColumn:
    keyspace: str
    table: str
    name: str
    type: T.CqlType


@dataclass
class VoidResult:
    pass


class RowsResult(msgspec.Struct):
    """Rows for the client. A Struct: made once per read, its __init__ is C, not a call."""

    columns: list[ResultColumn]
    count: int
    rows: bytes  # concatenated rows, each a sequence of protocol [bytes]
    paging_state: bytes | None = None


@dataclass
class SetKeyspaceResult:
    keyspace: str


@dataclass
class SchemaChangeResult:
    change: str  # CREATED | UPDATED | DROPPED
    target: str  # KEYSPACE | TABLE | TYPE | FUNCTION | AGGREGATE
    keyspace: str
    name: str | None = None
    arg_types: list[str] = field(default_factory=list)


Result = VoidResult | RowsResult | SetKeyspaceResult | SchemaChangeResult


@dataclass
class Session:
    keyspace: str | None = None
    user: str | None = None
    is_superuser: bool = True
    last_timestamp: int = 0

    def next_timestamp(self) -> int:
        """Microseconds, strictly increasing per session (Cassandra's ClientState.getTimestamp)."""
        now = time.time_ns() // 1000
        self.last_timestamp = now if now > self.last_timestamp else self.last_timestamp + 1
        return self.last_timestamp


class Execution(msgspec.Struct):
    """One execution of a statement: what the client bound and asked for. A Struct, not a
    dataclass: made once per request, its C-level __init__ saves a Python call per request."""

    node: Any  # ferrosa.front.node.Node: schema, router, apply_schema
    session: Session
    values: list
    consistency: int = 0x0001
    page_size: int = -1
    paging_state: bytes | None = None
    timestamp: int | None = None  # the client's default timestamp (protocol option)
    # The execution's clock for TTLs and expiry, read once as Cassandra's QueryState does: the
    # client's (protocol v5 NOW_IN_SECONDS) or the coordinator's when the execution starts.
    now_in_seconds: int = msgspec.field(default_factory=lambda: int(time.time()))
    protocol_version: int = 5
    # The statement's LIMIT as a short-path read (CompiledSelect.start) bound it, -1 without
    # one. A reply of that many rows that the read's budget cut is the query's last page: the
    # LIMIT ended it, and no paging state follows (a reply the page cut holds fewer rows).
    limit: int = -1

    def write_timestamp(self) -> int:
        return self.timestamp if self.timestamp is not None else self.session.next_timestamp()


class CompiledStatement:
    """Base of prepared statements: bind-marker specs, partition-key indexes, result columns."""

    keyspace: str | None = None
    table: str | None = None
    markers: list[MarkerSpec] = []
    pk_indexes: list[int] = []
    result_columns: list[ResultColumn] = []
    is_write = False
    # The consistency levels this statement runs at (consistency.ConsistencyRules): the front
    # answers any other with consistency_error(level) before it starts the statement.
    levels: frozenset[int] = ALL_LEVELS
    # The front's cache of this statement's encoded Rows metadata (of result_columns, fixed at
    # compilation): (protocol version, skip metadata) -> the bytes. Set per instance on first use.
    encoded_rows_metadata: dict[tuple[int, bool], bytes] | None = None

    def consistency_error(self, level: int) -> Exception | None:
        """The INVALID or UNAVAILABLE error for a level outside `levels` (statements that
        check levels set it to their ConsistencyRules' check)."""
        return None

    def start(self, ex: Execution) -> Any:
        """The front's short path: send a statement that needs one shard request and return
        its pending ShardCall, whose reply `finish` turns into the result; None when the
        statement needs `execute`, which then does everything."""
        return None

    def finish(self, ex: Execution, reply: Any) -> Result:
        """The result of a statement `start` sent, from its shard's reply."""
        return VoidResult()

    async def execute(self, ex: Execution) -> Result:
        raise InvalidRequest(f"{type(self).__name__} cannot be executed")


def refuse_level(compiled: CompiledStatement, level: int) -> None:
    """Raise the error for running `compiled` at a level outside its `levels`; the front calls
    this before starting a statement, so nothing is read or written at a refused level."""
    error = compiled.consistency_error(level)
    if error is not None:
        raise error


def ordered_markers(specs: dict[int, MarkerSpec], count: int) -> list[MarkerSpec]:
    missing = [i for i in range(count) if i not in specs]
    if missing:
        raise InvalidRequest(f"Bind marker {missing[0]} is in a position that does not accept "
                             f"bind variables here")
    return [specs[i] for i in range(count)]


async def send_to_shards(ex: Execution, per_shard: dict[int, Any]) -> list:
    """Submit one request per shard and wait for all replies; shard failures become errors."""
    call = ex.node.router.call
    calls = [call(shard, msg) for shard, msg in per_shard.items()]
    return [await _settled(ex, pending) for pending in calls]


async def send_to_shard(ex: Execution, shard: int, msg: Any) -> Any:
    """send_to_shards for one request (the common single-partition case, without the dict)."""
    return await _settled(ex, ex.node.router.call(shard, msg))


async def _settled(ex: Execution, call: Any) -> Any:
    try:
        await call
    except ShardUnavailable:
        pass  # checked_reply raises what the client is told
    return checked_reply(ex, call)


def checked_reply(ex: Execution, call: Any) -> Any:
    """The reply of an answered ShardCall; shard failures raised as send_to_shard raises them."""
    error = call.error  # call.result(), without its call
    if error is not None:
        if isinstance(error, ShardUnavailable):
            raise _unavailable(ex, error) from None
        raise error
    reply = call.reply
    if type(reply) is m.Failure:
        raise _failure(reply)
    return reply


def _unavailable(ex: Execution, exc: ShardUnavailable) -> SchemaError:
    if exc.in_flight:
        return ServerError(str(exc))
    return Unavailable(f"Cannot achieve consistency level: {exc}", ex.consistency, 1, 0)


def _failure(reply: m.Failure) -> ServerError:
    error = ServerError(reply.message)
    error.error_code = reply.code
    return error


def group_by_shard(node: Any, mutations: list[m.Mutation]) -> dict[int, m.Write]:
    n = node.router.shard_count
    groups: dict[int, list[m.Mutation]] = {}
    token = group = None
    for mutation in mutations:
        # A batch's rows usually share their partition: its shard is found once per run.
        if mutation.token != token:
            token = mutation.token
            group = groups.setdefault(shard_of(token, n), [])
        group.append(mutation)
    return {shard: m.Write(0, muts) for shard, muts in groups.items()}
