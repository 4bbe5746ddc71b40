"""A shard process: the loop that drains its request ring, serves requests and publishes replies.

What it is: `python -m shards.worker`, started by the supervisor once per shard. It attaches the
shared-memory rings the supervisor created, replays its commit log into the memtables, says Hello on
its reply ring, and then loops:

  clear the request doorbell and drain every request; apply each; append the writes that were
  accepted to the commit log in ONE append (one os.pwrite); sync as the sync mode says; publish
  the replies whose writes the log now covers (all of them in periodic mode, the synced ones in
  batch and group modes) plus every read reply, and ring the front's reply doorbell once; sleep on
  the request doorbell until the next request or the commit log's next sync deadline.

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

import msgspec

from ferrosa.config import NodeConfig
from ferrosa.ipc import messages as m
from ferrosa.ipc.channel import Channel
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.shm import RingPair
from ferrosa.process import config_from_env, die_with_parent, setup_logging
from shards.commitlog import AckQueue, CommitLog, CommitLogSettings
from shards.store import ShardStore

log = logging.getLogger("shards.worker")

# How many requests one pass takes from the ring before replying: bounds reply latency under load.
MAX_BATCH = 256
# A full reply ring means the front is behind; poll for space with a growing sleep up to this.
MAX_FULL_RING_SLEEP = 0.002
# With nothing to do the shard sleeps on its doorbell; the timeout only bounds a missed wake-up.
IDLE_WAIT_SECONDS = 1.0
# Requests that change data go to the commit log (in the order they were applied).
LOGGED_REQUESTS = (m.Write, m.DropTable)


def commitlog_settings(config: NodeConfig) -> CommitLogSettings:
    return CommitLogSettings(sync=config.commitlog_sync,
                             sync_period_ms=config.commitlog_sync_period_ms,
                             sync_group_window_ms=config.commitlog_sync_group_window_ms,
                             segment_bytes=config.commitlog_segment_bytes)


def commitlog_dir(config: NodeConfig, shard: int) -> Path:
    return config.data_path / "commitlog" / f"shard-{shard}"


def _tables(request) -> set[bytes]:
    if type(request) is m.Write:
        return {mutation.table_id for mutation in request.mutations}
    return {request.table_id}


class ShardWorker:
    def __init__(self, shard: int, rings: RingPair, request_bell: Doorbell, reply_bell: Doorbell,
                 generation: int, config: NodeConfig) -> None:
        self.shard = shard
        self.rings = rings
        self.request_bell = request_bell
        self.requests = Channel(rings.request.ring, request_bell, m.ShardRequest)
        self.replies = Channel(rings.reply.ring, reply_bell, m.ShardReply)
        self.store = ShardStore(shard)
        self.generation = generation
        self.running = True
        self._encode = msgspec.msgpack.Encoder().encode
        self._decode = msgspec.msgpack.Decoder(m.ShardRequest).decode
        self.acks: AckQueue = AckQueue()
        self.commitlog, report = CommitLog.open(commitlog_dir(config, shard),
                                                commitlog_settings(config), self._replay)
        level = logging.INFO if report.clean else logging.ERROR
        log.log(level, "shard %d: %s", shard, report.summary())
        for problem in report.corruptions():
            log.error("shard %d: %s (file kept aside)", shard, problem)

    def _replay(self, _position, payload: bytes) -> set[bytes]:
        request = self._decode(payload)
        reply = self.store.handle(request)
        if type(reply) is m.Failure:
            log.error("shard %d: replayed write failed: %s", self.shard, reply.message)
        return _tables(request)

    def publish(self, replies: list) -> None:
        """Write every reply, waiting for room when the front is behind (never drop one)."""
        delay = 0.00005
        while replies:
            sent = self.replies.send_many(replies)
            replies = replies[sent:]
            if replies:
                time.sleep(delay)
                delay = min(delay * 2, MAX_FULL_RING_SLEEP)

    def serve(self, batch: list) -> list:
        """Handle one drained batch; log the accepted writes; return the replies to send now."""
        handle, encode = self.store.handle, self._encode
        ready, records, held, tables = [], [], [], set()
        for request in batch:
            reply = handle(request)
            if type(reply) is m.Ack and type(request) in LOGGED_REQUESTS:
                records.append(encode(request))
                held.append(reply)
                tables |= _tables(request)
            else:
                ready.append(reply)
        if records:
            self.acks.hold(self.commitlog.append(records, tables), held)
        return ready

    def run(self) -> None:
        self.publish([m.Hello(self.shard, os.getpid(), self.generation)])
        commitlog, acks = self.commitlog, self.acks
        while self.running:
            batch = self.requests.recv_all(MAX_BATCH)  # clears the doorbell, then drains
            ready = self.serve(batch) if batch else []
            now = time.monotonic()
            commitlog.maybe_sync(now)
            if len(acks):
                ready.extend(acks.release(commitlog.ack_position))
            if ready:
                self.publish(ready)
            if not batch:
                deadline = commitlog.next_deadline()
                timeout = IDLE_WAIT_SECONDS if deadline is None else min(
                    IDLE_WAIT_SECONDS, max(0.0, deadline - now))
                self.request_bell.wait(timeout)
        commitlog.sync()
        self.publish(acks.release(commitlog.ack_position))
        commitlog.close()

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
