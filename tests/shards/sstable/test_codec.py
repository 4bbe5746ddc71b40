"""PartitionEncoder: the one-pack encoding of plain partitions is the general encoding, byte for
byte, and plain partitions written by the SSTableWriter read back as they went in;
PartitionDecoder.plain_row reads what `row` reads, or leaves the row to it."""

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


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_plain_row_agrees_with_row(data) -> None:
    """plain_row decodes a plain row as `row` does (values by slot, liveness) and answers None
    for any other row, even one that ends the buffer: it never raises on a valid row."""
    from shards.memtable import Cell
    from shards.sstable.codec import NO_DELETION, PartitionDecoder
    ck = data.draw(st.one_of(st.just(b""), _KEY))
    row = data.draw(rows(ck, small=False))
    if data.draw(st.booleans()):  # an odd cell of the shortest layout (no value, no ldt) last
        row.cells["c"] = Cell(3, None, 0, 0)
    encoder = PartitionEncoder()
    body = encoder.row(ck, row)
    decoder = PartitionDecoder(encoder.columns)
    slot_of = list(range(len(encoder.columns)))
    values: list = [None] * len(slot_of)
    plain = decoder.plain_row(body, 0, len(body), slot_of, values)
    decoded_ck, decoded = decoder.row(body, 0, len(body))
    simple = all(type(c) is Cell and c.value is not None and not c.ttl and not c.ldt
                 and c.timestamp != NO_DELETION for c in decoded.cells.values())
    marker = decoded.marker
    plain_marker = marker is None or (not marker.ttl and marker.timestamp != NO_DELETION)
    if (decoded.deletion != NO_DELETION or not simple or not plain_marker
            or None in decoded.ck_values):
        assert plain is None
        return
    assert plain == (decoded_ck, decoded.ck_values, marker is not None or bool(decoded.cells))
    assert {encoder.columns[i]: v for i, v in enumerate(values) if v is not None} == {
        name: cell.value for name, cell in decoded.cells.items()}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120), st.integers(0, 130), st.integers(-3, 3), st.binary(max_size=5))
def test_single_plain_row_reads_any_bytes_or_declines(buf, p, token, pk) -> None:
    """Over any bytes, single_plain_row answers a span inside the buffer or None: it never
    raises, whatever the sizes in the bytes say."""
    from shards.sstable.codec import single_plain_row
    span = single_plain_row(buf, p, token, pk)
    assert span is None or p < span[0] <= span[1] <= len(buf) - 4


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**63), 2**63 - 1), _PKS, st.data())
def test_single_plain_row_finds_the_row_of_a_plain_partition(token, pk, data) -> None:
    """The span is the row's record in plain_partition's bytes; any other token or key, a cut
    buffer, a second row, a static cell or a partition deletion gets None."""
    from shards.memtable import Cell
    from shards.sstable.codec import single_plain_row
    part = data.draw(plain_partitions(token, pk))
    encoder = PartitionEncoder()
    ((ck, row),) = part.rows.items()
    prefix = data.draw(st.binary(max_size=5))
    record = encoder.plain_partition(part, ck, row)
    buf = prefix + record + data.draw(st.binary(max_size=5))
    p = len(prefix)
    span = single_plain_row(buf, p, token, pk)
    if len(pk) > MAX_CACHED_PK:
        assert span is None
        return
    body = encoder.row(ck, row)
    assert span is not None and buf[span[0]:span[1]] == body
    assert single_plain_row(buf, p, token ^ 1, pk) is None
    assert single_plain_row(buf, p, token, pk + b"x") is None
    assert single_plain_row(prefix + record[:-1], p, token, pk) is None
    odd = data.draw(st.sampled_from(["row", "static", "deletion"]))
    if odd == "row":
        part.rows[b"\x41"] = row  # after every drawn key (\x40...)
    elif odd == "static":
        part.static["a"] = Cell(1, b"s", 0, 0)
    else:
        part.deletion, part.ldt = 5, 6
    other = _general(PartitionEncoder(), part) if odd != "row" else _two_rows(part)
    assert single_plain_row(prefix + other, p, token, pk) is None


def _two_rows(part: Partition) -> bytes:
    encoder = PartitionEncoder()
    header = encoder.header(part)
    out = [U32.pack(len(header)), header]
    for ck, row in part.rows.items():
        body = encoder.row(ck, row)
        out += (U32.pack(len(body)), body)
    return b"".join(out + [_END])
