"""ShardStore.on_read: the single-row shortcut answers exactly what the general row loop answers."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferrosa.ipc import messages as m
from shards.store import ShardStore

TABLE = b"\x01" * 16
PROJECTION = [(m.PROJ_PK, 0), (m.PROJ_CELL, "a"), (m.PROJ_STATIC, "s"), (m.PROJ_CELL, "b"),
              (m.PROJ_WRITETIME, "a"), (m.PROJ_TTL, "b")]
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
    return m.Mutation(TABLE, 7, pk, b"", [], ts, kind, _cells(draw, ["a", "b"]),
                      _cells(draw, ["s"]), ttl, expires, draw(st.booleans()), NOW - 10)


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
