"""The bloom filter over an SSTable's partition keys: "certainly absent" or "maybe present".

What it is: `BloomBuilder` (collects key hashes while an SSTable is written, sizes and fills a
blocked filter at the end), `BlockedBloomFilter` (format 2's filter, the one written) and
`ClassicBloomFilter` (format 1's, still read: SSTables written before format 2 stay on disks
and in buckets until a compaction rewrites them), both answering `may_contain`.

What it must NOT do: read files (the reader hands it the Filter component's bytes, already checked
against the TOC) or hash anything but the serialized partition key.

Theory of operation:
- Hashing: one 128-bit MurmurHash3 (mmh3, seeded HASH_SEED) per key, split into two 64-bit
  halves h1 and h2 (`key_hash`). A point read hashes its key once and asks every SSTable whose
  token range covers it, so the filter's probe is paid once per SSTable and read.
- Format 2, blocked: the filter is w 64-bit words and all of a key's bits lie in one of them,
  word h1 mod w. Its bits are a pattern, PATTERNS[h2 mod PATTERN_COUNT]: a mask of up to
  PATTERN_BITS bits. Adding a key ORs its pattern into its word; a key may be present iff its
  word holds every bit of its pattern. A probe is two array reads, an AND and a compare: in
  CPython 0.17 µs, against 1.0 µs (present key) and 0.37 (absent) for the classic filter's
  seven probes of one bit each, each a few interpreted steps.
- The patterns are fixed by the format: pattern p sets bit (x >> 6j) & 63 for each j <
  PATTERN_BITS, x the first half of mmh3.hash64 of p's 4 little-endian bytes with PATTERN_SEED
  (bits that coincide are set once). PATTERN_COUNT of them fit the CPU's caches (32 KiB).
- Sizing: one word per key's bits fills words unevenly (a Poisson number of keys each), so a
  blocked filter needs more bits than a classic one for the same false-positive rate. At the
  1% target (FALSE_POSITIVE_TARGET, Cassandra's bloom_filter_fp_chance default for
  size-tiered tables) BITS_PER_KEY = 14 with 6-bit patterns measured 0.64-0.77% over 200,000
  keys (13 bits: 0.93-0.98%, too near the target), against 9.6 bits for the classic filter:
  1.75 bytes a key instead of 1.2, for a probe six times cheaper.
- Words are little-endian in the component, as every integer of the format.
- Format 1, classic: m bits, k hashes; probe i is bit (h1 + i*h2 mod 2^64) mod m, bit b being
  bit b & 7 of byte b >> 3. Read, never written.
- The builder keeps 16 bytes per key until `build()` (or `build_steps()`, the same a block of
  keys at a time), so the filter is sized for the real key count (a flush or compaction does not
  know it exactly up front); Cassandra also holds the whole filter in memory while writing.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Generator

import mmh3
import numpy as np

from shards.sstable.syncthread import run_to_end

FALSE_POSITIVE_TARGET = 0.01
HASH_SEED = 0x46525341  # "FRSA"
# Format 2: bits of the filter per key, and the patterns a key's word may hold.
BITS_PER_KEY = 14
PATTERN_BITS = 6
PATTERN_COUNT = 4096  # a power of two: h2 & PATTERN_MASK is h2 mod PATTERN_COUNT
PATTERN_MASK = PATTERN_COUNT - 1
PATTERN_SEED = 0x50415454  # "PATT"
# Format 1: the most hash functions a classic filter may ask for (beyond this the probes cost
# more than the rate they buy; the writer of format 1 asked for 7).
MAX_HASHES = 20
# Keys whose bits one build_steps() step sets. The filter of a 100k-partition compaction took
# 15-25 ms to build at once here, a stall of the shard's loop; 8192 keys take 1-2 ms.
BUILD_STEP_KEYS = 8192
_MASK64 = (1 << 64) - 1


def _patterns() -> array:
    out = array("Q")
    for p in range(PATTERN_COUNT):
        x = mmh3.hash64(p.to_bytes(4, "little"), PATTERN_SEED, signed=False)[0]
        mask = 0
        for j in range(PATTERN_BITS):
            mask |= 1 << (x >> 6 * j & 63)
        out.append(mask)
    return out


PATTERNS = _patterns()


def key_hash(key: bytes, seed: int = HASH_SEED) -> tuple[int, int]:
    return mmh3.hash64(key, seed, signed=False)


def filter_words(keys: int) -> int:
    """The 64-bit words of a format-2 filter for `keys` keys."""
    return max(1, -(-max(keys, 1) * BITS_PER_KEY // 64))


class BloomBuilder:
    __slots__ = ("h1", "h2", "seed")

    def __init__(self, seed: int = HASH_SEED) -> None:
        self.seed = seed
        self.h1 = array("Q")
        self.h2 = array("Q")

    def add(self, key: bytes) -> None:
        h1, h2 = mmh3.hash64(key, self.seed, signed=False)
        self.h1.append(h1)
        self.h2.append(h2)

    def build(self) -> tuple[int, int, bytes]:
        """(bits, PATTERN_BITS, the words as bytes) of the format-2 filter of the keys added."""
        return run_to_end(self.build_steps())

    def build_steps(self, step_keys: int = BUILD_STEP_KEYS,
                    ) -> Generator[None, None, tuple[int, int, bytes]]:
        """`build` a block of `step_keys` keys per next(), for a shard's loop."""
        count = filter_words(len(self.h1))
        words = np.zeros(count, dtype="<u8")
        patterns = np.frombuffer(PATTERNS, dtype=np.uint64)
        for start in range(0, len(self.h1), step_keys):
            h1 = np.frombuffer(self.h1, dtype=np.uint64)[start:start + step_keys]
            h2 = np.frombuffer(self.h2, dtype=np.uint64)[start:start + step_keys]
            np.bitwise_or.at(words, (h1 % np.uint64(count)).astype(np.intp),
                             patterns[(h2 & np.uint64(PATTERN_MASK)).astype(np.intp)])
            del h1, h2  # no buffer export of the arrays may outlive a step (they may grow)
            yield
        return count * 64, PATTERN_BITS, words.tobytes()


