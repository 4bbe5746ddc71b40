"""Cassandra's Murmur3Partitioner: partition-key tokens, shard ownership of token slices.

What it is: the exact token function of org.apache.cassandra.dht.Murmur3Partitioner, the
mapping from a token to the local shard that owns it, and the composite serialization Cassandra
hashes for multi-column partition keys. It must NOT know about schemas or CQL types (callers
pass already-serialized component values) and does no I/O.

Theory of operation
-------------------
token(key) = first 64 bits of MurmurHash3 x64_128(key, seed 0), read as a signed long, with two
Cassandra rules on top:
  * the tail (the last len % 16 bytes) is folded in with each byte sign-extended, because the
    Java code widens a (signed) ``byte`` to ``long`` before shifting. Reference murmur3 (and
    the mmh3 package) zero-extend, so they disagree with Cassandra whenever a tail byte >= 0x80;
  * a hash equal to Long.MIN_VALUE becomes Long.MAX_VALUE, so MIN_TOKEN stays reserved as the
    ring's "before everything" bound; and an empty key has token MIN_TOKEN (Cassandra returns
    MINIMUM for an empty key without hashing; the python driver's own helper returns 0 there).

Shards of one node split the token range [MIN_TOKEN, MAX_TOKEN] into N contiguous slices:
shard_of(t, N) = ((t + 2**63) * N) >> 64, i.e. the unsigned offset's top bits scaled to N.
"""

from __future__ import annotations

import struct
from typing import Callable, Sequence

from mmh3 import hash64 as _mmh3_hash64

MIN_TOKEN = -(1 << 63)
MAX_TOKEN = (1 << 63) - 1
# Upper bound on shard processes per node; far above any core count, and it keeps every shard's
# slice non-empty and wide (2**64 / 4096 = 2**52 tokens).
MAX_SHARDS = 4096
# A composite component length is a 2-byte unsigned prefix.
MAX_COMPONENT_LENGTH = 0xFFFF
# End-of-component byte of every partition-key component (Cassandra CompositeType, EOC 0).
END_OF_COMPONENT = 0

_MASK64 = (1 << 64) - 1
_SIGN64 = 1 << 63
_C1 = 0x87C37B91114253D5
_C2 = 0x4CF5AD432745937F
_BLOCK = struct.Struct("<QQ")
_COMPONENT_LENGTH = struct.Struct(">H")


class PartitionKeyError(ValueError):
    """A composite partition key that cannot be built or parsed (length, truncation, EOC byte)."""


def _fmix(k: int) -> int:
    k ^= k >> 33
    k = (k * 0xFF51AFD7ED558CCD) & _MASK64
    k ^= k >> 33
    k = (k * 0xC4CEB9FE1A85EC53) & _MASK64
    return k ^ (k >> 33)


def _tail_word(chunk: bytes) -> int:
    """Up to 8 tail bytes as one little-endian word, each byte sign-extended as Java does."""
    word = int.from_bytes(chunk, "little")
    for i, byte in enumerate(chunk):
        if byte & 0x80:
            # (long) byte << 8i sets every bit above the byte too; XOR those in.
            word ^= (_MASK64 << (8 * i + 8)) & _MASK64
    return word


def hash3_x64_128(key: bytes) -> tuple[int, int]:
    """Cassandra's MurmurHash.hash3_x64_128(key, seed=0) as two unsigned 64-bit ints."""
    length = len(key)
    nblocks = length >> 4
    h1 = h2 = 0
    mask = _MASK64
    for k1, k2 in _BLOCK.iter_unpack(key[:nblocks * 16]):
        k1 = (k1 * _C1) & mask
        k1 = ((k1 << 31) | (k1 >> 33)) & mask
        h1 ^= (k1 * _C2) & mask
        h1 = ((h1 << 27) | (h1 >> 37)) & mask
        h1 = (((h1 + h2) & mask) * 5 + 0x52DCE729) & mask
        k2 = (k2 * _C2) & mask
        k2 = ((k2 << 33) | (k2 >> 31)) & mask
        h2 ^= (k2 * _C1) & mask
        h2 = ((h2 << 31) | (h2 >> 33)) & mask
        h2 = (((h2 + h1) & mask) * 5 + 0x38495AB5) & mask
    tail = key[nblocks * 16:]
    if len(tail) > 8:
        k2 = (_tail_word(tail[8:]) * _C2) & mask
        k2 = ((k2 << 33) | (k2 >> 31)) & mask
        h2 ^= (k2 * _C1) & mask
    if tail:
        k1 = (_tail_word(tail[:8]) * _C1) & mask
        k1 = ((k1 << 31) | (k1 >> 33)) & mask
        h1 ^= (k1 * _C2) & mask
    h1 ^= length
    h2 ^= length
    h1 = (h1 + h2) & mask
    h2 = (h2 + h1) & mask
    h1 = _fmix(h1)
    h2 = _fmix(h2)
    h1 = (h1 + h2) & mask
    h2 = (h2 + h1) & mask
    return h1, h2


