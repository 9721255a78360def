"""Fair scheduling of synthesis jobs onto worker slots (plain CPU logic).

The scheduler knows nothing about processes or asyncio: it keeps the bounded queue, each
worker's slots (how many jobs it runs at once: 1 for a plain engine, the batch capacity for
a batching one), the map of running jobs, and answers "which job goes to which worker",
"what must be cancelled for this voice" and "which queued jobs have missed their deadline".
That keeps it testable without a GPU, processes or an event loop.

Fairness: a free slot goes to the tenant with the fewest jobs running (ties: the oldest
waiting job), so one tenant's burst cannot starve another tenant's single request; and no
tenant may hold more than :data:`TENANT_QUEUE_SHARE` of the queue, so a burst cannot fill
it either. Placement: the worker with the most free slots (the least loaded) takes the job.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from server.errors import ResourceExhausted
from server.synthesis.records import SynthesisJob

#: The largest part of the queue one tenant's waiting jobs may take.
TENANT_QUEUE_SHARE = 0.75


@dataclass(frozen=True)
class Assignment:
    """A queued job handed to a worker slot."""

    job: SynthesisJob
    worker_id: int


class Scheduler:
    """Bounded fair queue of jobs plus the record of which worker runs what."""

    def __init__(self, queue_size: int, *, clock: Callable[[], float]) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._queue_size = queue_size
        self._tenant_limit = max(1, math.ceil(queue_size * TENANT_QUEUE_SHARE))
        self._clock = clock
        self._queued: OrderedDict[str, SynthesisJob] = OrderedDict()
        self._running: dict[str, tuple[SynthesisJob, int]] = {}
        self._started: dict[str, float] = {}
        self._slots: dict[int, int] = {}  # worker id -> jobs it can run at once
        self._busy: dict[int, int] = {}  # worker id -> jobs it runs now
        self._mean_job_seconds = 2.0

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker."""
        return len(self._queued)

    @property
    def running(self) -> int:
        """Jobs on a worker now."""
        return len(self._running)

    @property
    def workers(self) -> int:
        """Live workers that reported ready."""
        return len(self._slots)

    @property
    def capacity(self) -> int:
        """Slots of all live workers together."""
        return sum(self._slots.values())

    def add_worker(self, worker_id: int, slots: int = 1) -> None:
        """A worker became ready (or was replaced) and can run ``slots`` jobs at once."""
        self._slots[worker_id] = max(1, int(slots))
        self._busy.setdefault(worker_id, 0)

    def remove_worker(self, worker_id: int) -> list[SynthesisJob]:
        """A worker died; returns the jobs it was running."""
        self._slots.pop(worker_id, None)
        self._busy.pop(worker_id, None)
        lost = []
        for job_id, (job, owner) in list(self._running.items()):
            if owner == worker_id:
                del self._running[job_id]
                self._started.pop(job_id, None)  # a crashed job teaches nothing about duration
                lost.append(job)
        return lost

    def submit(self, job: SynthesisJob) -> None:
        """Queue a job, or refuse it with a retry hint when the queue (or its share) is full."""
        if len(self._queued) >= self._queue_size:
            raise ResourceExhausted(
                f"the synthesis queue is full ({self._queue_size} requests waiting); retry shortly",
                retry_after_seconds=self.retry_hint(),
            )
        waiting = sum(1 for queued in self._queued.values() if queued.tenant_id == job.tenant_id)
        if waiting >= self._tenant_limit:
            raise ResourceExhausted(
                f"your requests already take {waiting} of the {self._queue_size} places in the "
                "synthesis queue; wait for some to finish, then retry",
                retry_after_seconds=self.retry_hint(),
            )
        self._queued[job.job_id] = job

    def retry_hint(self) -> float:
        """Seconds after which a retry is likely to find room."""
        slots = max(1, self.capacity)
        return max(0.5, self._mean_job_seconds * (len(self._queued) + 1) / slots)

    def record_duration(self, seconds: float) -> None:
        """Feed a job's time on a worker (not its wait in the queue) into the retry hint."""
        self._mean_job_seconds = 0.8 * self._mean_job_seconds + 0.2 * max(0.0, seconds)

    def assign(self) -> list[Assignment]:
        """Fill free slots: fairest job first, onto the least loaded worker."""
        assignments: list[Assignment] = []
        while self._queued:
            worker_id = self._least_loaded()
            if worker_id is None:
                break
            job = self._queued.pop(self._fairest())
            self._running[job.job_id] = (job, worker_id)
            self._busy[worker_id] += 1
            self._started[job.job_id] = self._clock()
            assignments.append(Assignment(job=job, worker_id=worker_id))
        return assignments

    def lightest_worker(self) -> int | None:
        """The live worker with the most free slots, even if none is free (None: no worker)."""
        if not self._slots:
            return None
        return max(sorted(self._slots),
                   key=lambda w: self._slots[w] - self._busy.get(w, 0))

    def _least_loaded(self) -> int | None:
        """The worker with the most free slots (lowest id on ties), or None if all are full."""
        best, best_free = None, 0
        for worker_id in sorted(self._slots):
            free = self._slots[worker_id] - self._busy.get(worker_id, 0)
            if free > best_free:
                best, best_free = worker_id, free
        return best

    def _fairest(self) -> str:
        """The queued job of the tenant running the fewest jobs (oldest job on ties)."""
        running: dict[str, int] = {}
        for job, _ in self._running.values():
            running[job.tenant_id] = running.get(job.tenant_id, 0) + 1
        best_id, best_load = "", None
        for job_id, job in self._queued.items():  # oldest first
            load = running.get(job.tenant_id, 0)
            if best_load is None or load < best_load:
                best_id, best_load = job_id, load
                if load == 0:
                    break
        return best_id

    def finish(self, job_id: str) -> int | None:
        """A job ended (done, failed or cancelled); its slot becomes free again."""
        entry = self._running.pop(job_id, None)
        started = self._started.pop(job_id, None)
        if entry is None:
            return None
        if started is not None:
            # Only service time counts: a hint learned from queue waits would grow with the
            # very queue it is meant to predict (it once advertised 50 s for a 22 s drain).
            self.record_duration(self._clock() - started)
        _, worker_id = entry
        if worker_id in self._busy:
            self._busy[worker_id] -= 1
        return worker_id

    def cancel(self, job_id: str) -> int | None:
        """Drop a queued job, or return the worker to notify if it is running."""
        if self._queued.pop(job_id, None) is not None:
            return None
        entry = self._running.get(job_id)
        return entry[1] if entry else None

    def jobs_for_voices(self, voice_ids: Iterable[str]) -> tuple[list[str], list[tuple[str, int]]]:
        """Remove queued jobs of these voices; list running ones with their workers."""
        wanted = set(voice_ids)
        dropped = [job_id for job_id, job in self._queued.items() if job.voice_id in wanted]
        for job_id in dropped:
            del self._queued[job_id]
        running = [
            (job_id, worker_id)
            for job_id, (job, worker_id) in self._running.items()
            if job.voice_id in wanted
        ]
        return dropped, running

    def expire(self) -> list[str]:
        """Remove queued jobs whose deadline has passed; returns their ids."""
        now = self._clock()
        expired = [
            job_id
            for job_id, job in self._queued.items()
            if job.deadline is not None and job.deadline <= now
        ]
        for job_id in expired:
            del self._queued[job_id]
        return expired
