"""The raw native protocol against a real node: version negotiation as Cassandra does it, hostile and
garbage clients get a protocol error and a closed connection, and nobody else notices."""

from __future__ import annotations

import os
import random
import socket
import struct

import pytest

NODE_HOST = "127.0.0.15"
HEADER = struct.Struct(">BBhBi")
OPTIONS, STARTUP, ERROR, SUPPORTED, READY = 0x05, 0x01, 0x00, 0x06, 0x02
PROTOCOL_ERROR = 0x000A
INVALID = 0x2200
USE_BETA = 0x10


def _connect(node) -> socket.socket:
    sock = socket.create_connection((node.host, node.port), timeout=10)
    return sock


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def _read_frame(sock: socket.socket) -> tuple[int, int, int, bytes]:
    first = _read_exact(sock, 1)
    if first[0] & 0x7F <= 2:  # v1/v2 header: 8 bytes, one-byte stream
        rest = _read_exact(sock, 7)
        _flags, _stream, opcode, length = struct.unpack(">BbBi", rest)
        return first[0], opcode, 0, _read_exact(sock, length)
    version, flags, stream, opcode, length = HEADER.unpack(first + _read_exact(sock, 8))
    return version, opcode, stream, _read_exact(sock, length)


def _error(body: bytes) -> tuple[int, str]:
    code, n = struct.unpack(">iH", body[:6])
    return code, body[6:6 + n].decode()


def _frame(version: int, opcode: int, body: bytes = b"", stream: int = 1, flags: int = 0) -> bytes:
    return HEADER.pack(version, flags, stream, opcode, len(body)) + body


def _string_map(items: dict[str, str]) -> bytes:
    out = [struct.pack(">H", len(items))]
    for k, v in items.items():
        for s in (k.encode(), v.encode()):
            out.append(struct.pack(">H", len(s)) + s)
    return b"".join(out)


@pytest.mark.parametrize("version", [0x41, 0x42, 0x06, 0x07, 0x7F])
def test_unsupported_versions_get_the_error_drivers_step_down_on(node, version):
    with _connect(node) as sock:
        sock.sendall(_frame(version, OPTIONS))
        got_version, opcode, stream, body = _read_frame(sock)
        assert opcode == ERROR and got_version & 0x80
        assert got_version & 0x7F in (3, 4, 5)  # a version the driver can read
        code, message = _error(body)
        assert code == PROTOCOL_ERROR
        assert f"Invalid or unsupported protocol version ({version})" in message
        assert "supported versions are (3/v3, 4/v4, 5/v5" in message


@pytest.mark.parametrize("version", [1, 2])
def test_legacy_versions_are_answered_in_their_own_framing(node, version):
    with _connect(node) as sock:
        sock.sendall(struct.pack(">BBbBi", version, 0, 1, OPTIONS, 0))
        got_version, opcode, _stream, body = _read_frame(sock)
        assert got_version == 0x80 | version and opcode == ERROR
        assert "unsupported protocol version" in _error(body)[1]


def test_v6_beta_with_use_beta_is_refused_v5_without_it_works(node):
    with _connect(node) as sock:
        sock.sendall(_frame(0x06, OPTIONS, flags=USE_BETA))
        _v, opcode, _s, body = _read_frame(sock)
        assert opcode == ERROR and _error(body)[0] == PROTOCOL_ERROR
    with _connect(node) as sock:
        sock.sendall(_frame(0x04, OPTIONS, stream=7))
        version, opcode, stream, body = _read_frame(sock)
        assert (version, opcode, stream) == (0x84, SUPPORTED, 7)
        assert b"CQL_VERSION" in body and b"PROTOCOL_VERSIONS" in body


def test_oversized_frame_is_refused_and_skipped(node):
    # As Cassandra: an InvalidRequest naming the limit; the frame's bytes are skipped and the
    # connection goes on (the default limit is 16 MiB, header included).
    size = 16 * 1024 * 1024
    with _connect(node) as sock:
        sock.sendall(_frame(4, OPTIONS, stream=3)[:5] + struct.pack(">i", size))
        _v, opcode, stream, body = _read_frame(sock)
        code, message = _error(body)
        assert (opcode, stream, code) == (ERROR, 3, INVALID)
        assert message == (f"Request is too big: length {size + 9} exceeds maximum allowed "
                           f"length {size}.")
        sock.sendall(bytes(size))
        sock.sendall(_frame(4, OPTIONS, stream=4))
        _v, opcode, stream, _body = _read_frame(sock)
        assert (opcode, stream) == (SUPPORTED, 4)


def test_unknown_opcode_and_response_direction_are_protocol_errors(node):
    with _connect(node) as sock:
        sock.sendall(_frame(4, 0x55))
        _v, opcode, _s, body = _read_frame(sock)
        assert opcode == ERROR and _error(body)[0] == PROTOCOL_ERROR
    with _connect(node) as sock:
        sock.sendall(_frame(0x84, OPTIONS))  # a "response" sent by a client
        _v, opcode, _s, body = _read_frame(sock)
        assert opcode == ERROR and _error(body)[0] == PROTOCOL_ERROR


