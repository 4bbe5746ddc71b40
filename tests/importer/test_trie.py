"""BTI trie nodes: every node type decoded from hand-written bytes, walks in key order, and the decoder
and walker on arbitrary bytes (decode or CorruptSSTable, nothing else, never a hang)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferrosa.importer import bti
from ferrosa.importer.errors import CorruptSSTable

FUZZ = settings(max_examples=int(os.environ.get("FERROSA_FUZZ_EXAMPLES", "400")), deadline=None)

SPARSE_WIDTH = {5: 1, 7: 2, 8: 3, 9: 5}
DENSE_WIDTH = {11: 2, 12: 3, 13: 4, 14: 5, 15: 8}


def _twelve_bits(values: list[int]) -> bytes:
    out = bytearray()
    for i, v in enumerate(values):
        if i % 2 == 0:
            out += bytes((v >> 4,))
            carry = (v & 0xF) << 4
        else:
            out += bytes((carry | (v >> 8), v & 0xFF))
    if len(values) % 2:
        out += bytes((carry,))
    return bytes(out)


def encode_node(kind: int, children: list[tuple[int, int]], flags: int = 0) -> bytes:
    """A node of ``kind`` with (transition, distance back) children, written as TrieNode does."""
    first = (kind << 4) | flags
    if kind == 0:
        return bytes((first,))
    if kind == 1:
        (t, d), = children
        return bytes(((1 << 4) | d, t))
    if kind == 3:
        (t, d), = children
        return bytes(((3 << 4) | (d >> 8), d & 0xFF, t))
    if kind in (2, 4):
        (t, d), = children
        return bytes((first, t)) + d.to_bytes(1 if kind == 2 else 2, "big")
    if kind in SPARSE_WIDTH or kind == 6:
        head = bytes((first, len(children))) + bytes(t for t, _ in children)
        if kind == 6:
            return head + _twelve_bits([d for _, d in children])
        return head + b"".join(d.to_bytes(SPARSE_WIDTH[kind], "big") for _, d in children)
    start, stop = children[0][0], children[-1][0]
    by_byte = dict(children)
    distances = [by_byte.get(b, 0) for b in range(start, stop + 1)]
    head = bytes((first, start, stop - start))
    if kind == 10:
        return head + _twelve_bits(distances)
    return head + b"".join(d.to_bytes(DENSE_WIDTH[kind], "big") for d in distances)


def build(kind: int, transitions: list[int], root_payload: int | None, padding: int = 0) -> tuple[bytes, int]:
    """Leaves (PAYLOAD_ONLY, one payload byte = their transition) then ``padding`` bytes, then the root."""
    buf = bytearray()
    positions = []
    for t in transitions:
        positions.append(len(buf))
        buf += encode_node(0, [], 1) + bytes((t,))
    buf += b"\xee" * padding
    root = len(buf)
    flags = 1 if root_payload is not None else 0
    buf += encode_node(kind, [(t, root - p) for t, p in zip(transitions, positions)], flags)
    if root_payload is not None:
        buf += bytes((root_payload,))
    return bytes(buf), root


CASES = [
    (1, [0x41], None, 0), (2, [0x41], 0x99, 0), (3, [0x41], None, 300), (4, [0x41], 0x99, 300),
    (5, [1, 7, 200], 0x99, 0), (6, [1, 7, 200], 0x99, 300), (6, [3, 9], None, 2000), (7, [5, 6], 0x99, 300),
    (8, [0, 255], None, 70000), (9, [10, 20, 30], 0x99, 0),
    (10, [0x30, 0x31, 0x34], 0x99, 300), (10, [0x30, 0x33], None, 0), (11, [2, 5], 0x99, 300),
    (12, [2, 3, 9], None, 70000), (13, [250, 255], 0x99, 0), (14, [0, 1], 0x99, 0), (15, [100, 104], None, 0),
]


@pytest.mark.parametrize("kind,transitions,payload,padding", CASES)
def test_every_node_type(kind: int, transitions: list[int], payload: int | None, padding: int) -> None:
    buf, root = build(kind, transitions, payload, padding)
    node = bti.decode_node(buf, root)
    assert node.type == kind
    assert [t for t, _ in node.children] == transitions
    assert [buf[c + 1] for _, c in node.children] == transitions  # each child is its leaf
    assert (node.payload_flags != 0) == (payload is not None)
    if payload is not None:
        assert buf[node.payload_position] == payload
    walked = [(prefix, buf[n.payload_position]) for prefix, n in bti.walk(buf, root)]
    expected = ([(b"", payload)] if payload is not None else []) + [(bytes((t,)), t) for t in transitions]
    assert walked == expected


def test_pointer_forward_or_self_is_corrupt() -> None:
    buf = encode_node(2, [(0x41, 0)])  # distance 0: points at itself
    with pytest.raises(CorruptSSTable):
        bti.decode_node(buf, 0)
    with pytest.raises(CorruptSSTable):
        bti.decode_node(b"\x25\x01", 0)  # SINGLE_8 whose pointer byte is missing


def test_shared_nodes_do_not_explode() -> None:
    # 40 levels of SPARSE_8 nodes whose two children are the same node: 2**40 paths.
    buf = bytearray(encode_node(0, [], 1) + b"\x00")
    previous = 0
    for _ in range(40):
        here = len(buf)
        buf += encode_node(5, [(1, here - previous), (2, here - previous)])
        previous = here
    with pytest.raises(CorruptSSTable, match="more nodes than bytes"):
        list(bti.walk(bytes(buf), previous))


@FUZZ
@given(st.binary(max_size=64), st.integers(0, 70))
def test_decode_node_arbitrary_bytes(buf: bytes, pos: int) -> None:
    try:
        node = bti.decode_node(buf, pos)
    except CorruptSSTable:
        return
    assert all(0 <= child < pos for _, child in node.children)


@FUZZ
@given(st.binary(max_size=96), st.integers(0, 100))
def test_walk_arbitrary_bytes(buf: bytes, root: int) -> None:
    try:
        for _prefix, node in bti.walk(buf, root):
            assert node.payload_flags
    except CorruptSSTable:
        pass


@FUZZ
@given(st.binary(max_size=120))
def test_partition_index_arbitrary_bytes(buf: bytes) -> None:
    try:
        index = bti.PartitionIndex(buf, "x-Partitions.db")
        list(index.entries())
    except CorruptSSTable:
        pass


@FUZZ
@given(st.binary(max_size=120), st.integers(0, 120))
def test_row_index_arbitrary_bytes(buf: bytes, pos: int) -> None:
    rows = bti.RowIndex(buf, "x-Rows.db", uint_deletion=True)
    try:
        rows.blocks(rows.entry(pos))
    except CorruptSSTable:
        pass
