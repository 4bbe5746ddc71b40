"""The flush of a frozen memtable (shards/flush.py): the same SSTable, byte for byte, as writing
its partitions one `add` at a time in (token, pk) order, in bounded steps; and the writer's
encode_plain / add_encoded pair it uses."""

from __future__ import annotations

import os
import random
import tracemalloc

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shards import flush
from shards.errors import SSTableError, SSTableOrderError, SSTableStateError
from shards.flush import flush_steps, token_order_steps
from shards.memtable import Cell, Marker, Partition, Row, TableData
from shards.sstable import SSTableWriter
from shards.sstable.format import COMPONENTS, component_path
from tests.shards.sstable.helpers import TABLE, dump, partition_lists, run_steps, write


def _frozen(parts: list[Partition], seed: int) -> TableData:
    """A memtable holding `parts`, made in a shuffled order (a flush's usual arrival order)."""
    shuffled = parts[:]
    random.Random(seed).shuffle(shuffled)
    frozen = TableData()
    frozen.partitions = {part.pk: part for part in shuffled}
    return frozen


def _plain(token: int, pk: bytes, ts: int = 10) -> Partition:
    """A partition as an INSERT of a table without clustering columns makes it."""
    part = Partition(token, pk)
    row = part.rows[b""] = Row([])
    row.marker = Marker(ts, 0, 0)
    row.cells = {"a": Cell(ts, b"x" + pk, 0, 0), "b": Cell(ts, b"y", 0, 0)}
    row.floor = ts
    return part


def _components(directory: str, generation: int) -> dict[str, bytes]:
    """Every component but the TOC, which names the SSTable's generation."""
    found = {}
    for component in COMPONENTS:
        path = component_path(directory, TABLE, generation, component)
        if os.path.exists(path):
            with open(path, "rb") as f:
                found[component] = f.read()
    return found


def _flushed(directory: str, frozen: TableData, generation: int = 2) -> int:
    writer = SSTableWriter(directory, TABLE, generation)
    _, steps = run_steps(flush_steps(frozen, writer))
    writer.finish().close()
    return steps


@settings(max_examples=40, deadline=None)
@given(partition_lists(max_size=12), st.lists(st.integers(-3, 3), max_size=12), st.integers())
def test_a_flush_writes_what_adds_in_key_order_write(tmp_path_factory, parts, extra_tokens,
                                                     seed) -> None:
    # Any partitions (deletions, statics, range tombstones, many rows: written by `add`), and
    # plain one-row ones (most of a real flush, encoded in arrival order), some of equal
    # tokens: the same partitions and stats as the reference's. Column ids follow the order
    # columns are met in, so the bytes differ when partitions name different columns (the
    # tests below compare bytes where they name the same).
    taken = {part.pk for part in parts}
    parts += [_plain(token, b"p%d" % i) for i, token in enumerate(extra_tokens)
              if b"p%d" % i not in taken]
    unique = list({part.pk: part for part in parts}.values())
    unique.sort(key=lambda part: (part.token, part.pk))
    directory = str(tmp_path_factory.mktemp("flush"))
    sizes = {"uncompressed_bytes": 0, "compressed_bytes": 0, "columns": []}
    with write(directory, unique, generation=1) as expected:
        writer = SSTableWriter(directory, TABLE, 2)
        run_steps(flush_steps(_frozen(unique, seed), writer))
        with writer.finish() as reader:
            assert [dump(part) for part in reader.scan()] == [dump(part) for part in unique]
            assert sorted(reader.stats.columns) == sorted(expected.stats.columns)
            assert (msgspec.structs.replace(reader.stats, **sizes)
                    == msgspec.structs.replace(expected.stats, **sizes))
            for part in unique:
                assert dump(reader.get(part.token, part.pk)) == dump(part)


