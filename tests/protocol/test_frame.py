"""Frame header decoding, version negotiation (as Cassandra 4/5) and v3/v4 body compression."""

from __future__ import annotations

import struct

import pytest
from cassandra import ProtocolVersion as DriverVersion
from cassandra.connection import lz4_compress, lz4_decompress
from cassandra.protocol import OptionsMessage, ProtocolException, StartupMessage, _ProtocolHandler
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.protocol import compression
from ferrosa.protocol import messages as m
from ferrosa.protocol.connection import ConnectionDecoder, ConnectionEncoder
from ferrosa.protocol.constants import FLAG_COMPRESSION, FLAG_USE_BETA, Opcode
from ferrosa.protocol.errors import (
    ErrorCode,
    FrameTooLargeError,
    ProtocolError,
    ProtocolVersionError,
)
from ferrosa.protocol.frame import (
    MAX_FRAME_BYTES,
    Frame,
    FrameDecoder,
    encode_error_frame,
    encode_frame,
    invalid_version_message,
    plain_void_result,
    protocol_error_frame,
    unsupported_version_frame,
)

# Hand-computed from the spec: STARTUP {"CQL_VERSION": "3.0.0"}, v4, stream 1.
STARTUP_BODY = b"\x00\x01" + b"\x00\x0bCQL_VERSION" + b"\x00\x053.0.0"
STARTUP_V4 = bytes.fromhex("040000010100000016") + STARTUP_BODY
READY_V4 = bytes.fromhex("840000010200000000")
# ERROR PROTOCOL_ERROR "bad", v5, stream 7.
ERROR_V5 = bytes.fromhex("850000070000000009") + b"\x00\x00\x00\x0a" + b"\x00\x03bad"
OPTIONS_V5 = bytes.fromhex("050000020500000000")


def _frames(data: bytes, **kw) -> list[Frame]:
    return FrameDecoder(**kw).feed(data)


def test_golden_frames() -> None:
    assert encode_frame(4, 1, Opcode.STARTUP, STARTUP_BODY, response=False) == STARTUP_V4
    assert encode_frame(4, 1, Opcode.READY, b"") == READY_V4
    assert encode_error_frame(5, 7, ErrorCode.PROTOCOL_ERROR, "bad") == ERROR_V5
    assert _frames(STARTUP_V4) == [Frame(4, 0, 1, Opcode.STARTUP, STARTUP_BODY)]
    assert _frames(READY_V4, requests=False) == [Frame(4, 0, 1, Opcode.READY, b"")]
    assert _frames(ERROR_V5, requests=False)[0].body == b"\x00\x00\x00\x0a\x00\x03bad"


@pytest.mark.parametrize(("version", "stream", "expected"), [
    (4, 1, b"\x84\x00\x00\x01\x08\x00\x00\x00\x04\x00\x00\x00\x01"),
    (3, 32767, b"\x83\x00\x7f\xff\x08\x00\x00\x00\x04\x00\x00\x00\x01"),
    (4, -1, b"\x84\x00\xff\xff\x08\x00\x00\x00\x04\x00\x00\x00\x01"),
])
def test_plain_void_result_is_the_encoders_void_response(version: int, stream: int,
                                                         expected: bytes) -> None:
    """The front's one-pack answer to an acknowledged write: what the general encoder makes."""
    assert plain_void_result(version, stream) == expected
    assert expected == m.encode_response(m.VoidResult(), version, stream)
    decoded = m.decode_response(_frames(expected, requests=False)[0])
    assert isinstance(decoded, m.VoidResult)


def test_golden_matches_python_driver_encoding() -> None:
    driver = _ProtocolHandler.encode_message(
        StartupMessage(cqlversion="3.0.0", options={}), 1, 4, None, False)
    assert driver == STARTUP_V4


def test_partial_input_byte_by_byte_and_many_frames_per_feed() -> None:
    stream = STARTUP_V4 + OPTIONS_V5.replace(b"\x05", b"\x04", 1) * 3
    dec = FrameDecoder()
    got: list[Frame] = []
    for i in range(len(stream)):
        got.extend(dec.feed(stream[i:i + 1]))
    assert [f.opcode for f in got] == [Opcode.STARTUP] + [Opcode.OPTIONS] * 3
    assert dec.buffered == 0 and dec.at_boundary()
    assert [f.opcode for f in FrameDecoder().feed(stream)] == [Opcode.STARTUP] + [Opcode.OPTIONS] * 3


