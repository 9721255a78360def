"""The scheduler is plain logic: queue bounds, fair assignment to slots, cancellation, deadlines."""

from __future__ import annotations

import pytest

from server.errors import ResourceExhausted
from server.synthesis.records import SynthesisJob
from server.synthesis.scheduler import Scheduler
from tests.server.synthesis.jobs import make_job


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _job(job_id: str, voice_id: str = "voice-a", deadline: float | None = None) -> SynthesisJob:
    return make_job(job_id, voice_id, deadline=deadline)


def test_jobs_go_to_idle_workers_oldest_first() -> None:
    scheduler = Scheduler(4, clock=FakeClock())
    for name in ("a", "b", "c"):
        scheduler.submit(_job(name))
    scheduler.add_worker(0)
    scheduler.add_worker(1)
    assignments = scheduler.assign()
    assert [(a.job.job_id, a.worker_id) for a in assignments] == [("a", 0), ("b", 1)]
    assert scheduler.queued == 1 and scheduler.running == 2
    assert scheduler.finish("a") == 0
    assert [(a.job.job_id, a.worker_id) for a in scheduler.assign()] == [("c", 0)]


def test_full_queue_is_refused_with_a_retry_hint() -> None:
    scheduler = Scheduler(2, clock=FakeClock())
    scheduler.submit(_job("a"))
    scheduler.submit(_job("b"))
    with pytest.raises(ResourceExhausted) as caught:
        scheduler.submit(_job("c"))
    assert caught.value.retry_after_seconds is not None and caught.value.retry_after_seconds > 0
    assert "queue is full" in caught.value.message


def test_cancel_drops_queued_jobs_and_names_the_worker_of_running_ones() -> None:
    scheduler = Scheduler(4, clock=FakeClock())
    scheduler.submit(_job("a"))
    scheduler.submit(_job("b"))
    scheduler.add_worker(7)
    scheduler.assign()
    assert scheduler.cancel("b") is None
    assert scheduler.queued == 0
    assert scheduler.cancel("a") == 7


def test_revoked_voice_jobs_are_found_queued_and_running() -> None:
    scheduler = Scheduler(8, clock=FakeClock())
    scheduler.submit(_job("run", voice_id="gone"))
    scheduler.submit(_job("keep", voice_id="other"))
    scheduler.submit(_job("queued", voice_id="gone"))
    scheduler.add_worker(3)
    scheduler.assign()
    dropped, running = scheduler.jobs_for_voices(["gone"])
    assert dropped == ["queued"]
    assert running == [("run", 3)]
    assert scheduler.queued == 1


def test_expired_deadlines_leave_the_queue() -> None:
    clock = FakeClock()
    scheduler = Scheduler(8, clock=clock)
    scheduler.submit(_job("soon", deadline=clock.now + 1))
    scheduler.submit(_job("late", deadline=clock.now + 10))
    scheduler.submit(_job("never"))
    clock.now += 5
    assert scheduler.expire() == ["soon"]
    assert scheduler.queued == 2


def test_a_dead_worker_gives_back_its_job_and_its_slots() -> None:
    scheduler = Scheduler(8, clock=FakeClock())
    scheduler.add_worker(0)
    scheduler.add_worker(1)
    scheduler.submit(_job("a"))
    scheduler.assign()
    lost = scheduler.remove_worker(0)
    assert [job.job_id for job in lost] == ["a"]
    assert scheduler.running == 0
    scheduler.submit(_job("b"))
    assert [a.worker_id for a in scheduler.assign()] == [1]


