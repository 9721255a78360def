"""First-come-first-served scheduling of synthesis jobs onto workers (plain CPU logic).

The scheduler knows nothing about processes or asyncio: it keeps the bounded queue, the
map of running jobs, and answers "which job goes to which idle worker", "what must be
cancelled for this voice" and "which queued jobs have missed their deadline". That keeps
it testable without a GPU, processes or an event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from server.errors import ResourceExhausted
from server.synthesis.records import SynthesisJob


@dataclass(frozen=True)
class Assignment:
    """A queued job handed to an idle worker."""

    job: SynthesisJob
    worker_id: int


class Scheduler:
    """Bounded FIFO queue of jobs plus the record of which worker runs what."""

    def __init__(self, queue_size: int, *, clock: Callable[[], float]) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._queue_size = queue_size
        self._clock = clock
        self._queued: OrderedDict[str, SynthesisJob] = OrderedDict()
        self._running: dict[str, tuple[SynthesisJob, int]] = {}
        self._started: dict[str, float] = {}
        self._idle: list[int] = []
        self._mean_job_seconds = 2.0

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker."""
        return len(self._queued)

    @property
    def running(self) -> int:
        """Jobs on a worker now."""
        return len(self._running)

    def add_worker(self, worker_id: int) -> None:
        """A worker became ready (or was replaced) and can take a job."""
        if worker_id not in self._idle:
            self._idle.append(worker_id)

    def remove_worker(self, worker_id: int) -> SynthesisJob | None:
        """A worker died; returns the job it was running, if any."""
        if worker_id in self._idle:
            self._idle.remove(worker_id)
        for job_id, (job, owner) in list(self._running.items()):
            if owner == worker_id:
                del self._running[job_id]
                self._started.pop(job_id, None)  # a crashed job teaches nothing about duration
                return job
        return None

    def submit(self, job: SynthesisJob) -> None:
        """Queue a job, or refuse it with a retry hint when the queue is full."""
        if len(self._queued) >= self._queue_size:
            raise ResourceExhausted(
                f"the synthesis queue is full ({self._queue_size} requests waiting); retry shortly",
                retry_after_seconds=self.retry_hint(),
            )
        self._queued[job.job_id] = job

    def retry_hint(self) -> float:
        """Seconds after which a retry is likely to find room."""
        workers = max(1, len(self._idle) + len(self._running))
        return max(0.5, self._mean_job_seconds * (len(self._queued) + 1) / workers)

    def record_duration(self, seconds: float) -> None:
        """Feed a job's time on a worker (not its wait in the queue) into the retry hint."""
        self._mean_job_seconds = 0.8 * self._mean_job_seconds + 0.2 * max(0.0, seconds)

    def assign(self) -> list[Assignment]:
        """Pair queued jobs with idle workers, oldest job first."""
        assignments: list[Assignment] = []
        while self._queued and self._idle:
            _, job = self._queued.popitem(last=False)
            worker_id = self._idle.pop(0)
            self._running[job.job_id] = (job, worker_id)
            self._started[job.job_id] = self._clock()
            assignments.append(Assignment(job=job, worker_id=worker_id))
        return assignments

    def finish(self, job_id: str) -> int | None:
        """A job ended (done, failed or cancelled); its worker becomes idle again."""
        entry = self._running.pop(job_id, None)
        started = self._started.pop(job_id, None)
        if entry is None:
            return None
        if started is not None:
            # Only service time counts: a hint learned from queue waits would grow with the
            # very queue it is meant to predict (it once advertised 50 s for a 22 s drain).
            self.record_duration(self._clock() - started)
        _, worker_id = entry
        self.add_worker(worker_id)
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