def test_startup_establishes_version_and_options_may_precede_it() -> None:
    dec = FrameDecoder()
    assert dec.feed(OPTIONS_V5)[0].version == 5  # OPTIONS in any version before STARTUP
    assert dec.version is None
    dec.feed(STARTUP_V4)
    assert dec.version == 4
    with pytest.raises(ProtocolError, match="Got 5/v5 but previous messages on this connection had "
                                            "version 4/v4") as info:
        dec.feed(OPTIONS_V5)
    assert info.value.stream == 2 and not info.value.fatal
    assert dec.feed(STARTUP_V4)  # the decoder skipped the bad frame and goes on


def test_a_frame_behind_the_startup_in_the_same_read_meets_the_new_version() -> None:
    """The STARTUP that sets the version may share a socket read with the next frame: that
    frame is held to the version just set, not to the rules before it."""
    dec = FrameDecoder()
    with pytest.raises(ProtocolError, match="Got 5/v5 but previous messages on this connection had "
                                            "version 4/v4") as info:
        dec.feed(STARTUP_V4 + OPTIONS_V5)
    assert [f.opcode for f in info.value.frames] == [Opcode.STARTUP]
    assert dec.version == 4


@pytest.mark.parametrize("requested,answer_version", [
    (1, 1), (2, 2),  # Cassandra answers old versions in their own version ...
    (0, 5), (6, 5), (7, 5), (0x41, 5), (0x42, 5), (0x7F, 5),  # ... others in CURRENT (v5)
])
def test_unsupported_versions_before_a_connection_version(requested: int, answer_version: int) -> None:
    data = bytes([requested]) + STARTUP_V4[1:]
    with pytest.raises(ProtocolVersionError) as info:
        FrameDecoder().feed(data[:1])  # the first byte alone is enough, as in Cassandra
    err = info.value
    assert err.fatal and err.requested_version == requested
    assert err.response_version == answer_version
    assert str(err) == (f"Invalid or unsupported protocol version ({requested}); "
                        "supported versions are (3/v3, 4/v4, 5/v5)")


def test_unsupported_version_after_the_connection_version_is_answered_in_it() -> None:
    dec = FrameDecoder()
    dec.feed(STARTUP_V4)
    with pytest.raises(ProtocolVersionError) as info:
        dec.feed(b"\x07")
    assert info.value.response_version == 4
    with pytest.raises(ProtocolError, match="unusable"):
        dec.feed(STARTUP_V4)  # fatal: the stream cannot be trusted any more


def test_beta_flag_does_not_make_v6_supported() -> None:
    frame = bytes([6, FLAG_USE_BETA]) + STARTUP_V4[2:]
    with pytest.raises(ProtocolVersionError):
        FrameDecoder().feed(frame)
    v5_with_beta = bytes([5, FLAG_USE_BETA]) + STARTUP_V4[2:]
    assert FrameDecoder().feed(v5_with_beta)[0].flags == FLAG_USE_BETA


def test_version_error_frames_are_what_cassandra_writes() -> None:
    v2 = unsupported_version_frame(2)
    # v1/v2 header: version|0x80, flags, 1-byte stream, opcode, length
    assert v2[:4] == b"\x82\x00\x00\x00" and len(v2) == 8 + int.from_bytes(v2[4:8], "big")
    dse = unsupported_version_frame(0x42)
    assert dse[:5] == b"\x85\x00\x00\x00\x00"
    body = dse[9:]
    assert body[:4] == b"\x00\x00\x00\x0a"
    assert body[6:].decode() == invalid_version_message(0x42)
    assert unsupported_version_frame(0x42, connection_version=4)[0] == 0x84


def test_python_driver_steps_down_from_dse_versions_to_v5() -> None:
    """Replay python-driver's negotiation: it tries DSE_V2, DSE_V1, then (skipping beta V6) V5."""
    version = DriverVersion.MAX_SUPPORTED
    for _ in range(5):
        raw = _ProtocolHandler.encode_message(OptionsMessage(), 0, version, None, False)
        try:
            frames = FrameDecoder().feed(raw)
        except ProtocolVersionError as err:
            answer = protocol_error_frame(err, None)
            response_version = answer[0] & 0x7F
            assert response_version in DriverVersion.SUPPORTED_VERSIONS
            msg = _ProtocolHandler.decode_message(response_version, {}, 0, answer[1], answer[4],
                                                  answer[9:], None, None)
            assert isinstance(msg, ProtocolException)
            assert "unsupported protocol version" in msg.message  # what connection.py looks for
            version = DriverVersion.get_lower_supported(version)
            continue
        assert frames[0].version == 5 and frames[0].opcode == Opcode.OPTIONS
        break
    else:
        pytest.fail("driver never reached a supported version")
    assert version == 5


