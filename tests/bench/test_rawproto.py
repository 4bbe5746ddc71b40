"""The raw generator's protocol codec: golden request bodies (native_protocol_v4.spec, written
out by hand below), reply parsing, compression, and "parses or raises RawProtocolError"."""

from __future__ import annotations

import struct

import cramjam
import lz4.block
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import rawproto as P

BLOB, INT = 0x0003, 0x0009


def _string(text: str) -> bytes:
    return struct.pack(">H", len(text)) + text.encode()


def _prepared_body(query_id: bytes, binds: list[tuple[str, bytes]], version: int = 4,
                   result_columns: int = 0, metadata_id: bytes = b"") -> bytes:
    """A Prepared result: global table spec, one pk index (v4), the binds' types; v5 has the
    result metadata id after the query id."""
    body = struct.pack(">i", P.PREPARED) + struct.pack(">H", len(query_id)) + query_id
    if version >= 5:
        body += struct.pack(">H", len(metadata_id)) + metadata_id
    body += struct.pack(">ii", P.GLOBAL_TABLES_SPEC, len(binds))
    if version >= 4:
        body += struct.pack(">ih", 1, 0)
    body += _string("ks") + _string("t")
    for name, option in binds:
        body += _string(name) + option
    flags = P.GLOBAL_TABLES_SPEC if result_columns else P.NO_METADATA
    body += struct.pack(">ii", flags, result_columns)
    if result_columns:
        body += _string("ks") + _string("t")
        body += b"".join(_string(f"c{i}") + struct.pack(">H", BLOB) for i in range(result_columns))
    return body


def _reply(opcode: int, body: bytes, stream: int = 0, flags: int = 0, version: int = 4) -> bytes:
    return P.HEADER.pack(version | P.RESPONSE_BIT, flags, stream, opcode, len(body)) + body


STMT = P.prepared("INSERT", P.RESULT, _prepared_body(
    b"\xab\xcd", [("k", struct.pack(">H", BLOB)), ("v", struct.pack(">H", INT))]), 4)


def test_execute_body_golden() -> None:
    body = P.execute_body(STMT, (b"xy", 7), P.CONSISTENCY["LOCAL_QUORUM"], 42)
    assert body == (b"\x00\x02\xab\xcd"  # [short bytes] id
                    b"\x00\x06"  # LOCAL_QUORUM
                    b"\x25"  # values | page size | default timestamp
                    b"\x00\x02" b"\x00\x00\x00\x02xy" b"\x00\x00\x00\x04\x00\x00\x00\x07"
                    b"\x00\x00\x13\x88"  # page size 5000
                    b"\x00\x00\x00\x00\x00\x00\x00\x2a")  # timestamp 42


def test_reads_skip_metadata_and_nulls_are_minus_one() -> None:
    select = P.prepared("SELECT", P.RESULT, _prepared_body(
        b"\x01", [("k", struct.pack(">H", BLOB))], result_columns=2), 4)
    assert select.returns_rows and not STMT.returns_rows
    body = P.execute_body(select, (None,), P.CONSISTENCY["ONE"], 1)
    assert body[5] == P.VALUES | P.SKIP_METADATA | P.PAGE_SIZE | P.DEFAULT_TIMESTAMP
    assert body[6:12] == b"\x00\x01\xff\xff\xff\xff"


def test_batch_body_golden() -> None:
    body = P.batch_body(STMT, [(b"a", 1), (b"b", 2)], P.CONSISTENCY["ONE"], 5)
    member = b"\x01\x00\x02\xab\xcd\x00\x02\x00\x00\x00\x01%s\x00\x00\x00\x04\x00\x00\x00%s"
    assert body == (b"\x01\x00\x02" + member % (b"a", b"\x01") + member % (b"b", b"\x02")
                    + b"\x00\x01\x20" + b"\x00\x00\x00\x00\x00\x00\x00\x05")


