"""Named POSIX shared-memory segments that hold one ring each, and the per-(front, shard) ring pair.

This is the only ipc module that touches shared memory. It must NOT contain ring arithmetic
(ipc/ring.py), doorbells or message encoding; it maps bytes and hands them to Ring.

Theory of operation
-------------------
Segment names are ``ferrosa_<node-id>_<part>_<part>...`` and live in /dev/shm (Linux). The node id
may not contain ``_`` so that one node's prefix can never match another node's segments.

Segment layout (one ring per segment)::

    offset   0  header line   magic b"FRSARING", layout version u32, reserved u32, capacity u64
    offset  64  counters      16 x uint64: head at index 0 (own cache line), tail at index 8
    offset 192  data          capacity bytes (a power of two)

Ownership: exactly one process creates a segment (the supervisor or front), and only it
unlinks it. Every other process attaches. Python 3.11's SharedMemory registers a segment with
the calling process's multiprocessing resource_tracker even when merely attaching, and that
tracker unlinks every still-registered segment when its process exits; a shard that exits would
therefore destroy the front's ring. attach() unregisters right after attaching. This relies on
the attacher having its own tracker, which is the case for processes started with
subprocess.Popen; a child started by multiprocessing shares its parent's tracker, and its
unregister would drop the creator's registration too (the creator then only loses its
crash-time cleanup, and the tracker prints a KeyError at unlink).

If the whole node is killed with SIGKILL, the trackers may die too and segments stay in
/dev/shm; the supervisor calls remove_stale_segments(node_id) before creating new ones.
"""

from __future__ import annotations

import os
import re
import struct
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from ferrosa.ipc.errors import SegmentError
from ferrosa.ipc.ring import CACHE_LINE, COUNTERS_LEN, Ring

SHM_DIR = "/dev/shm"
NAME_PREFIX = "ferrosa"
# Node ids are plain tokens without '_' (the name separator); 64 chars keeps names well below
# NAME_MAX (255) even with several parts appended.
NODE_ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}\Z")
PART_RE = re.compile(r"[A-Za-z0-9-]{1,32}\Z")
SEGMENT_MAGIC = b"FRSARING"
LAYOUT_VERSION = 1
SEGMENT_HEADER = struct.Struct("<8sIIQ")
COUNTERS_OFFSET = CACHE_LINE
DATA_OFFSET = COUNTERS_OFFSET + COUNTERS_LEN * 8
_TRACKER_RTYPE = "shared_memory"


def node_prefix(node_id: str) -> str:
    """The name prefix shared by every segment of one node, e.g. ``ferrosa_n1_``."""
    if not NODE_ID_RE.match(node_id):
        raise SegmentError(f"node id {node_id!r} must match {NODE_ID_RE.pattern} (no '_')")
    return f"{NAME_PREFIX}_{node_id}_"


def segment_name(node_id: str, *parts: str) -> str:
    """``ferrosa_<node-id>_<part>_...``; parts are short [A-Za-z0-9-] tokens."""
    if not parts:
        raise SegmentError("a segment name needs at least one part after the node id")
    for part in parts:
        if not PART_RE.match(part):
            raise SegmentError(f"segment name part {part!r} must match {PART_RE.pattern}")
    return node_prefix(node_id) + "_".join(parts)


def list_segments(node_id: str) -> list[str]:
    """Names of this node's segments currently present in /dev/shm."""
    prefix = node_prefix(node_id)
    try:
        entries = os.listdir(SHM_DIR)
    except FileNotFoundError as exc:
        raise SegmentError(f"{SHM_DIR} does not exist: POSIX shared memory needs Linux") from exc
    return sorted(name for name in entries if name.startswith(prefix))


def remove_stale_segments(node_id: str) -> list[str]:
    """Unlink every segment of ``node_id`` left behind by a killed node; returns their names.

    Only call this while no process of the node is running (at supervisor start): it removes
    the names, and a live process mapping them would keep using memory nobody else can find.
    """
    removed = []
    for name in list_segments(node_id):
        try:
            os.unlink(os.path.join(SHM_DIR, name))
        except FileNotFoundError:
            continue
        removed.append(name)
    return removed


def _attach_untracked(name: str) -> SharedMemory:
    shm = SharedMemory(name=name, create=False)
    # Undo 3.11's registration on attach so this process's exit does not unlink the segment.
    resource_tracker.unregister(shm._name, _TRACKER_RTYPE)  # noqa: SLF001 - the tracker's key
    return shm