@pytest.mark.parametrize("first,opcode,match", [
    (0x84, Opcode.QUERY, r"Wrong protocol direction \(expected REQUEST, got RESPONSE\) for opcode 7 \(QUERY\)"),
    (0x04, Opcode.READY, r"Wrong protocol direction \(expected RESPONSE, got REQUEST\) for opcode 2"),
    (0x84, Opcode.READY, "Unexpected response message READY sent to the server"),
    (0x04, 0x11, "Unknown opcode 17"),
])
def test_bad_direction_or_opcode_is_skipped(first: int, opcode: int, match: str) -> None:
    bad = bytes([first, 0, 0, 9, opcode, 0, 0, 0, 2]) + b"xy"
    dec = FrameDecoder()
    with pytest.raises(ProtocolError, match=match) as info:
        dec.feed(STARTUP_V4 + bad + STARTUP_V4)
    assert info.value.stream == 9 and not info.value.fatal
    assert [f.opcode for f in info.value.frames] == [Opcode.STARTUP]
    assert [f.opcode for f in dec.feed()] == [Opcode.STARTUP]


def _decoded(decoder: FrameDecoder, data: bytes) -> list:
    """Each frame, or each error's message and fatality, of feeding `data` then the rest."""
    out = []
    for _ in range(4):
        try:
            out.extend(decoder.feed(data))
            return out
        except ProtocolError as err:
            out.extend([*err.frames, (type(err), err.message, err.fatal)])
            if err.fatal:
                return out
        data = b""
    return out


class _RulesOnly(FrameDecoder):
    """A FrameDecoder whose every frame goes through the full rules (no fast set)."""

    __slots__ = ()

    def _set_fast(self) -> None:
        self._fast = frozenset()


@settings(max_examples=400)
@given(requests=st.booleans(), version=st.sampled_from([None, 3, 4, 5]), pause=st.booleans(),
       headers=st.lists(st.tuples(st.sampled_from([4, 5, 0x84, 0x85, 3, 6, 2, 0x86, 0x45]),
                                  st.one_of(st.sampled_from(list(Opcode)), st.integers(0, 0x12)),
                                  st.sampled_from([0, 1, 40, 41, 45, -1])), min_size=1, max_size=5),
       cut=st.integers(0, 12), chunk=st.integers(1, 60))
def test_the_header_fast_check_accepts_what_the_full_rules_accept(
        requests: bool, version: int | None, pause: bool, headers: list[tuple[int, int, int]],
        cut: int, chunk: int) -> None:
    """FrameDecoder takes the usual whole frame after one set lookup of its header; every
    frame decodes, or is refused with the error, as it is when the full rules see it all
    (also when the input ends inside a header, comes in pieces, sets the connection's
    version with a STARTUP, or pauses at a v5 handshake)."""
    data = b"".join(struct.pack(">BBhBi", first, 0, 1, opcode, length) + b"x" * max(length, 0)
                    for first, opcode, length in headers)
    data = data[:len(data) - cut]
    fast = FrameDecoder(40 + 9, requests=requests, version=version, pause_at_handshake=pause)
    full = _RulesOnly(40 + 9, requests=requests, version=version, pause_at_handshake=pause)
    assert fast._fast and not full._fast
    assert _decoded_in_pieces(fast, data, chunk) == _decoded_in_pieces(full, data, chunk)
    assert (fast.version, fast.paused, fast.buffered) == (full.version, full.paused,
                                                          full.buffered)


def _decoded_in_pieces(decoder: FrameDecoder, data: bytes, chunk: int) -> list:
    """Frames and errors of `data` fed `chunk` bytes at a time (then what a pause held back)."""
    out: list = []
    for start in range(0, len(data), chunk):
        out.extend(_decoded(decoder, data[start:start + chunk]))
        if out and type(out[-1]) is tuple and out[-1][2]:
            return out  # fatal
    if decoder.paused:
        decoder.paused = False
        out.append("paused")
        out.extend(_decoded(decoder, b""))
    return out


