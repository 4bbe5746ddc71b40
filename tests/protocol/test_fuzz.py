"""Hypothesis fuzzing: every decoder either decodes or raises ProtocolError -- nothing else (no
IndexError, struct.error, UnicodeDecodeError, MemoryError, codec errors) and never hangs."""

from __future__ import annotations

import os
from operator import methodcaller

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrosa.protocol import messages as m
from ferrosa.protocol import segment as seg
from ferrosa.protocol.connection import ConnectionDecoder
from ferrosa.protocol.constants import ConsistencyLevel as CL
from ferrosa.protocol.constants import Opcode
from ferrosa.protocol.errors import ProtocolError
from ferrosa.protocol.frame import Frame, FrameDecoder, encode_frame
from ferrosa.protocol.primitives import UNSET, Reader

# FERROSA_FUZZ_EXAMPLES=20000 for a deep run; the default keeps the file fast.
FUZZ = settings(max_examples=int(os.environ.get("FERROSA_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
# Each non-fatal error consumes at least one frame header, so this many retries means "stuck".
MAX_RETRIES = 10_000

REQUEST_OPCODES = sorted(m.REQUEST_DECODERS)
RESPONSE_OPCODES = sorted(m.RESPONSE_DECODERS)
VERSIONS = st.sampled_from([3, 4, 5])


def _sample_requests(version: int) -> list[m.Request]:
    v5 = version >= 5
    params = m.QueryParameters(CL.ONE, [b"\x00\x00\x00\x01", None, UNSET if version >= 4 else None],
                               names=["a", "b", "c"], page_size=5, paging_state=b"p",
                               serial_consistency=CL.LOCAL_SERIAL, timestamp=1,
                               keyspace="ks" if v5 else None, now_in_seconds=2 if v5 else None)
    return [
        m.Startup({"CQL_VERSION": "3.0.0", "COMPRESSION": "lz4"}), m.Options(),
        m.Query("SELECT * FROM t", params, custom_payload={"k": b"v"} if version >= 4 else None),
        m.Prepare("SELECT ?", "ks" if v5 else None),
        m.Execute(b"\x01" * 16, params, b"\x02" * 16 if v5 else None),
        m.Batch(0, [m.BatchStatement("INSERT", [b"x"]), m.BatchStatement(b"\x01" * 16, [None])], CL.ALL,
                timestamp=3),
        m.Register(["SCHEMA_CHANGE"]), m.AuthResponse(b"\x00u\x00p"),
    ]


def _sample_responses(version: int) -> list[m.Response]:
    cols = [m.ColumnSpec("ks", "t", "c", b"\x00\x20\x00\x09"), m.ColumnSpec("ks", "u", "d", b"\x00\x0d")]
    return [
        m.Ready(), m.Authenticate("a.B"), m.Supported({"K": ["v"]}), m.AuthChallenge(b"c"),
        m.Error(0x2200, "bad"), m.Unavailable("u", CL.ONE, 1, 0),
        m.WriteFailure("w", CL.ONE, 0, 1, "SIMPLE", {"1.2.3.4": 1}),
        m.RowsResult(m.ResultMetadata(2, cols, paging_state=b"ps"), [[b"\x00" * 12, b"x"], [None, None]]),
        m.PreparedResult(b"id", cols, [0], m.ResultMetadata(1, cols[:1]), b"r"),
        m.SchemaChangeEvent("CREATED", "FUNCTION", "ks", "f", ["int"]),
        m.StatusChangeEvent("UP", "10.0.0.1", 9042),
    ]


def _feed_all(decoder, data: bytes) -> list[Frame]:
    """Feed, then keep draining after non-fatal errors exactly as a server would."""
    frames: list = []
    try:
        frames.extend(decoder.feed(data))
        return frames
    except ProtocolError as err:
        frames.extend(err.frames)
        if err.fatal:
            return frames
    for _ in range(MAX_RETRIES):
        try:
            frames.extend(decoder.feed(b""))
            return frames
        except ProtocolError as err:
            frames.extend(err.frames)
            if err.fatal:
                return frames
    pytest.fail("decoder made no progress after non-fatal errors")


def _decode_all(frames: list[Frame], requests: bool) -> None:
    decode = m.decode_request if requests else m.decode_response
    for frame in frames:
        try:
            decode(frame)
        except ProtocolError:
            pass


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[i] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFE, 0xFF]))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[i:i + draw(st.integers(1, 8))]
    return bytes(data)


@st.composite
def mutated_request_frames(draw) -> tuple[int, bytes]:
    version = draw(VERSIONS)
    msg = draw(st.sampled_from(_sample_requests(version)))
    valid = m.encode_request(msg, version, draw(st.integers(0, 100)))
    return version, draw(mutated(valid))


@st.composite
def mutated_response_frames(draw) -> tuple[int, bytes]:
    version = draw(VERSIONS)
    msg = draw(st.sampled_from(_sample_responses(version)))
    return version, draw(mutated(m.encode_response(msg, version, draw(st.integers(-1, 100)))))


