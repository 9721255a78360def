"""The watchdog's decisions, with a hand-moved clock."""

from __future__ import annotations

import pytest

from server.synthesis.watchdog import Overdue, Watchdog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_stop_order_ignored_past_the_grace_period_is_reported_once() -> None:
    clock = Clock()
    dog = Watchdog(stop_grace=5, stall_timeout=60, clock=clock)
    dog.started("a")
    dog.stop_requested("a")
    clock.now += 5
    assert dog.overdue() == []
    clock.now += 0.1
    assert dog.overdue() == [("a", Overdue.IGNORED_STOP)]
    assert dog.overdue() == []


def test_a_job_that_stops_making_progress_is_reported_and_progress_resets_the_timer() -> None:
    clock = Clock()
    dog = Watchdog(stop_grace=5, stall_timeout=60, clock=clock)
    dog.started("a")
    dog.started("b")
    clock.now += 50
    dog.progressed("a")
    clock.now += 20
    assert dog.overdue() == [("b", Overdue.STALLED)]
    clock.now += 50
    assert dog.overdue() == [("a", Overdue.STALLED)]


def test_ended_and_never_started_jobs_are_never_reported() -> None:
    clock = Clock()
    dog = Watchdog(stop_grace=5, stall_timeout=60, clock=clock)
    dog.started("a")
    dog.stop_requested("a")
    dog.ended("a")
    dog.stop_requested("queued-only")
    dog.progressed("queued-only")
    clock.now += 1000
    assert dog.overdue() == []


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Watchdog(stop_grace=0, stall_timeout=60, clock=Clock())
