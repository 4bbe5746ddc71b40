"""A shard process: the loop that drains its request ring, serves requests and publishes replies.

What it is: `python -m shards.worker`, started by the supervisor once per shard. It attaches the
shared-memory rings the supervisor created, says Hello on its reply ring, and then loops:
clear the request doorbell, drain every request, handle each one, publish the replies in one batch
and ring the front's reply doorbell once; sleep on the request doorbell when there is nothing to do.

What it must not do: import the front (ferrosa.front) or the CQL layer; touch another shard's data;
block anywhere but on its own request doorbell (or, briefly, on a full reply ring).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time

from ferrosa.ipc import messages as m
from ferrosa.ipc.channel import Channel
from ferrosa.ipc.doorbell import Doorbell
from ferrosa.ipc.shm import RingPair
from ferrosa.process import config_from_env, die_with_parent, setup_logging
from shards.store import ShardStore

log = logging.getLogger("shards.worker")

# How many requests one pass takes from the ring before replying: bounds reply latency under load.
MAX_BATCH = 256
# A full reply ring means the front is behind; poll for space with a growing sleep up to this.
MAX_FULL_RING_SLEEP = 0.002
# With nothing to do the shard sleeps on its doorbell; the timeout only bounds a missed wake-up.
IDLE_WAIT_SECONDS = 1.0


class ShardWorker:
    def __init__(self, shard: int, rings: RingPair, request_bell: Doorbell, reply_bell: Doorbell,
                 generation: int) -> None:
        self.shard = shard
        self.rings = rings
        self.request_bell = request_bell
        self.requests = Channel(rings.request.ring, request_bell, m.ShardRequest)
        self.replies = Channel(rings.reply.ring, reply_bell, m.ShardReply)
        self.store = ShardStore(shard)
        self.generation = generation
        self.running = True

    def publish(self, replies: list) -> None:
        """Write every reply, waiting for room when the front is behind (never drop one)."""
        delay = 0.00005
        while replies:
            sent = self.replies.send_many(replies)
            replies = replies[sent:]
            if replies:
                time.sleep(delay)
                delay = min(delay * 2, MAX_FULL_RING_SLEEP)

    def run(self) -> None:
        self.publish([m.Hello(self.shard, os.getpid(), self.generation)])
        handle = self.store.handle
        while self.running:
            batch = self.requests.recv_all(MAX_BATCH)  # clears the doorbell, then drains
            if not batch:
                self.request_bell.wait(IDLE_WAIT_SECONDS)
                continue
            self.publish([handle(request) for request in batch])

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
                         Doorbell(args.reply_doorbell), args.generation)
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
