"""One client connection: the native-protocol state machine around the sans-IO codec.

What it is: an asyncio Protocol. Bytes from the socket go through ConnectionDecoder into frames;
each frame is dispatched by opcode (a table) to a handler; responses are queued and written once
per event-loop iteration (several responses share one write and, in v5, one segment).

Theory of operation (connection states):
  NEW --OPTIONS--> NEW (SUPPORTED)
  NEW --STARTUP--> READY                          (auth off: READY)
  NEW --STARTUP--> AUTHENTICATING --AUTH_RESPONSE ok--> READY (AUTH_SUCCESS)
                                  --AUTH_RESPONSE bad--> AUTHENTICATING (BAD_CREDENTIALS; retry)
  READY: QUERY, PREPARE, EXECUTE, BATCH, REGISTER, OPTIONS.
In v5 the server switches both directions to segment framing right after writing READY or
AUTHENTICATE. Requests run concurrently (one task each, many stream ids); replies go out in
completion order. A malformed frame gets a PROTOCOL_ERROR; if the framing itself is broken the
connection is closed after the error is written.

What it must not do: block the loop (bcrypt runs in a thread; shards answer through futures), or let
one connection's failure reach another.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from ferrosa.coordinator import execution as X
from ferrosa.coordinator.dml import CompiledBatch, CompiledWrite, check_batch_counters
from ferrosa.coordinator.router import ShardCall
from ferrosa.coordinator.terms import UNSET
from ferrosa.cql.errors import CqlError, CqlSyntaxError
from ferrosa.front.auth import AUTHENTICATOR_CLASS, AuthenticationFailed
from ferrosa.ipc import messages as m
from ferrosa.protocol import messages as P
from ferrosa.protocol import requests as Q
from ferrosa.protocol import responses as R
from ferrosa.protocol import results as RS
from ferrosa.protocol import types as T
from ferrosa.protocol.connection import ConnectionDecoder, ConnectionEncoder
from ferrosa.protocol.constants import FLAG_CUSTOM_PAYLOAD, Opcode
from ferrosa.protocol.errors import ErrorCode, ProtocolError
from ferrosa.protocol.frame import (
    Frame,
    encode_frame,
    plain_void_result,
    protocol_error_frame,
)
from ferrosa.protocol.primitives import UNSET as WIRE_UNSET
from ferrosa.schema.errors import AlreadyExists, SchemaError

if TYPE_CHECKING:
    from ferrosa.front.node import Prepared

log = logging.getLogger(__name__)

SUPPORTED_OPTIONS = {
    "CQL_VERSION": ["3.4.7"],
    "COMPRESSION": ["lz4", "snappy"],
    "PROTOCOL_VERSIONS": ["3/v3", "4/v4", "5/v5"],
}
# Requests one connection may have in flight before it stops reading its socket (back-pressure).
MAX_IN_FLIGHT_PER_CONNECTION = 2048

STATE_NEW, STATE_AUTHENTICATING, STATE_READY = "new", "authenticating", "ready"
_EXECUTE = int(Opcode.EXECUTE)  # plain ints: compared once per frame
_BATCH = int(Opcode.BATCH)


class Unprepared(Exception):
    def __init__(self, query_id: bytes) -> None:
        super().__init__(f"Prepared query with ID {query_id.hex()} not found (either the query "
                         f"was not prepared on this host (maybe the host has been restarted?) or "
                         f"you have prepared too many queries and it has been evicted from the "
                         f"internal cache)")
        self.query_id = query_id


class CqlConnection(asyncio.Protocol):
    def __init__(self, node: Any, server: Any) -> None:
        self.node = node
        self.server = server
        self.decoder = ConnectionDecoder(max_frame_bytes=node.config.max_frame_bytes)
        self.encoder = ConnectionEncoder()
        self.transport: asyncio.Transport | None = None
        self.state = STATE_NEW
        self.version: int | None = None
        self.session = X.Session()
        self.compression: str | None = None
        self.events: set[str] = set()
        # The loop pass's responses, written at its flush: plain frames (v3/v4, and v5 before
        # the switch to segments), or v5 envelopes, which the flush puts in shared segments.
        self._raw_out: list[bytes] = []
        self._envelopes: list[bytes] = []
        self._flush_scheduled = False
        self._closing = False
        self._in_flight = 0
        self._paused = False
        # Where a response goes when it needs no compression, so that it is made without the
        # encoder (an acknowledged write's VOID RESULT in one call, plain_void_result):
        # _raw_out on v3/v4 connections without compression, _envelopes once v5 segments are
        # on (they compress segments, not envelopes); None before STARTUP and with v3/v4
        # compression.
        self._plain_out: list[bytes] | None = None
        # Where an acknowledged write's VOID RESULT goes, made in one call: _plain_out, and on
        # v3/v4 connections with compression _raw_out too, because a body that short is never
        # compressed (MIN_COMPRESSED_BYTES). None before STARTUP.
        self._void_out: list[bytes] | None = None
        self._handlers: dict[type, Callable] = {
            Q.Options: self.on_options,
            Q.Startup: self.on_startup,
            Q.AuthResponse: self.on_auth_response,
            Q.Register: self.on_register,
            Q.Query: self.on_query,
            Q.Prepare: self.on_prepare,
            Q.Execute: self.on_execute,
            Q.Batch: self.on_batch,
        }
        if node.config.auth_disabled:
            self.session.is_superuser = True

    # -- transport ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Kept: get_running_loop() costs a getpid() system call per use.
        self._loop = asyncio.get_running_loop()
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self.server.connections.discard(self)
        self.node.event_listeners.discard(self.on_schema_change)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.decoder.feed(data)
        except ProtocolError as err:
            for frame in err.frames:
                self.dispatch(frame)
            self._protocol_error(err)
            return
        for frame in frames:
            self.dispatch(frame)
        coalescer = self.node.coalescer
        if coalescer is not None:
            coalescer.activity(len(frames))

    def _protocol_error(self, err: ProtocolError) -> None:
        log.debug("protocol error: %s", err)
        self._raw_out.append(protocol_error_frame(err, self.version)
                             if not self.encoder.framed else
                             self.encoder.encode([P.response_frame(
                                 R.Error(code=ErrorCode.PROTOCOL_ERROR, message=err.message),
                                 self.version or 4, err.stream)]))
        if err.fatal:
            self._flush()
            self._closing = True
            self.transport.close()
            return
        self._schedule_flush()
        try:
            frames = self.decoder.feed(b"")
        except ProtocolError as again:
            self._protocol_error(again)
            return
        for frame in frames:
            self.dispatch(frame)

    # -- output -------------------------------------------------------------------------------
    def send(self, msg: R.Response, stream: int) -> None:
        self.send_frame(P.response_frame(msg, self.version, stream))

    def send_frame(self, frame: Frame) -> None:
        """A response Frame (made with the connection's version, as every response is)."""
        self.send_body(frame.stream, frame.opcode, frame.body, frame.flags)

    def send_body(self, stream: int, opcode: int, body: bytes, flags: int = 0) -> None:
        """A response, without making its Frame. With no compression to apply it is framed
        here (v5: an envelope, which the flush puts in the pass's shared segments); else the
        encoder compresses it."""
        if self._closing:
            return
        out = self._plain_out
        if out is not None:
            out.append(encode_frame(self.version, stream, opcode, body, flags))
        else:
            self._raw_out.append(self.encoder.encode_one(self.version, stream, opcode, body,
                                                         flags))
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._closing or self.transport is None or self.transport.is_closing():
            return
        # Both lists are cleared in place, never replaced: _plain_out may be either of them.
        if self._raw_out:
            self.transport.write(b"".join(self._raw_out))
            self._raw_out.clear()
        if self._envelopes:
            self.transport.write(self.encoder.segments(self._envelopes))
            self._envelopes.clear()

    # -- dispatch -----------------------------------------------------------------------------
    def dispatch(self, frame: Frame) -> None:
        opcode = frame.opcode
        if ((opcode == _EXECUTE or opcode == _BATCH) and self.state == STATE_READY
                and not frame.flags & FLAG_CUSTOM_PAYLOAD
                and (self._execute_laid_out(frame) if opcode == _EXECUTE
                     else self._batch_laid_out(frame))):
            return
        if self.version is None:
            self.version = frame.version
        try:
            request = P.decode_request(frame)
        except ProtocolError as err:
            err.stream = frame.stream
            self._protocol_error(err)
            return
        handler = self._handlers.get(type(request))
        if handler is None:
            self._protocol_error(ProtocolError(f"Unexpected request {type(request).__name__}",
                                               stream=frame.stream, fatal=False))
            return
        if self.state != STATE_READY and type(request) not in (Q.Options, Q.Startup,
                                                                Q.AuthResponse):
            self.send(R.Error(code=ErrorCode.PROTOCOL_ERROR,
                              message=f"Unexpected message {Opcode(frame.opcode).name}, expecting "
                                      f"STARTUP or OPTIONS" if self.state == STATE_NEW else
                                      "Unexpected message before authentication completed"),
                      frame.stream)
            return
        self._started(handler(request, frame), frame.stream)

    def _started(self, result: Coroutine[Any, Any, None] | None, stream: int) -> None:
        """A handler answered at once (None) or returned the coroutine of its request: run it.
        (asyncio.iscoroutine(None) walks the abc machinery: a few percent of an EXECUTE's CPU.)"""
        if result is not None:
            self._in_flight += 1
            if self._in_flight > MAX_IN_FLIGHT_PER_CONNECTION:
                self._pause_reading()
            self._step(result, stream)

    # Each request's start and end count `_in_flight` inline, where they happen (a method per
    # request for two lines was 1% of an EXECUTE's instructions); these do the rare rest.
    def _pause_reading(self) -> None:
        if not self._paused:
            self._paused = True
            self.transport.pause_reading()

    def _request_done(self) -> None:
        """What a request's end does where it is not on the short path."""
        self._in_flight -= 1
        if self._paused:
            self._resume_reading()

    def _resume_reading(self) -> None:
        if self._in_flight < MAX_IN_FLIGHT_PER_CONNECTION // 2:
            self._paused = False
            if not self._closing:
                self.transport.resume_reading()

    def _step(self, coro, stream: int) -> None:
        """Run a request coroutine until it waits, and resume it from the awaited future's
        callback: what an asyncio.Task does, without a Task object and its extra trips through
        the loop per request (measured: the Task was ~4% of the front's CPU). The first step
        runs at once, inside data_received."""
        try:
            waiting = coro.send(None)
        except StopIteration:
            self._request_done()
            return
        except Exception as exc:  # every failure becomes an ERROR on this stream
            self.send(error_response(exc), stream)
            self._request_done()
            return
        if type(waiting) is ShardCall:  # a shard's reply: it resumes us itself, at once
            waiting._asyncio_future_blocking = False
            waiting.resume = partial(self._step, coro, stream)
            return
        if waiting is None:  # a bare yield (asyncio.sleep(0)): go round the loop once
            self._loop.call_soon(self._step, coro, stream)
            return
        # An awaited asyncio future; Future.__await__ takes its result when resumed.
        waiting._asyncio_future_blocking = False
        waiting.add_done_callback(lambda _future: self._step(coro, stream))

    # -- handshake ----------------------------------------------------------------------------
    def on_options(self, request: Q.Options, frame: Frame) -> None:
        self.send(R.Supported(options=SUPPORTED_OPTIONS), frame.stream)

    def on_startup(self, request: Q.Startup, frame: Frame) -> None:
        if self.state != STATE_NEW:
            self.send(R.Error(code=ErrorCode.PROTOCOL_ERROR,
                              message="Unexpected message STARTUP, the connection is already "
                                      "initialized"), frame.stream)
            return
        compression = request.compression
        if compression is not None and frame.version < 5:
            self.decoder.compression = compression
            self.encoder.compression = compression
        if compression is None and frame.version < 5:
            self._plain_out = self._raw_out
        if frame.version < 5:
            self._void_out = self._raw_out
        if self.node.config.auth_disabled:
            self.state = STATE_READY
            reply: R.Response = R.Ready()
        else:
            self.state = STATE_AUTHENTICATING
            reply = R.Authenticate(authenticator=AUTHENTICATOR_CLASS)
        self.send(reply, frame.stream)
        if frame.version >= 5:
            self._flush()  # READY/AUTHENTICATE is the last unframed message
            compressed = compression == "lz4"
            self.encoder.switch_to_segments(compressed)
            self._plain_out = self._void_out = self._envelopes
            for buffered in self.decoder.switch_to_segments(compressed):
                self.dispatch(buffered)

    async def on_auth_response(self, request: Q.AuthResponse, frame: Frame) -> None:
        if self.state != STATE_AUTHENTICATING:
            raise ProtocolError("Unexpected AUTH_RESPONSE: no authentication in progress",
                                fatal=False)
        try:
            role = await self.node.roles.verify_async(request.token or b"")
        except AuthenticationFailed as exc:
            self.send(R.Error(code=ErrorCode.BAD_CREDENTIALS, message=str(exc)), frame.stream)
            return
        self.session.user = role.role
        self.session.is_superuser = role.is_superuser
        self.state = STATE_READY
        self.send(R.AuthSuccess(token=None), frame.stream)

    def on_register(self, request: Q.Register, frame: Frame) -> None:
        self.events.update(request.event_types)
        if "SCHEMA_CHANGE" in self.events:
            self.node.event_listeners.add(self.on_schema_change)
        self.send(R.Ready(), frame.stream)

    def on_schema_change(self, change: X.SchemaChangeResult) -> None:
        self.send(R.SchemaChangeEvent(change_type=change.change, target=change.target,
                                      keyspace=change.keyspace, name=change.name,
                                      arg_types=change.arg_types or None), -1)

    # -- requests -----------------------------------------------------------------------------
    def _execution(self, params: Q.QueryParameters, values: list) -> X.Execution:
        now = params.now_in_seconds
        return X.Execution(self.node, self.session, values, params.consistency,
                           params.page_size if params.page_size is not None else -1,
                           params.paging_state, params.timestamp,
                           now if now is not None else int(time.time()), self.version)

    async def on_query(self, request: Q.Query, frame: Frame) -> None:
        params = request.params
        keyspace = params.keyspace or self.session.keyspace
        compiled = self.node.compile_query(request.query, keyspace)
        if params.consistency not in compiled.levels:
            X.refuse_level(compiled, params.consistency)
        values = positional(compiled, params.values, params.names)
        result = await compiled.execute(self._execution(params, values))
        self.send_result(result, compiled, frame.stream, params.skip_metadata)

    async def on_prepare(self, request: Q.Prepare, frame: Frame) -> None:
        prepared = self.node.prepare(request.query, request.keyspace or self.session.keyspace)
        compiled = prepared.compiled
        version = self.version
        binds = [RS.ColumnSpec(s.keyspace, s.table, s.name, T.option_bytes(s.type, version))
                 for s in compiled.markers]
        meta = RS.encode_prepared_metadata(binds, compiled.pk_indexes, version=version)
        result_meta = RS.encode_rows_metadata(self._column_specs(compiled.result_columns),
                                              version=version)
        body = RS.encode_prepared_result(prepared.query_id, meta, result_meta, version=version,
                                         result_metadata_id=prepared.result_metadata_id)
        self.send_frame(Frame(version, 0, frame.stream, Opcode.RESULT, body))

    def on_execute(self, request: Q.Execute, frame: Frame) -> Coroutine[Any, Any, None] | None:
        """EXECUTE, decoded by decode_request (a body its statement's layout did not read:
        _execute_laid_out). Teaches the statement the body's layout."""
        try:
            prepared = self.node.lookup_prepared(request.query_id)
            if prepared is None:
                raise Unprepared(request.query_id)
            params = request.params
            ex = self._execution(params, positional(prepared.compiled, params.values,
                                                    params.names))
            changed = (self.version >= 5 and request.result_metadata_id is not None
                       and request.result_metadata_id != prepared.result_metadata_id)
            if not (changed or frame.flags & FLAG_CUSTOM_PAYLOAD):
                prepared.layouts.decoded(frame.body, self.version, params.consistency,
                                         params.flags, params.values)
            return self._run_execute(prepared, ex, frame.stream, params.skip_metadata, changed)
        except Exception as exc:  # every failure becomes an ERROR on this stream
            self.send(error_response(exc), frame.stream)
            return None

    def _execute_laid_out(self, frame: Frame) -> bool:
        """EXECUTE of a body its statement's layout reads whole (protocol/executelayouts.py):
        one unpack, without decode_request, its Execute and QueryParameters, or positional
        (the layout was learnt from values that matched the markers). False: the body is
        left to decode_request and on_execute, which report anything wrong with it."""
        body = frame.body
        if len(body) < 2:
            return False
        node = self.node
        prepared = node.current_prepared(body[2:2 + (body[0] << 8 | body[1])])
        if prepared is None:
            return False
        read = prepared.layouts.read(body, self.version)
        if read is None:
            return False
        consistency, values, page_size, timestamp, skip_metadata = read
        stream = frame.stream
        try:
            ex = X.Execution(node, self.session, values, consistency, page_size, None,
                             timestamp, int(time.time()), self.version)
            started = self._run_execute(prepared, ex, stream, skip_metadata, False)
        except Exception as exc:  # every failure becomes an ERROR on this stream
            self.send(error_response(exc), stream)
            return True
        self._started(started, stream)
        return True

    def _run_execute(self, prepared, ex: X.Execution, stream: int, skip_metadata: bool,
                     metadata_changed: bool) -> Coroutine[Any, Any, None] | None:
        """Run an EXECUTE. A statement that needs one shard request (a write to one partition,
        a read of one partition's first page) takes the short path: no coroutine, the shard's
        reply answers the client from ShardCall.resume (CompiledStatement.start/finish).
        Anything else returns the coroutine of `_execute`."""
        compiled = prepared.compiled
        if ex.consistency not in compiled.levels:
            X.refuse_level(compiled, ex.consistency)
        if not metadata_changed:
            call = compiled.start(ex)
            if call is not None:
                self._answer_on_reply(ex, compiled, call, stream, skip_metadata)
                return None
        return self._execute(compiled, ex, stream, skip_metadata,
                             prepared.result_metadata_id if metadata_changed else None)

    def _answer_on_reply(self, ex: X.Execution, compiled, call: ShardCall, stream: int,
                         skip_metadata: bool) -> None:
        """The short path's second half: answer the client from the shard's reply."""
        self._in_flight += 1
        if self._in_flight > MAX_IN_FLIGHT_PER_CONNECTION:
            self._pause_reading()
        if call.finished:
            self._call_done(ex, compiled, call, stream, skip_metadata)
        else:
            # A partial, not a lambda: made and called in C, without a closure of six cells.
            call.resume = partial(self._call_done, ex, compiled, call, stream, skip_metadata)

    def _call_done(self, ex: X.Execution, compiled, call: ShardCall, stream: int,
                   skip_metadata: bool) -> None:
        self._in_flight -= 1
        if self._paused:
            self._resume_reading()
        reply = call.reply
        kind = type(reply)
        if kind is m.Ack:  # an acknowledged write
            out = self._void_out
            if out is not None:
                if not self._closing:
                    out.append(plain_void_result(self.version, stream))
                    self._schedule_flush()
                return
        elif kind is m.RowsReply and (not reply.more or reply.count == ex.limit):
            # A read's last page (CompiledSelect.finish passes its rows through), answered with
            # the metadata the first answer cached (_rows_metadata), in one call.
            out = self._plain_out
            cache = compiled.encoded_rows_metadata
            if out is not None and cache is not None:
                metadata = cache.get((self.version, skip_metadata))
                if metadata is not None:
                    if not self._closing:
                        out.append(RS.encode_rows_response(self.version, stream, metadata,
                                                           reply.count, reply.rows))
                        self._schedule_flush()
                    return
        try:
            result = compiled.finish(ex, X.checked_reply(ex, call))
            self.send_result(result, compiled, stream, skip_metadata)
        except Exception as exc:  # every failure becomes an ERROR on this stream
            self.send(error_response(exc), stream)

    async def _execute(self, compiled, ex: X.Execution, stream: int, skip_metadata: bool,
                       new_metadata_id: bytes | None) -> None:
        result = await compiled.execute(ex)
        if new_metadata_id is not None:
            # The table changed since the client prepared (ALTER): v5's METADATA_CHANGED hands it
            # the new result metadata and its id instead of rows it would decode wrongly.
            self.send_result(result, compiled, stream, False, new_metadata_id)
            return
        self.send_result(result, compiled, stream, skip_metadata)

    def on_batch(self, request: Q.Batch, frame: Frame) -> Coroutine[Any, Any, None] | None:
        """BATCH, decoded by decode_request (a body no layout read: _batch_laid_out). A batch
        that repeats one prepared statement teaches it the body's layout."""
        try:
            batch, values, prepared = self._compile_batch(request)
        except Exception as exc:  # every failure becomes an ERROR on this stream
            self.send(error_response(exc), frame.stream)
            return None
        if prepared is not None and not frame.flags & FLAG_CUSTOM_PAYLOAD:
            prepared.batch_layouts.decoded(frame.body, self.version, request, batch)
        now = request.now_in_seconds
        return self._run_batch(batch, values, request.consistency, request.timestamp,
                               now if now is not None else int(time.time()), frame.stream)

    def _batch_laid_out(self, frame: Frame) -> bool:
        """BATCH of a body the layout of its (one, repeated) prepared statement reads whole
        (protocol/batchlayouts.py): one unpack, and the batch compiled when the layout was
        learnt, without decode_request or _compile_batch. False: the body is left to
        decode_request and on_batch, which report anything wrong with it."""
        body = frame.body
        # [byte type][short n][byte kind][short id length][id]: the first statement's id.
        if len(body) < 6:
            return False
        prepared = self.node.current_prepared(body[6:6 + (body[4] << 8 | body[5])])
        if prepared is None:
            return False
        read = prepared.batch_layouts.read(body, self.version)
        if read is None:
            return False
        batch, consistency, values, timestamp = read
        self._started(self._run_batch(batch, values, consistency, timestamp, int(time.time()),
                                      frame.stream), frame.stream)
        return True

    def _run_batch(self, batch: CompiledBatch, values: list[list], consistency: int,
                   timestamp: int | None, now: int,
                   stream: int) -> Coroutine[Any, Any, None] | None:
        """Run a compiled BATCH. One whose mutations all belong to one shard (the usual
        unlogged batch into one partition) takes EXECUTE's short path; one that spans shards
        returns the coroutine of `_batch`."""
        try:
            if consistency not in batch.levels:
                X.refuse_level(batch, consistency)
            ex = X.Execution(self.node, self.session, [], consistency, -1, None, timestamp, now,
                             self.version)
            per_shard = batch.per_shard(ex, values)
            if len(per_shard) == 1:
                [(shard, write)] = per_shard.items()
                self._answer_on_reply(ex, batch, self.node.router.call(shard, write), stream,
                                      False)
                return None
        except Exception as exc:  # every failure becomes an ERROR on this stream
            self.send(error_response(exc), stream)
            return None
        return self._batch(batch, ex, per_shard, stream)

    def _compile_batch(self, request: Q.Batch
                       ) -> tuple[CompiledBatch, list[list], Prepared | None]:
        """The batch compiled, each statement's values, and the first statement's prepared
        statement (None for a query string): the one that learns the batch's layout, which
        batchlayouts takes only from batches that repeat it."""
        keyspace = request.keyspace or self.session.keyspace
        parts, values = [], []
        last_id: bytes | None = None
        compiled = None
        prepared = first = None
        for statement in request.statements:
            query_or_id = statement.query_or_id
            # decode_batch gives a repeated prepared statement the same id object: looked up
            # and checked once per batch.
            if query_or_id is not last_id:
                if type(query_or_id) is bytes:
                    prepared = self.node.lookup_prepared(query_or_id)
                    if prepared is None:
                        raise Unprepared(query_or_id)
                    compiled = prepared.compiled
                    last_id = query_or_id
                else:
                    compiled = self.node.compile_query(query_or_id, keyspace)
                    last_id = prepared = None
                if not isinstance(compiled, CompiledWrite):
                    raise X.InvalidRequest("Invalid statement in batch: only UPDATE, INSERT and "
                                           "DELETE statements are allowed.")
                if not parts:
                    first = prepared
            parts.append(compiled)
            values.append(positional(compiled, statement.values, None))
        check_batch_counters(request.batch_type, False, parts)
        return CompiledBatch(parts, lambda v: None, [], request.batch_type), values, first

    async def _batch(self, batch: CompiledBatch, ex: X.Execution, per_shard: dict,
                     stream: int) -> None:
        await X.send_to_shards(ex, per_shard)
        self.send_result(X.VoidResult(), batch, stream, False)

    # -- results ------------------------------------------------------------------------------
    def _column_specs(self, columns: list[X.ResultColumn]) -> list[RS.ColumnSpec]:
        version = self.version
        return [RS.ColumnSpec(c.keyspace, c.table, c.name, T.option_bytes(c.type, version))
                for c in columns]

    def _rows_metadata(self, result: X.RowsResult, compiled, skip_metadata: bool,
                       new_metadata_id: bytes | None) -> bytes:
        """The Rows <metadata>, encoded once per statement, protocol version and skip flag when
        the result has the statement's own columns and no paging state (every page but the
        last of a paged read carries its own state, so those are encoded each time)."""
        version = self.version
        cacheable = (result.paging_state is None and new_metadata_id is None
                     and result.columns is compiled.result_columns)
        if cacheable:
            cache = compiled.encoded_rows_metadata
            if cache is None:
                cache = compiled.encoded_rows_metadata = {}
            cached = cache.get((version, skip_metadata))
            if cached is not None:
                return cached
        metadata = RS.encode_rows_metadata(
            self._column_specs(result.columns), version=version,
            paging_state=result.paging_state, no_metadata=skip_metadata,
            column_count=len(result.columns), new_metadata_id=new_metadata_id)
        if cacheable:
            cache[(version, skip_metadata)] = metadata
        return metadata

    def send_result(self, result: X.Result, compiled, stream: int, skip_metadata: bool,
                    new_metadata_id: bytes | None = None) -> None:
        kind = type(result)
        if kind is X.RowsResult:
            body = RS.encode_rows_result(
                self._rows_metadata(result, compiled, skip_metadata, new_metadata_id),
                result.count, result.rows)
            self.send_body(stream, Opcode.RESULT, body)
        elif kind is X.VoidResult:
            self.send_body(stream, Opcode.RESULT, VOID_RESULT_BODY)
        elif kind is X.SetKeyspaceResult:
            self.send(RS.SetKeyspaceResult(keyspace=result.keyspace), stream)
        elif kind is X.SchemaChangeResult:
            self.send(RS.SchemaChangeResult(change_type=result.change, target=result.target,
                                            keyspace=result.keyspace, name=result.name,
                                            arg_types=result.arg_types or None), stream)
        else:
            raise TypeError(f"unknown result {kind.__name__}")


# RESULT Void: just its kind, [int] 1, whatever the protocol version.
VOID_RESULT_BODY = P.encode_response_body(RS.VoidResult(), 4)[2]


def positional(compiled, values: list, names: list[str] | None) -> list:
    """The bound values in marker order, with the wire's UNSET mapped to ours."""
    markers = compiled.markers
    if names is not None:
        by_name = dict(zip(names, values))
        try:
            values = [by_name[spec.name] for spec in markers]
        except KeyError as exc:
            raise X.InvalidRequest(f"Invalid bind variable name {exc.args[0]}: no marker of that "
                                   f"name") from None
    if len(values) != len(markers):
        raise X.InvalidRequest(f"There were {len(markers)} markers(?) in CQL but {len(values)} "
                               f"bound variables")
    if WIRE_UNSET not in values:  # the common case: nothing to map (a C-level scan)
        return values
    return [UNSET if v is WIRE_UNSET else v for v in values]


def error_response(exc: Exception) -> R.Response:
    if isinstance(exc, AlreadyExists):
        return R.AlreadyExists(message=exc.message, keyspace=exc.keyspace, table=exc.table)
    if isinstance(exc, X.Unavailable):
        return R.Unavailable(message=exc.message, consistency=exc.consistency,
                             required=exc.required, alive=exc.alive)
    if isinstance(exc, Unprepared):
        return R.Unprepared(message=str(exc), query_id=exc.query_id)
    if isinstance(exc, SchemaError):
        return R.Error(code=exc.error_code, message=exc.message)
    if isinstance(exc, CqlSyntaxError):
        return R.Error(code=ErrorCode.SYNTAX_ERROR, message=str(exc))
    if isinstance(exc, CqlError):
        return R.Error(code=getattr(exc, "error_code", ErrorCode.INVALID), message=str(exc))
    if isinstance(exc, ProtocolError):
        return R.Error(code=ErrorCode.PROTOCOL_ERROR, message=exc.message)
    log.exception("internal error", exc_info=exc)
    return R.Error(code=ErrorCode.SERVER_ERROR, message=f"{type(exc).__name__}: {exc}")
