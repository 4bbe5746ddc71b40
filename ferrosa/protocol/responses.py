"""Response messages other than RESULT (server -> client): READY, AUTHENTICATE, SUPPORTED,
AUTH_CHALLENGE, AUTH_SUCCESS, ERROR (with the code-specific bodies of spec section 8) and EVENT.

Encoders (server side) apply Cassandra's downgrades for older protocol versions
(ErrorMessage.getBackwardsCompatibleException, Event.SchemaChange.serializeEvent):
  * v3: READ_FAILURE -> READ_TIMEOUT, WRITE_FAILURE -> WRITE_TIMEOUT, FUNCTION_FAILURE and
        CDC_WRITE_FAILURE -> INVALID ("ERROR <NAME>: <message>"); FUNCTION/AGGREGATE schema
        changes -> "UPDATED KEYSPACE <ks>" (plus an empty string, as Cassandra writes).
  * v3/v4: CAS_WRITE_UNKNOWN -> WRITE_TIMEOUT with write type CAS; no CAS <contentions>;
        failures carry <numfailures> instead of the v5 <reasonmap>.
Decoders (client side) read what each version sends and ignore trailing bytes.

This module must NOT decide which error to send: it only shapes the bodies.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, ClassVar

import msgspec

from ferrosa.protocol.constants import (
    EventType,
    Opcode,
    SchemaChangeTarget,
    SchemaChangeType,
    WriteType,
)
from ferrosa.protocol.errors import ErrorCode, ProtocolError
from ferrosa.protocol.primitives import (
    INT,
    Reader,
    pack_short,
    write_bytes,
    write_consistency,
    write_inet,
    write_inetaddr,
    write_short_bytes,
    write_string,
    write_string_list,
    write_string_multimap,
)


class Response(msgspec.Struct, kw_only=True, gc=False):
    """Base of all responses: the optional frame-level prefixes of spec section 4.

    ``tracing_id`` sets flag 0x02, ``warnings`` flag 0x08 (v4+) and ``custom_payload`` flag 0x04
    (v4+); they are dropped for v3 as Cassandra does.
    """

    tracing_id: uuid.UUID | None = None
    warnings: list[str] | None = None
    custom_payload: dict[str, bytes | None] | None = None


class Ready(Response):
    pass


class Authenticate(Response):
    authenticator: str  # fully qualified IAuthenticator class name


class Supported(Response):
    options: dict[str, list[str]]


class AuthChallenge(Response):
    token: bytes | None


class AuthSuccess(Response):
    token: bytes | None


# --- ERROR --------------------------------------------------------------------------------------


class Error(Response):
    """An ERROR whose code has no extra body (SERVER_ERROR, PROTOCOL_ERROR, SYNTAX_ERROR, ...)."""

    code: int
    message: str


class Unavailable(Response):
    code: ClassVar[int] = ErrorCode.UNAVAILABLE
    message: str
    consistency: int
    required: int
    alive: int


class WriteTimeout(Response):
    """``contentions`` is the v5 CAS field; written only when set (and only in v5)."""

    code: ClassVar[int] = ErrorCode.WRITE_TIMEOUT
    message: str
    consistency: int
    received: int
    block_for: int
    write_type: str
    contentions: int | None = None


class ReadTimeout(Response):
    code: ClassVar[int] = ErrorCode.READ_TIMEOUT
    message: str
    consistency: int
    received: int
    block_for: int
    data_present: bool


class ReadFailure(Response):
    """v5 sends ``reason_map`` (replica address -> failure code); v4 only a count, which is
    ``num_failures`` if set, else ``len(reason_map)``."""

    code: ClassVar[int] = ErrorCode.READ_FAILURE
    message: str
    consistency: int
    received: int
    block_for: int
    data_present: bool
    reason_map: dict[str, int] = {}
    num_failures: int | None = None


class WriteFailure(Response):
    code: ClassVar[int] = ErrorCode.WRITE_FAILURE
    message: str
    consistency: int
    received: int
    block_for: int
    write_type: str
    reason_map: dict[str, int] = {}
    num_failures: int | None = None


class FunctionFailure(Response):
    code: ClassVar[int] = ErrorCode.FUNCTION_FAILURE
    message: str
    keyspace: str
    function: str
    arg_types: list[str]


class AlreadyExists(Response):
    """``table`` is empty when a keyspace already exists."""

    code: ClassVar[int] = ErrorCode.ALREADY_EXISTS
    message: str
    keyspace: str
    table: str = ""


class Unprepared(Response):
    code: ClassVar[int] = ErrorCode.UNPREPARED
    message: str
    query_id: bytes


class CasWriteUnknown(Response):
    code: ClassVar[int] = ErrorCode.CAS_WRITE_UNKNOWN
    message: str
    consistency: int
    received: int
    block_for: int


ERROR_TYPES: tuple[type[Response], ...] = (
    Error, Unavailable, WriteTimeout, ReadTimeout, ReadFailure, WriteFailure, FunctionFailure,
    AlreadyExists, Unprepared, CasWriteUnknown,
)
# Codes that need one of the detail structs above; a plain ``Error`` with them is malformed.
_DETAIL_CODES = frozenset(t.code for t in ERROR_TYPES if t is not Error)  # type: ignore[attr-defined]


def _head(out: bytearray, code: int, message: str) -> None:
    out += INT.pack(code)
    raw = message.encode("utf-8")
    if len(raw) > 0xFFFF:  # never fail while reporting a failure: cut at a character boundary
        raw = raw[:0xFFFF].decode("utf-8", "ignore").encode("utf-8")
    out += pack_short(len(raw))
    out += raw


def _downgraded(code: int, message: str) -> str:
    return f"ERROR {ErrorCode(code).name}: {message}"


def _enc_error(m: Error, version: int, out: bytearray) -> None:
    if m.code in _DETAIL_CODES:
        raise ValueError(f"error code {m.code:#06x} needs its detail message type, not Error")
    if version < 4 and m.code == ErrorCode.CDC_WRITE_FAILURE:
        _head(out, ErrorCode.INVALID, _downgraded(m.code, m.message))
        return
    _head(out, m.code, m.message)


def _enc_unavailable(m: Unavailable, version: int, out: bytearray) -> None:
    _head(out, m.code, m.message)
    write_consistency(out, m.consistency)
    out += INT.pack(m.required)
    out += INT.pack(m.alive)


def _timeout_head(out: bytearray, code: int, message: str, cl: int, received: int, block_for: int) -> None:
    _head(out, code, message)
    write_consistency(out, cl)
    out += INT.pack(received)
    out += INT.pack(block_for)


def _enc_write_timeout(m: WriteTimeout, version: int, out: bytearray) -> None:
    _timeout_head(out, m.code, m.message, m.consistency, m.received, m.block_for)
    write_string(out, m.write_type)
    if version >= 5 and m.contentions is not None:
        out += pack_short(m.contentions)


def _enc_read_timeout(m: ReadTimeout, version: int, out: bytearray) -> None:
    _timeout_head(out, m.code, m.message, m.consistency, m.received, m.block_for)
    out += b"\x01" if m.data_present else b"\x00"


def _write_failures(out: bytearray, reason_map: dict[str, int], num_failures: int | None,
                    version: int) -> None:
    if version >= 5:
        out += INT.pack(len(reason_map))
        for address, reason in reason_map.items():
            write_inetaddr(out, address)
            out += pack_short(reason)
    else:
        out += INT.pack(num_failures if num_failures is not None else len(reason_map))


def _enc_read_failure(m: ReadFailure, version: int, out: bytearray) -> None:
    if version < 4:
        _enc_read_timeout(ReadTimeout(m.message, m.consistency, m.received, m.block_for,
                                      m.data_present), version, out)
        return
    _timeout_head(out, m.code, m.message, m.consistency, m.received, m.block_for)
    _write_failures(out, m.reason_map, m.num_failures, version)
    out += b"\x01" if m.data_present else b"\x00"


def _enc_write_failure(m: WriteFailure, version: int, out: bytearray) -> None:
    if version < 4:
        _enc_write_timeout(WriteTimeout(m.message, m.consistency, m.received, m.block_for,
                                        m.write_type), version, out)
        return
    _timeout_head(out, m.code, m.message, m.consistency, m.received, m.block_for)
    _write_failures(out, m.reason_map, m.num_failures, version)
    write_string(out, m.write_type)


def _enc_function_failure(m: FunctionFailure, version: int, out: bytearray) -> None:
    if version < 4:
        _head(out, ErrorCode.INVALID, _downgraded(m.code, m.message))
        return
    _head(out, m.code, m.message)
    write_string(out, m.keyspace)
    write_string(out, m.function)
    write_string_list(out, m.arg_types)


def _enc_already_exists(m: AlreadyExists, version: int, out: bytearray) -> None:
    _head(out, m.code, m.message)
    write_string(out, m.keyspace)
    write_string(out, m.table)


def _enc_unprepared(m: Unprepared, version: int, out: bytearray) -> None:
    _head(out, m.code, m.message)
    write_short_bytes(out, m.query_id)


def _enc_cas_write_unknown(m: CasWriteUnknown, version: int, out: bytearray) -> None:
    if version < 5:
        _enc_write_timeout(WriteTimeout(m.message, m.consistency, m.received, m.block_for,
                                        WriteType.CAS), version, out)
        return
    _timeout_head(out, m.code, m.message, m.consistency, m.received, m.block_for)


def _read_failures(r: Reader, version: int) -> tuple[dict[str, int], int]:
    count = r.read_int()
    if version < 5:
        return {}, count
    if count < 0:
        raise ProtocolError(f"Negative reason map size {count}")
    reasons = {}
    for _ in range(count):
        address = r.read_inetaddr()
        reasons[address] = r.read_short()
    return reasons, count


def _decode_error(r: Reader, version: int) -> Response:
    code = r.read_int()
    message = r.read_string()
    detail = _ERROR_DETAIL_DECODERS.get(code)
    if detail is None:
        return Error(code, message)
    return detail(r, version, message)


def _dec_write_timeout(r: Reader, version: int, message: str) -> WriteTimeout:
    cl, received, block_for = r.read_consistency(), r.read_int(), r.read_int()
    write_type = r.read_string()
    contentions = None
    if version >= 5 and write_type == WriteType.CAS and r.remaining() >= 2:
        contentions = r.read_short()
    return WriteTimeout(message, cl, received, block_for, write_type, contentions)


def _dec_read_failure(r: Reader, version: int, message: str) -> ReadFailure:
    cl, received, block_for = r.read_consistency(), r.read_int(), r.read_int()
    reasons, count = _read_failures(r, version)
    return ReadFailure(message, cl, received, block_for, bool(r.read_byte()), reasons, count)


def _dec_write_failure(r: Reader, version: int, message: str) -> WriteFailure:
    cl, received, block_for = r.read_consistency(), r.read_int(), r.read_int()
    reasons, count = _read_failures(r, version)
    return WriteFailure(message, cl, received, block_for, r.read_string(), reasons, count)


_ERROR_DETAIL_DECODERS: dict[int, Callable[[Reader, int, str], Response]] = {
    ErrorCode.UNAVAILABLE: lambda r, v, m: Unavailable(m, r.read_consistency(), r.read_int(), r.read_int()),
    ErrorCode.WRITE_TIMEOUT: _dec_write_timeout,
    ErrorCode.READ_TIMEOUT: lambda r, v, m: ReadTimeout(
        m, r.read_consistency(), r.read_int(), r.read_int(), bool(r.read_byte())),
    ErrorCode.READ_FAILURE: _dec_read_failure,
    ErrorCode.WRITE_FAILURE: _dec_write_failure,
    ErrorCode.FUNCTION_FAILURE: lambda r, v, m: FunctionFailure(
        m, r.read_string(), r.read_string(), r.read_string_list()),
    ErrorCode.ALREADY_EXISTS: lambda r, v, m: AlreadyExists(m, r.read_string(), r.read_string()),
    ErrorCode.UNPREPARED: lambda r, v, m: Unprepared(m, r.read_short_bytes()),
    ErrorCode.CAS_WRITE_UNKNOWN: lambda r, v, m: CasWriteUnknown(
        m, r.read_consistency(), r.read_int(), r.read_int()),
}


def error_for(err: ProtocolError) -> Error:
    """The ERROR message answering a ``ProtocolError`` (PROTOCOL_ERROR, or INVALID if too big)."""
    return Error(err.code, err.message)


# --- EVENT and the shared SCHEMA_CHANGE body ------------------------------------------------------


class SchemaChangeEvent(Response):
    """``name`` is the table/type/function/aggregate (None for KEYSPACE); ``arg_types`` only
    for FUNCTION/AGGREGATE."""

    change_type: str
    target: str
    keyspace: str
    name: str | None = None
    arg_types: list[str] | None = None


class TopologyChangeEvent(Response):
    change: str  # NEW_NODE, REMOVED_NODE, MOVED_NODE
    address: str
    port: int


class StatusChangeEvent(Response):
    change: str  # UP, DOWN
    address: str
    port: int


_FUNCTION_TARGETS = frozenset((SchemaChangeTarget.FUNCTION, SchemaChangeTarget.AGGREGATE))


def write_schema_change(out: bytearray, change_type: str, target: str, keyspace: str,
                        name: str | None, arg_types: list[str] | None, version: int) -> None:
    """<change_type><target><options>, shared by EVENT SCHEMA_CHANGE and RESULT Schema_change."""
    if target in _FUNCTION_TARGETS:
        if version < 4:
            write_string(out, SchemaChangeType.UPDATED)
            write_string(out, SchemaChangeTarget.KEYSPACE)
            write_string(out, keyspace)
            write_string(out, "")
            return
        if name is None or arg_types is None:
            raise ValueError(f"{target} schema change needs a name and argument types")
        write_string(out, change_type)
        write_string(out, target)
        write_string(out, keyspace)
        write_string(out, name)
        write_string_list(out, arg_types)
        return
    write_string(out, change_type)
    write_string(out, target)
    write_string(out, keyspace)
    if target != SchemaChangeTarget.KEYSPACE:
        if name is None:
            raise ValueError(f"{target} schema change needs a name")
        write_string(out, name)


def read_schema_change(r: Reader) -> tuple[str, str, str, str | None, list[str] | None]:
    change_type = r.read_string()
    target = r.read_string()
    keyspace = r.read_string()
    name = None if target == SchemaChangeTarget.KEYSPACE else r.read_string()
    arg_types = r.read_string_list() if target in _FUNCTION_TARGETS else None
    return change_type, target, keyspace, name, arg_types


def _enc_schema_change_event(m: SchemaChangeEvent, version: int, out: bytearray) -> None:
    write_string(out, EventType.SCHEMA_CHANGE)
    write_schema_change(out, m.change_type, m.target, m.keyspace, m.name, m.arg_types, version)


def _enc_node_event(m: TopologyChangeEvent | StatusChangeEvent, version: int, out: bytearray) -> None:
    kind = EventType.TOPOLOGY_CHANGE if isinstance(m, TopologyChangeEvent) else EventType.STATUS_CHANGE
    write_string(out, kind)
    write_string(out, m.change)
    write_inet(out, m.address, m.port)


def _decode_event(r: Reader, version: int) -> Response:
    kind = r.read_string()
    if kind == EventType.SCHEMA_CHANGE:
        return SchemaChangeEvent(*read_schema_change(r))
    if kind == EventType.TOPOLOGY_CHANGE:
        change = r.read_string()
        return TopologyChangeEvent(change, *r.read_inet())
    if kind == EventType.STATUS_CHANGE:
        change = r.read_string()
        return StatusChangeEvent(change, *r.read_inet())
    raise ProtocolError(f"Invalid value '{kind}' for Type")


# --- the remaining simple responses --------------------------------------------------------------


def _enc_ready(m: Ready, version: int, out: bytearray) -> None:
    return None


def _enc_authenticate(m: Authenticate, version: int, out: bytearray) -> None:
    write_string(out, m.authenticator)


def _enc_supported(m: Supported, version: int, out: bytearray) -> None:
    write_string_multimap(out, m.options)


def _enc_token(m: AuthChallenge | AuthSuccess, version: int, out: bytearray) -> None:
    write_bytes(out, m.token)


ENCODERS: dict[type, Callable[[Any, int, bytearray], None]] = {
    Ready: _enc_ready,
    Authenticate: _enc_authenticate,
    Supported: _enc_supported,
    AuthChallenge: _enc_token,
    AuthSuccess: _enc_token,
    Error: _enc_error,
    Unavailable: _enc_unavailable,
    WriteTimeout: _enc_write_timeout,
    ReadTimeout: _enc_read_timeout,
    ReadFailure: _enc_read_failure,
    WriteFailure: _enc_write_failure,
    FunctionFailure: _enc_function_failure,
    AlreadyExists: _enc_already_exists,
    Unprepared: _enc_unprepared,
    CasWriteUnknown: _enc_cas_write_unknown,
    SchemaChangeEvent: _enc_schema_change_event,
    TopologyChangeEvent: _enc_node_event,
    StatusChangeEvent: _enc_node_event,
}

DECODERS: dict[int, Callable[[Reader, int], Response]] = {
    Opcode.ERROR: _decode_error,
    Opcode.READY: lambda r, v: Ready(),
    Opcode.AUTHENTICATE: lambda r, v: Authenticate(r.read_string()),
    Opcode.SUPPORTED: lambda r, v: Supported(r.read_string_multimap()),
    Opcode.AUTH_CHALLENGE: lambda r, v: AuthChallenge(r.read_bytes()),
    Opcode.AUTH_SUCCESS: lambda r, v: AuthSuccess(r.read_bytes()),
    Opcode.EVENT: _decode_event,
}