def test_a_flush_of_plain_partitions_runs_in_bounded_steps(tmp_path, monkeypatch) -> None:
    # Pass 1 a step per ENCODE_STEP_PARTITIONS, pass 2 a step per sort run, one for their
    # merge and one for the order's list, pass 3 a step per WRITE_STEP_PARTITIONS; the
    # SSTable holds every partition in (token, pk) order.
    monkeypatch.setattr(flush, "SORT_RUN_PARTITIONS", 300)
    monkeypatch.setattr(flush, "WRITE_STEP_PARTITIONS", 128)
    rng = random.Random(5)
    parts = [_plain(rng.randrange(-2**63, 2**63), b"k%d" % i) for i in range(1000)]
    steps = _flushed(str(tmp_path), _frozen(parts, 1))
    assert steps == -(-1000 // flush.ENCODE_STEP_PARTITIONS) + 4 + 2 + -(-1000 // 128)
    with SSTableWriter(str(tmp_path), TABLE, 3) as reference:
        for part in sorted(parts, key=lambda part: (part.token, part.pk)):
            reference.add(part)
        reference.finish().close()
    assert _components(str(tmp_path), 2) == _components(str(tmp_path), 3)


def test_a_flush_steps_between_partitions_that_add_writes(tmp_path, monkeypatch) -> None:
    # Partitions pass 1 leaves (here: two rows each) are written one `add` each, a step per
    # ENCODE_STEP_PARTITIONS of them, between the runs of encoded ones around them; the last
    # run is one encoded partition (token 99, after token 98's two rows).
    monkeypatch.setattr(flush, "ENCODE_STEP_PARTITIONS", 10)
    parts = []
    for i in range(100):
        part = _plain(i * 7 % 100, b"k%d" % i)
        if i % 3 == 2:
            part.rows[b"\x01"] = Row([])
        parts.append(part)
    steps = _flushed(str(tmp_path), _frozen(parts, 2))
    # 10 encoding steps, 1 sort step, the merge's and the order's, and 33 partitions written
    # by `add` in 1 write run: a step after each 10 of them and one at the run's end.
    assert steps == 10 + 1 + 2 + 3 + 1
    ordered = sorted(parts, key=lambda part: (part.token, part.pk))
    write(str(tmp_path), ordered, generation=3).close()
    assert _components(str(tmp_path), 2) == _components(str(tmp_path), 3)


@pytest.mark.parametrize("run", [1, 5, 64, 1000])
@pytest.mark.parametrize("spread", [2**63, 2**20, 7])
def test_token_order_steps_give_every_partition_in_token_then_key_order(run, spread) -> None:
    # A small `spread` makes runs of equal tokens (three and more), whose keys arrive out of
    # order; the full one, tokens at both ends of the int64 range.
    rng = random.Random(run * 100 + spread)
    parts = list({pk: Partition(rng.randrange(-spread, spread), pk)
                  for pk in (b"%d" % rng.randrange(10**6) for _ in range(150))}.values())
    given = _tokens(parts)
    (order, tokens), steps = run_steps(token_order_steps(given, parts, run))
    expected = sorted((part.token, part.pk) for part in parts)
    assert [(parts[i].token, parts[i].pk) for i in order] == expected
    assert tokens.dtype == np.int64 and tokens.tolist() == [token for token, _pk in expected]
    assert steps == -(-len(parts) // run) + 2
    assert given.tolist() == [part.token for part in parts]  # left as it was


def test_token_order_steps_of_extreme_tokens_and_one_partition() -> None:
    parts = [Partition(2**63 - 1, b"max")]
    assert run_steps(token_order_steps(_tokens(parts), parts, 8))[0][0] == [0]
    parts += [Partition(-2**63, b"min"), Partition(-2**63, b"a")]
    assert run_steps(token_order_steps(_tokens(parts), parts, 8))[0][0] == [2, 1, 0]


def _tokens(parts: list[Partition]) -> np.ndarray:
    return np.array([part.token for part in parts], np.int64)


def _encoded(writer: SSTableWriter, parts: list[Partition]) -> list[bytes]:
    encoded = [writer.encode_plain(part) for part in parts]
    assert None not in encoded
    return encoded  # type: ignore[return-value]


def _tokens(parts: list[Partition]) -> np.ndarray:
    return np.array([part.token for part in parts], np.int64)


def test_encode_plain_leaves_other_partitions_to_add(tmp_path) -> None:
    writer = SSTableWriter(str(tmp_path), TABLE, 1)
    deleted = _plain(1, b"deleted")
    deleted.deletion, deleted.ldt = 5, 100
    static = _plain(2, b"static")
    static.static["s"] = Cell(3, b"v", 0, 0)
    two = _plain(3, b"two")
    two.rows[b"\x01"] = Row([])
    for part in (deleted, static, two, Partition(4, b"empty")):
        assert writer.encode_plain(part) is None
    writer.abort()


def test_add_encoded_refuses_keys_out_of_order_and_stays_usable(tmp_path) -> None:
    writer = SSTableWriter(str(tmp_path), TABLE, 1)
    parts = [_plain(5, b"b"), _plain(5, b"a"), _plain(4, b"z"), _plain(5, b"c"), _plain(9, b"d")]
    encoded = _encoded(writer, parts)
    writer.add_encoded(_tokens(parts[:1]), [b"b"], encoded[:1])
    for at in (1, 2):  # before the last key written: (5, a) and (4, z)
        with pytest.raises(SSTableOrderError, match=r"after \(token 5, pk 62\)"):
            writer.add_encoded(_tokens(parts[at:at + 1]), [parts[at].pk], encoded[at:at + 1])
    for wrong in ([parts[4], parts[3]], [parts[3], parts[3]]):  # within a run: down, equal
        with pytest.raises(SSTableOrderError, match="strictly increasing"):
            writer.add_encoded(_tokens(wrong), [part.pk for part in wrong], encoded[3:5])
    with pytest.raises(SSTableStateError, match="2 tokens, 1 keys"):
        writer.add_encoded(_tokens(parts[3:]), [b"c"], encoded[3:])
    writer.add_encoded(_tokens(parts[3:]), [b"c", b"d"], encoded[3:])
    with pytest.raises(SSTableStateError, match="2 partitions encoded .* never written"):
        writer.finish()
    writer.abort()


def test_add_encoded_writes_what_add_writes(tmp_path) -> None:
    parts = [_plain(token, b"k%d" % token) for token in (-2**63, -1, 0, 7, 2**63 - 1)]
    writer = SSTableWriter(str(tmp_path), TABLE, 2)
    encoded = _encoded(writer, parts)
    writer.add_encoded(_tokens(parts[:2]), [p.pk for p in parts[:2]], encoded[:2])
    writer.add_encoded(_tokens(parts[2:]), [p.pk for p in parts[2:]], encoded[2:])
    with writer.finish() as reader:
        assert [dump(part) for part in reader.scan()] == [dump(part) for part in parts]
        assert dump(reader.get(7, b"k7")) == dump(parts[3])
    write(str(tmp_path), parts, generation=1).close()
    assert _components(str(tmp_path), 2) == _components(str(tmp_path), 1)


def test_encode_plain_of_an_unstorable_value_aborts_the_writer(tmp_path) -> None:
    writer = SSTableWriter(str(tmp_path), TABLE, 1)
    part = _plain(1, b"bad")
    part.rows[b""].cells["a"] = Cell(1, b"v", 2**40, 5)  # a TTL beyond the i32 we store
    part.rows[b""].floor = -2**63  # not a row written whole: the general encoding
    with pytest.raises(SSTableError, match="cannot store"):
        writer.encode_plain(part)
    assert os.listdir(tmp_path) == []
    with pytest.raises(SSTableStateError, match="aborted"):
        writer.encode_plain(_plain(2, b"fine"))


def test_a_flush_frees_each_runs_encoded_partitions_as_it_writes_them(tmp_path,
                                                                      monkeypatch) -> None:
    # The blobs pass 1 made are freed with the run that writes them, not all at the end: the
    # generator's last step would free every one of them at once (a step of 2.8 ms for a 46k
    # partition flush here). Halfway through pass 3, half the blobs are gone.
    monkeypatch.setattr(flush, "WRITE_STEP_PARTITIONS", 500)
    parts = [_plain(i * 7919 % 2000 - 1000, b"partition-key-%05d" % i) for i in range(2000)]
    writer = SSTableWriter(str(tmp_path), TABLE, 2)
    with SSTableWriter(str(tmp_path), TABLE, 3) as other:
        blob = len(other.encode_plain(_plain(0, b"partition-key-00000")))
        other.abort()
    steps = flush_steps(_frozen(parts, 3), writer)
    tracemalloc.start()
    try:
        for _ in range(-(-2000 // flush.ENCODE_STEP_PARTITIONS) + 1 + 2):  # passes 1 and 2
            next(steps)
        encoded, _peak = tracemalloc.get_traced_memory()
        next(steps), next(steps)  # two of the four runs written
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert encoded > 2000 * blob
    assert held < encoded - 1000 * blob // 2, f"{encoded} bytes, then {held} after 1000 written"
    for _ in steps:
        pass
    writer.finish().close()