class RingSegment:
    """One shared-memory segment holding one ring. Create in the owner, attach elsewhere."""

    __slots__ = ("name", "created", "_shm", "_counters", "_closed", "ring")

    def __init__(self, name: str, shm: SharedMemory, capacity: int, created: bool) -> None:
        self.name = name
        self.created = created
        self._shm = shm
        self._closed = False
        self._counters = np.ndarray((COUNTERS_LEN,), dtype=np.uint64, buffer=shm.buf, offset=COUNTERS_OFFSET)
        self.ring = Ring(shm.buf[DATA_OFFSET:DATA_OFFSET + capacity], self._counters)

    @classmethod
    def create(cls, name: str, capacity: int) -> RingSegment:
        """Create a zeroed segment for a ring of ``capacity`` bytes (a power of two)."""
        try:
            shm = SharedMemory(name=name, create=True, size=DATA_OFFSET + capacity)
        except FileExistsError as exc:
            raise SegmentError(f"shared-memory segment {name!r} already exists (stale? see remove_stale_segments)") from exc
        try:
            shm.buf[:DATA_OFFSET] = bytes(DATA_OFFSET)
            SEGMENT_HEADER.pack_into(shm.buf, 0, SEGMENT_MAGIC, LAYOUT_VERSION, 0, capacity)
            return cls(name, shm, capacity, created=True)
        except BaseException:
            shm.close()
            shm.unlink()
            raise

    @classmethod
    def attach(cls, name: str) -> RingSegment:
        """Attach to an existing segment created by another process (never unlinks it)."""
        try:
            shm = _attach_untracked(name)
        except FileNotFoundError as exc:
            raise SegmentError(f"shared-memory segment {name!r} does not exist") from exc
        try:
            if shm.size < DATA_OFFSET:
                raise SegmentError(f"segment {name!r} is {shm.size} bytes, too small for a ring header")
            magic, version, _reserved, capacity = SEGMENT_HEADER.unpack_from(shm.buf, 0)
            if magic != SEGMENT_MAGIC or version != LAYOUT_VERSION:
                raise SegmentError(f"segment {name!r} is not a ferrosa ring (magic {magic!r}, version {version})")
            if shm.size < DATA_OFFSET + capacity:
                raise SegmentError(f"segment {name!r} is {shm.size} bytes, too small for capacity {capacity}")
            return cls(name, shm, capacity, created=False)
        except BaseException:
            shm.close()
            raise

    def reset(self) -> None:
        """Zero the counters (the peer died and is being restarted). No peer may be using it."""
        self.ring.reset()

    def close(self) -> None:
        """Unmap the segment in this process. Idempotent. Views from peek() must be gone."""
        if self._closed:
            return
        self._closed = True
        self.ring.release()
        self._counters = None
        try:
            self._shm.close()
        except BufferError as exc:
            raise SegmentError(f"segment {self.name!r} still has live memoryviews (peek()/reserve() results)") from exc

    def unlink(self) -> None:
        """Remove the segment's name (creator only); mappings stay valid until closed."""
        if not self.created:
            raise SegmentError(f"segment {self.name!r} was attached, not created: only its creator unlinks it")
        try:
            self._shm.unlink()
        except FileNotFoundError:
            # Already removed (remove_stale_segments): still drop our tracker registration.
            resource_tracker.unregister(self._shm._name, _TRACKER_RTYPE)  # noqa: SLF001


class RingPair:
    """The request ring (front -> shard) and reply ring (shard -> front) of one (front, shard) pair."""

    __slots__ = ("request", "reply")

    REQUEST_PART = "req"
    REPLY_PART = "rep"

    def __init__(self, request: RingSegment, reply: RingSegment) -> None:
        self.request = request
        self.reply = reply

    @staticmethod
    def names(node_id: str, front_id: int, shard_id: int) -> tuple[str, str]:
        """(request segment name, reply segment name) for the pair."""
        front, shard = f"f{front_id:d}", f"s{shard_id:d}"
        return (
            segment_name(node_id, front, shard, RingPair.REQUEST_PART),
            segment_name(node_id, front, shard, RingPair.REPLY_PART),
        )

    @classmethod
    def create(cls, node_id: str, front_id: int, shard_id: int, capacity: int) -> RingPair:
        request_name, reply_name = cls.names(node_id, front_id, shard_id)
        request = RingSegment.create(request_name, capacity)
        try:
            reply = RingSegment.create(reply_name, capacity)
        except BaseException:
            request.close()
            request.unlink()
            raise
        return cls(request, reply)

    @classmethod
    def attach(cls, node_id: str, front_id: int, shard_id: int) -> RingPair:
        request_name, reply_name = cls.names(node_id, front_id, shard_id)
        request = RingSegment.attach(request_name)
        try:
            reply = RingSegment.attach(reply_name)
        except BaseException:
            request.close()
            raise
        return cls(request, reply)

    def reset(self) -> None:
        """Zero both rings' counters. Call in the surviving process before the peer re-attaches."""
        self.request.reset()
        self.reply.reset()

    def close(self) -> None:
        self.request.close()
        self.reply.close()

    def unlink(self) -> None:
        self.request.unlink()
        self.reply.unlink()
