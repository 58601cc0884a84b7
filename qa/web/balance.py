"""Spread connections evenly over the worker processes that share one listening socket.

Workers of `python -m qa serve --workers N` all wait on the same socket, and whichever wakes
first accepts. Keep-alive clients then stay with the worker that accepted them: 16 connections
were seen split 11 to 5, so one worker queued twice the requests of the other while both had a
core, and the slowest requests waited twice as long. Here each worker publishes how many
connections it holds in a small table the processes share (a file mapped into each), and a
worker holding more than the least loaded live worker stops accepting until that evens out.
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
import time

SLOT = struct.Struct("=qd")  # open connections, time.monotonic() of the last update
STALE_SECONDS = 5.0          # a worker silent this long (dead, starting, stopping) is ignored
RECHECK_SECONDS = 0.05       # how often a worker that holds back looks at the table again


def create_table(workers: int) -> int:
    """A file descriptor of a zeroed table for `workers` slots, to hand to the workers (its
    file is unlinked: it goes away with the last process that holds it)."""
    handle = tempfile.TemporaryFile()
    handle.truncate(SLOT.size * workers)
    fd = os.dup(handle.fileno())
    handle.close()
    return fd


def forget(fd: int, slot: int) -> None:
    """Clear a worker's row of the table (it has exited): the others stop waiting for it to
    take its share at once rather than after STALE_SECONDS."""
    with mmap.mmap(fd, SLOT.size * (slot + 1)) as table:
        _clear(table, slot)


def _clear(table: mmap.mmap, slot: int) -> None:
    SLOT.pack_into(table, slot * SLOT.size, 0, 0.0)  # seen at time 0: stale to everyone


class ConnectionBalance:
    """One worker's view of the shared table: `slot` is its row of `workers`."""

    def __init__(self, fd: int, slot: int, workers: int,
                 clock=time.monotonic):
        if not 0 <= slot < workers:
            raise ValueError(f"slot {slot} is not one of the {workers} workers'")
        self.slot, self.workers, self.clock = slot, workers, clock
        self.table = mmap.mmap(fd, SLOT.size * workers)
        self.accepting = True

    def update(self, connections: int, limit: int | None = None) -> bool:
        """Publish this worker's open connections and decide whether it accepts more: yes
        unless it holds more than the least loaded of the other live workers (those that
        published within STALE_SECONDS and are under `limit`, their connection limit)."""
        now = self.clock()
        SLOT.pack_into(self.table, self.slot * SLOT.size, connections, now)
        fewest = None
        for other in range(self.workers):
            if other == self.slot:
                continue
            held, seen = SLOT.unpack_from(self.table, other * SLOT.size)
            if now - seen > STALE_SECONDS or (limit is not None and held >= limit):
                continue
            fewest = held if fewest is None else min(fewest, held)
        self.accepting = fewest is None or connections <= fewest
        return self.accepting

    def leave(self) -> None:
        """Stop counting for this worker (it is stopping): the others take the new connections
        at once rather than after STALE_SECONDS."""
        _clear(self.table, self.slot)
        self.accepting = False
