"""Errors raised by the inter-process channel (rings, shared-memory segments, doorbells, channels).

Every failure of the ipc package is an IpcError subclass so that the supervisor can tell "the
channel to a shard is broken, restart the pair" apart from ordinary request errors.
This module must NOT import anything from the rest of ferrosa: it is the leaf every other ipc
module depends on.
"""

from __future__ import annotations


class IpcError(Exception):
    """Base class of every error raised by ferrosa.ipc."""


class RingConfigError(IpcError, ValueError):
    """A ring was built on a buffer or counters array that cannot hold a ring.

    Examples: a capacity that is not a power of two, a read-only buffer, counters that are not a
    C-contiguous uint64 array of the expected length.
    """


class RecordTooLargeError(IpcError, ValueError):
    """A payload is longer than the ring's max_record limit.

    The limit is half the ring's capacity (see ring.max_record_for), which guarantees that an
    empty ring always accepts a record of that size whatever its write offset. Messages larger
    than that must travel another way (a larger ring or a file), never silently truncated.
    """

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"ring record of {length} bytes exceeds this ring's max_record of {limit} bytes")
        self.length = length
        self.limit = limit
        # Position of the refused payload within a push_many batch; None for a single push.
        self.index: int | None = None


class RingCorruptError(IpcError):
    """The consumer found bytes that cannot be a record the producer published.

    Raised instead of returning garbage: a length header pointing past the published head (a torn
    record), a length larger than any record the ring accepts, a record crossing the end of the
    buffer, or counters that moved backwards or further apart than the capacity. The ring's
    state is left untouched so the error repeats; the remedy is to reset the ring pair.
    """


class SegmentError(IpcError):
    """A shared-memory segment is missing, has the wrong layout, or has a bad name."""


class ChannelDecodeError(IpcError):
    """A record in a channel's ring did not decode as the channel's message type.

    The bad record has been consumed (so the channel can continue); ``decoded`` holds the
    messages successfully decoded before it in the same batch (recv_records: every good record
    it drained, as pairs), so none of them is lost.
    """

    def __init__(self, message: str, decoded: list[object]) -> None:
        super().__init__(message)
        self.decoded = decoded
