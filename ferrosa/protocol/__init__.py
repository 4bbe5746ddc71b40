"""ferrosa.protocol: the sans-IO CQL native protocol v3-v5 (frames, v5 segments, compression,
primitives, messages; CQL data types and value codecs live in ``types`` and ``values``).

Layers, bottom up: ``primitives`` (spec notations) -> ``frame`` (envelopes, version negotiation)
-> ``segment`` (v5 outer framing) -> ``connection`` (per-connection decoder/encoder state) ->
``messages`` (request/response bodies as msgspec Structs; ``requests``, ``responses`` and
``results`` hold the codecs). Nothing here performs I/O or imports asyncio/sockets.
"""

from __future__ import annotations

from ferrosa.protocol.connection import ConnectionDecoder, ConnectionEncoder
from ferrosa.protocol.constants import (
    BatchType,
    ConsistencyLevel,
    FrameFlag,
    Opcode,
    ProtocolVersion,
    QueryFlag,
    ResultKind,
)
from ferrosa.protocol.errors import (
    ChecksumError,
    ErrorCode,
    FrameTooLargeError,
    ProtocolError,
    ProtocolVersionError,
)
from ferrosa.protocol.frame import (
    MAX_FRAME_BYTES,
    Frame,
    FrameDecoder,
    encode_frame,
    protocol_error_frame,
    unsupported_version_frame,
)
from ferrosa.protocol.segment import SegmentDecoder, encode_segments

__all__ = [
    "ConnectionDecoder", "ConnectionEncoder", "BatchType", "ConsistencyLevel", "FrameFlag",
    "Opcode", "ProtocolVersion", "QueryFlag", "ResultKind", "ChecksumError", "ErrorCode",
    "FrameTooLargeError", "ProtocolError", "ProtocolVersionError", "MAX_FRAME_BYTES", "Frame",
    "FrameDecoder", "encode_frame", "protocol_error_frame", "unsupported_version_frame",
    "SegmentDecoder", "encode_segments",
]
