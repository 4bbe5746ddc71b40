"""Parse time of typical CQL statements, cold (lexer + parser every time) and cached.

The front keeps compiled statements per (keyspace, text) in an LRU (front/node.py parse cache), so
a repeated unprepared statement costs a dictionary lookup; this measures both. It must NOT be
imported by ferrosa. Usage: .venv/bin/python -m bench.parse_time
"""

from __future__ import annotations

import timeit
from collections import OrderedDict

from ferrosa.cql.parser import parse_statement

STATEMENTS = {
    "INSERT": "INSERT INTO ks.t (k, c, v, w) VALUES (?, ?, 'text value', 42) USING TTL 3600",
    "SELECT point": "SELECT k, c, v FROM ks.t WHERE k = ? AND c = ?",
    "SELECT slice": ("SELECT * FROM ks.t WHERE k = 1 AND c >= 10 AND c < 100 "
                     "ORDER BY c DESC LIMIT 50"),
    "UPDATE collections": "UPDATE ks.t SET l = l + [1, 2], m['k'] = 3 WHERE k = 1 AND c = 2",
    "BATCH": ("BEGIN BATCH INSERT INTO ks.t (k, c) VALUES (1, 2); "
              "DELETE FROM ks.t WHERE k = 1 AND c = 3; APPLY BATCH"),
    "CREATE TABLE": ("CREATE TABLE ks.t (k int, c int, v text, l list<int>, m map<text, int>, "
                     "PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC) AND "
                     "compaction = {'class': 'SizeTieredCompactionStrategy'}"),
}


def main() -> None:
    cache: OrderedDict = OrderedDict()
    print(f"{'statement':20s} {'cold parse':>12s} {'cached':>10s}")
    for name, text in STATEMENTS.items():
        runs = 2000
        cold = timeit.timeit(lambda: parse_statement(text), number=runs) / runs
        cache[(None, text)] = parse_statement(text)

        def cached() -> None:
            key = (None, text)
            if cache.get(key) is not None:
                cache.move_to_end(key)
        warm = timeit.timeit(cached, number=runs * 50) / (runs * 50)
        print(f"{name:20s} {cold * 1e6:9.1f} µs {warm * 1e6:7.2f} µs")


if __name__ == "__main__":
    main()