def test_values_are_checked_against_the_prepared_types() -> None:
    with pytest.raises(P.RawProtocolError, match="takes 2 values, got 1"):
        P.execute_body(STMT, (b"x",), 1, 0)
    with pytest.raises(P.RawProtocolError, match="cannot bind type option 0x0020"):
        P.prepared("Q", P.RESULT, _prepared_body(b"\x01", [("l", b"\x00\x20\x00\x09")]), 4)


def test_v3_prepared_has_no_pk_indexes() -> None:
    stmt = P.prepared("Q", P.RESULT, _prepared_body(b"\x09", [("k", b"\x00\x09")], version=3), 3)
    assert stmt.encoders == [P.ENCODERS[INT]]


def test_prepare_error_names_the_query() -> None:
    body = struct.pack(">i", 0x2200) + _string("unconfigured table t")
    with pytest.raises(P.RawProtocolError, match="PREPARE 'SELECT 1'.*unconfigured table t"):
        P.prepared("SELECT 1", P.ERROR, body, 4)


def test_frame_header_golden_and_other_versions_refused() -> None:
    codec = P.FrameCodec(4)
    assert codec.frame(3, P.EXECUTE, b"abc") == b"\x04\x00\x00\x03\x0a\x00\x00\x00\x03abc"
    with pytest.raises(P.RawProtocolError, match="not v6"):
        P.FrameCodec(6)
    with pytest.raises(P.RawProtocolError, match="lz4 only, not snappy"):
        P.FrameCodec(5, "snappy")


V5_STMT = P.prepared("INSERT", P.RESULT, _prepared_body(
    b"\xab\xcd", [("k", struct.pack(">H", BLOB))], version=5, metadata_id=b"\x0f\x0e"), 5)


def test_v5_execute_names_the_result_metadata_and_sends_int_flags() -> None:
    body = P.execute_body(V5_STMT, (b"xy",), P.CONSISTENCY["ONE"], 42)
    assert body == (b"\x00\x02\xab\xcd"  # [short bytes] id
                    b"\x00\x02\x0f\x0e"  # [short bytes] result metadata id
                    b"\x00\x01"  # ONE
                    b"\x00\x00\x00\x25"  # [int] flags: values | page size | default timestamp
                    b"\x00\x01" b"\x00\x00\x00\x02xy"
                    b"\x00\x00\x13\x88" b"\x00\x00\x00\x00\x00\x00\x00\x2a")
    batch = P.batch_body(V5_STMT, [(b"a",)], P.CONSISTENCY["ONE"], 5)
    assert batch == (b"\x01\x00\x01" b"\x01\x00\x02\xab\xcd\x00\x01\x00\x00\x00\x01a"
                     b"\x00\x01" b"\x00\x00\x00\x20" b"\x00\x00\x00\x00\x00\x00\x00\x05")


def test_v5_crc24_matches_the_spec_vector_and_the_servers() -> None:
    from ferrosa.protocol import segment as server_segment
    assert P.crc24(b"\x64\x00\x02") == 0x91A5F4  # a self-contained 100-byte payload's header
    for data in (b"", b"\x00", b"\xff\xff\xff", bytes(range(5)), b"\x80\x01\x02\x03\xfe"):
        assert P.crc24(data) == server_segment.crc24(data)


