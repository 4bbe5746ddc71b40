"""The bloom filter over an SSTable's partition keys: "certainly absent" or "maybe present".

What it is: `BloomBuilder` (collects key hashes while an SSTable is written, sizes and fills the bit
array at the end) and `BloomFilter` (the loaded filter, answering `may_contain`).

What it must NOT do: read files (the reader hands it the Filter component's bytes, already checked
against the TOC) or hash anything but the serialized partition key.

Theory of operation:
- Sizing: for n keys and a target false-positive rate p, m = ceil(-n ln p / (ln 2)^2) bits and
  k = round(m/n ln 2) hash functions are optimal; p = 1% (FALSE_POSITIVE_TARGET, Cassandra's
  bloom_filter_fp_chance default for size-tiered tables) gives ~9.6 bits and 7 hashes per key.
- Hashing: one 128-bit MurmurHash3 (mmh3, seeded) per key split into two 64-bit halves h1, h2;
  probe i is bit (h1 + i*h2 mod 2^64) mod m (Kirsch-Mitzenmacher double hashing). The writer
  computes the probes vectorized with numpy uint64 arithmetic, which wraps at 2^64; the reader
  masks to 64 bits so both agree bit for bit.
- Bits are little-endian within a byte: bit b lives in byte b >> 3 at position b & 7.
- The builder keeps 16 bytes per key until `build()` (or `build_steps()`, the same a block of
  keys at a time), so the filter is sized for the real key count (a flush or compaction does not
  know it exactly up front); Cassandra also holds the whole filter in memory while writing.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Generator

import mmh3
import numpy as np

from shards.sstable.syncthread import run_to_end

FALSE_POSITIVE_TARGET = 0.01
HASH_SEED = 0x46525341  # "FRSA"
_MASK64 = (1 << 64) - 1
# Upper bound on hash functions: beyond this the probes cost more than the rate they buy.
MAX_HASHES = 20
# Keys whose probes one build_steps() step sets. The filter of a 100k-partition compaction took
# 15-25 ms to build at once here, a stall of the shard's loop; 8192 keys take 1-2 ms.
BUILD_STEP_KEYS = 8192


def filter_size(keys: int, fp_rate: float = FALSE_POSITIVE_TARGET) -> tuple[int, int]:
    """(bits, hash functions) for `keys` keys at false-positive rate `fp_rate`."""
    keys = max(keys, 1)
    bits = max(64, math.ceil(-keys * math.log(fp_rate) / (math.log(2) ** 2)))
    hashes = min(MAX_HASHES, max(1, round(bits / keys * math.log(2))))
    return bits, hashes


def key_hash(key: bytes, seed: int = HASH_SEED) -> tuple[int, int]:
    return mmh3.hash64(key, seed, signed=False)


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

    def build(self, fp_rate: float = FALSE_POSITIVE_TARGET) -> tuple[int, int, bytes]:
        """(bits, hashes, bit array bytes) for the keys added."""
        return run_to_end(self.build_steps(fp_rate))

    def build_steps(self, fp_rate: float = FALSE_POSITIVE_TARGET,
                    step_keys: int = BUILD_STEP_KEYS,
                    ) -> Generator[None, None, tuple[int, int, bytes]]:
        """`build` a block of `step_keys` keys per next(), for a shard's loop."""
        bits, hashes = filter_size(len(self.h1), fp_rate)
        packed = np.zeros((bits + 7) >> 3, dtype=np.uint8)
        m = np.uint64(bits)
        for start in range(0, len(self.h1), step_keys):
            h1 = np.frombuffer(self.h1, dtype=np.uint64)[start:start + step_keys]
            h2 = np.frombuffer(self.h2, dtype=np.uint64)[start:start + step_keys]
            with np.errstate(over="ignore"):
                for i in range(hashes):
                    probe = (h1 + np.uint64(i) * h2) % m
                    np.bitwise_or.at(packed, (probe >> np.uint64(3)).astype(np.intp),
                                     (np.uint8(1) << (probe & np.uint64(7)).astype(np.uint8)))
            del h1, h2  # no buffer export of the arrays may outlive a step (they may grow)
            yield
        return bits, hashes, packed.tobytes()


class BloomFilter:
    __slots__ = ("array", "bits", "hashes", "seed")

    def __init__(self, bits: int, hashes: int, seed: int, data: bytes) -> None:
        self.bits = bits
        self.hashes = hashes
        self.seed = seed
        self.array = data

    def may_contain(self, key: bytes) -> bool:
        h1, h2 = mmh3.hash64(key, self.seed, signed=False)
        return self.may_contain_hash(h1, h2)

    def may_contain_hash(self, h1: int, h2: int) -> bool:
        """`may_contain` for a key already hashed with `key_hash` (one hash for many filters:
        every SSTable's filter uses HASH_SEED)."""
        m = self.bits
        data = self.array
        mask = _MASK64
        for _ in range(self.hashes):  # h1 steps by h2: h1 + i*h2 without a multiplication
            probe = (h1 & mask) % m
            if not data[probe >> 3] >> (probe & 7) & 1:
                return False
            h1 += h2
        return True
