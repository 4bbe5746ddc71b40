"""ferrosa/ipc/messages.py: projections travel encoded, and decode to the items they were made of."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ferrosa.ipc import messages as m

ITEMS = [
    [],
    [(m.PROJ_PK, 0), (m.PROJ_CELL, "c0"), (m.PROJ_CELL, "c1")],
    [(m.PROJ_CK, 1), (m.PROJ_STATIC, "s"), (m.PROJ_WRITETIME, "v"), (m.PROJ_TTL, "v")],
    [(m.PROJ_LIST, ["l", False]), (m.PROJ_UDT, ["u", True, 3])],
]


@pytest.mark.parametrize("items", ITEMS)
def test_a_projection_decodes_to_its_items(items):
    encoded = m.encode_projection(items)
    assert m.decode_projection(bytes(encoded)) == items


@pytest.mark.parametrize("items", ITEMS)
def test_a_read_carries_its_projection_byte_for_byte(items):
    encoded = m.encode_projection(items)
    read = m.Read(7, b"t" * 16, -5, b"key", encoded, 1_700_000_000, limit=3)
    decoded = msgspec.msgpack.Decoder(m.ShardRequest).decode(msgspec.msgpack.encode(read))
    assert type(decoded) is m.Read
    assert bytes(decoded.projection) == bytes(encoded)
    assert (decoded.req_id, decoded.pk, decoded.limit) == (7, b"key", 3)


@given(st.binary(max_size=64))
def test_decoding_a_projection_parses_or_raises_decode_error(data):
    try:
        items = m.decode_projection(data)
    except msgspec.DecodeError:
        return
    assert all(type(item) is tuple and len(item) == 2 and type(item[0]) is int for item in items)
