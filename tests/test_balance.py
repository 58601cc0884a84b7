"""Connections spread evenly over the worker processes (qa/web/balance.py)."""

from __future__ import annotations

import os

import pytest

from qa.web.balance import STALE_SECONDS, ConnectionBalance, create_table, forget
from qa.web.server import default_threads


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def three():
    """Three workers' views of one table, on one clock."""
    clock, fd = Clock(), create_table(3)
    try:
        yield clock, [ConnectionBalance(fd, slot, 3, clock) for slot in range(3)]
    finally:
        os.close(fd)


def test_a_worker_holding_more_than_another_stops_accepting(three):
    clock, (a, b, c) = three
    assert a.update(0) and b.update(0) and c.update(0)  # even: all accept
    assert not a.update(2)  # a holds 2, b and c none
    assert not b.update(1)  # b holds 1, c none
    assert c.update(0)  # c is the least loaded
    assert c.update(1) and b.update(1)  # b and c even, below a
    assert not a.update(2) and a.accepting is False
    assert a.update(1) and b.update(1) and c.update(1)


def test_silent_stopping_and_full_workers_are_ignored(three):
    clock, (a, b, c) = three
    a.update(5), b.update(0), c.update(0)
    clock.now += STALE_SECONDS + 1  # b and c say nothing more: dead, hung or not started
    assert a.update(5)
    c.update(0)
    assert not a.update(5)
    c.leave()  # stopping: a takes the connections at once
    assert a.update(5) and c.accepting is False
    b.update(100)
    assert a.update(5, limit=100)  # b is at its connection limit and cannot take more


def test_a_worker_that_exited_is_forgotten_at_once():
    clock, fd = Clock(), create_table(3)
    try:
        a, b, c = (ConnectionBalance(fd, slot, 3, clock) for slot in range(3))
        a.update(5), b.update(1), c.update(6)
        assert not a.update(5)  # b, holding 1, should take the next connections...
        forget(fd, 1)  # ...but it exited: its supervisor clears its row
        assert a.update(5) and not c.update(6)
    finally:
        os.close(fd)


def test_a_slot_outside_the_table_is_refused():
    fd = create_table(2)
    try:
        with pytest.raises(ValueError, match="slot 2 is not one of the 2 workers'"):
            ConnectionBalance(fd, 2, 2)
    finally:
        os.close(fd)


def test_default_threads_share_the_cores_among_the_workers():
    cores = os.cpu_count() or 1
    assert default_threads(1) == cores
    assert default_threads(cores) == 1
    assert default_threads(cores * 4) == 1
