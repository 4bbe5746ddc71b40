"""BATCH bodies read by a prepared statement's learnt batch layout (batchlayouts) answer
exactly what decode_request answers, or leave the body to it: never another answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.protocol import batchlayouts as bl
from ferrosa.protocol import requests as Q
from ferrosa.protocol.constants import BatchType, ConsistencyLevel, Opcode
from ferrosa.protocol.errors import ProtocolError
from ferrosa.protocol.executelayouts import MAX_LAYOUT_BACKOFF
from ferrosa.protocol.frame import Frame
from ferrosa.protocol.messages import decode_request
from ferrosa.protocol.primitives import UNSET
from tests.protocol.histories import check_back_off, replay

QUERY_ID = bytes(range(16))
OTHER_ID = bytes(range(1, 17))
ONE = ConsistencyLevel.ONE
COMPILED = object()  # what the front compiled the taught batch into: handed back as it is
ROW = [b"key-000001", b"\x00\x00\x00\x07", bytes(34)]


def _body(version: int, rows: list[list], *, ids: list | None = None, **fields) -> bytes:
    """A BATCH body of `rows` (one statement each, of QUERY_ID unless `ids` names them)."""
    fields.setdefault("consistency", ONE)
    fields.setdefault("batch_type", BatchType.UNLOGGED)
    ids = ids or [QUERY_ID] * len(rows)
    out = bytearray()
    Q.encode_batch(Q.Batch(statements=[Q.BatchStatement(i, list(r)) for i, r in zip(ids, rows)],
                           **fields), version, out)
    return bytes(out)


def _request(body: bytes, version: int) -> Q.Batch:
    return decode_request(Frame(version, 0, 1, Opcode.BATCH, body))


def _decoded(body: bytes, version: int) -> tuple:
    """What decode_request reads, as a layout answers it."""
    request = _request(body, version)
    return (COMPILED, request.consistency, [s.values for s in request.statements],
            request.timestamp)


def _teach(state: bl.BatchLayoutState, body: bytes, version: int) -> None:
    """What the front does with a body decode_request read."""
    state.decoded(body, version, _request(body, version), COMPILED)


def _learnt(body: bytes, version: int) -> bl.BatchLayoutState:
    state = bl.BatchLayoutState()
    _teach(state, body, version)
    assert state.layout is not None
    return state


@pytest.mark.parametrize("version", [3, 4, 5])
def test_a_body_of_the_learnt_layout_is_read_as_decode_request_reads_it(version) -> None:
    state = _learnt(_body(version, [ROW] * 3, timestamp=1_700_000_000_000_000), version)
    rows = [[b"key-%06d" % i, i.to_bytes(4, "big"), bytes([i]) * 34] for i in range(3)]
    body = _body(version, rows, timestamp=-5)
    read = state.read(body, version)
    assert read == (COMPILED, ONE, rows, -5)
    assert read == _decoded(body, version)
    assert read[0] is COMPILED and type(read[1]) is ConsistencyLevel


@pytest.mark.parametrize("fields", [
    {},
    {"timestamp": 99},
    {"batch_type": BatchType.LOGGED},
    {"batch_type": BatchType.COUNTER, "timestamp": 1},
    {"consistency": ConsistencyLevel.LOCAL_QUORUM},
])
def test_each_optional_part(fields) -> None:
    for version in (3, 4, 5):
        body = _body(version, [ROW, ROW], **fields)
        assert _learnt(body, version).read(body, version) == _decoded(body, version)


@pytest.mark.parametrize("rows", [[ROW] * 2, [[b"k"]] * 3])
@pytest.mark.parametrize("timestamp", [None, 77])
def test_v5_s_keyspace_is_a_fixed_field(timestamp, rows) -> None:
    """The Python driver names its first statement's keyspace in every v5 BATCH."""
    body = _body(5, rows, keyspace="ks1", timestamp=timestamp)
    state = _learnt(body, 5)
    assert state.read(body, 5) == _decoded(body, 5)
    assert _request(body, 5).keyspace == "ks1"
    assert state.read(_body(5, rows, keyspace="ks2", timestamp=timestamp), 5) is None
    assert state.layout is None


def test_one_statement_of_one_value() -> None:
    body = _body(4, [[b"k"]])
    assert _learnt(body, 4).read(body, 4) == (COMPILED, ONE, [[b"k"]], None)


@pytest.mark.parametrize("change", [
    {"rows": [[b"longer-key-0", *ROW[1:]], ROW]},  # a value of another length
    {"rows": [ROW, [*ROW[:2], bytes(35)]]},  # the last value's length
    {"rows": [ROW, ROW, ROW]},  # another statement count
    {"rows": [ROW]},
    {"ids": [QUERY_ID, OTHER_ID]},  # another statement in the batch
    {"ids": [OTHER_ID, OTHER_ID]},
    {"consistency": ConsistencyLevel.QUORUM},
    {"batch_type": BatchType.LOGGED},
    {"timestamp": None},
])
def test_a_body_of_another_layout_misses_and_backs_off(change) -> None:
    base = {"rows": [ROW, ROW], "timestamp": 3}
    state = _learnt(_body(4, **base), 4)
    merged = {**base, **change}
    body = _body(4, merged.pop("rows"), **merged)
    assert state.read(body, 4) is None
    assert state.layout is None and state.skip == state.backoff == 1