@FUZZ
@given(st.binary(max_size=300), st.booleans(), st.integers(1, 50))
def test_frame_decoder_random_bytes(data: bytes, requests: bool, chunk: int) -> None:
    dec = FrameDecoder(max_frame_bytes=200, requests=requests)
    frames = []
    for i in range(0, len(data), chunk):
        frames.extend(_feed_all(dec, data[i:i + chunk]))
    _decode_all(frames, requests)


@FUZZ
@given(mutated_request_frames())
def test_mutated_request_frames(case: tuple[int, bytes]) -> None:
    _, data = case
    dec = ConnectionDecoder(max_frame_bytes=4096)
    dec.compression = "lz4"
    _decode_all(_feed_all(dec, data), requests=True)


@FUZZ
@given(mutated_response_frames())
def test_mutated_response_frames(case: tuple[int, bytes]) -> None:
    version, data = case
    dec = ConnectionDecoder(requests=False, version=version)
    _decode_all(_feed_all(dec, data), requests=False)


@FUZZ
@given(VERSIONS, st.sampled_from(REQUEST_OPCODES), st.integers(0, 7), st.binary(max_size=200))
def test_request_decoders_on_random_bodies(version: int, opcode: int, flags: int, body: bytes) -> None:
    try:
        m.decode_request(Frame(version, flags, 1, opcode, body))
    except ProtocolError:
        pass


@FUZZ
@given(VERSIONS, st.sampled_from(RESPONSE_OPCODES), st.integers(0, 15), st.binary(max_size=200))
def test_response_decoders_on_random_bodies(version: int, opcode: int, flags: int, body: bytes) -> None:
    try:
        m.decode_response(Frame(version, flags, 1, opcode, body))
    except ProtocolError:
        pass


@FUZZ
@given(VERSIONS, st.data())
def test_request_decoders_on_mutated_bodies(version: int, data: st.DataObject) -> None:
    msg = data.draw(st.sampled_from(_sample_requests(version)))
    opcode, flags, body = m.encode_request_body(msg, version)
    try:
        m.decode_request(Frame(version, flags, 1, opcode, data.draw(mutated(body))))
    except ProtocolError:
        pass


@FUZZ
@given(st.binary(max_size=300), st.booleans())
def test_segment_decoder_random_bytes(data: bytes, compressed: bool) -> None:
    try:
        seg.SegmentDecoder(compressed).feed(data)
    except ProtocolError:
        pass


@st.composite
def segment_streams(draw) -> tuple[bool, bytes]:
    """Segments with valid CRCs around arbitrary payloads, flags and (fake) lengths, so the
    fuzzing reaches reassembly, LZ4 and the envelope parser behind the checksums."""
    compressed = draw(st.booleans())
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        payload = draw(st.one_of(
            st.binary(max_size=64),
            st.builds(lambda v, b: encode_frame(5, 1, Opcode.QUERY, b, response=False), VERSIONS,
                      st.binary(max_size=40))))
        self_contained = draw(st.booleans())
        if compressed and draw(st.booleans()):
            fake_uncompressed = draw(st.integers(1, seg.MAX_SEGMENT_PAYLOAD))
            fields = len(payload) | fake_uncompressed << 17 | int(self_contained) << 34
            head = fields.to_bytes(5, "little")
            parts.append(head + seg.crc24(head).to_bytes(3, "little") + payload
                         + seg.crc32(payload).to_bytes(4, "little"))
        else:
            parts.append(seg.encode_segment(payload, self_contained, compressed))
    return compressed, draw(st.sampled_from([b"", b"\x00"])).join(parts)


@FUZZ
@given(segment_streams(), st.integers(1, 64))
def test_connection_decoder_segments(case: tuple[bool, bytes], chunk: int) -> None:
    compressed, data = case
    startup = m.encode_request(m.Startup({"CQL_VERSION": "3.0.0"}), 5, 0)
    dec = ConnectionDecoder(max_frame_bytes=1000)
    dec.feed(startup)
    dec.switch_to_segments(compressed)
    frames = []
    for i in range(0, len(data), chunk):
        frames.extend(_feed_all(dec, data[i:i + chunk]))
    _decode_all(frames, requests=True)


# Each reader operation without arguments, and those that take the protocol version.
READER_OPS = {name: methodcaller(name) for name in dir(Reader) if name.startswith("read_")
              and name not in ("read_raw", "read_values", "read_named_values", "read_query_head")}
READER_OPS.update({f"read_query_head v{v}": methodcaller("read_query_head", v) for v in (3, 4, 5)})


@FUZZ
@given(st.binary(max_size=100), st.lists(st.sampled_from(sorted(READER_OPS)), max_size=10))
def test_reader_operations_on_random_bytes(data: bytes, ops: list[str]) -> None:
    r = Reader(data)
    for op in ops:
        try:
            READER_OPS[op](r)
        except ProtocolError:
            return
        assert 0 <= r.pos <= r.end
