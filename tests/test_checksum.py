"""ferrosa.checksum.crc32 gives zlib.crc32's values: every file written before it, and every
Cassandra file the importer checks, holds those."""

from __future__ import annotations

import zlib

from hypothesis import given
from hypothesis import strategies as st

from ferrosa.checksum import crc32

# CRC-32/ISO-HDLC's catalogued check value (the CRC of b"123456789") and a few more.
GOLDEN = [
    (b"", 0, 0x00000000),
    (b"123456789", 0, 0xCBF43926),
    (b"a", 0, 0xE8B7BE43),
    (b"\x00" * 32, 0, 0x190A55AD),
    # Cassandra's v5 segment seed: the CRC of FA 2D 55 CA, then the payload fed on.
    (b"", zlib.crc32(b"\xfa\x2d\x55\xca"), zlib.crc32(b"\xfa\x2d\x55\xca")),
    (b"abc", zlib.crc32(b"\xfa\x2d\x55\xca"), zlib.crc32(b"\xfa\x2d\x55\xcaabc")),
]


def test_golden_values():
    for data, seed, expected in GOLDEN:
        assert crc32(data, seed) == expected, (data, seed)


@given(st.binary(max_size=70_000), st.integers(0, 2**32 - 1), st.integers(0, 64))
def test_equals_zlib_for_any_bytes_seed_and_buffer(data: bytes, seed: int, cut: int):
    # Long inputs reach the folding code's wide path, short ones its byte loop; views, offset
    # slices and bytearrays are what the chunk reader and the commit log hand it.
    expected = zlib.crc32(data, seed)
    assert crc32(data, seed) == expected
    assert crc32(bytearray(data), seed) == expected
    view = memoryview(b"\x00" * cut + data)[cut:]
    assert crc32(view, seed) == expected


def test_chains_as_zlib_does():
    data = bytes(range(256)) * 300
    running = 0
    for start in range(0, len(data), 4099):
        running = crc32(data[start:start + 4099], running)
    assert running == zlib.crc32(data)
