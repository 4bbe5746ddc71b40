"""BTI indexes (Cassandra 5.0 "da"): on-disk tries in Partitions.db and Rows.db.

Theory of operation
-------------------
A trie node starts with a byte: the high 4 bits are its type, the low 4 its payload flags (pb; 0 = no
payload). Children are written before parents, so every pointer is a positive distance *back* from the
node's own position. Types (TrieNode.Types), with where the payload (if any) starts:

=====  ====================  ==========================================================  =============
 type  name                  layout after the first byte                                 payload at
=====  ====================  ==========================================================  =============
   0   PAYLOAD_ONLY          -                                                           +1
   1   SINGLE_NOPAYLOAD_4    transition byte; the 4 low bits of byte 0 are the distance  (none)
   2   SINGLE_8              transition byte, 1-byte distance                            +3
   3   SINGLE_NOPAYLOAD_12   low 4 bits of byte 0 + byte 1 = 12-bit distance; transition (none)
   4   SINGLE_16             transition byte, 2-byte distance                            +4
 5-9   SPARSE_8/12/16/24/40  count, count transition bytes, count distances              after those
10-15  DENSE_12/16/24/32/    first transition, count-1, count distances (0 = no child)   after those
       40/LONG (64)
=====  ====================  ==========================================================  =============

12-bit distances are packed two per three bytes (big-endian nibbles). Walking children in transition
order and emitting a node's payload before its children lists the trie's keys in byte order.

Partitions.db ends with three i64: the position of the first/last key (u16-length keys), the key
count and the root position. A payload with pb >= 8 is a hash byte then pb-7 bytes, otherwise pb
bytes, of a sign-extended integer: >= 0 is a position in Rows.db, < 0 is ~(position in Data.db).

A Rows.db entry (at the position the partition index gives) is the partition key (u16 length), the
partition's Data.db position (uvint), the root of its row-index trie as a signed vint relative to the
position right after the key, the number of index blocks (uvint) and the partition deletion
(DeletionTime serializer). Row-index payloads: pb & 7 bytes of block offset within the partition, then
(pb & 8) the deletion time open at the block start.

This module must NOT read Data.db; it only maps keys to positions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import msgspec

from ferrosa.importer.errors import CorruptSSTable, Truncated
from ferrosa.importer.model import DeletionTime
from ferrosa.importer.unfiltered import read_deletion_time
from ferrosa.importer.varint import I64, Buffer, Cursor, read_sized_int

PAYLOAD_ONLY, SINGLE_NOPAYLOAD_4, SINGLE_8, SINGLE_NOPAYLOAD_12, SINGLE_16 = 0, 1, 2, 3, 4
SPARSE_12 = 6
DENSE_12 = 10
# Bytes per pointer of the byte-aligned sparse and dense types.
SPARSE_POINTER_BYTES = {5: 1, 7: 2, 8: 3, 9: 5}
DENSE_POINTER_BYTES = {11: 2, 12: 3, 13: 4, 14: 5, 15: 8}
PARTITION_FOOTER_SIZE = 3 * 8
HASH_BYTE_FLAG = 8          # partition payload flags >= this carry a filter-hash byte first
OPEN_MARKER_FLAG = 8        # row-index payload flag: a deletion time follows the offset


class TrieNode(NamedTuple):
    position: int
    type: int
    payload_flags: int
    payload_position: int
    children: tuple[tuple[int, int], ...]     # (transition byte, child position), ascending


def _twelve_bit(buf: Buffer, base: int, index: int) -> int:
    at = base + (3 * index) // 2
    word = (buf[at] << 8) | buf[at + 1]
    return (word >> 4) & 0xFFF if index % 2 == 0 else word & 0xFFF


def _sized_unsigned(buf: Buffer, pos: int, size: int) -> int:
    return int.from_bytes(buf[pos:pos + size], "big")


def decode_node(buf: Buffer, pos: int, path: str = "") -> TrieNode:
    """Decode the trie node at ``pos``; CorruptSSTable (Truncated) if it is malformed or cut short."""
    n = len(buf)
    if not 0 <= pos < n:
        raise Truncated(path, "trie node position outside the file", pos)
    first = buf[pos]
    kind, flags = first >> 4, first & 0xF
    try:
        children, payload_at = _CHILD_DECODERS[kind](buf, pos, first)
    except IndexError:
        raise Truncated(path, f"trie node of type {kind} runs past the end of the file", pos) from None
    if flags and payload_at > n:
        raise Truncated(path, "trie node payload runs past the end of the file", pos)
    if kind in (SINGLE_NOPAYLOAD_4, SINGLE_NOPAYLOAD_12):
        flags = 0
    out = []
    previous = -1
    for transition, distance in children:
        if distance <= 0 or distance > pos:
            raise CorruptSSTable(path, f"trie node points {distance} bytes back", pos)
        if transition <= previous:
            raise CorruptSSTable(path, "trie node transitions out of order", pos)
        previous = transition
        out.append((transition, pos - distance))
    return TrieNode(pos, kind, flags, payload_at, tuple(out))


def _payload_only(buf: Buffer, pos: int, first: int) -> tuple[list, int]:
    return [], pos + 1


def _single_nopayload_4(buf: Buffer, pos: int, first: int) -> tuple[list, int]:
    return [(buf[pos + 1], first & 0xF)], pos + 2


def _single_nopayload_12(buf: Buffer, pos: int, first: int) -> tuple[list, int]:
    return [(buf[pos + 2], ((first & 0xF) << 8) | buf[pos + 1])], pos + 3


def _single(width: int):
    def decode(buf: Buffer, pos: int, first: int) -> tuple[list, int]:
        if pos + 2 + width > len(buf):
            raise IndexError
        return [(buf[pos + 1], _sized_unsigned(buf, pos + 2, width))], pos + 2 + width
    return decode


def _sparse(width: int):
    def decode(buf: Buffer, pos: int, first: int) -> tuple[list, int]:
        count = buf[pos + 1]
        base = pos + 2 + count
        end = base + width * count
        if end > len(buf):
            raise IndexError
        return [(buf[pos + 2 + i], _sized_unsigned(buf, base + width * i, width)) for i in range(count)], end
    return decode


def _sparse_12(buf: Buffer, pos: int, first: int) -> tuple[list, int]:
    count = buf[pos + 1]
    base = pos + 2 + count
    end = pos + 2 + (5 * count + 1) // 2
    if end > len(buf) or (count and base + (3 * (count - 1)) // 2 + 2 > len(buf)):
        raise IndexError
    return [(buf[pos + 2 + i], _twelve_bit(buf, base, i)) for i in range(count)], end


def _dense(width: int):
    def decode(buf: Buffer, pos: int, first: int) -> tuple[list, int]:
        start = buf[pos + 1]
        count = buf[pos + 2] + 1
        end = pos + 3 + width * count
        if end > len(buf) or start + count > 256:
            raise IndexError
        out = []
        for i in range(count):
            d = _sized_unsigned(buf, pos + 3 + width * i, width)
            if d:
                out.append((start + i, d))
        return out, end
    return decode


def _dense_12(buf: Buffer, pos: int, first: int) -> tuple[list, int]:
    start = buf[pos + 1]
    count = buf[pos + 2] + 1
    end = pos + 3 + (3 * count + 1) // 2
    if start + count > 256 or pos + 3 + (3 * (count - 1)) // 2 + 2 > len(buf) or end > len(buf):
        raise IndexError
    out = []
    for i in range(count):
        d = _twelve_bit(buf, pos + 3, i)
        if d:
            out.append((start + i, d))
    return out, end


_CHILD_DECODERS = {
    PAYLOAD_ONLY: _payload_only, SINGLE_NOPAYLOAD_4: _single_nopayload_4, SINGLE_8: _single(1),
    SINGLE_NOPAYLOAD_12: _single_nopayload_12, SINGLE_16: _single(2),
    5: _sparse(1), SPARSE_12: _sparse_12, 7: _sparse(2), 8: _sparse(3), 9: _sparse(5),
    DENSE_12: _dense_12, 11: _dense(2), 12: _dense(3), 13: _dense(4), 14: _dense(5), 15: _dense(8),
}


def walk(buf: Buffer, root: int, path: str = "") -> Iterator[tuple[bytes, TrieNode]]:
    """(key prefix, node) for every node with a payload, in key order.

    Each valid node is reached once (a trie is a tree), so more visits than the buffer has bytes
    means nodes are shared or looping: corruption, reported instead of walking forever.
    """
    budget = len(buf)
    stack: list[tuple[int, bytes]] = [(root, b"")]
    while stack:
        pos, prefix = stack.pop()
        budget -= 1
        if budget < 0:
            raise CorruptSSTable(path, "trie has more nodes than bytes (shared or cyclic nodes)", pos)
        node = decode_node(buf, pos, path)
        if node.payload_flags:
            yield prefix, node
        for transition, child in reversed(node.children):
            stack.append((child, prefix + bytes((transition,))))


# ------------------------------------------------------------------------------- Partitions.db

class PartitionIndexEntry(msgspec.Struct, frozen=True):
    prefix: bytes                 # unique byte-comparable prefix of the decorated key
    data_position: int | None     # set when the partition has no row index
    rows_position: int | None     # set when it has one (Rows.db offset of its entry)
    hash_byte: int | None


class PartitionIndex:
    """Partitions.db: footer, first/last keys, and the (ordered) partition positions."""

    def __init__(self, buf: bytes, path: str):
        self.buf = buf
        self.path = path
        if len(buf) < PARTITION_FOOTER_SIZE:
            raise Truncated(path, f"{len(buf)} bytes cannot hold the {PARTITION_FOOTER_SIZE}-byte footer", 0)
        footer = len(buf) - PARTITION_FOOTER_SIZE
        first_pos, self.key_count, self.root = (I64.unpack_from(buf, footer + 8 * i)[0] for i in range(3))
        if not 0 <= first_pos < footer or not 0 <= self.root < footer or self.key_count < 0:
            raise CorruptSSTable(path, f"invalid footer (keys at {first_pos}, {self.key_count} keys, "
                                       f"root {self.root})", footer)
        c = Cursor(memoryview(buf)[:footer], first_pos, path)
        self.first_key = c.short_bytes()
        self.last_key = c.short_bytes()

    def entries(self) -> Iterator[PartitionIndexEntry]:
        count = 0
        for prefix, node in walk(self.buf, self.root, self.path):
            count += 1
            yield self._entry(prefix, node)
        if count != self.key_count:
            raise CorruptSSTable(self.path, f"trie holds {count} partitions, footer says {self.key_count}")

    def _entry(self, prefix: bytes, node: TrieNode) -> PartitionIndexEntry:
        flags, at = node.payload_flags, node.payload_position
        hash_byte = None
        if flags >= HASH_BYTE_FLAG:
            if at >= len(self.buf):
                raise Truncated(self.path, "partition payload past the end of the file", at)
            hash_byte = self.buf[at]
            at += 1
            flags -= HASH_BYTE_FLAG - 1
        value = read_sized_int(self.buf, at, flags, self.path)
        if value >= 0:
            return PartitionIndexEntry(prefix, None, value, hash_byte)
        return PartitionIndexEntry(prefix, ~value, None, hash_byte)


# ------------------------------------------------------------------------------------- Rows.db

class RowIndexEntry(msgspec.Struct, frozen=True):
    key: bytes
    data_position: int
    trie_root: int
    block_count: int
    deletion: DeletionTime | None


class RowIndexBlock(msgspec.Struct, frozen=True):
    separator: bytes              # byte-comparable prefix: every row of the block sorts at or after it
    offset: int                   # of the block's first unfiltered, from the partition's start
    open_deletion: DeletionTime | None


class RowIndex:
    """Rows.db: per-partition entries and their row-index tries."""

    def __init__(self, buf: bytes, path: str, uint_deletion: bool):
        self.buf = buf
        self.path = path
        self.uint_deletion = uint_deletion

    def entry(self, position: int) -> RowIndexEntry:
        c = Cursor(self.buf, position, self.path)
        key = c.short_bytes()
        base = c.pos
        data_position = c.uvint()
        root = c.vint() + base
        blocks = c.uvint()
        deletion, _ = read_deletion_time(self.buf, c.pos, self.uint_deletion, self.path)
        if not 0 <= root < position:
            raise CorruptSSTable(self.path, f"row index root {root} is not before its entry", position)
        return RowIndexEntry(key, data_position, root, blocks, deletion)

    def blocks(self, entry: RowIndexEntry) -> tuple[list[RowIndexBlock], int]:
        """The partition's index blocks, and the offset of its end-of-partition byte.

        The writer follows the last block with one more separator (greater than every clustering)
        whose offset is where the partition's unfiltereds end, so the trie holds block_count + 1
        payloads.
        """
        out = []
        for prefix, node in walk(self.buf, entry.trie_root, self.path):
            flags, at = node.payload_flags, node.payload_position
            size = flags & 7
            if not size:
                raise CorruptSSTable(self.path, "row index payload without an offset", node.position)
            offset = read_sized_int(self.buf, at, size, self.path)
            if offset < 0 or (out and offset <= out[-1].offset):
                raise CorruptSSTable(self.path, f"row index block offset {offset} out of order", at)
            opened = None
            if flags & OPEN_MARKER_FLAG:
                opened, _ = read_deletion_time(self.buf, at + size, self.uint_deletion, self.path)
            out.append(RowIndexBlock(prefix, offset, opened))
        if len(out) != entry.block_count + 1:
            raise CorruptSSTable(self.path, f"row index of {entry.key!r} has {len(out)} payloads, "
                                            f"its entry says {entry.block_count} blocks (+1 end marker)",
                                 entry.trie_root)
        end = out.pop()
        return out, end.offset
