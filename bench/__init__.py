"""bench: the benchmark harness that drives Cassandra-style workloads against a Ferrosa node
(or against the null CQL server, the harness's own throughput ceiling).

Entry point: ``python -m bench run <workload> ...`` (see ``bench/__main__.py``). Modules:
``workloads`` (tables, statements, key generators), ``client`` (load-generator processes),
``histogram`` (latency histograms), ``server`` (starting servers, psutil sampling),
``nullserver`` (the null CQL server), ``harness`` (one run, end to end) and ``report``
(console, markdown, PNG and the results README).

Nothing in ``ferrosa`` or ``shards`` may import this package: it is a client of the node.
``bench/ring_rtt.py`` is an unrelated stand-alone script.
"""

from __future__ import annotations