def test_trailing_bytes_miss_and_are_never_learnt() -> None:
    body = _body(4, [ROW])
    state = _learnt(body, 4)
    assert state.read(body + b"\x00", 4) is None and state.layout is None
    fresh = bl.BatchLayoutState()
    _teach(fresh, body + b"\x00", 4)  # decode_request ignores the trailing byte
    assert fresh.layout is None and fresh.skip == 1


@pytest.mark.parametrize("rows, fields", [
    ([[b"k", None]], {}),
    ([[b"k", UNSET]], {}),
    ([[b"k"], [b"k", b"v"]], {}),  # statements of different value counts
    ([[]], {}),
    ([[b"k"]], {"ids": ["INSERT INTO t (k) VALUES ('k')"]}),  # a query string
    ([[b"k"], [b"k"]], {"ids": [QUERY_ID, "INSERT INTO t (k) VALUES (?)"]}),
    ([[b"k"], [b"k"]], {"ids": [QUERY_ID, OTHER_ID]}),
    ([[b"k"]], {"serial_consistency": ConsistencyLevel.LOCAL_SERIAL}),
    ([[b"k"]], {"now_in_seconds": 12}),
    ([[b"k"]], {"keyspace": "ks", "now_in_seconds": 12}),
    ([[b"k"]], {"timestamp": 5, "now_in_seconds": 12}),
    # A serial consistency before the timestamp and keyspace, where the timestamp's last two
    # bytes (5) read as a keyspace length would make a Struct as long as the body.
    ([[b"k"]], {"serial_consistency": ConsistencyLevel.SERIAL, "timestamp": 5,
                "keyspace": "abc"}),
    ([[b"v"] * 8] * (bl.MAX_LAID_OUT_BATCH_VALUES // 8 + 1), {}),
])
def test_bodies_a_layout_cannot_read_give_none(rows, fields) -> None:
    state = bl.BatchLayoutState()
    _teach(state, _body(5, rows, **fields), 5)
    assert state.layout is None and state.skip == 1


def test_no_statements_give_none() -> None:
    state = bl.BatchLayoutState()
    state.decoded(_body(4, []), 4, _request(_body(4, []), 4), COMPILED)
    assert state.layout is None and state.skip == 1


def test_the_most_values_a_layout_takes() -> None:
    body = _body(4, [[b"v"] * 8] * (bl.MAX_LAID_OUT_BATCH_VALUES // 8))
    assert _learnt(body, 4).read(body, 4) == _decoded(body, 4)


def test_the_refused_timestamp_is_left_to_decode_request_and_keeps_the_layout() -> None:
    state = _learnt(_body(4, [ROW], timestamp=5), 4)
    body = _body(4, [ROW], timestamp=-(1 << 63))
    assert state.read(body, 4) is None and state.layout is not None and state.skip == 0
    with pytest.raises(ProtocolError, match="Out of bound timestamp"):
        _request(body, 4)


def test_another_protocol_version_is_left_alone() -> None:
    body = _body(4, [ROW])
    state = _learnt(body, 4)
    assert state.read(_body(5, [ROW]), 5) is None and state.layout is not None
    _teach(state, _body(5, [ROW]), 5)  # the v4 layout stays
    assert state.layout.version == 4 and state.read(body, 4) is not None


def test_misses_back_off_doubling_and_a_hit_resets() -> None:
    short, longer = _body(4, [[b"k"]]), _body(4, [[b"kk"]])
    state = _learnt(short, 4)
    check_back_off(state, short, longer, 4, _teach)
    for _ in range(20):
        state._back_off()
    assert state.backoff == state.skip == MAX_LAYOUT_BACKOFF


# Few lengths, so that bodies often share a layout; sometimes a null or an unset value.
_value = st.one_of(st.sampled_from([b"", b"k", b"0123456789", bytes(34)]),
                   st.binary(max_size=6), st.none(), st.just(UNSET))
_fields = st.fixed_dictionaries({
    "consistency": st.sampled_from([ONE, ConsistencyLevel.QUORUM]),
    "batch_type": st.sampled_from([BatchType.LOGGED, BatchType.UNLOGGED]),
    "timestamp": st.sampled_from([None, 7, -(1 << 63), (1 << 63) - 1]),
}, optional={"keyspace": st.sampled_from(["ks", "other_ks"]),
             "now_in_seconds": st.sampled_from([0, 12])})
_statement = st.tuples(st.sampled_from([QUERY_ID, QUERY_ID, OTHER_ID]),
                       st.lists(_value, min_size=1, max_size=3))
_batch = st.tuples(st.lists(_statement, min_size=1, max_size=4), _fields)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([3, 4, 5]), st.lists(_batch, min_size=1, max_size=20),
       st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), max_size=3),
       st.integers(-3, 3))
def test_read_answers_what_decode_request_answers(version, batches, flips, resize) -> None:
    """Over a history of bodies (and damaged copies of them: bytes changed, cut or grown), a
    layout's answer is decode_request's, and any body it does not read is one decode_request
    reads differently, refuses, or was simply not learnt."""
    state = bl.BatchLayoutState()
    for statements, fields in batches:
        if version < 4 and any(UNSET in values for _, values in statements):
            continue  # v3 has no unset value to encode
        if version < 5:  # v5's options
            fields = {k: v for k, v in fields.items() if k not in ("keyspace", "now_in_seconds")}
        body = _body(version, [values for _, values in statements],
                     ids=[query_id for query_id, _ in statements], **fields)
        replay(state, body, version, flips, resize, _decoded, _teach)