def test_envelope_rules_are_the_fast_set_and_the_limit_while_nothing_is_buffered() -> None:
    decoder = FrameDecoder(1000, version=5)
    rules = decoder.envelope_rules()
    assert rules is not None and rules.limit == 1000
    assert (0x05 << 8) | Opcode.QUERY in rules.fast
    assert (0x85 << 8) | Opcode.QUERY not in rules.fast  # a response's direction
    assert (0x04 << 8) | Opcode.QUERY not in rules.fast  # not the connection's version


def test_envelope_rules_are_none_while_a_frame_is_buffered_or_skipped() -> None:
    query = encode_frame(5, 1, Opcode.QUERY, b"abc", response=False)
    decoder = FrameDecoder(version=5)
    assert decoder.feed(query[:4]) == []
    assert decoder.envelope_rules() is None
    decoder = FrameDecoder(20, version=5)
    with pytest.raises(FrameTooLargeError):
        decoder.feed(encode_frame(5, 1, Opcode.QUERY, b"x" * 30, response=False)[:15])
    assert decoder.envelope_rules() is None


def test_negative_length_is_fatal() -> None:
    with pytest.raises(ProtocolError, match="body length field: -1") as info:
        FrameDecoder().feed(bytes.fromhex("0400000307ffffffff"))
    assert info.value.fatal


def test_too_large_frame_is_skipped_across_feeds() -> None:
    dec = FrameDecoder(max_frame_bytes=100)
    big = encode_frame(4, 5, Opcode.QUERY, b"q" * 200, response=False)
    with pytest.raises(FrameTooLargeError) as info:
        dec.feed(big[:50])
    err = info.value
    assert err.code == ErrorCode.INVALID and err.stream == 5 and not err.fatal
    assert str(err) == "Request is too big: length 209 exceeds maximum allowed length 100."
    assert dec.feed(big[50:150]) == []
    assert [f.opcode for f in dec.feed(big[150:] + STARTUP_V4)] == [Opcode.STARTUP]


def test_default_limit_is_cassandras_16_mib() -> None:
    assert MAX_FRAME_BYTES == 16 * 1024 * 1024
    header = bytes.fromhex("04000001") + b"\x07" + (MAX_FRAME_BYTES - 9 + 1).to_bytes(4, "big")
    with pytest.raises(FrameTooLargeError):
        FrameDecoder().feed(header)
    header_ok = bytes.fromhex("04000001") + b"\x07" + (MAX_FRAME_BYTES - 9).to_bytes(4, "big")
    assert FrameDecoder().feed(header_ok) == []


def test_pause_at_v5_handshake_keeps_following_bytes() -> None:
    startup_v5 = b"\x05" + STARTUP_V4[1:]
    dec = FrameDecoder(pause_at_handshake=True)
    frames = dec.feed(startup_v5 + b"\x01\x02\x03")
    assert [f.opcode for f in frames] == [Opcode.STARTUP] and dec.paused
    assert dec.take_buffered() == b"\x01\x02\x03"
    v4 = FrameDecoder(pause_at_handshake=True)
    assert len(v4.feed(STARTUP_V4 + STARTUP_V4)) == 2 and not v4.paused


def test_protocol_error_frame_uses_the_error_code_and_stream() -> None:
    err = FrameTooLargeError("too big", stream=12)
    raw = protocol_error_frame(err, 4)
    assert raw[:5] == b"\x84\x00\x00\x0c\x00"
    assert raw[9:13] == b"\x00\x00\x22\x00"


# --- v3/v4 body compression through ConnectionDecoder / ConnectionEncoder -------------------------

def _query_frame(stream: int, body: bytes, flags: int = 0) -> bytes:
    return encode_frame(4, stream, Opcode.QUERY, body, flags, response=False)


@pytest.mark.parametrize("algorithm", ["lz4", "snappy"])
def test_compressed_bodies_are_inflated(algorithm: str) -> None:
    body = b"SELECT * FROM t" * 50
    packed = lz4_compress(body) if algorithm == "lz4" else compression.snappy_compress_body(body)
    dec = ConnectionDecoder()
    dec.feed(STARTUP_V4)
    dec.compression = algorithm
    frames = dec.feed(_query_frame(3, packed, FLAG_COMPRESSION) + _query_frame(4, b"plain"))
    assert frames[0].body == body and frames[0].flags == 0
    assert frames[1].body == b"plain"


