"""VIntCoding: golden encodings, round trips against our encoder, and arbitrary bytes."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.importer.errors import CorruptSSTable, Truncated
from ferrosa.importer.varint import (
    Cursor, encode_uvint, encode_vint, read_sized_int, read_uvint, read_vint, to_int64, uvint_size,
)

FUZZ = settings(max_examples=int(os.environ.get("FERROSA_FUZZ_EXAMPLES", "400")), deadline=None)

# (value, encoding) pairs worked out from VIntCoding's rules: leading 1-bits = extra bytes.
UNSIGNED_GOLDEN = [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8080"), (255, "80ff"), (16383, "bfff"), (16384, "c04000"),
    (61002, "c0ee4a"), (2**21 - 1, "dfffff"), (2**21, "e0200000"), (2**56 - 1, "feffffffffffffff"),
    (2**56, "ff0100000000000000"), (2**64 - 1, "ffffffffffffffffff"),
]
SIGNED_GOLDEN = [(0, "00"), (-1, "01"), (1, "02"), (-64, "7f"), (64, "8080"),
                 (-(2**63), "ffffffffffffffffff"), (2**63 - 1, "fffffffffffffffffe")]


@pytest.mark.parametrize("value,hexed", UNSIGNED_GOLDEN)
def test_unsigned_golden(value: int, hexed: str) -> None:
    data = bytes.fromhex(hexed)
    assert encode_uvint(value) == data
    assert read_uvint(data + b"\xaa", 0) == (value, len(data))
    assert uvint_size(value) == len(data)


@pytest.mark.parametrize("value,hexed", SIGNED_GOLDEN)
def test_signed_golden(value: int, hexed: str) -> None:
    data = bytes.fromhex(hexed)
    assert encode_vint(value) == data
    assert read_vint(data, 0) == (value, len(data))


def test_non_minimal_encodings_are_accepted() -> None:
    assert read_uvint(bytes.fromhex("8001"), 0) == (1, 2)
    assert read_uvint(bytes.fromhex("ff0000000000000005"), 0) == (5, 9)


def test_truncated_names_path_and_offset() -> None:
    with pytest.raises(Truncated) as info:
        read_uvint(b"\x00\xc0\x01", 1, "x-Data.db")
    assert (info.value.path, info.value.offset) == ("x-Data.db", 1)
    assert isinstance(info.value, CorruptSSTable)


def test_to_int64_and_sized_ints() -> None:
    assert to_int64(2**64 - 1) == -1 and to_int64(2**63) == -(2**63) and to_int64(5) == 5
    assert read_sized_int(b"\xff\x37", 0, 1) == -1 and read_sized_int(b"\x01\x00", 0, 2) == 256
    with pytest.raises(Truncated):
        read_sized_int(b"\x01", 0, 2)


@FUZZ
@given(st.integers(0, 2**64 - 1), st.binary(max_size=3))
def test_unsigned_round_trip(value: int, tail: bytes) -> None:
    data = encode_uvint(value)
    assert read_uvint(b"\x01" + data + tail, 1) == (value, 1 + len(data))


@FUZZ
@given(st.integers(-(2**63), 2**63 - 1))
def test_signed_round_trip(value: int) -> None:
    data = encode_vint(value)
    assert read_vint(data, 0) == (value, len(data))


@FUZZ
@given(st.binary(max_size=12), st.integers(0, 12))
def test_arbitrary_bytes_decode_or_corrupt(data: bytes, pos: int) -> None:
    for reader in (read_uvint, read_vint):
        try:
            value, end = reader(data, pos)
        except CorruptSSTable:
            continue
        assert pos < end <= len(data)
        assert (0 <= value < 2**64) if reader is read_uvint else (-(2**63) <= value < 2**63)


@FUZZ
@given(st.binary(max_size=40))
def test_cursor_decodes_or_corrupt(data: bytes) -> None:
    c = Cursor(data, 0, "f")
    try:
        c.short_bytes(), c.vint_bytes(), c.uvint(), c.vint(), c.i64(), c.f64(), c.vint_string()
    except CorruptSSTable:
        pass
