"""tune_collector: the collector stays on, full collections become rare, start-up objects freeze.

Run in a child interpreter: it changes process-wide collector settings.
"""

from __future__ import annotations

import subprocess
import sys

from ferrosa import heap

CHECK = """
import gc
from ferrosa import heap
assert gc.get_freeze_count() == 0
heap.tune_collector()
print(gc.isenabled(), gc.get_threshold(), gc.get_freeze_count() > 1000)
"""


def test_tune_collector_keeps_collecting_and_freezes_startup_objects() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         check=True).stdout.split("\n")[0]
    expected = (heap.YOUNG_GENERATION_THRESHOLD, heap.MIDDLE_GENERATION_THRESHOLD,
                heap.OLD_GENERATION_THRESHOLD)
    assert out == f"True {expected} True"


def test_cycles_made_after_tuning_are_still_collected() -> None:
    code = """
import gc, weakref
from ferrosa import heap
heap.tune_collector()
class Node: pass
a, b = Node(), Node()
a.other, b.other = b, a
probe = weakref.ref(a)
del a, b
for _ in range(3):
    gc.collect(1)  # the young generations only, as the automatic collections run them
print(probe() is None)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "True"


OVERWRITES = """
import gc, sys
from ferrosa import heap
heap.tune_collector()
young = heap.YoungCollections() if sys.argv[1] == "paced" else None
cells = {key: (0, b"v") for key in range(20_000)}
largest = 0
for i in range(200_000):
    # An overwrite: a new tracked tuple in, the old one freed (CPython's count barely moves).
    cells[i % 20_000] = (i, b"v" + bytes([i % 7]))
    if young is not None:
        young.served(1)
    if i % 500 == 0:
        largest = max(largest, len(gc.get_objects(0)))
print(largest)
"""


def _largest_young_generation(mode: str) -> int:
    return int(subprocess.run([sys.executable, "-c", OVERWRITES, mode], capture_output=True,
                              text=True, check=True).stdout)


def test_overwrites_keep_the_young_generation_small_only_when_paced() -> None:
    # Without the shard's own young collections the young list grows with every new cell until
    # CPython's count (allocations minus frees) reaches its threshold; with them it stays about
    # one request interval's worth.
    assert _largest_young_generation("default") > 20 * heap.YOUNG_COLLECTION_REQUESTS
    assert _largest_young_generation("paced") <= 2 * heap.YOUNG_COLLECTION_REQUESTS + 100