def test_corrupt_compressed_body_is_non_fatal_and_keeps_later_frames() -> None:
    dec = ConnectionDecoder()
    dec.feed(STARTUP_V4)
    dec.compression = "lz4"
    good = _query_frame(1, lz4_compress(b"x" * 100), FLAG_COMPRESSION)
    bad = _query_frame(2, b"\x00\x00\x00\x10\xff\xff", FLAG_COMPRESSION)
    with pytest.raises(ProtocolError, match="LZ4") as info:
        dec.feed(good + bad + _query_frame(3, b"after"))
    assert info.value.stream == 2 and not info.value.fatal
    assert [f.stream for f in info.value.frames] == [1]
    assert [f.body for f in dec.feed()] == [b"after"]


def test_compressed_frame_without_negotiation_is_rejected() -> None:
    dec = ConnectionDecoder()
    with pytest.raises(ProtocolError, match="no compression was negotiated"):
        dec.feed(_query_frame(1, lz4_compress(b"abc"), FLAG_COMPRESSION))


def test_decompression_bomb_is_refused() -> None:
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        compression.lz4_decompress_body(b"\x7f\xff\xff\xff" + b"\x00", max_bytes=1 << 20)
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        compression.snappy_decompress_body(compression.snappy_compress_body(b"a" * 5000), max_bytes=100)


@pytest.mark.parametrize("algorithm", ["lz4", "snappy"])
def test_bodies_under_the_threshold_go_uncompressed_and_the_driver_reads_both(
        algorithm: str) -> None:
    """A compressed connection flags compression per frame: a write's 4-byte VOID result, and
    anything under MIN_COMPRESSED_BYTES, goes as is; the Python driver reads both kinds."""
    from cassandra.connection import locally_supported_compressions
    limit = compression.MIN_COMPRESSED_BYTES
    enc = ConnectionEncoder()
    enc.compression = algorithm
    void = b"\x00\x00\x00\x01"

    def set_keyspace(size: int) -> bytes:  # a SET_KEYSPACE result body of `size` bytes
        return b"\x00\x00\x00\x03" + (size - 6).to_bytes(2, "big") + b"k" * (size - 6)
    bodies = [void, set_keyspace(limit - 1), set_keyspace(limit)]
    frames = FrameDecoder(requests=False).feed(
        enc.encode([Frame(4, 0, i, Opcode.RESULT, body) for i, body in enumerate(bodies)]))
    assert [bool(f.flags & FLAG_COMPRESSION) for f in frames] == [False, False, True]
    assert [f.body for f in frames[:2]] == bodies[:2]
    _, decompress = locally_supported_compressions[algorithm]
    for frame, body in zip(frames, bodies):
        message = _ProtocolHandler.decode_message(4, {}, frame.stream, frame.flags,
                                                  frame.opcode, frame.body, decompress, None)
        assert message.stream_id == frame.stream
        if body is void:
            assert message.kind == 1  # RESULT_KIND_VOID
        else:
            assert message.new_keyspace == "k" * (len(body) - 6)


@pytest.mark.parametrize("algorithm", ["lz4", "snappy"])
def test_encoder_compresses_non_empty_response_bodies(algorithm: str) -> None:
    enc = ConnectionEncoder()
    enc.compression = algorithm
    raw = enc.encode([Frame(4, 0, 1, Opcode.RESULT, b"r" * 300), Frame(4, 0, 2, Opcode.READY, b"")])
    frames = FrameDecoder(requests=False).feed(raw)
    assert frames[0].flags & FLAG_COMPRESSION and not frames[1].flags & FLAG_COMPRESSION
    inflated = lz4_decompress(frames[0].body) if algorithm == "lz4" else \
        compression.snappy_decompress_body(frames[0].body)
    assert inflated == b"r" * 300


def test_client_encoder_never_compresses_startup() -> None:
    enc = ConnectionEncoder(response=False)
    enc.compression = "lz4"
    raw = enc.encode_one(4, 0, Opcode.STARTUP, STARTUP_BODY)
    assert raw == STARTUP_V4.replace(b"\x04\x00\x00\x01", b"\x04\x00\x00\x00", 1)
