"""EXECUTE bodies read by a statement's learnt layout (executelayouts) answer exactly what
decode_request answers, or leave the body to it: never another answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.protocol import executelayouts as el
from ferrosa.protocol import requests as Q
from ferrosa.protocol.constants import ConsistencyLevel, Opcode
from ferrosa.protocol.errors import ProtocolError
from ferrosa.protocol.frame import Frame
from ferrosa.protocol.messages import decode_request
from ferrosa.protocol.primitives import UNSET
from tests.protocol.histories import check_back_off, replay

QUERY_ID = bytes(range(16))
OTHER_ID = bytes(range(1, 17))
METADATA_ID = b"\xaa" * 16
ONE = ConsistencyLevel.ONE


def _body(version: int, values: list, *, query_id: bytes = QUERY_ID, **params) -> bytes:
    params.setdefault("consistency", ONE)
    out = bytearray()
    Q.encode_execute(Q.Execute(query_id, Q.QueryParameters(values=values, **params),
                               METADATA_ID if version >= 5 else None), version, out)
    return bytes(out)


def _decoded(body: bytes, version: int) -> tuple:
    """What decode_request reads, as a layout answers it."""
    request = decode_request(Frame(version, 0, 1, Opcode.EXECUTE, body))
    p = request.params
    return (p.consistency, p.values, -1 if p.page_size is None else p.page_size, p.timestamp,
            p.skip_metadata)


def _teach(state: el.LayoutState, body: bytes, version: int) -> None:
    """What the front does with a body decode_request read."""
    p = decode_request(Frame(version, 0, 1, Opcode.EXECUTE, body)).params
    state.decoded(body, version, p.consistency, p.flags, p.values)


def _learnt(body: bytes, version: int) -> el.LayoutState:
    state = el.LayoutState()
    _teach(state, body, version)
    assert state.layout is not None
    return state


@pytest.mark.parametrize("version", [3, 4, 5])
def test_a_body_of_the_learnt_layout_is_read_as_decode_request_reads_it(version) -> None:
    state = _learnt(_body(version, [b"key-000001", bytes(34)], page_size=5000,
                          timestamp=1_700_000_000_000_000), version)
    body = _body(version, [b"key-999999", b"\x01" * 34], page_size=5000, timestamp=-5)
    read = state.read(body, version)
    assert read == (ONE, [b"key-999999", b"\x01" * 34], 5000, -5, False)
    assert read == _decoded(body, version)
    assert type(read[0]) is ConsistencyLevel


@pytest.mark.parametrize("params, expected", [
    ({}, (ONE, [b"v"], -1, None, False)),
    ({"page_size": 7}, (ONE, [b"v"], 7, None, False)),
    ({"timestamp": 99}, (ONE, [b"v"], -1, 99, False)),
    ({"skip_metadata": True, "page_size": -3, "timestamp": 1},
     (ONE, [b"v"], -3, 1, True)),
    ({"consistency": ConsistencyLevel.LOCAL_QUORUM},
     (ConsistencyLevel.LOCAL_QUORUM, [b"v"], -1, None, False)),
])
def test_each_optional_part(params, expected) -> None:
    for version in (4, 5):
        body = _body(version, [b"v"], **params)
        assert _learnt(body, version).read(body, version) == expected == _decoded(body, version)


def test_no_values() -> None:
    for version in (4, 5):
        body = _body(version, [], page_size=100)
        assert _learnt(body, version).read(body, version) == (ONE, [], 100, None, False)


@pytest.mark.parametrize("change", [
    {"values": [b"longer-key", bytes(34)]},  # a value of another length
    {"values": [b"key", bytes(35)]},  # the last value's length
    {"consistency": ConsistencyLevel.QUORUM},
    {"skip_metadata": True},
    {"page_size": None},
    {"timestamp": None},
    {"query_id": OTHER_ID},
    {"values": [b"key", bytes(34), b"x"]},
])
def test_a_body_of_another_layout_misses_and_backs_off(change) -> None:
    base = {"values": [b"key", bytes(34)], "page_size": 10, "timestamp": 3}
    state = _learnt(_body(4, **base), 4)
    body = _body(4, **{**base, **change})
    assert state.read(body, 4) is None
    assert state.layout is None and state.skip == state.backoff == 1


def test_trailing_bytes_miss_and_are_never_learnt() -> None:
    body = _body(4, [b"key"], page_size=10)
    state = _learnt(body, 4)
    assert state.read(body + b"\x00", 4) is None and state.layout is None
    fresh = el.LayoutState()
    _teach(fresh, body + b"\x00", 4)  # decode_request ignores the trailing byte
    assert fresh.layout is None and fresh.skip == 1


@pytest.mark.parametrize("values, params", [
    ([b"k", None], {}),
    ([b"k", UNSET], {}),
    ([b"k"], {"names": ["a"]}),
    ([b"k"], {"paging_state": b"\x01\x02"}),
    ([b"k"], {"serial_consistency": ConsistencyLevel.SERIAL}),
    ([b"k"], {"keyspace": "ks"}),
    ([b"k"], {"now_in_seconds": 12}),
    ([b"v"] * (el.MAX_LAID_OUT_VALUES + 1), {}),
])
def test_bodies_a_layout_cannot_read_give_none(values, params) -> None:
    state = el.LayoutState()
    _teach(state, _body(5, values, **params), 5)
    assert state.layout is None and state.skip == 1


def test_the_most_values_a_layout_takes() -> None:
    body = _body(4, [b"v"] * el.MAX_LAID_OUT_VALUES)
    assert _learnt(body, 4).read(body, 4) == _decoded(body, 4)


def test_the_refused_timestamp_is_left_to_decode_request_and_keeps_the_layout() -> None:
    state = _learnt(_body(4, [b"k"], timestamp=5), 4)
    body = _body(4, [b"k"], timestamp=-(1 << 63))
    assert state.read(body, 4) is None and state.layout is not None and state.skip == 0
    with pytest.raises(ProtocolError, match="Out of bound timestamp"):
        decode_request(Frame(4, 0, 1, Opcode.EXECUTE, body))


def test_another_protocol_version_is_left_alone() -> None:
    body = _body(4, [b"k"])
    state = _learnt(body, 4)
    assert state.read(_body(5, [b"k"]), 5) is None and state.layout is not None
    _teach(state, _body(5, [b"k"]), 5)  # the v4 layout stays
    assert state.layout.version == 4 and state.read(body, 4) is not None


def test_misses_back_off_doubling_and_a_hit_resets() -> None:
    short, longer = _body(4, [b"k"]), _body(4, [b"kk"])
    check_back_off(_learnt(short, 4), short, longer, 4, _teach)


def test_the_back_off_is_bounded() -> None:
    state = el.LayoutState()
    for _ in range(20):
        state._back_off()
    assert state.backoff == state.skip == el.MAX_LAYOUT_BACKOFF


# Few lengths, so that bodies often share a layout; sometimes a null or an unset value.
_value = st.one_of(st.sampled_from([b"", b"k", b"0123456789", bytes(34)]),
                   st.binary(max_size=6), st.none(), st.just(UNSET))
_params = st.fixed_dictionaries({
    "consistency": st.sampled_from([ONE, ConsistencyLevel.QUORUM]),
    "page_size": st.sampled_from([None, 5000, -1]),
    "timestamp": st.sampled_from([None, 7, -(1 << 63), (1 << 63) - 1]),
    "skip_metadata": st.booleans(),
})
_request = st.tuples(st.lists(_value, max_size=4), _params,
                     st.sampled_from([QUERY_ID, OTHER_ID]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([3, 4, 5]), st.lists(_request, min_size=1, max_size=25),
       st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=3),
       st.integers(-3, 3))
def test_read_answers_what_decode_request_answers(version, requests, flips, resize) -> None:
    """Over a history of bodies (and damaged copies of them: bytes changed, cut or grown), a
    layout's answer is decode_request's, and any body it does not read is one decode_request
    reads differently, refuses, or was simply not learnt."""
    state = el.LayoutState()
    for values, params, query_id in requests:
        if version < 4 and UNSET in values:
            continue  # v3 has no unset value to encode
        body = _body(version, values, query_id=query_id, **params)
        replay(state, body, version, flips, resize, _decoded, _teach)
