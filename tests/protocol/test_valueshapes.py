"""Bound values read by a learnt layout (valueshapes) answer what the field-by-field loop
answers: the same values, the same position after them, the same errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.protocol import primitives as p
from ferrosa.protocol import valueshapes as vs
from ferrosa.protocol.errors import ProtocolError


@pytest.fixture(autouse=True)
def _fresh_shapes():
    vs.forget()
    yield
    vs.forget()


def _encoded(values: list) -> bytes:
    out = bytearray()
    for value in values:
        if value is None:
            out += (-1).to_bytes(4, "big", signed=True)
        elif value is p.UNSET:
            out += (-2).to_bytes(4, "big", signed=True)
        else:
            out += len(value).to_bytes(4, "big") + value
    return bytes(out)


def _answer(data: bytes, count: int, allow_unset: bool, loop: bool = False):
    """(values, position after them) or the error's message; `loop`: from the field-by-field
    loop alone, else from read_values (its learnt layouts first)."""
    reader = p.Reader(data)
    read = reader._read_values if loop else reader.read_values
    try:
        return read(count, allow_unset), reader.pos
    except ProtocolError as err:
        return err.message


def _shaped(data: bytes, count: int, allow_unset: bool):
    return _answer(data, count, allow_unset)


# Few lengths, so that lists often share a layout, and sometimes a null or an unset value.
_value = st.one_of(st.sampled_from([b"", b"k", b"0123456789", bytes(34), bytes(range(8))]),
                   st.binary(max_size=12), st.none(), st.just(p.UNSET))
_request = st.tuples(st.lists(_value, min_size=1, max_size=5),
                     st.sampled_from(["whole", "short", "more"]), st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.lists(_request, min_size=1, max_size=30))
def test_read_values_answers_what_the_loop_answers(requests) -> None:
    for values, cut, allow_unset in requests:
        data = _encoded(values)
        count = len(values)
        if cut == "short":
            data = data[:-1]
        elif cut == "more":
            count += 1  # the body ends before the last value's length
        assert _shaped(data, count, allow_unset) == _answer(data, count, allow_unset, loop=True)


def test_a_repeated_layout_is_read_by_its_shape() -> None:
    values = [b"%010d" % 7, bytes(34), bytes(range(34))]
    data = _encoded(values) + b"tail"
    assert _shaped(data, 3, True) == (values, len(data) - 4)  # learns
    state = vs.state_for(3)
    assert state.shape is not None and state.shape.expected == (10, 34, 34)
    other = [b"%010d" % 8, bytes(34), bytes(34)]
    assert _shaped(_encoded(other), 3, True) == (other, len(_encoded(other)))
    assert state.backoff == 0 and state.skip == 0  # a hit


def test_a_null_in_a_known_layout_misses_and_backs_off() -> None:
    values = [b"key", bytes(4)]
    _shaped(_encoded(values), 2, True)
    with_null = [b"key", None]
    assert _shaped(_encoded(with_null), 2, True) == (with_null, len(_encoded(with_null)))
    state = vs.state_for(2)
    assert (state.skip, state.backoff) == (1, 1)
    assert state.shape.expected == (3, 4)  # a list with a null teaches no layout


def test_lengths_that_never_repeat_back_off_to_the_limit() -> None:
    tries = 0
    for i in range(3000):
        state = vs.state_for(1)
        tried = state is not None and state.skip == 0 and state.shape is not None
        tries += tried
        value = [bytes(i % 200 + 1)]
        assert _shaped(_encoded(value), 1, True) == (value, 4 + len(value[0]))
    assert vs.state_for(1).backoff == vs.MAX_SHAPE_BACKOFF
    assert tries <= 12  # 1, 3, 7, ... 1023, then the limit: a failed unpack now and then


def test_shapes_are_bounded() -> None:
    for n in range(vs.MAX_VALUE_SHAPES + 50):
        vs.state_for(1).skip = 0
        _shaped(_encoded([bytes(n)]), 1, True)
    assert len(vs._SHAPES) == vs.MAX_VALUE_SHAPES
    long = [b"x"] * (vs.MAX_SHAPED_VALUES + 1)
    assert _shaped(_encoded(long), len(long), True) == (long, 5 * len(long))
    assert vs.state_for(len(long)) is None