def _signed64(value: int) -> int:
    return value - (1 << 64) if value & _SIGN64 else value


def normalize(hash64: int) -> int:
    """Cassandra's rule: the hash MIN_TOKEN is reported as MAX_TOKEN (MIN_TOKEN is reserved)."""
    return MAX_TOKEN if hash64 == MIN_TOKEN else hash64


def token_pure(key: bytes) -> int:
    """Murmur3Partitioner.getToken(key) in pure Python (the reference and fallback)."""
    if not key:
        return MIN_TOKEN
    return normalize(_signed64(hash3_x64_128(key)[0]))


def token_mmh3(key: bytes) -> int:
    """Murmur3Partitioner.getToken(key) via mmh3 where that agrees with Cassandra.

    Cassandra reads the tail bytes (the last len % 16) as *signed* bytes, so a tail byte >= 0x80
    sign-extends into the high bits and standard MurmurHash3 (mmh3) gives another value. Keys with
    such a tail take the pure-Python path; every other key gets mmh3's C speed.
    """
    if not key:
        return MIN_TOKEN
    tail = len(key) & 15
    if tail and max(key[-tail:]) >= 0x80:
        return token_pure(key)
    h = _mmh3_hash64(key, 0, True, True)[0]
    return MAX_TOKEN if h == MIN_TOKEN else h


def _make_token() -> tuple[Callable[[bytes], int], str]:
    try:
        from cassandra.cmurmur3 import murmur3
    except ImportError:
        return token_mmh3, "mmh3"

    def token_c(key: bytes) -> int:
        """Murmur3Partitioner.getToken(key) via the driver's C murmur3 (``key`` must be bytes)."""
        if not key:
            return MIN_TOKEN
        h = murmur3(key)
        return MAX_TOKEN if h == MIN_TOKEN else h

    return token_c, "cassandra.cmurmur3"


# token(key: bytes) -> int: the partition token of a serialized partition key.
token, TOKEN_IMPLEMENTATION = _make_token()


def shard_of(token_value: int, n_shards: int) -> int:
    """Index of the shard (0 <= i < n_shards) whose slice contains ``token_value``."""
    return ((token_value + _SIGN64) * n_shards) >> 64


def shard_ranges(n_shards: int) -> list[tuple[int, int]]:
    """Each shard's inclusive (first_token, last_token); contiguous, ordered, covering all tokens."""
    if not 1 <= n_shards <= MAX_SHARDS:
        raise ValueError(f"shard count must be in [1, {MAX_SHARDS}], got {n_shards}")
    # First unsigned offset u of shard s is the smallest u with u * n >> 64 == s: ceil(s * 2**64 / n).
    starts = [-((-s << 64) // n_shards) for s in range(n_shards + 1)]
    return [(starts[s] - _SIGN64, starts[s + 1] - 1 - _SIGN64) for s in range(n_shards)]


def compose_partition_key(components: Sequence[bytes]) -> bytes:
    """Cassandra's CompositeType bytes for a multi-column partition key (what gets hashed).

    Each component: 2-byte big-endian length, the serialized value, an end-of-component 0 byte.
    A single-column partition key is hashed as its raw value, not composed.
    """
    if not components:
        raise PartitionKeyError("a composite partition key needs at least one component")
    parts = []
    pack = _COMPONENT_LENGTH.pack
    for value in components:
        if len(value) > MAX_COMPONENT_LENGTH:
            raise PartitionKeyError(
                f"partition key component of {len(value)} bytes exceeds {MAX_COMPONENT_LENGTH}"
            )
        parts.append(pack(len(value)))
        parts.append(value)
        parts.append(b"\x00")
    return b"".join(parts)


def decompose_partition_key(data: bytes) -> list[bytes]:
    """Inverse of compose_partition_key; raises PartitionKeyError on malformed input."""
    view = memoryview(data)
    end = len(view)
    if end == 0:
        raise PartitionKeyError("empty composite partition key")
    components = []
    pos = 0
    while pos < end:
        if pos + 2 > end:
            raise PartitionKeyError(f"composite key truncated in a component length at offset {pos}")
        (length,) = _COMPONENT_LENGTH.unpack_from(view, pos)
        value_end = pos + 2 + length
        if value_end + 1 > end:
            raise PartitionKeyError(f"composite key component at offset {pos} needs {length + 3} bytes, has {end - pos}")
        if view[value_end] != END_OF_COMPONENT:
            raise PartitionKeyError(f"composite key component at offset {pos} ends with {view[value_end]:#x}, expected 0")
        components.append(bytes(view[pos + 2:value_end]))
        pos = value_end + 1
    return components
