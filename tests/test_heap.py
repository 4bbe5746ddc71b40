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
