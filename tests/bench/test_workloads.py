"""Workload generators: the zipfian distribution, key striping, preload coverage, labels."""

from __future__ import annotations

import collections
import random

import pytest

from bench.workloads import (
    BATCH, BATCH_ROWS, CLUSTER_ROWS, WORKLOADS, Settings, Zipfian, key_bytes, key_chooser,
    partitions, zeta)


def test_zeta_matches_the_direct_sum() -> None:
    assert zeta(1000, 0.99) == pytest.approx(sum(1 / i ** 0.99 for i in range(1, 1001)))
    assert zeta(1, 0.5) == 1.0


def test_zipfian_stays_in_range_and_is_deterministic() -> None:
    z = Zipfian(1000)
    a = [z.draw(u) for u in (random.Random(7).random() for _ in range(5000))]
    b = [z.sampler(random.Random(7))() for _ in range(1)]
    assert all(0 <= k < 1000 for k in a)
    assert z.draw(0.0) == 0 and z.draw(0.999999999) <= 999
    assert b[0] == a[0]


def test_zipfian_frequencies_follow_the_power_law() -> None:
    n, draws = 10_000, 200_000
    z = Zipfian(n)
    sample = z.sampler(random.Random(3))
    counts = collections.Counter(sample() for _ in range(draws))
    # rank 0 is drawn with probability 1 / zeta(n); rank 1 with 2**-theta / zeta(n)
    assert counts[0] / draws == pytest.approx(1 / z.zetan, rel=0.05)
    assert counts[1] / draws == pytest.approx(0.5 ** 0.99 / z.zetan, rel=0.08)
    assert counts.most_common(1)[0][0] == 0
    # the skew: the hottest 1 % of keys get far more than 1 % of the draws (~ 60 % at theta .99)
    hot = sum(c for k, c in counts.items() if k < n // 100)
    assert 0.45 < hot / draws < 0.75


@pytest.mark.parametrize("n", [1, 2, 3])
def test_zipfian_tiny_ranges(n: int) -> None:
    z = Zipfian(n)
    seen = {z.draw(random.Random(i).random()) for i in range(500)}
    assert seen == set(range(n))


def test_zipfian_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        Zipfian(0)
    with pytest.raises(ValueError):
        Zipfian(10, theta=1.0)
    with pytest.raises(ValueError):
        key_chooser("gaussian", 10, random.Random())


def test_keys_are_ten_bytes() -> None:
    assert key_bytes(0) == b"0000000000" and len(key_bytes(99_999)) == 10


def test_write_keys_are_striped_over_clients() -> None:
    s = Settings(keys=10)
    seen = []
    for part in range(3):
        op = WORKLOADS["write"].operations(s, part, 3)
        seen.append([op()[1][0] for _ in range(4)])
    assert seen[0] == [key_bytes(k) for k in (0, 3, 6, 9)]
    assert seen[1] == [key_bytes(k) for k in (1, 4, 7, 1)]  # wraps within its stripe
    kind, params = WORKLOADS["write"].operations(s, 0, 1)()
    assert kind == 0 and len(params) == 6 and all(len(v) == 34 for v in params[1:])


def test_standard1_preload_covers_every_key_once() -> None:
    s = Settings(keys=101, row_size=8)
    keys = [params[0] for part in range(4)
            for kind, params in WORKLOADS["read"].preload(s, part, 4)]
    assert sorted(keys) == [key_bytes(k) for k in range(101)]


def test_clustered1_preload_fills_every_partition() -> None:
    s = Settings(keys=2 * CLUSTER_ROWS)
    rows = collections.Counter()
    for part in range(3):
        for kind, batch in WORKLOADS["slice"].preload(s, part, 3):
            assert kind == BATCH and len({r[0] for r in batch}) == 1  # one partition per batch
            rows.update((r[0], r[1]) for r in batch)
    assert len(rows) == 2 * CLUSTER_ROWS and set(rows.values()) == {1}


def test_slice_and_batch_operations_stay_inside_a_partition() -> None:
    s = Settings(keys=5 * CLUSTER_ROWS, slice_rows=100)
    op = WORKLOADS["slice"].operations(s, 0, 1)
    for _ in range(200):
        kind, (key, start, limit) = op()
        assert kind == 1 and limit == 100 and 0 <= start <= CLUSTER_ROWS - 100
        assert key in {key_bytes(p) for p in range(partitions(s))}
    kind, rows = WORKLOADS["batch"].operations(s, 0, 1)()
    assert kind == BATCH and len(rows) == BATCH_ROWS and len({r[0] for r in rows}) == 1
    assert [r[1] for r in rows] == list(range(rows[0][1], rows[0][1] + BATCH_ROWS))


def test_mixed_is_about_half_reads() -> None:
    op = WORKLOADS["mixed"].operations(Settings(keys=100), 0, 1)
    kinds = collections.Counter(op()[0] for _ in range(4000))
    assert 0.45 < kinds[1] / 4000 < 0.55 and set(kinds) == {0, 1}


def test_labels() -> None:
    assert WORKLOADS["read"].label(Settings(dist="zipfian")) == "read-zipfian"
    assert WORKLOADS["slice"].label(Settings(slice_rows=100)) == "slice-100"
    assert WORKLOADS["write"].label(Settings()) == "write"