@pytest.mark.parametrize("compression", ["none", "lz4"])
def test_v5_requests_decode_with_the_servers_codec(compression: str) -> None:
    from ferrosa.protocol.connection import ConnectionDecoder
    codec = P.FrameCodec(5, compression)
    startup = codec.frame(0, P.STARTUP, P.string_map({"CQL_VERSION": "3.0.0"}))
    codec.start_compressing()
    requests = [codec.frame(i, P.EXECUTE, bytes([i]) * (10 + 50 * i)) for i in range(4)]
    server = ConnectionDecoder()
    assert [f.opcode for f in server.feed(startup)] == [P.STARTUP]
    server.switch_to_segments(compressed=compression == "lz4")
    frames = server.feed(b"".join(requests))
    assert [(f.version, f.stream, f.body) for f in frames] == [
        (5, i, bytes([i]) * (10 + 50 * i)) for i in range(4)]


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("cut", [1, 5, 7, 9, 30, 131_000, 131_090])
def test_v5_replies_in_shared_and_spanning_segments_split_anywhere(compressed: bool,
                                                                   cut: int) -> None:
    """Replies as the server sends them: several envelopes in one segment, and an envelope
    larger than a segment's payload over several, the bytes cut anywhere."""
    from ferrosa.protocol import segment as server_segment
    void = struct.pack(">i", P.VOID)
    large = _rows(P.NO_METADATA, 1, b"", 30_000)  # 270 KB: three segments
    envelopes = [_reply(P.RESULT, void, stream=1, version=5),
                 _reply(P.RESULT, void, stream=2, version=5),
                 _reply(P.RESULT, large, stream=3, version=5)]
    data = (server_segment.encode_segments(envelopes[:2], compressed)
            + server_segment.encode_segments(envelopes[2], compressed))
    codec = P.FrameCodec(5, "lz4" if compressed else "none")
    codec.start_compressing()
    frames = codec.feed(data[:cut]) + codec.feed(data[cut:])
    assert [(s, P.outcome(op, body)) for s, op, body in frames] == [(1, 0), (2, 0), (3, 30_000)]


def test_v5_reply_checksums_are_checked() -> None:
    codec = P.FrameCodec(5)
    codec.start_compressing()
    good = P.segment(_reply(P.RESULT, struct.pack(">i", P.VOID), version=5), False)
    bad_header = bytes([good[0] ^ 1]) + good[1:]
    with pytest.raises(P.RawProtocolError, match="header CRC24"):
        codec.feed(bad_header)
    bad_payload = good[:-5] + bytes([good[-5] ^ 1]) + good[-4:]
    with pytest.raises(P.RawProtocolError, match="payload CRC32"):
        _v5_codec().feed(bad_payload)


def _v5_codec(compression: str = "none") -> P.FrameCodec:
    codec = P.FrameCodec(5, compression)
    codec.start_compressing()
    return codec


@pytest.mark.parametrize("cut", range(1, 30))
def test_feed_reassembles_frames_split_anywhere(cut: int) -> None:
    data = _reply(P.RESULT, struct.pack(">i", P.VOID), stream=1) + _reply(
        P.ERROR, struct.pack(">i", 0x1000) + _string("down"), stream=2)
    codec = P.FrameCodec(4)
    frames = codec.feed(data[:cut]) + codec.feed(data[cut:])
    assert [(s, op) for s, op, _ in frames] == [(1, P.RESULT), (2, P.ERROR)]
    assert [P.outcome(op, body) for _, op, body in frames] == [0, "error 0x1000: down"]


def _rows(flags: int, columns: int, specs: bytes, count: int, paging: bytes | None = None) -> bytes:
    body = struct.pack(">iii", P.ROWS, flags, columns)
    if paging is not None:
        body += struct.pack(">i", len(paging)) + paging
    return body + specs + struct.pack(">i", count) + b"\x00\x00\x00\x01x" * count * columns


def test_rows_count_skips_a_v5_new_metadata_id() -> None:
    body = struct.pack(">iii", P.ROWS, P.METADATA_CHANGED | P.NO_METADATA, 1)
    body += b"\x00\x02\x0a\x0b" + struct.pack(">i", 3) + b"\x00\x00\x00\x01x" * 3
    assert P.outcome(P.RESULT, body) == 3


def test_rows_count_with_and_without_metadata() -> None:
    assert P.outcome(P.RESULT, _rows(P.NO_METADATA, 3, b"", 7)) == 7
    assert P.outcome(P.RESULT, _rows(P.NO_METADATA | P.HAS_MORE_PAGES, 1, b"", 2, b"st")) == 2
    udt = (b"\x00\x30" + _string("ks") + _string("u") + b"\x00\x02" + _string("a")
           + b"\x00\x21\x00\x0d\x00\x20\x00\x09" + _string("b") + b"\x00\x31\x00\x01\x00\x00"
           + _string("org.Custom"))
    specs = (_string("ks") + _string("t") + _string("c1") + udt
             + _string("ks") + _string("t") + _string("c2") + b"\x00\x22\x00\x03")
    assert P.outcome(P.RESULT, _rows(0, 2, specs, 4)) == 4
    global_specs = _string("ks") + _string("t") + _string("c") + b"\x00\x03"
    assert P.outcome(P.RESULT, _rows(P.GLOBAL_TABLES_SPEC, 1, global_specs, 1)) == 1


