"""A minimal blocking CQL client on Ferrosa's own sans-IO codec, for protocol details the Python
driver never exercises (it never sets Skip_metadata, for one)."""

from __future__ import annotations

import socket

from ferrosa.protocol import requests as Q
from ferrosa.protocol.connection import ConnectionDecoder
from ferrosa.protocol.messages import decode_response, encode_request
from ferrosa.protocol.segment import encode_segments

CONSISTENCY_ONE = 0x0001


class RawClient:
    def __init__(self, host: str, port: int, version: int = 5) -> None:
        self.version = version
        self.sock = socket.create_connection((host, port), timeout=10)
        self.decoder = ConnectionDecoder(requests=False, version=version)
        self.framed = False
        self.stream = 0
        reply = self.request(Q.Startup(options={"CQL_VERSION": "3.0.0"}))
        assert type(reply).__name__ == "Ready", reply
        if version >= 5:
            self.framed = True
            self.decoder.switch_to_segments(False)

    def request(self, msg):
        self.stream += 1
        data = encode_request(msg, self.version, self.stream)
        self.sock.sendall(encode_segments(data, False) if self.framed else data)
        while True:
            frames = self.decoder.feed(self.sock.recv(65536))
            for frame in frames:
                if frame.stream == self.stream:
                    return decode_response(frame)

    def query(self, text: str):
        return self.request(Q.Query(text, Q.QueryParameters(CONSISTENCY_ONE)))

    def close(self) -> None:
        self.sock.close()
