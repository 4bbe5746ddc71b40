"""A real S3-compatible server for the object-store tests: moto's S3 served over HTTP from this
process, restartable on the same address (its state lives in moto's in-process backend), with a
request log, an optional per-request delay and a failure switch (`failing`: every request is
answered with that S3 error, as a throttled or broken S3 answers, until it is set back to None).

One fault of moto is corrected, and only that one: it checks If-Match / If-None-Match and then
stores the object in two steps without a lock, so two concurrent conditional PUTs can both pass
their check. S3 evaluates the condition atomically. The server therefore runs conditional PUTs one
at a time, so the manifest tests measure our compare-and-swap, not moto's race.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zlib
from pathlib import Path

import pytest
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from ferrosa.objectstore.settings import ObjectStoreSettings, open_store
from shards.memtable import Cell, Partition, Row
from shards.sstable import SSTableWriter

S3_HOST = "127.0.0.41"
TABLE = bytes.fromhex("0b1ec7000000000000000000000000a1")


# The S3 error codes `S3Server.failing` can be set to, with the HTTP status S3 sends them with:
# throttling and the server-side faults a client must retry.
FAULTS = {"SlowDown": 503, "ServiceUnavailable": 503, "InternalError": 500}
_FAULT_REASONS = {500: "Internal Server Error", 503: "Service Unavailable"}
_FAULT_MESSAGES = {"SlowDown": "Please reduce your request rate.",
                   "ServiceUnavailable": "Service is unable to handle request.",
                   "InternalError": "We encountered an internal error. Please try again."}


def _error_body(code: str, resource: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<Resource>%s</Resource><RequestId>%s</RequestId></Error>' % (
                code, _FAULT_MESSAGES[code], resource, uuid.uuid4().hex[:16].upper())).encode()


def _drain(environ) -> None:
    """Read a request body the fault answer ignores, so the client sees the answer rather than a
    connection reset in the middle of its upload."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        environ["wsgi.input"].read(int(length))
    elif environ.get("wsgi.input_terminated"):
        environ["wsgi.input"].read()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class S3Server:
    def __init__(self, host: str = S3_HOST) -> None:
        self.host = host
        self.port = _free_port(host)
        self.delay = 0.0
        self._failing: str | None = None
        self.requests: list[tuple[str, str, int]] = []  # method, path?query, status
        self._cas = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None
        self._app = DomainDispatcherApplication(create_backend_app)

    @property
    def failing(self) -> str | None:
        """None (serve normally) or a FAULTS code every request is answered with."""
        return self._failing

    @failing.setter
    def failing(self, code: str | None) -> None:
        if code is not None and code not in FAULTS:
            raise ValueError(f"unknown S3 fault {code!r}; one of {sorted(FAULTS)}")
        self._failing = code

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _wsgi(self, environ, start_response):
        if self.delay:
            time.sleep(self.delay)
        method = environ["REQUEST_METHOD"]
        target = environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"]
                                                 if environ.get("QUERY_STRING") else "")
        record: list = [method, target, 0]
        fault = self.failing
        if fault is not None:
            return self._fault(environ, start_response, fault, record)

        def recording_start(status, headers, exc_info=None):
            record[2] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        conditional = method == "PUT" and ("HTTP_IF_MATCH" in environ
                                           or "HTTP_IF_NONE_MATCH" in environ)
        if conditional:
            with self._cas:
                body = list(self._app(environ, recording_start))
        else:
            body = self._app(environ, recording_start)
        self.requests.append(tuple(record))
        return body

    def _fault(self, environ, start_response, code: str, record: list) -> list[bytes]:
        status = FAULTS[code]
        _drain(environ)
        body = _error_body(code, urllib.parse.quote(environ.get("PATH_INFO", "")))
        start_response(f"{status} {_FAULT_REASONS[status]}",
                       [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        record[2] = status
        self.requests.append(tuple(record))
        return [body]

    def start(self) -> S3Server:
        self._server = make_server(self.host, self.port, self._wsgi, threaded=True,
                                   request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering: new connections are refused until `start()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def create_bucket(self, name: str) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/{name}",
                                                      method="PUT")).read()

    def puts(self, fragment: str) -> list[tuple[str, str, int]]:
        return [r for r in self.requests if r[0] == "PUT" and fragment in r[1]]


@pytest.fixture(scope="session")
def s3_server():
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def bucket(s3_server) -> str:
    name = f"ferrosa-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(name)
    return name


@pytest.fixture
def settings(s3_server, bucket) -> ObjectStoreSettings:
    return ObjectStoreSettings(bucket=bucket, endpoint=s3_server.endpoint, region="us-east-1",
                               access_key_id="testing", secret_access_key="testing",
                               allow_http=True, prefix="cluster1")


@pytest.fixture
def store(settings):
    return open_store(settings)


def settings_env(settings: ObjectStoreSettings) -> dict[str, str]:
    env = {"FERROSA_S3_BUCKET": settings.bucket, "FERROSA_S3_ENDPOINT": settings.endpoint,
           "FERROSA_S3_REGION": settings.region, "FERROSA_S3_ACCESS_KEY_ID": "testing",
           "FERROSA_S3_SECRET_ACCESS_KEY": "testing", "FERROSA_S3_ALLOW_HTTP": "true",
           "FERROSA_S3_PREFIX": settings.prefix}
    return env


def write_sstable(directory: Path, generation: int, partitions: int = 50, value_bytes: int = 64,
                  table_id: bytes = TABLE, seed: int = 0, compression: str = "lz4") -> None:
    """A real SSTable of `partitions` rows with incompressible values of `value_bytes`."""
    directory.mkdir(parents=True, exist_ok=True)
    with SSTableWriter(str(directory), table_id, generation, compression=compression) as writer:
        for i in range(partitions):
            part = Partition(i, b"k%08d" % i)
            row = Row([b"c"])
            value = os.urandom(value_bytes) if value_bytes > 64 else (b"%d-%d-%d" % (
                seed, generation, i)).ljust(value_bytes, b".")
            row.cells["v"] = Cell(1000 + generation, value, 0, 0)
            part.rows[b"\x40c"] = row
            writer.add(part)
        writer.finish().close()


def crc_of(path: Path) -> int:
    return zlib.crc32(path.read_bytes())
