"""Exceptions of the native protocol codec and the ERROR message codes of the v5 spec (section 8).

Every malformed input anywhere in ``ferrosa.protocol`` surfaces as ``ProtocolError`` (or a
subclass) -- never as IndexError, struct.error, UnicodeDecodeError or a codec library's error.
The attributes tell a server how to answer: ``code`` and ``str(err)`` fill the ERROR body,
``stream`` the frame header, ``fatal`` whether the byte stream can still be trusted (Cassandra
closes the connection after fatal ones), and ``frames`` carries the frames that a decoder had
fully decoded, in the same ``feed`` call, before it met the bad input (process them first).

This module must NOT import other protocol modules (they all import it).
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.IntEnum):
    SERVER_ERROR = 0x0000
    PROTOCOL_ERROR = 0x000A
    BAD_CREDENTIALS = 0x0100
    UNAVAILABLE = 0x1000
    OVERLOADED = 0x1001
    IS_BOOTSTRAPPING = 0x1002
    TRUNCATE_ERROR = 0x1003
    WRITE_TIMEOUT = 0x1100
    READ_TIMEOUT = 0x1200
    READ_FAILURE = 0x1300
    FUNCTION_FAILURE = 0x1400
    WRITE_FAILURE = 0x1500
    CDC_WRITE_FAILURE = 0x1600
    CAS_WRITE_UNKNOWN = 0x1700
    SYNTAX_ERROR = 0x2000
    UNAUTHORIZED = 0x2100
    INVALID = 0x2200
    CONFIG_ERROR = 0x2300
    ALREADY_EXISTS = 0x2400
    UNPREPARED = 0x2500


class ProtocolError(Exception):
    """Malformed or unsupported protocol input; answered with ERROR ``code`` (PROTOCOL_ERROR).

    ``fatal`` is True when framing itself is broken (the rest of the byte stream cannot be parsed)
    and False when the frame was well delimited and only its content was bad, so the connection
    could continue as Cassandra does for such errors.
    """

    code: ErrorCode = ErrorCode.PROTOCOL_ERROR

    def __init__(self, message: str, *, stream: int = 0, fatal: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.stream = stream
        self.fatal = fatal
        self.frames: list[Any] = []


class ProtocolVersionError(ProtocolError):
    """A frame announced a protocol version this server does not speak.

    ``response_version`` is the version the ERROR frame must be written with so that the driver
    can parse it and step down (Cassandra 4/5 rules: v1/v2 are answered in their own version,
    anything else in the connection's version, or v5 when no version is established yet).
    """

    def __init__(self, message: str, *, requested_version: int, response_version: int) -> None:
        super().__init__(message, stream=0, fatal=True)
        self.requested_version = requested_version
        self.response_version = response_version


class FrameTooLargeError(ProtocolError):
    """A frame is larger than the configured limit.

    Like Cassandra ("Request is too big ...", an INVALID error on the frame's stream) this is not
    fatal: the decoder skips the oversized body and continues with the next frame.
    """

    code = ErrorCode.INVALID

    def __init__(self, message: str, *, stream: int) -> None:
        super().__init__(message, stream=stream, fatal=False)


class ChecksumError(ProtocolError):
    """A v5 segment's header CRC24 or payload CRC32 does not match; the stream is unusable."""
