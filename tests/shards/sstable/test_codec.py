"""PartitionEncoder: the one-pack encoding of plain partitions is the general encoding, byte for
byte, and plain partitions written by the SSTableWriter read back as they went in."""

from __future__ import annotations

import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from shards.memtable import Partition
from shards.sstable.codec import MAX_CACHED_PK, U32, PartitionEncoder
from tests.shards.sstable.helpers import _KEY, dump, rows, write

_END = U32.pack(0)


@st.composite
def plain_partitions(draw, token: int, pk: bytes) -> Partition:
    """One row and nothing else: no static cells, range tombstones or partition deletion."""
    part = Partition(token, pk)
    ck = draw(st.one_of(st.just(b""), _KEY))
    part.rows[ck] = draw(rows(ck, small=False))
    return part


_PKS = st.one_of(st.binary(max_size=12), st.binary(min_size=MAX_CACHED_PK - 1,
                                                   max_size=MAX_CACHED_PK + 3))


def _general(encoder: PartitionEncoder, part: Partition) -> bytes:
    header = encoder.header(part)
    ((ck, row),) = part.rows.items()
    body = encoder.row(ck, row)
    return b"".join((U32.pack(len(header)), header, U32.pack(len(body)), body, _END))


def _tallies(encoder: PartitionEncoder) -> dict:
    return {name: value for name, value in vars(encoder).items() if name != "ids"}


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**63), 2**63 - 1), _PKS, st.data())
def test_plain_partition_is_the_general_encoding(token, pk, data) -> None:
    part = data.draw(plain_partitions(token, pk))
    fast, general = PartitionEncoder(), PartitionEncoder()
    ((ck, row),) = part.rows.items()
    assert fast.plain_partition(part, ck, row) == _general(general, part)
    assert _tallies(fast) == _tallies(general)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), _PKS), min_size=1, max_size=6,
                unique=True), st.data())
def test_plain_partitions_round_trip_through_an_sstable(keys, data) -> None:
    parts = [data.draw(plain_partitions(token, pk)) for token, pk in sorted(keys)]
    with tempfile.TemporaryDirectory() as d, write(d, parts) as reader:
        assert [dump(p) for p in reader.scan()] == [dump(p) for p in parts]
        for part in parts:
            assert dump(reader.get(part.token, part.pk)) == dump(part)
        assert reader.stats.rows == len(parts)
