"""Tests for ferrosa.partitioner: Cassandra Murmur3 tokens, shard slices, composite keys."""

from __future__ import annotations

import struct

import mmh3
import pytest
from cassandra.cmurmur3 import murmur3
from cassandra.query import SimpleStatement
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa import partitioner
from ferrosa.partitioner import (
    MAX_SHARDS,
    MAX_TOKEN,
    MIN_TOKEN,
    PartitionKeyError,
    compose_partition_key,
    decompose_partition_key,
    hash3_x64_128,
    shard_of,
    shard_ranges,
    token,
    token_pure,
)

MASK64 = (1 << 64) - 1


def driver_token(key: bytes) -> int:
    """What Cassandra returns, built from the driver's C murmur3 plus the partitioner's two rules."""
    if not key:
        return MIN_TOKEN
    h = murmur3(key)
    return MAX_TOKEN if h == MIN_TOKEN else h


# token(int_key) as printed by cqlsh `SELECT token(k)` against Apache Cassandra (int is 4-byte BE).
GOLDEN_INT_TOKENS = [
    (0, -3485513579396041028),
    (1, -4069959284402364209),
    (2, -3248873570005575792),
    (42, -7160136740246525330),
    (-1, 7297452126230313552),  # 0xFF tail bytes: only right with Java's sign extension
]


@pytest.mark.parametrize("value, expected", GOLDEN_INT_TOKENS)
def test_golden_int_tokens(value: int, expected: int) -> None:
    key = struct.pack(">i", value)
    assert token_pure(key) == expected
    assert token(key) == expected


def test_c_implementation_is_used_when_available() -> None:
    assert partitioner.TOKEN_IMPLEMENTATION == "cassandra.cmurmur3"


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=80))
def test_pure_matches_driver_cmurmur3(key: bytes) -> None:
    assert token_pure(key) == driver_token(key) == token(key)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=200, max_size=5000))
def test_pure_matches_driver_on_long_keys(key: bytes) -> None:
    assert token_pure(key) == driver_token(key)


@pytest.mark.parametrize("blocks", [0, 1, 3])
@pytest.mark.parametrize("tail_length", range(16))
@pytest.mark.parametrize("fill", [0x80, 0xFF, 0x7F, 0xA5])
def test_every_tail_length_with_high_bytes(blocks: int, tail_length: int, fill: int) -> None:
    key = bytes(range(blocks * 16)) + bytes([fill]) * tail_length
    assert token_pure(key) == driver_token(key)


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=80))
def test_mmh3_fallback_matches_driver(key: bytes) -> None:
    # The implementation used when the driver's C murmur3 is not installed.
    assert partitioner.token_mmh3(key) == driver_token(key)


@pytest.mark.parametrize("tail_length", range(16))
@pytest.mark.parametrize("fill", [0x80, 0xFF, 0x7F])
def test_mmh3_fallback_on_every_tail(tail_length: int, fill: int) -> None:
    key = bytes(range(32)) + bytes([fill]) * tail_length
    assert partitioner.token_mmh3(key) == driver_token(key)


def test_mmh3_disagrees_only_on_high_tail_bytes() -> None:
    # Why mmh3 alone is not enough: it zero-extends tail bytes, Java sign-extends them.
    low_tail = bytes(range(16)) + b"\x01\x7f\x33"
    high_tail = bytes(range(16)) + b"\x01\x80\x33"
    assert mmh3.hash64(low_tail, 0, True, True)[0] == token_pure(low_tail)
    assert mmh3.hash64(high_tail, 0, True, True)[0] != token_pure(high_tail)
    # A high byte inside a full 16-byte block is read unsigned by everyone.
    block_only = bytes([0xFF]) * 16
    assert mmh3.hash64(block_only, 0, True, True)[0] == token_pure(block_only)


def test_empty_key_is_min_token() -> None:
    assert token_pure(b"") == MIN_TOKEN
    assert token(b"") == MIN_TOKEN


# -- MIN_TOKEN rule: build a 16-byte key whose raw hash is exactly Long.MIN_VALUE -------------

def _inverse(value: int) -> int:
    return pow(value, -1, 1 << 64)


def _rotr(value: int, bits: int) -> int:
    return ((value >> bits) | (value << (64 - bits))) & MASK64


def _unxorshift33(value: int) -> int:
    return value ^ (value >> 33)  # 33 >= 64/2, so one step undoes it


def _unfmix(k: int) -> int:
    k = _unxorshift33(k)
    k = (k * _inverse(0xC4CEB9FE1A85EC53)) & MASK64
    k = _unxorshift33(k)
    k = (k * _inverse(0xFF51AFD7ED558CCD)) & MASK64
    return _unxorshift33(k)


