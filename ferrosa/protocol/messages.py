"""Message layer of the native protocol: frame bodies <-> msgspec Structs, via dispatch tables
keyed by opcode (decoding) and by message type (encoding).

Server side:  ``decode_request(frame)`` -> Startup | Options | Query | Prepare | Execute | Batch |
              Register | AuthResponse, and ``encode_response(msg, version, stream)`` /
              ``response_frame(...)`` for every response (RESULT fast paths: ``results.py``).
Client side:  ``encode_request(...)`` / ``request_frame(...)`` and ``decode_response(frame)``.

Frame-level body prefixes (spec section 4) are handled here: a request's custom payload
([bytes map], flag 0x04, v4+) is read for any opcode as Cassandra does; a response carries
[tracing id][warnings][custom payload] according to flags 0x02/0x08/0x04.

Decoding errors raise ``ProtocolError`` with the frame's stream and ``fatal=False`` (the frame
was well delimited). This module must NOT perform I/O, compression or segmentation.
"""

from __future__ import annotations

from typing import Any, Callable

from ferrosa.protocol.constants import (
    FLAG_CUSTOM_PAYLOAD,
    FLAG_TRACING,
    FLAG_USE_BETA,
    FLAG_WARNING,
    Opcode,
)
from ferrosa.protocol.errors import ProtocolError
from ferrosa.protocol.frame import Frame, encode_frame
from ferrosa.protocol.primitives import Reader, write_bytes_map, write_string_list, write_uuid
from ferrosa.protocol.requests import (
    AuthResponse,
    Batch,
    BatchStatement,
    Execute,
    Options,
    Prepare,
    Query,
    QueryParameters,
    Register,
    Request,
    Startup,
    decode_auth_response,
    decode_batch,
    decode_credentials,
    decode_execute,
    decode_options,
    decode_prepare,
    decode_query,
    decode_register,
    decode_startup,
    encode_auth_response,
    encode_batch,
    encode_execute,
    encode_options,
    encode_prepare,
    encode_query,
    encode_register,
    encode_startup,
)
from ferrosa.protocol import responses as _responses
from ferrosa.protocol import results as _results
from ferrosa.protocol.responses import (
    ERROR_TYPES,
    AlreadyExists,
    AuthChallenge,
    Authenticate,
    AuthSuccess,
    CasWriteUnknown,
    Error,
    FunctionFailure,
    ReadFailure,
    ReadTimeout,
    Ready,
    Response,
    SchemaChangeEvent,
    StatusChangeEvent,
    Supported,
    TopologyChangeEvent,
    Unavailable,
    Unprepared,
    WriteFailure,
    WriteTimeout,
    error_for,
)
from ferrosa.protocol.results import (
    EMPTY_RESULT_METADATA,
    VOID_RESULT_BODY,
    ColumnSpec,
    PreparedResult,
    ResultMetadata,
    RowsResult,
    SchemaChangeResult,
    SetKeyspaceResult,
    VoidResult,
    decode_result,
    encode_prepared_metadata,
    encode_prepared_result,
    encode_row,
    encode_rows_metadata,
    encode_rows_result,
    encode_schema_change_result,
    encode_set_keyspace_result,
)

Encoder = Callable[[Any, int, bytearray], None]

REQUEST_DECODERS: dict[int, Callable[[Reader, int], Request]] = {
    Opcode.STARTUP: decode_startup,
    Opcode.CREDENTIALS: decode_credentials,
    Opcode.OPTIONS: decode_options,
    Opcode.QUERY: decode_query,
    Opcode.PREPARE: decode_prepare,
    Opcode.EXECUTE: decode_execute,
    Opcode.REGISTER: decode_register,
    Opcode.BATCH: decode_batch,
    Opcode.AUTH_RESPONSE: decode_auth_response,
}

REQUEST_ENCODERS: dict[type, tuple[int, Encoder]] = {
    Startup: (Opcode.STARTUP, encode_startup),
    Options: (Opcode.OPTIONS, encode_options),
    Query: (Opcode.QUERY, encode_query),
    Prepare: (Opcode.PREPARE, encode_prepare),
    Execute: (Opcode.EXECUTE, encode_execute),
    Register: (Opcode.REGISTER, encode_register),
    Batch: (Opcode.BATCH, encode_batch),
    AuthResponse: (Opcode.AUTH_RESPONSE, encode_auth_response),
}

_EVENT_TYPES = (SchemaChangeEvent, TopologyChangeEvent, StatusChangeEvent)


def _response_opcode(cls: type) -> int:
    if cls in _results.ENCODERS:
        return Opcode.RESULT
    if cls in ERROR_TYPES:
        return Opcode.ERROR
    if cls in _EVENT_TYPES:
        return Opcode.EVENT
    return {Ready: Opcode.READY, Authenticate: Opcode.AUTHENTICATE, Supported: Opcode.SUPPORTED,
            AuthChallenge: Opcode.AUTH_CHALLENGE, AuthSuccess: Opcode.AUTH_SUCCESS}[cls]


RESPONSE_ENCODERS: dict[type, tuple[int, Encoder]] = {
    cls: (_response_opcode(cls), fn)
    for cls, fn in (*_responses.ENCODERS.items(), *_results.ENCODERS.items())
}

RESPONSE_DECODERS: dict[int, Callable[[Reader, int], Response]] = {
    **_responses.DECODERS,
    Opcode.RESULT: decode_result,
}


# --- server side --------------------------------------------------------------------------------


