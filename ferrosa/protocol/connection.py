"""Per-connection byte-stream codecs: v3/v4 frames with optional body compression, and v5
frames-in-segments after the handshake. Sans-IO: bytes in, ``Frame`` objects out, and back.

Theory of operation
-------------------
``ConnectionDecoder`` starts in plain-frame mode (every version starts there: STARTUP, and the
OPTIONS before it, are never segmented nor compressed). The server then:

* v3/v4: after accepting STARTUP with COMPRESSION=lz4|snappy, sets ``decoder.compression`` and
  ``encoder.compression``; frames with flag 0x01 are then decompressed on the way in.
* v5: the plain decoder pauses right after the STARTUP frame (bytes behind it stay buffered).
  Once the server has written its READY or AUTHENTICATE (unframed -- spec 2.3.1), it calls
  ``switch_to_segments(compressed=COMPRESSION == "lz4")`` on both the decoder and the encoder;
  the decoder returns any frames already buffered behind STARTUP. If the server instead answers
  STARTUP with an ERROR and keeps the connection unframed, it calls ``resume_unframed()``.
  (Cassandra itself switches after whatever answer it wrote to a v5 STARTUP.)

A client uses the same classes with ``requests=False``: its decoder pauses after a v5
READY/AUTHENTICATE, and it switches both directions at that point.

Errors: a ``ProtocolError`` raised by ``feed`` carries in ``err.frames`` every frame decoded
before it in that call, in order. After a NON-fatal error (``err.fatal`` False: the framing is
intact, e.g. an oversized frame or an unknown opcode) the caller answers the error and must call
``feed(b"")`` again -- repeating while it raises -- to collect frames that were buffered behind
the bad one. After a fatal error the connection must be closed.

This module must NOT decode message bodies or perform I/O.
"""

from __future__ import annotations

from collections import deque
from typing import Iterable

from ferrosa.protocol.compression import (
    MAX_DECOMPRESSED_BYTES,
    MIN_COMPRESSED_BYTES,
    compress_body,
    decompress_body,
)
from ferrosa.protocol.constants import FLAG_COMPRESSION, Opcode
from ferrosa.protocol.errors import ProtocolError
from ferrosa.protocol.frame import MAX_FRAME_BYTES, Frame, FrameDecoder, encode_frame
from ferrosa.protocol.segment import SegmentDecoder, encode_segments

_STARTUP = int(Opcode.STARTUP)