def test_the_retry_hint_learns_service_time_not_queue_waiting() -> None:
    """Jobs that waited 20 s in the queue but ran 2 s each must not teach a 22 s job length."""
    clock = FakeClock()
    scheduler = Scheduler(16, clock=clock)
    scheduler.add_worker(0)
    for n in range(8):
        scheduler.submit(_job(f"j{n}"))
    clock.now += 20.0  # everything waited
    for n in range(8):
        (assignment,) = scheduler.assign()
        clock.now += 2.0
        scheduler.finish(assignment.job.job_id)
    for n in range(2):
        scheduler.submit(_job(f"k{n}"))
    # two queued jobs on one worker of ~2 s each: about 6 s until the queue has drained
    assert 4.0 <= scheduler.retry_hint() <= 8.0


def test_a_crashed_job_does_not_count_towards_the_estimate() -> None:
    clock = FakeClock()
    scheduler = Scheduler(4, clock=clock)
    scheduler.add_worker(0)
    scheduler.submit(_job("a"))
    scheduler.assign()
    before = scheduler.retry_hint()
    clock.now += 500.0
    assert scheduler.remove_worker(0)
    scheduler.add_worker(0)
    assert scheduler.retry_hint() == before


def _tenant_job(job_id: str, tenant: str) -> SynthesisJob:
    return make_job(job_id, f"voice-{tenant}", tenant_id=tenant)


def test_a_batching_worker_takes_as_many_jobs_as_it_has_slots() -> None:
    scheduler = Scheduler(16, clock=FakeClock())
    scheduler.add_worker(0, slots=3)
    for n in range(5):
        scheduler.submit(_job(f"j{n}"))
    assert [a.job.job_id for a in scheduler.assign()] == ["j0", "j1", "j2"]
    assert scheduler.running == 3 and scheduler.queued == 2
    assert scheduler.assign() == []
    scheduler.finish("j1")
    assert [(a.job.job_id, a.worker_id) for a in scheduler.assign()] == [("j3", 0)]


def test_jobs_go_to_the_least_loaded_worker() -> None:
    scheduler = Scheduler(16, clock=FakeClock())
    scheduler.add_worker(0, slots=4)
    scheduler.add_worker(1, slots=4)
    for n in range(4):
        scheduler.submit(_job(f"j{n}"))
    assert [a.worker_id for a in scheduler.assign()] == [0, 1, 0, 1]
    scheduler.finish("j0")
    scheduler.finish("j2")
    scheduler.submit(_job("next"))
    assert [a.worker_id for a in scheduler.assign()] == [0]


def test_one_tenants_burst_does_not_starve_another_tenants_request() -> None:
    scheduler = Scheduler(16, clock=FakeClock())
    scheduler.add_worker(0, slots=2)
    for n in range(8):
        scheduler.submit(_tenant_job(f"burst{n}", "a"))
    scheduler.submit(_tenant_job("single", "b"))
    first = [a.job.job_id for a in scheduler.assign()]
    # tenant b runs nothing, so its request takes the second slot ahead of a's queue
    assert first == ["burst0", "single"]
    scheduler.finish("burst0")
    assert [a.job.job_id for a in scheduler.assign()] == ["burst1"]


def test_one_tenant_cannot_fill_the_whole_queue() -> None:
    scheduler = Scheduler(4, clock=FakeClock())
    for n in range(3):
        scheduler.submit(_tenant_job(f"a{n}", "a"))
    with pytest.raises(ResourceExhausted) as caught:
        scheduler.submit(_tenant_job("a3", "a"))
    assert "your requests already take 3 of the 4 places" in caught.value.message
    assert caught.value.retry_after_seconds is not None
    scheduler.submit(_tenant_job("b0", "b"))  # another tenant still finds room
    assert scheduler.queued == 4


def test_a_dead_batching_worker_gives_back_every_job_it_ran() -> None:
    scheduler = Scheduler(16, clock=FakeClock())
    scheduler.add_worker(0, slots=4)
    scheduler.add_worker(1, slots=4)
    for n in range(4):
        scheduler.submit(_job(f"j{n}"))
    scheduler.assign()
    assert sorted(job.job_id for job in scheduler.remove_worker(0)) == ["j0", "j2"]
    assert scheduler.running == 2 and scheduler.capacity == 4