def test_query_before_startup_is_refused(node):
    query = struct.pack(">i", 8) + b"SELECT 1" + struct.pack(">HB", 1, 0)
    with _connect(node) as sock:
        sock.sendall(_frame(4, 0x07, query))
        _v, opcode, _s, body = _read_frame(sock)
        assert opcode == ERROR and _error(body)[0] == PROTOCOL_ERROR


def test_startup_with_unknown_compression_is_refused(node):
    body = _string_map({"CQL_VERSION": "3.0.0", "COMPRESSION": "zip"})
    with _connect(node) as sock:
        sock.sendall(_frame(4, STARTUP, body))
        _v, opcode, _s, reply = _read_frame(sock)
        assert opcode == ERROR and _error(reply)[0] == PROTOCOL_ERROR


def test_options_pipelined_before_a_compressing_startup_is_answered_uncompressed(node):
    # Compression applies to the frames after STARTUP: a SUPPORTED answered in the same pass
    # as the STARTUP that turns lz4 on must still go out as it was, without the flag.
    startup = _string_map({"CQL_VERSION": "3.0.0", "COMPRESSION": "lz4"})
    with _connect(node) as sock:
        sock.sendall(_frame(4, OPTIONS, stream=1) + _frame(4, STARTUP, startup, stream=2))
        replies = {}
        for _ in range(2):
            version, opcode, stream, body = _read_frame(sock)
            replies[stream] = (opcode, body)
        opcode, body = replies[1]
        assert opcode == SUPPORTED and b"COMPRESSION" in body  # plain text: not compressed
        assert replies[2] == (READY, b"")


def test_garbage_clients_do_not_disturb_a_working_client(node, session):
    session.execute("SELECT release_version FROM system.local")
    rng = random.Random(1234)
    payloads = [os.urandom(rng.randint(1, 4096)) for _ in range(60)]
    payloads += [bytes([4, 0, 0, 1, 0x07]) + os.urandom(rng.randint(0, 64)) for _ in range(40)]
    payloads += [bytes([5, 0, 0, 1, STARTUP]) + struct.pack(">i", 6) + os.urandom(6)
                 for _ in range(20)]
    for payload in payloads:
        with _connect(node) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(10)
            try:
                while sock.recv(65536):  # the node answers or closes; it must not hang
                    pass
            except ConnectionResetError:
                pass
        # The real client keeps working between hostile connections.
    assert session.execute("SELECT release_version FROM system.local").one()
    assert node.proc.poll() is None


def _read_flagged(sock: socket.socket) -> tuple[int, int, bytes]:
    """(flags, opcode, body as sent) of the next v3/v4 frame."""
    _version, flags, _stream, opcode, length = HEADER.unpack(_read_exact(sock, 9))
    return flags, opcode, _read_exact(sock, length)


def test_lz4_connection_compresses_only_bodies_worth_it(node, session):
    """With lz4 negotiated, a write's 4-byte VOID result and a short SET_KEYSPACE go without
    the compression flag, and a rows result, longer than MIN_COMPRESSED_BYTES, with it."""
    import lz4.block
    session.execute("CREATE KEYSPACE IF NOT EXISTS wire_lz4 WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute("CREATE TABLE IF NOT EXISTS wire_lz4.kv (k int PRIMARY KEY, v text)")
    RESULT, QUERY, PREPARE, EXECUTE, COMPRESSED = 0x08, 0x07, 0x09, 0x0A, 0x01

    def query(text: str) -> bytes:
        return struct.pack(">i", len(text)) + text.encode() + struct.pack(">HB", 1, 0)
    with _connect(node) as sock:
        sock.sendall(_frame(4, STARTUP, _string_map({"CQL_VERSION": "3.0.0",
                                                     "COMPRESSION": "lz4"})))
        assert _read_flagged(sock) == (0, READY, b"")
        sock.sendall(_frame(4, QUERY, query("USE wire_lz4")))
        flags, opcode, body = _read_flagged(sock)
        assert (flags, opcode, body[:4]) == (0, RESULT, struct.pack(">i", 3))
        insert = b"INSERT INTO wire_lz4.kv (k, v) VALUES (?, ?)"
        sock.sendall(_frame(4, PREPARE, struct.pack(">i", len(insert)) + insert))
        flags, opcode, body = _read_flagged(sock)
        assert flags == COMPRESSED and opcode == RESULT
        prepared = lz4.block.decompress(body[4:], uncompressed_size=struct.unpack(">i", body[:4])[0])
        (id_len,) = struct.unpack(">H", prepared[4:6])
        execute = (prepared[4:6 + id_len] + struct.pack(">HB", 1, 0x01) + struct.pack(">H", 2)
                   + struct.pack(">ii", 4, 7) + struct.pack(">i", 3) + b"abc")
        sock.sendall(_frame(4, EXECUTE, execute))
        assert _read_flagged(sock) == (0, RESULT, struct.pack(">i", 1))  # VOID, uncompressed
        sock.sendall(_frame(4, QUERY, query("SELECT * FROM system.local")))
        flags, opcode, body = _read_flagged(sock)
        assert flags == COMPRESSED and opcode == RESULT
