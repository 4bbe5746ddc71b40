"""v5 segments: CRC24/CRC32 vectors, cross-checks with python-driver's SegmentCodec, reassembly,
and the v5 switch in ConnectionDecoder."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from cassandra.connection import lz4_compress, lz4_decompress
from cassandra.segment import SegmentCodec, compute_crc24
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.protocol import segment as seg
from ferrosa.protocol.connection import ConnectionDecoder, ConnectionEncoder
from ferrosa.protocol.constants import Opcode
from ferrosa.protocol.errors import ChecksumError, FrameTooLargeError, ProtocolError
from ferrosa.protocol.frame import Frame, FrameDecoder, encode_frame

MAX = seg.MAX_SEGMENT_PAYLOAD


def _bitwise_crc24(data: bytes) -> int:
    """Straight from the spec/Crc.java description, independent of the table implementation."""
    crc = 0x875060
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1974F0B
    return crc


def _envelope(stream: int, body: bytes, opcode: int = Opcode.QUERY, response: bool = False) -> bytes:
    return encode_frame(5, stream, opcode, body, response=response)


def _driver_segments(payload: bytes, compressed: bool) -> bytes:
    codec = SegmentCodec(lz4_compress, lz4_decompress) if compressed else SegmentCodec()
    buf = io.BytesIO()
    codec.encode(buf, payload)
    return buf.getvalue()


def _driver_decode_all(data: bytes, compressed: bool) -> list[tuple[bytes, bool]]:
    codec = SegmentCodec(lz4_compress, lz4_decompress) if compressed else SegmentCodec()
    buf = io.BytesIO(data)
    out = []
    while buf.tell() < len(data):
        header = codec.decode_header(buf)
        segment = codec.decode(buf, header)
        out.append((segment.payload, segment.is_self_contained))
    return out


def test_crc24_vectors() -> None:
    # Header of a self-contained 100-byte uncompressed segment: 100 | 1 << 17, 3 bytes LE.
    header = (100 | 1 << 17).to_bytes(3, "little")
    assert header == b"\x64\x00\x02"
    assert seg.crc24(header) == _bitwise_crc24(header) == compute_crc24(100 | 1 << 17, 3) == 0x91A5F4
    assert seg.crc24(b"") == 0x875060
    for data in (b"\x00", b"\xff\xff\xff", os.urandom(5), os.urandom(8)):
        assert seg.crc24(data) == _bitwise_crc24(data) == compute_crc24(int.from_bytes(data, "little"), len(data))


@pytest.mark.parametrize("size", [3, 5])
def test_crc24_of_fields_is_the_crc24_of_every_single_byte_at_every_position(size: int) -> None:
    """The per-position tables against the bit-serial CRC, for each byte value alone at each
    position, and for the all-ones header."""
    for position in range(size):
        for byte in range(256):
            fields = byte << (8 * position)
            data = fields.to_bytes(size, "little")
            assert seg.crc24_of_fields(fields, size) == _bitwise_crc24(data), (position, byte)
    ones = (1 << (8 * size)) - 1
    assert seg.crc24_of_fields(ones, size) == _bitwise_crc24(ones.to_bytes(size, "little"))


@given(size=st.sampled_from([3, 5]), data=st.data())
def test_crc24_of_fields_matches_the_driver_and_the_bitwise_crc(size: int, data) -> None:
    fields = data.draw(st.integers(0, (1 << (8 * size)) - 1))
    expected = _bitwise_crc24(fields.to_bytes(size, "little"))
    assert seg.crc24_of_fields(fields, size) == expected == compute_crc24(fields, size)


def test_crc32_is_seeded_with_fa2d55ca() -> None:
    assert seg.crc32(b"") == zlib.crc32(b"\xfa\x2d\x55\xca")
    assert seg.crc32(b"abc") == zlib.crc32(b"\xfa\x2d\x55\xcaabc")


def test_golden_segment_bytes() -> None:
    # payload 01 02 03, self-contained: fields 3 | 1 << 17 = 03 00 02 (LE), CRC24 42 96 7c (LE),
    # payload, CRC32 d7 bb ae a5 (LE). Compressed: 5-byte fields 03 00 00 00 04 (length 3,
    # uncompressed length 0 = "not compressed", self-contained bit 34), CRC24 77 22 83.
    assert seg.encode_segment(b"\x01\x02\x03", True, False) == bytes.fromhex("03000242967c010203d7bbaea5")
    assert seg.encode_segment(b"\x01\x02\x03", True, True) == bytes.fromhex("0300000004772283010203d7bbaea5")


def test_golden_uncompressed_segment() -> None:
    payload = b"\x01\x02\x03"
    raw = seg.encode_segment(payload, True, compressed=False)
    head = (3 | 1 << 17).to_bytes(3, "little")
    crc = _bitwise_crc24(head).to_bytes(3, "little")
    assert raw == head + crc + payload + zlib.crc32(payload, zlib.crc32(b"\xfa\x2d\x55\xca")).to_bytes(4, "little")
    assert seg.SegmentDecoder(False).feed(raw) == [payload]


def test_incompressible_payload_is_sent_raw_with_uncompressed_length_zero() -> None:
    payload = os.urandom(64)
    raw = seg.encode_segment(payload, True, compressed=True)
    fields = int.from_bytes(raw[:5], "little")
    assert fields & 0x1FFFF == 64 and (fields >> 17) & 0x1FFFF == 0 and fields >> 34 & 1
    assert raw[8:72] == payload
    compressible = b"a" * 1000
    fields = int.from_bytes(seg.encode_segment(compressible, True, True)[:5], "little")
    assert fields & 0x1FFFF < 1000 and (fields >> 17) & 0x1FFFF == 1000


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("size", [9, 1000, MAX, MAX + 1, 3 * MAX + 17])
def test_driver_segments_decode_with_ours(compressed: bool, size: int) -> None:
    envelope = _envelope(1, (b"xyz" * size)[:size - 9])
    raw = _driver_segments(envelope, compressed)
    dec = seg.SegmentDecoder(compressed)
    assert dec.feed(raw) == [envelope]
    assert dec.buffered == 0


def test_payload_under_the_threshold_is_sent_raw_and_the_driver_reads_it() -> None:
    from ferrosa.protocol.compression import MIN_COMPRESSED_BYTES
    void = _envelope(1, b"\x00\x00\x00\x01", Opcode.RESULT, response=True)
    raw = seg.encode_segment(b"a" * (MIN_COMPRESSED_BYTES - 1), True, compressed=True)
    fields = int.from_bytes(raw[:5], "little")
    assert (fields >> 17) & 0x1FFFF == 0  # compressible, but too short to be worth it
    assert _driver_decode_all(seg.encode_segments([void], True), True) == [(void, True)]


@pytest.mark.parametrize("compressed", [False, True])
def test_our_segments_decode_with_the_driver(compressed: bool) -> None:
    small = [_envelope(i, b"s" * 50, response=True) for i in range(3)]
    large = _envelope(9, os.urandom(2 * MAX + 5), response=True)
    decoded = _driver_decode_all(seg.encode_segments(small + [large], compressed), compressed)
    assert decoded[0] == (b"".join(small), True)  # several envelopes share one segment
    assert all(not sc for _, sc in decoded[1:]) and len(decoded) == 4
    assert b"".join(p for p, _ in decoded[1:]) == large


def test_packing_starts_a_new_segment_when_full() -> None:
    envelopes = [_envelope(i, b"p" * 40000) for i in range(5)]
    payloads = seg.SegmentDecoder(False).feed(seg.encode_segments(envelopes, False))
    assert len(payloads) == 2  # 3 x 40009 bytes fit in 131071, the next two in a second one
    assert b"".join(payloads) == b"".join(envelopes)


@pytest.mark.parametrize("compressed", [False, True])
def test_byte_by_byte_feeding_reassembles(compressed: bool) -> None:
    envelope = _envelope(4, os.urandom(MAX + 100))
    raw = seg.encode_segments([_envelope(1, b"a"), envelope, _envelope(2, b"b")], compressed)
    dec = seg.SegmentDecoder(compressed)
    out: list[bytes] = []
    step = 997
    for i in range(0, len(raw), step):
        out.extend(dec.feed(raw[i:i + step]))
    assert out == [_envelope(1, b"a"), envelope, _envelope(2, b"b")]


def test_header_and_payload_crc_mismatch_are_fatal() -> None:
    raw = bytearray(seg.encode_segment(b"hello", True, False))
    raw[0] ^= 0x01
    with pytest.raises(ChecksumError, match="CRC24") as info:
        seg.SegmentDecoder(False).feed(bytes(raw))
    assert info.value.fatal
    raw = bytearray(seg.encode_segment(b"hello", True, False))
    raw[7] ^= 0x01  # the payload's second byte
    dec = seg.SegmentDecoder(False)
    good = seg.crc32(b"hello")
    with pytest.raises(ChecksumError, match=f"read {good:#010x}, computed {seg.crc32(b'hdllo'):#010x}"):
        dec.feed(bytes(raw))
    with pytest.raises(ProtocolError, match="unusable"):
        dec.feed(b"")
    raw = bytearray(seg.encode_segment(b"hello", True, False))
    raw[-1] ^= 0x80  # the trailer itself
    with pytest.raises(ChecksumError, match=f"read {good ^ 0x80000000:#010x}, computed {good:#010x}"):
        seg.SegmentDecoder(False).feed(bytes(raw))


@pytest.mark.parametrize("compressed", [False, True])
def test_a_feed_with_rules_takes_the_usual_envelopes_and_returns_the_rest_in_order(
        compressed: bool) -> None:
    body = b"abc" * 100  # long enough for LZ4 to compress (MIN_COMPRESSED_BYTES)
    query = encode_frame(5, 1, Opcode.QUERY, body, response=False)
    unknown = bytes.fromhex("0500000211") + (2).to_bytes(4, "big") + b"zz"
    data = b"".join(seg.encode_segment(p, True, compressed)
                    for p in (query + query, query + unknown + query, query))
    rules = FrameDecoder(version=5).envelope_rules()
    frames: list = []
    assert seg.SegmentDecoder(compressed).feed(data, frames, rules) == [unknown + query, query]
    assert [f.body for f in frames] == [body] * 3
    if compressed:
        assert len(data) < 3 * len(query)
    # without rules, every payload is returned as it came
    assert seg.SegmentDecoder(compressed).feed(data) == [
        query + query, query + unknown + query, query]


@pytest.mark.parametrize("compressed", [False, True])
def test_damaged_length_is_refused_without_waiting_for_its_bytes(compressed: bool) -> None:
    # The header's CRC24 is checked before its length is trusted: a flipped length bit that
    # asks for 64 KiB more must not leave the decoder waiting for them.
    raw = bytearray(seg.encode_segment(b"hello", True, compressed))
    raw[2] ^= 0x01  # bit 16 of the (compressed) length
    with pytest.raises(ChecksumError, match="CRC24"):
        seg.SegmentDecoder(compressed).feed(bytes(raw))
    dec = seg.SegmentDecoder(compressed)
    for byte in bytes(raw[:-1]):  # fed a byte at a time, refused once the header is in
        try:
            dec.feed(bytes([byte]))
        except ChecksumError:
            break
    else:
        raise AssertionError("a damaged header was not refused")


def test_self_contained_segment_inside_a_large_envelope_is_rejected() -> None:
    large = seg.encode_segments(_envelope(1, b"z" * (MAX + 10)), False)
    dec = seg.SegmentDecoder(False)
    first_segment_len = seg.UNCOMPRESSED_HEADER_SIZE + MAX + seg.TRAILER_SIZE
    assert dec.feed(large[:first_segment_len]) == []
    with pytest.raises(ProtocolError, match="incomplete"):
        dec.feed(seg.encode_segment(b"x", True, False))


def test_large_envelope_over_the_limit_is_skipped() -> None:
    big = _envelope(7, b"q" * (3 * MAX))
    dec = seg.SegmentDecoder(False, max_envelope_bytes=MAX)
    with pytest.raises(FrameTooLargeError) as info:
        dec.feed(seg.encode_segments(big, False) + seg.encode_segments(_envelope(8, b"ok"), False))
    assert info.value.stream == 7 and not info.value.fatal
    assert dec.feed() == [_envelope(8, b"ok")]


def test_self_contained_segment_inside_a_skipped_large_envelope_is_rejected() -> None:
    big = seg.encode_segments(_envelope(7, b"q" * (3 * MAX)), False)
    first_segment_len = seg.UNCOMPRESSED_HEADER_SIZE + MAX + seg.TRAILER_SIZE
    dec = seg.SegmentDecoder(False, max_envelope_bytes=MAX)
    with pytest.raises(FrameTooLargeError):
        dec.feed(big[:first_segment_len])
    with pytest.raises(ProtocolError, match="inside a skipped multi-segment envelope"):
        dec.feed(seg.encode_segment(_envelope(8, b"ok"), True, False))


def test_overlong_multi_segment_envelope_is_rejected() -> None:
    envelope = _envelope(1, b"a" * 10)
    with pytest.raises(ProtocolError, match="more bytes"):
        seg.SegmentDecoder(False).feed(seg.encode_segment(envelope + b"extra", False, False))


# --- ConnectionDecoder / ConnectionEncoder in v5 -----------------------------------------------

STARTUP_V5 = encode_frame(5, 0, Opcode.STARTUP, b"\x00\x01\x00\x0bCQL_VERSION\x00\x053.0.0", response=False)


@pytest.mark.parametrize("compressed", [False, True])
def test_server_switches_to_segments_after_startup(compressed: bool) -> None:
    query = _envelope(3, b"\x00\x00\x00\x01Q\x00\x01\x00")
    dec = ConnectionDecoder()
    # A pipelining client may send segments right behind STARTUP: they must wait for the switch.
    frames = dec.feed(STARTUP_V5 + seg.encode_segments([query, query], compressed))
    assert [f.opcode for f in frames] == [Opcode.STARTUP]
    assert dec.awaiting_switch and dec.version == 5
    assert dec.feed(b"") == []
    later = dec.switch_to_segments(compressed)
    assert [f.stream for f in later] == [3, 3] and dec.framed
    big = _envelope(4, b"b" * (2 * MAX))
    assert [len(f.body) for f in dec.feed(seg.encode_segments(big, compressed))] == [2 * MAX]


def test_envelope_cut_inside_a_self_contained_segment_is_fatal() -> None:
    dec = ConnectionDecoder()
    dec.feed(STARTUP_V5)
    dec.switch_to_segments(False)
    with pytest.raises(ProtocolError, match="ends inside an envelope") as info:
        dec.feed(seg.encode_segment(_envelope(1, b"abc")[:-1], True, False))
    assert info.value.fatal


def test_non_fatal_envelope_error_inside_a_segment_then_continue() -> None:
    dec = ConnectionDecoder()
    dec.feed(STARTUP_V5)
    dec.switch_to_segments(False)
    bad = encode_frame(4, 2, Opcode.QUERY, b"v4!", response=False)  # wrong version on a v5 connection
    payload = _envelope(1, b"a") + bad + _envelope(3, b"c")
    with pytest.raises(ProtocolError, match="Invalid message version") as info:
        dec.feed(seg.encode_segment(payload, True, False))
    assert [f.stream for f in info.value.frames] == [1] and info.value.stream == 2
    assert [f.stream for f in dec.feed()] == [3]


def test_oversized_envelope_in_segment_mode_keeps_neighbours() -> None:
    dec = ConnectionDecoder(max_frame_bytes=MAX)
    dec.feed(STARTUP_V5)
    dec.switch_to_segments(True)
    data = (seg.encode_segments(_envelope(1, b"a"), True)
            + seg.encode_segments(_envelope(2, b"b" * (2 * MAX)), True)
            + seg.encode_segments(_envelope(3, b"c"), True))
    with pytest.raises(FrameTooLargeError) as info:
        dec.feed(data)
    assert info.value.stream == 2 and [f.stream for f in info.value.frames] == [1]
    assert [f.stream for f in dec.feed()] == [3]


@pytest.mark.parametrize("compressed", [False, True])
def test_an_envelope_over_several_segments_keeps_its_place_before_later_small_ones(
        compressed: bool) -> None:
    dec = ConnectionDecoder()
    dec.feed(STARTUP_V5)
    dec.switch_to_segments(compressed)
    large = _envelope(2, os.urandom(seg.MAX_SEGMENT_PAYLOAD + 100))
    data = (seg.encode_segments(_envelope(1, b"a"), compressed)
            + seg.encode_segments(large, compressed)
            + seg.encode_segments([_envelope(3, b"c"), _envelope(4, b"d")], compressed))
    assert [f.stream for f in dec.feed(data)] == [1, 2, 3, 4]


def test_resume_unframed_after_a_refused_v5_startup() -> None:
    dec = ConnectionDecoder()
    dec.feed(STARTUP_V5 + STARTUP_V5)
    assert [f.opcode for f in dec.resume_unframed()] == [Opcode.STARTUP]


@pytest.mark.parametrize("compressed", [False, True])
def test_client_and_server_codecs_talk_v5(compressed: bool) -> None:
    server_in, server_out = ConnectionDecoder(), ConnectionEncoder()
    client_in, client_out = ConnectionDecoder(requests=False, version=5), ConnectionEncoder(response=False)
    assert server_in.feed(client_out.encode_one(5, 0, Opcode.STARTUP, STARTUP_V5[9:]))[0].opcode == Opcode.STARTUP
    ready = server_out.encode_one(5, 0, Opcode.READY, b"")
    server_in.switch_to_segments(compressed)
    server_out.switch_to_segments(compressed)
    # the READY and the first framed response arrive together at the client
    result = server_out.encode([Frame(5, 0, 1, Opcode.RESULT, b"\x00\x00\x00\x01")])
    assert [f.opcode for f in client_in.feed(ready + result)] == [Opcode.READY]
    assert client_in.awaiting_switch
    assert [f.opcode for f in client_in.switch_to_segments(compressed)] == [Opcode.RESULT]
    client_out.switch_to_segments(compressed)
    frames = server_in.feed(client_out.encode([Frame(5, 0, 5, Opcode.OPTIONS, b"")]))
    assert frames == [Frame(5, 0, 5, Opcode.OPTIONS, b"")]


def test_frame_decoder_reads_envelopes_the_driver_framed() -> None:
    payload = _envelope(1, b"x") + _envelope(2, b"y")
    segments = _driver_segments(payload, compressed=True)
    out = []
    for p in seg.SegmentDecoder(True).feed(segments):
        out.extend(FrameDecoder().feed(p))
    assert [f.stream for f in out] == [1, 2]


class _TakesNothing(FrameDecoder):
    """An inner decoder that leaves every payload to its feed, by the rules."""

    __slots__ = ()

    def envelope_rules(self) -> None:
        return None


def _decoded_segments(decoder: ConnectionDecoder, data: bytes, chunk: int) -> list:
    """Each frame, or each error's type, message, stream and fatality, of `data` fed `chunk`
    bytes at a time, each feed followed by empty feeds while it raises non-fatal errors."""
    out: list = []
    for start in range(0, len(data), chunk):
        piece = data[start:start + chunk]
        for _ in range(8):
            try:
                out.extend(decoder.feed(piece))
                break
            except ProtocolError as err:
                out.extend([*err.frames, (type(err), err.message, err.stream, err.fatal)])
                if err.fatal:
                    return out
            piece = b""
    return out


_ENVELOPE_HEADERS = st.tuples(
    st.sampled_from([0x05, 0x04, 0x85, 0x45]),
    st.one_of(st.sampled_from([Opcode.QUERY, Opcode.EXECUTE, Opcode.READY, Opcode.STARTUP]),
              st.integers(0, 0x12)),
    st.sampled_from([0, 1, 30, 41, 60]))


@settings(max_examples=300)
@given(compressed=st.booleans(), chunk=st.integers(1, 80),
       segments=st.lists(st.tuples(st.lists(_ENVELOPE_HEADERS, min_size=0, max_size=4),
                                   st.integers(0, 12), st.sampled_from(["whole", "split"])),
                         min_size=1, max_size=5))
def test_envelopes_taken_in_place_decode_as_fed_ones(compressed: bool, chunk: int,
                                                     segments: list) -> None:
    """The segment decoder takes the usual envelopes of self-contained segments itself;
    every frame and every error (an unknown opcode, a wrong version or direction, an envelope
    over the limit, one cut short, a self-contained segment inside a split one) comes out as
    it does when each payload is fed to the inner decoder by the rules."""
    data = b""
    for headers, cut, kind in segments:
        payload = b"".join(struct.pack(">BBhBi", first, 0, i, opcode, length) + b"x" * length
                           for i, (first, opcode, length) in enumerate(headers))
        payload = payload[:max(len(payload) - cut, 0)]
        if kind == "whole" or len(payload) < 2:
            data += seg.encode_segment(payload, True, compressed)
        else:  # one envelope sequence in two non-self-contained segments
            half = len(payload) // 2
            data += (seg.encode_segment(payload[:half], False, compressed)
                     + seg.encode_segment(payload[half:], False, compressed))
    fast, full = ConnectionDecoder(max_frame_bytes=49), ConnectionDecoder(max_frame_bytes=49)
    for decoder in (fast, full):
        decoder.feed(STARTUP_V5)
        decoder.switch_to_segments(compressed)
    full._inner.__class__ = _TakesNothing
    assert _decoded_segments(fast, data, chunk) == _decoded_segments(full, data, chunk)
