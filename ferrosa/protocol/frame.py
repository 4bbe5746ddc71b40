"""Frames ("envelopes" in v5) of the native protocol v3-v5 and their incremental decoder.

Theory of operation
-------------------
A frame is a 9-byte big-endian header -- version|direction (1), flags (1), stream (2, signed),
opcode (1), body length (4) -- followed by the body. ``FrameDecoder`` is sans-IO in the style of
h11: ``feed(bytes)`` appends to an internal buffer and returns every frame completed so far;
partial frames stay buffered. Checks run in Cassandra's order (Envelope.Decoder):

1. first byte: the version. An unsupported version raises ``ProtocolVersionError`` at once (even
   before a full header arrived, because v1/v2 headers are shorter). It is fatal. Cassandra 4/5
   answer v1/v2 in that same version and anything else (0, 6, 0x41/0x42 "DSE", ...) in the
   connection's version, or v5 (ProtocolVersion.CURRENT) before a version is established.
2. full header: a negative length is fatal; an unknown opcode, a wrong direction bit, a version
   other than the connection's, or a frame above ``max_frame_bytes`` raise a NON-fatal error:
   the decoder skips that frame's bytes (also those still to come) and can continue.
3. the body, once complete, becomes a ``Frame`` (body still compressed if flag 0x01 is set;
   ``ConnectionDecoder`` in ``segment.py`` decompresses).

The connection's version is established by the first STARTUP (as Cassandra creates its
Connection there); OPTIONS may come before it in any supported version. With
``pause_at_handshake`` the decoder stops right after the frame that switches a v5 connection to
segment framing (STARTUP server-side, READY/AUTHENTICATE client-side) so that bytes behind it
are not misread as frames; ``take_buffered()`` hands them to the segment decoder.

When an error is raised, ``err.frames`` holds the frames completed before it in the same call.

This module must NOT decode message bodies, compress, or perform I/O.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import msgspec

from ferrosa.protocol.constants import (
    CURRENT_VERSION,
    LEGACY_VERSIONS,
    REQUEST_OPCODES,
    SUPPORTED_VERSIONS,
    VERSION_DESCRIPTIONS,
    Opcode,
)
from ferrosa.protocol.errors import (
    ErrorCode,
    FrameTooLargeError,
    ProtocolError,
    ProtocolVersionError,
)
from ferrosa.protocol.primitives import INT

HEADER = struct.Struct(">BBhBi")
HEADER_SIZE = HEADER.size  # 9
# v1/v2 header (1-byte stream); only written, to answer such clients with a readable error.
LEGACY_HEADER = struct.Struct(">BBbBi")
# A whole uncompressed RESULT Void response, what a server answers every acknowledged write
# with: a plain frame (v3/v4) or a v5 envelope (segments compress, not envelopes). The first
# byte (0x80 | version), no flags, the stream, then the opcode, the body length (4) and the
# body ([int] 1, ResultKind.VOID), in one pack.
_PLAIN_VOID_RESULT = struct.Struct(">Bxh9s")
_VOID_RESULT_TAIL = bytes([Opcode.RESULT]) + INT.pack(4) + INT.pack(0x0001)

# Cassandra 4.1/5.0 default native_transport_max_frame_size = 16MiB (Config.java:
# `native_transport_max_frame_size = new DataStorageSpec.IntMebibytesBound("16MiB")`; 4.0 had
# native_transport_max_frame_size_in_mb = 16). Like Cassandra, the limit covers header + body.
MAX_FRAME_BYTES = 16 * 1024 * 1024

_DIRECTION_BIT = 0x80
_OPCODE_NAMES = {int(op): op.name for op in Opcode}
_VERSION_NAMES = {3: "3/v3", 4: "4/v4", 5: "5/v5"}
_SUPPORTED = SUPPORTED_VERSIONS
_STARTUP = int(Opcode.STARTUP)
_SWITCH_RESPONSES = frozenset((int(Opcode.READY), int(Opcode.AUTHENTICATE)))
# FrameDecoder._by_the_rules: stop decoding until more bytes come (or the pause is lifted).
_WAIT = object()


class Frame(msgspec.Struct, gc=False):
    """One decoded frame; ``version`` excludes the direction bit."""

    version: int
    flags: int
    stream: int
    opcode: int
    body: bytes


def encode_frame(version: int, stream: int, opcode: int, body: bytes, flags: int = 0,
                 *, response: bool = True) -> bytes:
    """Header + body, ready for the wire (no compression: see ``ConnectionEncoder``)."""
    first = version | _DIRECTION_BIT if response else version
    return HEADER.pack(first, flags, stream, opcode, len(body)) + body


def plain_void_result(version: int, stream: int) -> bytes:
    """The uncompressed RESULT Void frame or v5 envelope on `stream`, in one pack."""
    return _PLAIN_VOID_RESULT.pack(_DIRECTION_BIT | version, stream, _VOID_RESULT_TAIL)


def invalid_version_message(version: int) -> str:
    """Cassandra's text (ProtocolVersion.invalidVersionMessage); drivers step down on seeing
    "unsupported protocol version" in a PROTOCOL_ERROR (python-driver: connection.process_msg)."""
    return (f"Invalid or unsupported protocol version ({version}); "
            f"supported versions are ({', '.join(VERSION_DESCRIPTIONS)})")


def version_error_for(requested_version: int, connection_version: int | None) -> ProtocolVersionError:
    """The error for a frame announcing ``requested_version``, answered as Cassandra 4/5 do."""
    if requested_version in LEGACY_VERSIONS:
        response_version = requested_version
    else:
        response_version = connection_version if connection_version is not None else CURRENT_VERSION
    return ProtocolVersionError(invalid_version_message(requested_version),
                                requested_version=requested_version,
                                response_version=response_version)


def _error_body(code: int, message: str) -> bytes:
    raw = message.encode("utf-8")
    if len(raw) > 0xFFFF:
        raw = raw[:0xFFFF].decode("utf-8", "ignore").encode("utf-8")
    return INT.pack(code) + struct.pack(">H", len(raw)) + raw


def encode_error_frame(version: int, stream: int, code: int, message: str) -> bytes:
    """An ERROR response with no code-specific body; v1/v2 get their 8-byte header."""
    body = _error_body(code, message)
    if version in LEGACY_VERSIONS:
        return LEGACY_HEADER.pack(version | _DIRECTION_BIT, 0, stream, Opcode.ERROR, len(body)) + body
    return encode_frame(version, stream, Opcode.ERROR, body)


def unsupported_version_frame(requested_version: int, connection_version: int | None = None,
                              stream: int = 0) -> bytes:
    """The PROTOCOL_ERROR frame that makes drivers step down to a version we speak."""
    err = version_error_for(requested_version, connection_version)
    return encode_error_frame(err.response_version, stream, ErrorCode.PROTOCOL_ERROR, err.message)


def protocol_error_frame(err: ProtocolError, connection_version: int | None) -> bytes:
    """The ERROR frame answering ``err`` (v3/v4/unframed: write it as is; v5 after the switch:
    wrap it in a segment)."""
    if isinstance(err, ProtocolVersionError):
        version = err.response_version
    else:
        version = connection_version if connection_version is not None else CURRENT_VERSION
    return encode_error_frame(version, err.stream, err.code, err.message)


class EnvelopeRules(NamedTuple):
    """A FrameDecoder's quick test of a whole envelope, for a reader outside it: the header
    is taken as is when `first byte << 8 | opcode` is in `fast`, its length is not negative
    and the envelope, header included, is at most `limit` bytes. Any other envelope goes to
    the decoder's ``feed``, which applies every rule in Cassandra's order."""

    fast: frozenset[int]
    limit: int


class FrameDecoder:
    """Incremental frame decoder; see the module docstring for the rules it enforces."""

    __slots__ = ("max_frame_bytes", "requests", "_version", "_pause_at_handshake", "paused",
                 "_buf", "_discard", "_failed", "_fast")

    def __init__(self, max_frame_bytes: int = MAX_FRAME_BYTES, *, requests: bool = True,
                 version: int | None = None, pause_at_handshake: bool = False) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.requests = requests
        self._version = version
        self._pause_at_handshake = pause_at_handshake
        self.paused = False
        self._fast: frozenset[int] = frozenset()
        self._buf = bytearray()
        self._discard = 0
        self._failed = False
        self._set_fast()

    @property
    def version(self) -> int | None:
        """The connection's version: set by its first STARTUP, or by the owner."""
        return self._version

    @version.setter
    def version(self, value: int | None) -> None:
        self._version = value
        self._set_fast()

    def _set_fast(self) -> None:
        """The headers a complete frame is taken with, without the full rules: `first byte << 8
        | opcode` for each version the connection accepts (its own, or any before STARTUP) and
        each opcode this side receives, but for the frames that change the decoder's state (the
        STARTUP that sets the version, the frame a v5 handshake pauses after). Rebuilt when the
        version changes; the pause is fixed at construction."""
        versions = _SUPPORTED if self._version is None else (self._version,)
        opcodes = {op for op in _OPCODE_NAMES if (op in REQUEST_OPCODES) == self.requests}
        if self.requests and self._version is None:
            opcodes.discard(_STARTUP)
        if self._pause_at_handshake:
            opcodes -= {_STARTUP} if self.requests else _SWITCH_RESPONSES
        direction = 0 if self.requests else _DIRECTION_BIT
        self._fast = frozenset(((version | direction) << 8) | op
                               for version in versions if version in _SUPPORTED
                               for op in opcodes)

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def at_boundary(self) -> bool:
        """True when no partial frame is buffered or being skipped."""
        return not self._buf and not self._discard

    def take_buffered(self) -> bytes:
        """Remove and return the bytes not yet decoded (used when switching to segments)."""
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def resume(self) -> list[Frame]:
        """Continue plain decoding after a handshake pause; returns frames already buffered."""
        self.paused = False
        return self.feed(b"")

    def envelope_rules(self) -> EnvelopeRules | None:
        """The quick test of a whole envelope, for a reader that takes the usual ones from
        where they lie (v5 self-contained segments, whose payloads hold whole envelopes), or
        None while bytes are buffered or being skipped, or decoding is stopped: then every
        byte must come through ``feed``, in order."""
        if self._buf or self._discard or self._failed or self.paused:
            return None
        return EnvelopeRules(self._fast, self.max_frame_bytes)

    def feed(self, data: bytes | bytearray | memoryview = b"") -> list[Frame]:
        if self._failed:
            raise ProtocolError("The connection's byte stream is unusable after a fatal protocol error")
        if data:
            self._buf += data
        frames: list[Frame] = []
        if self.paused or not self._buf:
            return frames
        try:
            self._parse(frames)
        except ProtocolError as err:
            err.frames = frames
            if err.fatal:
                self._failed = True
                self._buf.clear()
            raise
        return frames

    def _parse(self, frames: list[Frame]) -> None:
        buf = self._buf
        n = len(buf)
        pos = 0
        mv = memoryview(buf)
        unpack = HEADER.unpack_from
        append = frames.append
        fast, limit = self._fast, self.max_frame_bytes
        try:
            if self._discard:  # the rest of a frame refused by the last call
                pos = take = min(self._discard, n)
                self._discard -= take
                if self._discard:
                    return
            while pos < n:
                # The usual frame, whole in the buffer, with a header of the fast set.
                if n - pos >= HEADER_SIZE:
                    first, flags, stream, opcode, length = unpack(mv, pos)
                    end = pos + HEADER_SIZE + length
                    if ((first << 8) | opcode in fast and length >= 0
                            and end - pos <= limit and end <= n):
                        append(Frame(first & 0x7F, flags, stream, opcode,
                                     mv[pos + HEADER_SIZE:end].tobytes()))
                        pos = end
                        continue
                pos, stop = self._by_the_rules(mv, pos, n, append)
                fast = self._fast  # a STARTUP there may have set the version: a new set
                if stop is not None:
                    if stop is _WAIT:  # an incomplete frame, or the pause of a v5 handshake
                        return
                    raise stop  # a refused frame, its bytes up to `pos` consumed
        finally:
            mv.release()
            if pos:
                del buf[:pos]

    def _by_the_rules(self, mv: memoryview, pos: int, n: int,
                      append) -> tuple[int, ProtocolError | object | None]:
        """The frame at `pos` by the full rules, in Cassandra's order (the module docstring):
        (the position after it, None), (pos, _WAIT) to stop before an incomplete frame,
        (the position after it, _WAIT) for the pause of a v5 handshake, or (the position after
        the refused frame's bytes at hand, the error) for a frame to skip. Fatal errors raise."""
        first = mv[pos]
        version = first & 0x7F
        if version not in _SUPPORTED:
            raise version_error_for(version, self._version)
        if n - pos < HEADER_SIZE:
            return pos, _WAIT
        _, flags, stream, opcode, length = HEADER.unpack_from(mv, pos)
        if length < 0:
            raise ProtocolError(
                f"Invalid value for envelope header body length field: {length}", stream=stream)
        total = HEADER_SIZE + length
        err = self._check_header(first, version, stream, opcode, total)
        if err is not None:
            take = min(total, n - pos)
            self._discard = total - take
            return pos + take, err
        if n - pos < total:
            return pos, _WAIT
        append(Frame(version, flags, stream, opcode, mv[pos + HEADER_SIZE:pos + total].tobytes()))
        pos += total
        if opcode == _STARTUP and self.requests and self._version is None:
            self.version = version
        if self._pause_at_handshake and version >= 5 and self._is_switch_point(opcode):
            self.paused = True
            return pos, _WAIT
        return pos, None

    def _is_switch_point(self, opcode: int) -> bool:
        return opcode == _STARTUP if self.requests else opcode in _SWITCH_RESPONSES

    def _check_header(self, first: int, version: int, stream: int, opcode: int,
                      total: int) -> ProtocolError | None:
        """Errors that leave the frame well delimited (skippable), or None."""
        name = _OPCODE_NAMES.get(opcode)
        if name is None:
            return ProtocolError(f"Unknown opcode {opcode}", stream=stream, fatal=False)
        got = "RESPONSE" if first & _DIRECTION_BIT else "REQUEST"
        expected = "REQUEST" if opcode in REQUEST_OPCODES else "RESPONSE"
        if got != expected:
            return ProtocolError(
                f"Wrong protocol direction (expected {expected}, got {got}) for opcode {opcode} ({name})",
                stream=stream, fatal=False)
        if self.requests != (opcode in REQUEST_OPCODES):
            side = "server" if self.requests else "client"
            return ProtocolError(f"Unexpected {got.lower()} message {name} sent to the {side}",
                                 stream=stream, fatal=False)
        if self.version is not None and version != self.version:
            return ProtocolError(
                f"Invalid message version. Got {_VERSION_NAMES[version]} but previous messages on "
                f"this connection had version {_VERSION_NAMES.get(self.version, self.version)}",
                stream=stream, fatal=False)
        if total > self.max_frame_bytes:
            return FrameTooLargeError(
                f"Request is too big: length {total} exceeds maximum allowed length "
                f"{self.max_frame_bytes}.", stream=stream)
        return None