class ConnectionDecoder:
    """Bytes from the peer -> ``Frame``s (bodies decompressed, segments reassembled)."""

    __slots__ = ("requests", "compression", "max_frame_bytes", "max_decompressed_bytes",
                 "_plain", "_segments", "_inner", "_pending", "_ready", "_deferred")

    def __init__(self, *, requests: bool = True, version: int | None = None,
                 max_frame_bytes: int = MAX_FRAME_BYTES,
                 max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES) -> None:
        self.requests = requests
        self.compression: str | None = None
        self.max_frame_bytes = max_frame_bytes
        self.max_decompressed_bytes = max_decompressed_bytes
        self._plain = FrameDecoder(max_frame_bytes, requests=requests, version=version,
                                   pause_at_handshake=True)
        self._segments: SegmentDecoder | None = None
        self._inner: FrameDecoder | None = None
        self._pending: deque[bytes] = deque()
        self._ready: list[Frame] = []
        self._deferred: ProtocolError | None = None

    @property
    def version(self) -> int | None:
        """The connection's protocol version (set by the first STARTUP on the server side)."""
        return self._plain.version

    @version.setter
    def version(self, value: int | None) -> None:
        self._plain.version = value
        if self._inner is not None:
            self._inner.version = value

    @property
    def framed(self) -> bool:
        """True once v5 segment framing is active."""
        return self._segments is not None

    @property
    def awaiting_switch(self) -> bool:
        """True while paused after a v5 STARTUP (server) / READY or AUTHENTICATE (client)."""
        return self._plain.paused and self._segments is None

    def switch_to_segments(self, compressed: bool) -> list[Frame]:
        """Start decoding v5 segments; returns the frames found in bytes buffered so far."""
        if self._segments is not None:
            raise ValueError("segment framing is already active")
        leftover = self._plain.take_buffered()
        self._segments = SegmentDecoder(compressed, self.max_frame_bytes)
        self._inner = FrameDecoder(self.max_frame_bytes, requests=self.requests,
                                   version=self._plain.version)
        return self.feed(leftover)

    def resume_unframed(self) -> list[Frame]:
        """Stay in plain-frame mode after a v5 handshake pause (STARTUP was refused)."""
        self._plain.paused = False
        return self.feed(b"")

    def feed(self, data: bytes | bytearray | memoryview = b"") -> list[Frame]:
        out = self._ready
        self._ready = []
        try:
            deferred = self._deferred
            if deferred is not None:
                self._deferred = None
                raise deferred
            if self._segments is None:
                self._feed_plain(data, out)
            else:
                self._feed_segments(data, out)
        except ProtocolError as err:
            err.frames = out
            raise
        return out

    # --- plain frames (v3/v4, and v5 before the switch) -------------------------------------

    def _feed_plain(self, data: bytes | bytearray | memoryview, out: list[Frame]) -> None:
        try:
            frames = self._plain.feed(data)
        except ProtocolError as err:
            try:
                self._inflate_into(err.frames, out)
            except ProtocolError:
                self._deferred = err
                raise
            raise
        self._inflate_into(frames, out)

    def _inflate_into(self, frames: list[Frame], out: list[Frame]) -> None:
        if self.compression is None:
            # One look per frame, and the frames handed on in one extend: up to the first that
            # claims compression, which is refused with the rest kept for the next call.
            for i, frame in enumerate(frames):
                if frame.flags & FLAG_COMPRESSION and frame.version < 5:
                    out += frames[:i]
                    self._ready.extend(frames[i + 1:])
                    raise ProtocolError("Received a compressed frame but no compression was negotiated",
                                        stream=frame.stream, fatal=False)
            out += frames
            return
        for i, frame in enumerate(frames):
            if frame.flags & FLAG_COMPRESSION and frame.version < 5:
                try:
                    body = decompress_body(self.compression, frame.body, self.max_decompressed_bytes)
                except ProtocolError as err:
                    self._ready.extend(frames[i + 1:])
                    err.stream = frame.stream
                    err.fatal = False
                    raise
                frame = Frame(frame.version, frame.flags & ~FLAG_COMPRESSION, frame.stream,
                              frame.opcode, body)
            out.append(frame)

    # --- v5 segments ----------------------------------------------------------------------

    def _feed_segments(self, data: bytes | bytearray | memoryview, out: list[Frame]) -> None:
        assert self._segments is not None and self._inner is not None
        pending = self._pending
        # The segment decoder takes the usual envelopes itself while nothing waits for the
        # inner decoder's rules; the payloads it returns follow those frames, in order.
        rules = None if pending else self._inner.envelope_rules()
        try:
            payloads = self._segments.feed(data, out, rules)
        except ProtocolError as err:
            pending.extend(err.frames)
            err.frames = []
            try:
                self._drain(out)
            except ProtocolError:
                self._deferred = err
                raise
            raise
        if payloads:
            pending.extend(payloads)
        if pending or rules is None:
            self._drain(out)

    def _drain(self, out: list[Frame]) -> None:
        """Feed the pending payloads to the inner decoder, by its full rules."""
        inner = self._inner
        assert inner is not None
        pending = self._pending
        while True:
            if not inner.at_boundary():
                # resume a payload whose decoding stopped at a non-fatal error
                self._inner_feed(b"", out)
                if not inner.at_boundary():
                    raise ProtocolError("Segment payload ends inside an envelope")
            if not pending:
                return
            self._inner_feed(pending.popleft(), out)
            if not inner.at_boundary():
                raise ProtocolError("Segment payload ends inside an envelope")

    def _inner_feed(self, payload: bytes, out: list[Frame]) -> None:
        assert self._inner is not None
        try:
            out.extend(self._inner.feed(payload))
        except ProtocolError as err:
            out.extend(err.frames)
            raise


class ConnectionEncoder:
    """``Frame``s -> bytes for the peer (direction bit, v3/v4 compression, v5 segments)."""

    __slots__ = ("response", "compression", "framed", "_segments")

    def __init__(self, *, response: bool = True) -> None:
        self.response = response
        self.compression: str | None = None
        # v5 segments? An attribute, not a property: read for every response (a call saved).
        self.framed = False
        self._segments = False  # when framed: are the segments compressed?

    def switch_to_segments(self, compressed: bool) -> None:
        self.framed = True
        self._segments = compressed

    def encode_one(self, version: int, stream: int, opcode: int, body: bytes, flags: int = 0) -> bytes:
        if self.framed:
            return encode_segments(encode_frame(version, stream, opcode, body, flags,
                                                response=self.response), self._segments)
        if (self.compression is not None and len(body) >= MIN_COMPRESSED_BYTES and version < 5
                and not (opcode == _STARTUP and not self.response)):
            body = compress_body(self.compression, body)
            flags |= FLAG_COMPRESSION
        return encode_frame(version, stream, opcode, body, flags, response=self.response)

    def segments(self, envelopes: list[bytes]) -> bytes:
        """v5: encoded envelopes (frames) put in shared self-contained segments."""
        return encode_segments(envelopes, self._segments)

    def encode(self, frames: Iterable[Frame]) -> bytes:
        """Encode several frames at once; in v5 they share self-contained segments."""
        response = self.response
        if self.framed:
            return encode_segments(
                [encode_frame(f.version, f.stream, f.opcode, f.body, f.flags, response=response)
                 for f in frames], self._segments)
        one = self.encode_one
        return b"".join([one(f.version, f.stream, f.opcode, f.body, f.flags) for f in frames])