def key_for_hash(h1_final: int, h2_final: int) -> bytes:
    """A 16-byte key whose murmur3 x64_128 is (h1_final, h2_final): run the algorithm backwards."""
    c1, c2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
    h2 = (h2_final - h1_final) & MASK64
    h1 = (h1_final - h2) & MASK64
    h1, h2 = _unfmix(h1), _unfmix(h2)
    h2 = (h2 - h1) & MASK64
    h1 = (h1 - h2) & MASK64
    h1 ^= 16
    h2 ^= 16
    k2 = (((h2 - 0x38495AB5) * _inverse(5)) - h1) & MASK64
    k2 = _rotr(k2, 31)  # h2 before the block was 0, so h2 ^= k2 left k2 itself
    k2 = (_rotr((k2 * _inverse(c1)) & MASK64, 33) * _inverse(c2)) & MASK64
    k1 = ((h1 - 0x52DCE729) * _inverse(5)) & MASK64
    k1 = _rotr(k1, 27)
    k1 = (_rotr((k1 * _inverse(c2)) & MASK64, 31) * _inverse(c1)) & MASK64
    return struct.pack("<QQ", k1, k2)


def test_key_inversion_helper_is_exact() -> None:
    key = key_for_hash(0x0123456789ABCDEF, 0xFEDCBA9876543210)
    assert hash3_x64_128(key) == (0x0123456789ABCDEF, 0xFEDCBA9876543210)


def test_hash_of_min_long_becomes_max_token() -> None:
    key = key_for_hash(1 << 63, 12345)
    assert murmur3(key) == MIN_TOKEN  # the raw hash really is Long.MIN_VALUE
    assert token_pure(key) == MAX_TOKEN
    assert token(key) == MAX_TOKEN


def test_hash_of_max_long_stays() -> None:
    key = key_for_hash(MAX_TOKEN, 7)
    assert token_pure(key) == MAX_TOKEN == token(key)


# -- shards --------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 12, 64, 1000, MAX_SHARDS])
def test_shard_ranges_are_contiguous_ordered_and_owned(n: int) -> None:
    ranges = shard_ranges(n)
    assert len(ranges) == n
    assert ranges[0][0] == MIN_TOKEN
    assert ranges[-1][1] == MAX_TOKEN
    for s, (first, last) in enumerate(ranges):
        assert first <= last
        assert shard_of(first, n) == s
        assert shard_of(last, n) == s
        if s:
            assert ranges[s - 1][1] + 1 == first
            assert shard_of(first - 1, n) == s - 1
    sizes = [last - first + 1 for first, last in ranges]
    assert sum(sizes) == 1 << 64
    assert max(sizes) - min(sizes) <= 1


def test_shard_of_extremes() -> None:
    assert shard_of(MIN_TOKEN, 8) == 0
    assert shard_of(MAX_TOKEN, 8) == 7
    assert shard_of(-1, 2) == 0
    assert shard_of(0, 2) == 1


@settings(max_examples=500, deadline=None)
@given(st.integers(MIN_TOKEN, MAX_TOKEN), st.integers(1, MAX_SHARDS))
def test_every_token_maps_to_exactly_one_shard(t: int, n: int) -> None:
    s = shard_of(t, n)
    assert 0 <= s < n
    ranges = shard_ranges(n)
    owners = [i for i, (first, last) in enumerate(ranges) if first <= t <= last]
    assert owners == [s]


@pytest.mark.parametrize("n", [0, -1, MAX_SHARDS + 1])
def test_shard_ranges_rejects_bad_counts(n: int) -> None:
    with pytest.raises(ValueError, match="shard count"):
        shard_ranges(n)


# -- composite partition keys ---------------------------------------------------------------

def test_compose_golden() -> None:
    assert compose_partition_key([b"\x00\x00\x00\x01", b"a"]) == b"\x00\x04\x00\x00\x00\x01\x00\x00\x01a\x00"
    assert compose_partition_key([b""]) == b"\x00\x00\x00"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=2, max_size=6))
def test_compose_matches_driver_routing_key(components: list[bytes]) -> None:
    composed = compose_partition_key(components)
    statement = SimpleStatement("SELECT 1")
    statement.routing_key = components  # the driver's own composite packing
    assert composed == statement.routing_key
    assert decompose_partition_key(composed) == components
    assert token(composed) == token_pure(composed)


def test_compose_rejects_oversized_and_empty() -> None:
    with pytest.raises(PartitionKeyError, match="exceeds 65535"):
        compose_partition_key([b"x" * 65536])
    assert decompose_partition_key(compose_partition_key([b"x" * 65535])) == [b"x" * 65535]
    with pytest.raises(PartitionKeyError):
        compose_partition_key([])


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\x00", "truncated"),
        (b"\x00\x02a", "needs 5 bytes"),
        (b"\x00\x01a", "needs 4 bytes"),
        (b"\x00\x01a\x01", "expected 0"),
        (b"\x00\x01a\x00\x00", "truncated"),
    ],
)
def test_decompose_rejects_malformed(data: bytes, message: str) -> None:
    with pytest.raises(PartitionKeyError, match=message):
        decompose_partition_key(data)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40))
def test_decompose_parses_or_raises_partition_key_error(data: bytes) -> None:
    try:
        components = decompose_partition_key(data)
    except PartitionKeyError:
        return
    assert compose_partition_key(components) == data
