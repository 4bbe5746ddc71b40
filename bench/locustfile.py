"""Locust load test against a Ferrosa (or Cassandra) node over CQL.

What it is: a Locust `CqlUser` that talks CQL with the real cassandra-driver on its gevent
connection class (Locust runs users as greenlets) and reports every statement to Locust as a
request event named after the statement (INSERT, SELECT, SLICE), so Locust's statistics, CSV and
HTML reports show CQL latency and failures per statement.

Run headless for 30 s with 50 users and write the reports (the README shows this too):
    .venv/bin/locust -f bench/locustfile.py --headless -u 50 -r 10 -t 30s \\
        --host 127.0.0.1:9042 --csv bench/results/locust --html bench/results/locust.html

What it must not do: be imported by ferrosa, or create a driver Cluster per user (one per process,
shared by all users, as an application would).
"""

from __future__ import annotations

import os
import random
import time

from gevent.lock import Semaphore
from locust import User, between, task

from cassandra.cluster import Cluster  # noqa: E402  (after Locust's gevent monkey-patching)
from cassandra.io.geventreactor import GeventConnection  # noqa: E402

KEYSPACE = "locust"
# Keys are drawn from this many partitions so reads mostly find rows the writes created.
KEY_SPACE = int(os.environ.get("LOCUST_KEYS", "10000"))
CLUSTERING_ROWS = 20
VALUE = "v" * 34

_shared: dict = {}
_lock = Semaphore()


def _session(host: str):
    """One driver Cluster and session per Locust process, created by the first user."""
    with _lock:
        if "session" not in _shared:
            address, _, port = host.rpartition(":")
            cluster = Cluster([address or host], port=int(port or 9042),
                              connection_class=GeventConnection, protocol_version=4)
            session = cluster.connect()
            session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                            "{'class': 'SimpleStrategy', 'replication_factor': 1}")
            session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.events (k int, c int, "
                            "v text, PRIMARY KEY (k, c))")
            _shared["cluster"] = cluster
            _shared["session"] = session
            _shared["insert"] = session.prepare(
                f"INSERT INTO {KEYSPACE}.events (k, c, v) VALUES (?, ?, ?)")
            _shared["select"] = session.prepare(
                f"SELECT v FROM {KEYSPACE}.events WHERE k = ? AND c = ?")
            _shared["slice"] = session.prepare(
                f"SELECT c, v FROM {KEYSPACE}.events WHERE k = ? LIMIT 10")
        return _shared["session"]


class CqlUser(User):
    """A client of a time-series-like table: writes rows, reads rows and short slices."""

    wait_time = between(0.0, 0.01)
    host = "127.0.0.1:9042"

    def on_start(self) -> None:
        self.session = _session(self.host)

    def _run(self, name: str, statement, params: tuple) -> None:
        started = time.perf_counter()
        length, error = 0, None
        try:
            rows = self.session.execute(statement, params)
            length = len(rows.current_rows)
        except Exception as exc:  # reported to Locust as a failure of this statement
            error = exc
        self.environment.events.request.fire(
            request_type="CQL", name=name, response_time=(time.perf_counter() - started) * 1000,
            response_length=length, exception=error, context={})

    @task(3)
    def insert(self) -> None:
        self._run("INSERT", _shared["insert"], (random.randrange(KEY_SPACE),
                                                 random.randrange(CLUSTERING_ROWS), VALUE))

    @task(5)
    def select(self) -> None:
        self._run("SELECT", _shared["select"], (random.randrange(KEY_SPACE),
                                                 random.randrange(CLUSTERING_ROWS)))

    @task(1)
    def slice(self) -> None:
        self._run("SLICE", _shared["slice"], (random.randrange(KEY_SPACE),))