class _Filter:
    """What both kinds share: a key hashed with the filter's own seed, then probed."""

    __slots__ = ()
    seed: int
    may_contain_hash: Callable[[int, int], bool]  # each kind's probe

    def may_contain(self, key: bytes) -> bool:
        h1, h2 = mmh3.hash64(key, self.seed, signed=False)
        return self.may_contain_hash(h1, h2)


class BlockedBloomFilter(_Filter):
    """Format 2's filter over `data`, whole little-endian 64-bit words."""

    __slots__ = ("count", "seed", "words")

    def __init__(self, seed: int, data: bytes) -> None:
        words = array("Q")
        words.frombytes(data)
        if sys.byteorder == "big":
            words.byteswap()
        self.count = len(words)
        self.seed = seed
        self.words = words

    def may_contain_hash(self, h1: int, h2: int) -> bool:
        """`may_contain` for a key already hashed with `key_hash` (one hash for many filters:
        every SSTable's filter uses HASH_SEED)."""
        pattern = PATTERNS[h2 & PATTERN_MASK]
        return self.words[h1 % self.count] & pattern == pattern


class ClassicBloomFilter(_Filter):
    """Format 1's filter: `bits` bits, `hashes` probes of one bit each."""

    __slots__ = ("array", "bits", "hashes", "seed")

    def __init__(self, bits: int, hashes: int, seed: int, data: bytes) -> None:
        self.bits = bits
        self.hashes = hashes
        self.seed = seed
        self.array = data

    def may_contain_hash(self, h1: int, h2: int) -> bool:
        """`may_contain` for a key already hashed with `key_hash`."""
        m = self.bits
        data = self.array
        mask = _MASK64
        for _ in range(self.hashes):  # h1 steps by h2: h1 + i*h2 without a multiplication
            probe = (h1 & mask) % m
            if not data[probe >> 3] >> (probe & 7) & 1:
                return False
            h1 += h2
        return True


BloomFilter = BlockedBloomFilter | ClassicBloomFilter