def decode_request(frame: Frame) -> Request:
    """Decode a request frame's (already decompressed) body."""
    try:
        r = Reader(frame.body)
        custom_payload = None
        if frame.flags & FLAG_CUSTOM_PAYLOAD:
            if frame.version < 4:
                raise ProtocolError("Received frame with CUSTOM_PAYLOAD flag for native protocol version < 4")
            custom_payload = r.read_bytes_map()
        try:
            decoder = REQUEST_DECODERS[frame.opcode]
        except KeyError:
            raise ProtocolError(f"Opcode {frame.opcode} is not a request") from None
        msg = decoder(r, frame.version)
    except ProtocolError as err:
        err.stream = frame.stream
        err.fatal = False
        raise
    if custom_payload is not None:
        msg.custom_payload = custom_payload
    return msg


def encode_response_body(msg: Response, version: int) -> tuple[int, int, bytes]:
    """(opcode, flags, body) of a response; prefixes follow the message's optional fields."""
    try:
        opcode, encode = RESPONSE_ENCODERS[type(msg)]
    except KeyError:
        raise TypeError(f"{type(msg).__name__} is not a response message") from None
    out = bytearray()
    flags = 0
    if msg.tracing_id is not None:
        flags |= FLAG_TRACING
        write_uuid(out, msg.tracing_id)
    if version >= 4:
        if msg.warnings:
            flags |= FLAG_WARNING
            write_string_list(out, msg.warnings)
        if msg.custom_payload is not None:
            flags |= FLAG_CUSTOM_PAYLOAD
            write_bytes_map(out, msg.custom_payload)
    encode(msg, version, out)
    return opcode, flags, bytes(out)


def response_frame(msg: Response, version: int, stream: int) -> Frame:
    opcode, flags, body = encode_response_body(msg, version)
    return Frame(version, flags, stream, opcode, body)


def encode_response(msg: Response, version: int, stream: int) -> bytes:
    """A complete (uncompressed, unsegmented) response frame."""
    opcode, flags, body = encode_response_body(msg, version)
    return encode_frame(version, stream, opcode, body, flags)


# --- client side --------------------------------------------------------------------------------


def encode_request_body(msg: Request, version: int) -> tuple[int, int, bytes]:
    """(opcode, flags, body) of a request."""
    try:
        opcode, encode = REQUEST_ENCODERS[type(msg)]
    except KeyError:
        raise TypeError(f"{type(msg).__name__} is not a request message") from None
    out = bytearray()
    flags = 0
    if msg.custom_payload is not None:
        if version < 4:
            raise ValueError("custom payloads need protocol v4+")
        flags |= FLAG_CUSTOM_PAYLOAD
        write_bytes_map(out, msg.custom_payload)
    encode(msg, version, out)
    return opcode, flags, bytes(out)


def request_frame(msg: Request, version: int, stream: int, *, tracing: bool = False,
                  use_beta: bool = False) -> Frame:
    opcode, flags, body = encode_request_body(msg, version)
    if tracing:
        flags |= FLAG_TRACING
    if use_beta:
        flags |= FLAG_USE_BETA
    return Frame(version, flags, stream, opcode, body)


def encode_request(msg: Request, version: int, stream: int, *, tracing: bool = False,
                   use_beta: bool = False) -> bytes:
    """A complete (uncompressed, unsegmented) request frame."""
    f = request_frame(msg, version, stream, tracing=tracing, use_beta=use_beta)
    return encode_frame(f.version, f.stream, f.opcode, f.body, f.flags, response=False)


def decode_response(frame: Frame) -> Response:
    """Decode a response frame's (already decompressed) body, including its prefixes."""
    try:
        r = Reader(frame.body)
        tracing_id = r.read_uuid() if frame.flags & FLAG_TRACING else None
        warnings = r.read_string_list() if frame.flags & FLAG_WARNING else None
        custom_payload = r.read_bytes_map() if frame.flags & FLAG_CUSTOM_PAYLOAD else None
        try:
            decoder = RESPONSE_DECODERS[frame.opcode]
        except KeyError:
            raise ProtocolError(f"Opcode {frame.opcode} is not a response") from None
        msg = decoder(r, frame.version)
    except ProtocolError as err:
        err.stream = frame.stream
        err.fatal = False
        raise
    msg.tracing_id = tracing_id
    msg.warnings = warnings
    msg.custom_payload = custom_payload
    return msg


__all__ = [
    "REQUEST_DECODERS", "REQUEST_ENCODERS", "RESPONSE_DECODERS", "RESPONSE_ENCODERS",
    "decode_request", "encode_response_body", "response_frame", "encode_response",
    "encode_request_body", "request_frame", "encode_request", "decode_response",
    # requests
    "Request", "Startup", "Options", "QueryParameters", "Query", "Prepare", "Execute",
    "BatchStatement", "Batch", "Register", "AuthResponse",
    # responses
    "Response", "Ready", "Authenticate", "Supported", "AuthChallenge", "AuthSuccess",
    "Error", "Unavailable", "WriteTimeout", "ReadTimeout", "ReadFailure", "WriteFailure",
    "FunctionFailure", "AlreadyExists", "Unprepared", "CasWriteUnknown", "ERROR_TYPES",
    "SchemaChangeEvent", "TopologyChangeEvent", "StatusChangeEvent", "error_for",
    # results
    "ColumnSpec", "ResultMetadata", "VoidResult", "RowsResult", "SetKeyspaceResult",
    "PreparedResult", "SchemaChangeResult", "VOID_RESULT_BODY", "EMPTY_RESULT_METADATA",
    "encode_rows_metadata", "encode_rows_result", "encode_row", "encode_prepared_metadata",
    "encode_prepared_result", "encode_set_keyspace_result", "encode_schema_change_result",
]
