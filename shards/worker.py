"""A shard process: the loop that drains its request ring, serves requests and publishes replies.

What it is: `python -m shards.worker`, started by the supervisor once per shard. It attaches the
shared-memory rings the supervisor created, replays its commit log into the memtables, says Hello on
its reply ring, and then loops:

  clear the request doorbell and drain every request; apply each; append the writes that were
  accepted to the commit log in ONE append (one copy into the segment's map); sync as the sync
  mode says; publish the replies whose writes the log now covers (all of them in periodic mode,
  the synced ones in batch and group modes) plus every read reply, and ring the front's reply
  doorbell once; sleep on the request doorbell until the next request or the commit log's next
  sync deadline.

What it must not do: import the front (ferrosa.front) or the CQL layer; touch another shard's data;
acknowledge a write before the commit log holds it as the sync mode requires; block anywhere but on
its own request doorbell (or, briefly, on a full reply ring).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from ferrosa.config import NodeConfig
from ferrosa.durable import write_atomically
from ferrosa.heap import YoungCollections, tune_collector
from ferrosa.ipc import messages as m
from ferrosa.ipc.channel import Channel
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.shm import RingPair
from ferrosa.process import config_from_env, die_with_parent, setup_logging
from shards.commitlog import AckQueue, CommitLog, CommitLogSettings
from shards.commitlog_segment import Position
from shards.errors import CommitLogError
from shards.sstable.chunks import set_chunk_cache
from shards.sstable.keycache import set_key_cache
from shards.store import ShardStore

log = logging.getLogger("shards.worker")

# How many requests one pass serves before replying, and how many ring records one drain takes
# (a record may hold a group of requests): bounds reply latency under load.
MAX_BATCH = 256
# A full reply ring means the front is behind; poll for space with a growing sleep up to this.
MAX_FULL_RING_SLEEP = 0.002
# With nothing to do the shard sleeps on its doorbell; the timeout only bounds a missed wake-up.
IDLE_WAIT_SECONDS = 1.0
# Requests that change data go to the commit log (in the order they were applied).
LOGGED_REQUESTS = (m.Write, m.DropTable)
# ferrosa-ctl flush / compact: answered when the jobs they start have finished.
ADMIN_REQUESTS = (m.Flush, m.Compact)
# With nothing else to do, look for a compaction this often.
COMPACTION_CHECK_SECONDS = 1.0
# While requests keep coming, background steps (flushes, compactions) may take this share of the
# shard's time; they take all of it when the shard is idle, and whatever it takes when memtables
# are over twice their budget (then writes wait: memory must not grow without bound).
MAINTENANCE_SHARE = 0.25
# Past this many live commit log segments, the tables holding the oldest one are flushed so it can
# be deleted (Cassandra's commitlog_total_space does the same in bytes): it bounds the log's disk
# use (64 x the segment size) and, with the archive's time-based closing, the number of files.
MAX_LIVE_SEGMENTS = 64
# How often a shard looks at its commit log (archive interval, segment count) and its cache tier
# (local SSTable bytes against the budget, Data the warm-up brought back).
UPKEEP_SECONDS = 1.0
# At most this much unused background time is saved up for later (seconds).
MAX_MAINTENANCE_CREDIT = 0.02


def commitlog_settings(config: NodeConfig) -> CommitLogSettings:
    return CommitLogSettings(sync=config.commitlog_sync,
                             sync_period_ms=config.commitlog_sync_period_ms,
                             sync_group_window_ms=config.commitlog_sync_group_window_ms,
                             segment_bytes=config.commitlog_segment_bytes)


def commitlog_dir(config: NodeConfig, shard: int) -> Path:
    return config.data_path / "commitlog" / f"shard-{shard}"


def data_dir(config: NodeConfig, shard: int) -> Path:
    return config.data_path / "data" / f"shard-{shard}"


def _add_table_ids(tables: set[bytes], request) -> None:
    """Add the tables a logged request touches (into the set, not a list: once per write)."""
    if type(request) is m.Write:
        for mutation in request.mutations:
            tables.add(mutation.table_id)
    else:
        tables.add(request.table_id)


def _object_store(config: NodeConfig, shard: int):
    """(the shard's channel to the uploader, the object-store settings) when an object store is
    configured, else None."""
    from ferrosa.objectstore.settings import SETTINGS_ENV, settings_from_json
    text = os.environ.get(SETTINGS_ENV)
    if not text:
        return None
    from ferrosa.objectstore import NoticeWriter, uploads_dir
    return NoticeWriter(uploads_dir(str(config.data_path)), shard), settings_from_json(text)


def _cold_tier(config: NodeConfig, shard: int, directory: str, settings):
    """The cache tier: reads of Data that is only in the bucket (evicted, or not yet warmed up
    after a restore) and, with FERROSA_CACHE_MAX_BYTES, eviction."""
    from shards.cold import ColdTier
    return ColdTier(settings, shard, config.shard_count, directory, config.data_path)


class FlushedPositions:
    """Per table, the commit log position its SSTables cover (DATA/shard-N/flushed.json).

    Replay skips a table's records at or before it: they are in SSTables already, and applying
    them twice would double counter increments.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[bytes, Position] = {}
        if path.exists():
            raw = msgspec.json.decode(path.read_bytes(), type=dict[str, list[int]])
            self.positions = {bytes.fromhex(k): Position(*v) for k, v in raw.items()}

    def covers(self, table_id: bytes, position: Position) -> bool:
        flushed = self.positions.get(table_id)
        return flushed is not None and position <= flushed

    def update(self, table_id: bytes, position: Position) -> None:
        self.positions[table_id] = position
        write_atomically(self.path, msgspec.json.encode(
            {k.hex(): list(v) for k, v in self.positions.items()}))


class ShardWorker:
    def __init__(self, shard: int, rings: RingPair, request_bell: Doorbell, reply_bell: Doorbell,
                 generation: int, config: NodeConfig) -> None:
        self.shard = shard
        self.rings = rings
        self.request_bell = request_bell
        # Drained with recv_records: copies, so that a Read's projection (msgspec.Raw) outlives
        # the drain, which hands the records' memory back to the front before they are served.
        self.requests = Channel(rings.request.ring, request_bell, m.ShardRequest)
        self.replies = Channel(rings.reply.ring, reply_bell, m.ShardReply, m.Replies)
        directory = data_dir(config, shard)
        tier = _object_store(config, shard)
        self.cold = None if tier is None else _cold_tier(config, shard, str(directory), tier[1])
        self._next_upkeep = 0.0
        self.store = ShardStore(shard, str(directory), config.memtable_bytes,
                                None if self.cold is None else self.cold.open_remote)
        self.flushed = FlushedPositions(directory / "flushed.json")
        self.generation = generation
        self.running = True
        self._encode = msgspec.msgpack.Encoder().encode
        # A commit log record: one logged request, or a group of them (see serve).
        self._decode_logged = msgspec.msgpack.Decoder(m.Write | m.DropTable | m.Requests).decode
        self.pending: list = []  # drained records beyond MAX_BATCH requests, for the next passes
        self.served = 0  # requests the last serve() handled
        # The req_ids of logged writes, acknowledged (one Acks per pass) once the log covers them.
        self.acks: AckQueue[int] = AckQueue()
        self.later: list = []  # admin replies whose jobs just finished
        self.commitlog, report = CommitLog.open(commitlog_dir(config, shard),
                                                commitlog_settings(config), self._replay)
        self.max_log_record = self.commitlog.settings.max_record
        self.store.position_fn = lambda: self.commitlog.written_position
        self.store.on_flushed = self._on_flushed
        self.notices = None
        self.archive_seconds = 0.0  # close the active segment once its first write is this old
        self._pressure_segment = -1  # the oldest segment whose tables were last sent to flush
        if tier is not None:
            self._notify_uploader(str(directory), *tier)
        level = logging.INFO if report.clean else logging.ERROR
        log.log(level, "shard %d: %s", shard, report.summary())
        for problem in report.corruptions():
            log.error("shard %d: %s (file kept aside)", shard, problem)

    def _notify_uploader(self, directory: str, notices, settings) -> None:
        """Tell the uploader of every SSTable sealed or removed and every segment closed or
        discarded, and catch up with what exists already (the uploader skips what the bucket has)."""
        self.notices = notices
        self.store.on_sealed = lambda reader, position: notices.sstable_sealed(
            directory, reader.table_id, reader.generation, position)
        self.store.on_removed = lambda table_id, readers, position: notices.sstables_removed(
            table_id, [r.generation for r in readers], position)
        for table in self.store.tables.values():
            for reader in table.sstables:
                if reader.data_is_local:  # evicted ones are in the bucket by definition
                    notices.sstable_sealed(directory, reader.table_id, reader.generation)
        # Segments found at start take no more appends: the one active at a crash or shutdown
        # was never archived.
        for path in self.commitlog.sealed_paths():
            notices.segment_closed(path)
        self.commitlog.on_closed = notices.segment_closed
        self.commitlog.on_discarded = notices.segment_discarded
        if settings.commitlog_archive:
            self.archive_seconds = float(settings.commitlog_archive_seconds)

    def _commitlog_upkeep(self, now: float) -> None:
        """Close a segment that has held writes for the archive interval, and flush the tables
        pinning the oldest segment once too many segments are live."""
        commitlog = self.commitlog
        if self.archive_seconds:
            age = commitlog.active_age(now)
            if age is not None and age >= self.archive_seconds:
                commitlog.seal_active(now)
        if commitlog.live_segments > MAX_LIVE_SEGMENTS:
            oldest = commitlog.oldest_dirty()
            if oldest is not None and oldest[0] != self._pressure_segment:
                self._pressure_segment = oldest[0]
                log.info("shard %d: %d commit log segments live; flushing the %d tables that "
                         "keep segment %d", self.shard, commitlog.live_segments,
                         len(oldest[1]), oldest[0])
                for table_id in oldest[1]:
                    if isinstance(table_id, bytes):
                        self.store.flush(table_id)

    def _on_flushed(self, table_id: bytes, position: Position) -> None:
        self.flushed.update(table_id, position)
        self.commitlog.mark_flushed(table_id, position)

    def _replay(self, position: Position, payload: bytes) -> set[bytes]:
        try:
            request = self._decode_logged(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # Its checksums held, so these are the bytes a shard wrote: of a format this build
            # does not know, under a version it reads. Refuse to start, as for another version.
            raise CommitLogError(f"shard {self.shard}: the commit log record at {position} is "
                                 f"not a request this build can replay ({exc})") from None
        tables: set[bytes] = set()
        for item in request.items if type(request) is m.Requests else (request,):
            if type(item) not in LOGGED_REQUESTS:
                raise CommitLogError(f"shard {self.shard}: a commit log record at {position} "
                                     f"holds a {type(item).__name__}, which is never logged")
            self._replay_one(position, item, tables)
        return tables

    def _replay_one(self, position: Position, request, tables: set[bytes]) -> None:
        if type(request) is m.Write:
            request.mutations = [mu for mu in request.mutations
                                 if not self.flushed.covers(mu.table_id, position)]
            if not request.mutations:
                return
        elif self.flushed.covers(request.table_id, position):
            return
        reply = self.store.handle(request)
        if type(reply) is m.Failure:
            log.error("shard %d: replayed write failed: %s", self.shard, reply.message)
        _add_table_ids(tables, request)

    def publish(self, replies: list) -> None:
        """Write every reply, waiting for room when the front is behind (never drop one)."""
        delay = 0.00005
        while replies:
            sent = self.replies.send_grouped(replies)
            replies = replies[sent:]
            if replies:
                time.sleep(delay)
                delay = min(delay * 2, MAX_FULL_RING_SLEEP)

    def serve(self, records: list[tuple[Any, bytes]]) -> list:
        """Handle drained (request, record) pairs (Channel.recv_records); log the accepted
        writes; return the replies to send now.

        A record whose requests were all logged (a Write, or the front's group of a pass's
        writes) goes to the commit log as it came, once; of a record with other requests too,
        each accepted write is encoded again. A group is replayed as its writes one by one."""
        handle, encode = self.store.handle, self._encode
        ready, log_records, held, tables = [], [], [], set()
        count = 0
        for request, record in records:
            whole, logged = True, []
            items = request.items if type(request) is m.Requests else (request,)
            count += len(items)
            for item in items:
                if type(item) in ADMIN_REQUESTS:
                    # Log what came before, so a flush's commit log position covers it.
                    log_records.extend(map(encode, logged))
                    self._log(log_records, held, tables)
                    whole, logged, log_records, held, tables = False, [], [], [], set()
                    self._admin(item, ready)
                    continue
                reply = handle(item)
                if type(reply) is m.Ack and type(item) in LOGGED_REQUESTS:
                    logged.append(item)
                    held.append(reply.req_id)
                    _add_table_ids(tables, item)
                else:
                    ready.append(reply)
                    whole = False
            if logged:
                if whole and len(record) <= self.max_log_record:
                    log_records.append(record)
                else:
                    log_records.extend(map(encode, logged))
        self._log(log_records, held, tables)
        self.served = count
        return ready

    def _next_batch(self) -> list[tuple[Any, bytes]]:
        """Drained (request, record) pairs of at most MAX_BATCH requests, unless the first
        record alone (a group) holds more: what an earlier drain left, else a drain of the ring
        (which clears the doorbell first). The records past the bound wait for the next pass,
        so that the replies to the first go out first."""
        records = self.pending or self.requests.recv_records(MAX_BATCH)
        if len(records) > 1:
            count = 0
            for index, (request, _) in enumerate(records):
                count += len(request.items) if type(request) is m.Requests else 1
                if count > MAX_BATCH and index:
                    self.pending = records[index:]
                    return records[:index]
        self.pending = []
        return records

    def _log(self, records: list, held: list, tables: set) -> None:
        if records:
            self.acks.hold(self.commitlog.append(records, tables), held)

    def _admin(self, request, ready: list) -> None:
        jobs = self.store.admin(request)
        if not jobs:
            ready.append(m.Ack(request.req_id))
            return
        waiting = {id(job) for job in jobs}
        reply = m.Ack(request.req_id)
        for job in jobs:
            def done(key=id(job)) -> None:
                waiting.discard(key)
                if not waiting:
                    self.later.append(reply)
            job.done.append(done)

    def background(self, idle: bool) -> None:
        """Flushes and compactions, a bounded step at a time, within their share of the time."""
        store = self.store
        store.schedule()
        now = time.monotonic()
        if now >= self._next_upkeep:  # not per loop pass: none of it is urgent
            self._next_upkeep = now + UPKEEP_SECONDS
            self._commitlog_upkeep(now)
            if self.cold is not None:
                self.cold.adopt_local(store.tables.values())
                self.cold.evict(store.tables.values())
        self._credit = min(MAX_MAINTENANCE_CREDIT,
                           self._credit + (now - self._credit_at) * MAINTENANCE_SHARE)
        self._credit_at = now
        if not store.jobs:
            if idle and now >= self._next_compaction_check:
                self._next_compaction_check = now + COMPACTION_CHECK_SECONDS
                store.queue_compactions()
            return
        if idle or self._credit > 0 or store.over_budget():
            store.maintenance_step()
            if not idle:
                # Only a step that requests waited for is charged. Charging idle steps ran the
                # credit seconds into debt (-3 s in 30 s of sustained writes), so that a shard
                # kept busy afterwards took no step until its memtables reached twice their
                # budget; the further steps that budget forces below are not charged either.
                self._credit -= time.monotonic() - now
            while store.over_budget() and store.maintenance_step():
                pass  # writes slow down rather than memory growing without bound

    def run(self) -> None:
        self.publish([m.Hello(self.shard, os.getpid(), self.generation)])
        commitlog, acks, store = self.commitlog, self.acks, self.store
        young = YoungCollections()
        self._next_compaction_check = 0.0
        self._credit, self._credit_at = 0.0, time.monotonic()
        is_empty = self.requests.ring.is_empty
        while self.running:
            batch = self._next_batch()
            ready = []
            if batch:
                ready = self.serve(batch)
                young.served(self.served)
            # Idle: nothing left to serve. The drain that took this batch cleared the doorbell
            # first, and the front rings it after each record it publishes, so an empty ring
            # now is as good as a pass that drained nothing (the wake-up rule of ipc/channel.py):
            # the shard may sleep without that pass, which would cost a drain, a read of the
            # doorbell and a second background() per wake-up.
            idle = not self.pending and is_empty()
            self.background(idle)
            now = time.monotonic()
            commitlog.maybe_sync(now)
            if len(acks):
                ready.extend(m.acks_of(acks.release(commitlog.ack_position)))
            if self.later:
                ready.extend(self.later)
                self.later = []
            if ready:
                self.publish(ready)
            if idle and not store.jobs:
                deadline = commitlog.next_deadline()
                timeout = IDLE_WAIT_SECONDS if deadline is None else min(
                    IDLE_WAIT_SECONDS, max(0.0, deadline - now))
                self.request_bell.wait(timeout)
        commitlog.sync()
        self.publish(m.acks_of(acks.release(commitlog.ack_position)))
        commitlog.close()
        for table in store.tables.values():
            table.close()

    def stop(self, *_args) -> None:
        self.running = False
        # Wake the loop if it sleeps on the doorbell.
        self.request_bell.ring()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ferrosa-shard")
    parser.add_argument("--shard", type=int, required=True)
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--request-doorbell", type=int, required=True)
    parser.add_argument("--reply-doorbell", type=int, required=True)
    parser.add_argument("--generation", type=int, default=1)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    config = config_from_env()
    setup_logging(config, f"shard-{args.shard}")
    # Before any data is loaded: only code objects are frozen, nothing that can be dropped later.
    tune_collector()
    set_chunk_cache(config.chunk_cache_bytes)  # before any SSTable is opened
    set_key_cache(config.key_cache_bytes)
    rings = RingPair.attach(args.node_id, 0, args.shard)
    worker = ShardWorker(args.shard, rings, Doorbell(args.request_doorbell),
                         Doorbell(args.reply_doorbell), args.generation, config)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when shards stop
    log.info("shard %d serving (pid %d)", args.shard, os.getpid())
    try:
        worker.run()
    finally:
        # Unmap explicitly even when the loop dies: left to interpreter exit, SharedMemory's
        # finalizer complains about ring views that are still alive.
        worker.requests = worker.replies = None
        try:
            rings.close()
        except Exception:  # a dying shard must report its real error, not this one
            log.debug("ring close failed", exc_info=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
