"""ShardStore.on_read: the single-row shortcut answers exactly what the general row loop answers."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrosa.ipc import messages as m
from shards.store import ShardStore

TABLE = b"\x01" * 16
PROJECTION = m.encode_projection([(m.PROJ_PK, 0), (m.PROJ_CELL, "a"), (m.PROJ_STATIC, "s"),
                                  (m.PROJ_CELL, "b"), (m.PROJ_WRITETIME, "a"), (m.PROJ_TTL, "b")])
NOW = 1_000


def _cells(draw, names) -> list[m.CellWrite]:
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    return [m.CellWrite(name, draw(st.one_of(st.none(), st.binary(max_size=3))))
            for name in chosen]


@st.composite
def mutations(draw) -> m.Mutation:
    pk = draw(st.sampled_from([b"p1", b"p2"]))
    ts = draw(st.integers(1, 20))
    kind = draw(st.sampled_from([m.MUTATION_ROW_UPSERT] * 4 + [m.MUTATION_ROW_DELETE,
                                                                m.MUTATION_PARTITION_DELETE]))
    ttl = draw(st.sampled_from([0, 0, 5]))
    expires = draw(st.sampled_from([NOW - 1, NOW + 1])) if ttl else 0
    regular = _cells(draw, ["a", "b"])
    mutation = m.Mutation(TABLE, 7, pk, b"", [], ts, kind, regular, _cells(draw, ["s"]), ttl,
                          expires, draw(st.booleans()), NOW - 10)
    if kind == m.MUTATION_ROW_UPSERT and draw(st.booleans()):  # the front's plain form
        mutation.cells = []
        mutation.plain_names = [w.column for w in regular]
        mutation.plain_values = [w.value for w in regular]
    return mutation


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    return str(tmp_path_factory.mktemp("store"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(mutations(), max_size=6), pk=st.sampled_from([b"p1", b"p2"]),
       after=st.sampled_from([None, b""]), limit=st.sampled_from([0, 1, 2]))
def test_single_row_shortcut_matches_the_row_loop(directory, monkeypatch, writes, pk, after,
                                                  limit) -> None:
    store = ShardStore(0, directory, 1 << 30, None)
    store.handle(m.TableSchema(0, TABLE))
    for write in writes:
        assert type(store.handle(m.Write(0, [write]))) is m.Ack
    read = m.Read(1, TABLE, 7, pk, PROJECTION, NOW, limit=limit, after=after)
    shortcut = store.handle(read)
    with monkeypatch.context() as patch:
        patch.setattr(ShardStore, "_single_row", staticmethod(lambda *args: False))
        general = store.handle(read)
    assert type(shortcut) is m.RowsReply
    assert shortcut == general


@pytest.mark.parametrize("bad,message", [
    (m.Mutation(TABLE, 7, b"p2", b"", [], 5, m.MUTATION_ROW_UPSERT, plain_names=["a", "b"],
                plain_values=[b"x"]), "a mutation has 2 plain cell names and 1 values"),
    # The kind is checked with the other rules, before anything is applied.
    (m.Mutation(TABLE, 7, b"p2", b"", [], 5, 9, plain_names=["a"], plain_values=[b"y"]),
     "unknown mutation kind 9"),
    # More rows (a BATCH into one partition): each with a value per name, of an upsert only.
    (m.Mutation(TABLE, 7, b"p2", b"\x01", [b"c"], 5, m.MUTATION_ROW_UPSERT, plain_names=["a"],
                plain_values=[b"y"], rows=[m.RowWrite(b"\x02", [b"d"], [b"y"]),
                                           m.RowWrite(b"\x03", [b"e"], [b"y", b"z"])]),
     "a mutation has 1 plain cell names and a row of 2 values"),
    (m.Mutation(TABLE, 7, b"p2", b"\x01", [b"c"], 5, m.MUTATION_ROW_DELETE,
                rows=[m.RowWrite(b"\x02", [b"d"], [])]),
     "a mutation of kind 1 has more rows"),
])
def test_a_bad_mutation_is_refused_and_nothing_is_applied(directory, bad, message) -> None:
    """A Write whose second mutation is refused leaves its first one unapplied too."""
    store = ShardStore(0, directory, 1 << 30, None)
    store.handle(m.TableSchema(0, TABLE))
    good = m.Mutation(TABLE, 7, b"p1", b"", [], 5, m.MUTATION_ROW_UPSERT, plain_names=["a"],
                      plain_values=[b"x"], row_marker=True)
    reply = store.handle(m.Write(3, [good, bad]))
    assert type(reply) is m.Failure and reply.req_id == 3
    assert reply.message == message
    for pk in (b"p1", b"p2"):
        rows = store.handle(m.Read(4, TABLE, 7, pk, PROJECTION, NOW))
        assert type(rows) is m.RowsReply and rows.count == 0
