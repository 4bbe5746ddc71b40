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


# Rows whose lengths often collide with different layouts: short keys and values, few columns,
# timestamps that include the deletion floor (which plain_row refuses).
_SHAPE_KEYS = st.sampled_from([b"", b"\x40a", b"\x40ab", b"\x40abc", b"\x40abcd"])
_SHAPE_STAMPS = st.sampled_from([1, 7, 2**40, -(2**63)])


@st.composite
def _shape_rows(draw, ck: bytes):
    from shards.memtable import Cell, Marker, Row
    row = Row([ck[i:i + 2] for i in range(1, len(ck), 2)] or [b""])
    if draw(st.booleans()):
        row.marker = Marker(draw(_SHAPE_STAMPS), *draw(st.sampled_from([(0, 0), (5, 9)])))
    if draw(st.integers(0, 9)) == 0:
        row.deletion, row.ldt = 3, 4
    for name in draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True)):
        value = draw(st.sampled_from([b"", b"v", b"vw", None]))
        ttl = draw(st.sampled_from([0, 0, 0, 6]))
        row.cells[name] = Cell(draw(_SHAPE_STAMPS), value, ttl, 11 if ttl or value is None else 0)
    return row


def _shaped_bodies(data, most: int):
    """Up to `most` encoded _shape_rows, their encoder (its column dictionary) and a decoder."""
    from shards.sstable.codec import PartitionDecoder
    encoder = PartitionEncoder()
    bodies = []
    for _ in range(data.draw(st.integers(1, most))):
        ck = data.draw(_SHAPE_KEYS)
        bodies.append(encoder.row(ck, data.draw(_shape_rows(ck))))
    return encoder, bodies, PartitionDecoder(encoder.columns)


@st.composite
def _slot_maps(draw, columns: int) -> tuple[list[int], int]:
    """slot_of over `columns` column ids (-1: not selected) and the width, which may leave
    slots no column fills."""
    width = draw(st.integers(0, columns + 1))
    slots = draw(st.permutations(range(max(width, columns))))
    return [s if s < width and draw(st.booleans()) else -1 for s in slots[:columns]], width


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_plain_rows_read_by_shape_are_read_as_field_by_field(data) -> None:
    """One decoder reads many rows: a row of a length it has seen is read by that length's
    RowShape when its layout matches. Every answer (the row, None, the values by slot) is what
    reading field by field gives, for rows whose lengths collide with other layouts, markers
    with a TTL, cell tombstones, expiring cells, row deletions and timestamps at the deletion
    floor, under two projections used in turn."""
    encoder, bodies, decoder = _shaped_bodies(data, 10)
    maps = [data.draw(_slot_maps(len(encoder.columns))) for _ in range(2)]
    for round_ in range(2):  # the second round reads every row with what the first taught
        for i, body in enumerate(bodies):
            slot_of, width = maps[(i + round_) % 2]
            fast, expected = [None] * width, [None] * width
            row = decoder.plain_row(body, 0, len(body), slot_of, fast)
            assert row == decoder._plain_fields(body, 0, len(body), slot_of, expected)
            if row is not None:
                assert fast == expected
                assert len(body) in decoder.shapes


def test_a_row_of_a_known_shape_at_the_deletion_floor_is_not_plain() -> None:
    """The layout matches the learnt shape; only a timestamp differs, and plain_row must still
    refuse a marker or a cell at the deletion floor."""
    from shards.memtable import Cell, Marker, Row
    from shards.sstable.codec import NO_DELETION, PartitionDecoder
    encoder = PartitionEncoder()

    def body(marker_ts: int, cell_ts: int) -> bytes:
        row = Row([b"ab"], Marker(marker_ts, 0, 0), cells={"a": Cell(cell_ts, b"xyz", 0, 0)})
        return encoder.row(b"\x40ab", row)
    known, floor_cell, floor_marker = body(5, 6), body(5, NO_DELETION), body(NO_DELETION, 6)
    decoder = PartitionDecoder(encoder.columns)
    values = [None]
    assert decoder.plain_row(known, 0, len(known), [0], values) == (b"\x40ab", [b"ab"], True)
    assert len(known) in decoder.shapes and values == [b"xyz"]
    for other in (floor_cell, floor_marker):
        assert len(other) == len(known)
        assert decoder.plain_row(other, 0, len(other), [0], [None]) is None


def test_a_length_whose_rows_vary_in_layout_is_read_field_by_field() -> None:
    """Rows of one length but two layouts: each is read right, and after MAX_SHAPE_MISSES
    rows that miss the learnt shape the length gets none (no unpack wasted per row)."""
    from shards.memtable import Cell, Marker, Row
    from shards.sstable.codec import MAX_SHAPE_MISSES, PartitionDecoder
    encoder = PartitionEncoder()

    def body(ck: bytes, value: bytes) -> bytes:
        row = Row([ck[1:]], Marker(5, 0, 0), cells={"a": Cell(6, value, 0, 0)})
        return encoder.row(ck, row)
    first, other = body(b"\x40a", b"xyz"), body(b"\x40ab", b"x")
    assert len(first) == len(other)
    decoder = PartitionDecoder(encoder.columns)
    for i in range(2 * MAX_SHAPE_MISSES):
        for ck, value, b in ((b"\x40a", b"xyz", first), (b"\x40ab", b"x", other)):
            values = [None]
            assert decoder.plain_row(b, 0, len(b), [0], values) == (ck, [ck[1:]], True)
            assert values == [value]
        assert decoder.shapes[len(first)] is not False or i >= MAX_SHAPE_MISSES - 1
    assert decoder.shapes[len(first)] is False


def _cql_value(value: bytes | None) -> bytes:
    """A result value as the protocol writes it: [bytes], a big-endian length (-1: null)."""
    return b"\xff\xff\xff\xff" if value is None else len(value).to_bytes(4, "big") + value


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_packed_rows_are_the_values_read_field_by_field(data) -> None:
    """plain_packed, for a row its length's shape reads, gives the row's key and liveness as
    plain_row does, and the plan's values after its leading partition-key items encoded as the
    protocol's [bytes], as encode_plain writes them from plain_row's values; for plans with a
    key item later on, a clustering index the rows lack, or a cell the row lacks, it declines."""
    from ferrosa.ipc import messages as m
    from shards.encoder import PlainPlan
    encoder, bodies, decoder = _shaped_bodies(data, 8)
    slot_of, width = data.draw(_slot_maps(len(encoder.columns)))
    item = st.one_of(st.tuples(st.just(m.PROJ_PK), st.just(0)),
                     st.tuples(st.just(m.PROJ_CK), st.integers(0, 2)),
                     *([st.tuples(st.just(m.PROJ_CELL), st.integers(0, width - 1))]
                       if width else []))
    plan = PlainPlan(slot_of, width, data.draw(st.lists(item, max_size=6)))
    packed_once = False
    for _ in range(2):  # plain_row teaches the shapes in the first round
        for body in bodies:
            packed = decoder.plain_packed(body, 0, len(body), plan)
            values = [None] * width
            row = decoder.plain_row(body, 0, len(body), slot_of, values)
            if packed is None:
                continue
            packed_once = True
            assert plan.tail is not None and row is not None
            ck, ck_values, live = row
            assert (packed[0], packed[2]) == (ck, live)
            assert packed[1] == b"".join(
                _cql_value(ck_values[i] if kind == m.PROJ_CK else values[i])
                for kind, i in plan.tail)
    if plan.tail == () and any(len(b) in decoder.shapes and decoder.shapes[len(b)]
                               for b in bodies):
        assert packed_once  # a plan of key items only packs nothing from any shaped row
