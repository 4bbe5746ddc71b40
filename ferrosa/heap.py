"""How the front and the shards use CPython's cyclic garbage collector.

What it is: `tune_collector()`, called once by the front and by each shard after their imports,
before they load any data (schema, SSTables, commit log).

What it must not do: switch the collector off. Request handling does make reference cycles
(asyncio futures and their callbacks, exceptions and their tracebacks); the young generations
must go on finding them.

Theory of operation: CPython tracks every container object (class instances, lists, dicts,
tracked tuples) in three generations. A collection of the young generations costs in proportion
to the objects allocated since the last one. A full collection walks every tracked object in the
process. With the default thresholds (700, 10, 10), a full collection runs whenever the objects
promoted to the oldest generation reach a quarter of it.

A shard's memtable is a large heap of long-lived containers that keeps growing: a partition, its
row map, its row, their lists and dicts. Under writes, full collections therefore come often, and
each walks the whole memtable.
  - Measured, one shard's decode + apply + commit-log path in one process (40k single-row
    writes, best of 5): 23.3 µs of CPU per write with the defaults, 14.0 µs with the settings
    below, 12.7 µs with the collector off. Full collections were 10 of the 23 µs.
  - On a node (`python -m bench run write`) the collector off took p99.9 from 95 ms to 37 ms:
    a full collection stops the shard for tens of milliseconds.

Since then the memtable's own objects (Partition, RowMap, Row, Complex, Cell and Marker in
shards/memtable.py) are structs the collector never tracks, so a row's cells dict, which holds
only Cells, is never tracked either (CPython tracks a dict from the first tracked value put in
it, and untracks it again only in a full collection). A full collection over 78k standard1
partitions took 179-191 ms when every partition brought five tracked containers, 51-55 ms when
only the cells dict was left (its values were tuples), and 4 ms now. What a memtable still
makes tracked is the (key, Cell) pair of each multi-cell element and the (token, key) of each
new partition in the token-order index.

The fix keeps the young generations as they are and makes full collections rare:
  - Objects that exist once the imports are done (modules, classes, functions) move to the
    permanent generation (`gc.freeze()`); full collections never walk them again. Data is not
    frozen: a frozen object that later became cyclic garbage (a schema replaced, an SSTable
    compacted away) would never be collected. What was already garbage is collected first.
  - A full collection runs at most once every OLD_GENERATION_THRESHOLD collections of the middle
    generation, i.e. once per 700 x 10 x 1000 = 7 million container allocations: tens of seconds
    for a busy shard, seconds for the front. The default's quarter rule still applies on top.
Cyclic garbage that outlives two young collections waits for the next full collection. That is
an object that was still referenced some thousands of allocations after it was made: rare, and
bounded by the interval above.

Young collections in a shard that overwrites rows (`YoungCollections`): CPython counts the young
generation as container allocations minus container deallocations. An overwrite frees the old
cell tuples as it makes the new ones, so the count hardly grows while the young list fills with
every new cell: the collection, when the count finally gets there, walks tens of thousands of
objects at once. Measured (800k writes over 100k keys in one ShardStore): young collections of up
to 51 ms and middle ones of 18-20 ms, and 73.7 ms for one young collection in a shard on a node.
A shard therefore also runs a young collection itself every YOUNG_COLLECTION_REQUESTS requests:
the largest young collection took 0.3-0.4 ms and the middle ones 0.2-0.4 ms, and all the young
collections together took 226 ms against 396-559 ms (small collections stay in the CPU caches).
Cells were tuples then; since they are untracked structs, a standard1 overwrite leaves nothing in
the young list (the young generation holds the same ~320 objects at every collection), and the
young collections of 200k writes in one ShardStore took 12 ms instead of 136-216 ms. The
collections every YOUNG_COLLECTION_REQUESTS requests stay for the multi-cell elements' tuples.
"""

from __future__ import annotations

import gc

# CPython's defaults for the young generations: measured, a larger first threshold costs more per
# object collected (the young generation outgrows the CPU caches), so these stay.
YOUNG_GENERATION_THRESHOLD = 700
MIDDLE_GENERATION_THRESHOLD = 10
# Middle-generation collections between two full ones (CPython's default: 10).
OLD_GENERATION_THRESHOLD = 1000


def tune_collector() -> None:
    """Collect start-up garbage, freeze what is left, and make full collections rare."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, MIDDLE_GENERATION_THRESHOLD,
                     OLD_GENERATION_THRESHOLD)


# A shard's requests between two young collections it runs itself. A standard1 write now makes
# no tracked object that outlives it; writes of multi-cell columns still make a tracked tuple per
# element, and 100 such writes make a young generation about the size of CPython's threshold.
# A young collection of an empty generation costs about 0.1 µs.
YOUNG_COLLECTION_REQUESTS = 100


class YoungCollections:
    """Runs a young collection every `every` requests (see the module docstring)."""

    __slots__ = ("every", "_pending")

    def __init__(self, every: int = YOUNG_COLLECTION_REQUESTS) -> None:
        self.every = every
        self._pending = 0

    def served(self, requests: int) -> None:
        self._pending += requests
        if self._pending >= self.every:
            self._pending = 0
            gc.collect(0)