def test_warnings_tracing_and_custom_payload_are_skipped() -> None:
    void = struct.pack(">i", P.VOID)
    prefix = (b"\x11" * 16 + b"\x00\x01" + _string("batch too large")
              + b"\x00\x01" + _string("key") + b"\x00\x00\x00\x02ab")
    codec = P.FrameCodec(4)
    flags = P.TRACING | P.WARNING | P.CUSTOM_PAYLOAD
    [(stream, opcode, body)] = codec.feed(_reply(P.RESULT, prefix + void, stream=9, flags=flags))
    assert (stream, P.outcome(opcode, body)) == (9, 0)


@pytest.mark.parametrize("name,compress", [
    ("lz4", lambda b: struct.pack(">i", len(b)) + lz4.block.compress(b, store_size=False)),
    ("snappy", lambda b: bytes(cramjam.snappy.compress_raw(b))),
])
def test_compressed_frames(name: str, compress) -> None:
    codec = P.FrameCodec(4, name)
    body = struct.pack(">i", P.VOID)
    assert codec.frame(0, P.STARTUP, b"{}")[1] == 0  # STARTUP is never compressed
    codec.start_compressing()
    out = codec.frame(1, P.EXECUTE, b"q" * 100)
    assert out[1] == P.COMPRESSED and len(out) < 100
    [(_, _, got)] = codec.feed(_reply(P.RESULT, compress(body), flags=P.COMPRESSED))
    assert got == body


def test_broken_replies_raise_raw_protocol_errors() -> None:
    with pytest.raises(P.RawProtocolError, match="bad reply header"):
        P.FrameCodec(4).feed(_reply(P.RESULT, b"", version=3))
    with pytest.raises(P.RawProtocolError, match="without compression"):
        P.FrameCodec(4).feed(_reply(P.RESULT, b"xx", flags=P.COMPRESSED))
    with pytest.raises(P.RawProtocolError, match="unexpected reply opcode"):
        P.outcome(P.READY, b"")
    with pytest.raises(P.RawProtocolError, match="malformed"):
        P.outcome(P.RESULT, struct.pack(">ii", P.ROWS, 0))


@given(st.binary(max_size=64), st.sampled_from(["none", "lz4", "snappy"]),
       st.sampled_from([P.RESULT, P.ERROR, P.READY]))
def test_feed_and_outcome_parse_or_raise_raw_protocol_error(data: bytes, compression: str,
                                                            opcode: int) -> None:
    codec = P.FrameCodec(4, compression)
    codec.start_compressing()
    frame = P.HEADER.pack(0x84, data[0] if data else 0, 0, opcode, max(0, len(data) - 1))
    try:
        for _, opcode, body in codec.feed(frame + data[1:]):
            assert isinstance(P.outcome(opcode, body), (int, str))
    except P.RawProtocolError:
        pass


@given(st.binary(max_size=80), st.sampled_from(["none", "lz4"]))
def test_v5_feed_parses_or_raises_raw_protocol_error(data: bytes, compression: str) -> None:
    codec = _v5_codec(compression)
    try:
        for _, opcode, body in codec.feed(data):
            try:
                assert isinstance(P.outcome(opcode, body), (int, str))
            except P.RawProtocolError:
                pass
    except P.RawProtocolError:
        pass


def test_prepare_body_has_int_flags_from_v5() -> None:
    assert P.prepare_body("SELECT 1", 4) == b"\x00\x00\x00\x08SELECT 1"
    assert P.prepare_body("SELECT 1", 5) == b"\x00\x00\x00\x08SELECT 1\x00\x00\x00\x00"
