"""The asyncio face of the synthesis path, used by the gRPC servicers.

``SynthesisService.run(job)`` queues a job (or refuses it with RESOURCE_EXHAUSTED),
streams its watermarked pieces as they arrive from the worker, and makes sure that a
caller who goes away, misses a deadline, or whose voice is revoked stops the work. A
worker that dies fails its jobs with UNAVAILABLE and is replaced; so is a worker that
ignores an order to stop or makes no progress for too long (``watchdog.py``).

``SynthesisService.enroll(...)`` runs an engine's enrollment (its model work) in the least
busy worker, which already holds the models, so the gRPC process never loads them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import assert_never

import numpy as np

from server.engines.base import EnrollmentHints, VoiceModel
from server.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    Unavailable,
    VoxguardError,
)
from server.synthesis.pool import WorkerHandle, WorkerLauncher, WorkerLink
from server.synthesis.records import (
    AudioPiece,
    CancelJob,
    EnrollDone,
    EnrollJob,
    EvictVoice,
    FromWorker,
    JobFailed,
    SynthesisJob,
    WorkerFailed,
    WorkerReady,
)
from server.synthesis.scheduler import Scheduler
from server.synthesis.watchdog import Overdue, Watchdog
from server.synthesis.worker import WorkerConfig

log = logging.getLogger(__name__)

#: How long an enrollment waits for a ready worker (start-up, a worker being replaced).
ENROLL_READY_WAIT_SECONDS = 120.0

#: What a job's output queue carries: its pieces in order, or the error that ended it.
_Outcome = AudioPiece | VoxguardError


class SynthesisService:
    """Bounded queue + worker pool behind an async iterator API."""

    def __init__(
        self,
        worker_configs: Sequence[WorkerConfig],
        *,
        queue_size: int,
        clock: Callable[[], float] = time.monotonic,
        respawn_delay: float = 1.0,
        stop_grace_seconds: float = 10.0,
        stall_seconds: float = 300.0,
        on_worker_replaced: Callable[[], None] | None = None,
        launcher: WorkerLauncher = WorkerHandle,
    ) -> None:
        if not worker_configs:
            raise ValueError("at least one worker is needed")
        self._configs = list(worker_configs)
        self._clock = clock
        self._scheduler = Scheduler(queue_size, clock=clock)
        self._watchdog = Watchdog(stop_grace=stop_grace_seconds, stall_timeout=stall_seconds, clock=clock)
        self._launch = launcher
        self._workers: dict[int, WorkerLink] = {}
        self._outputs: dict[str, asyncio.Queue[_Outcome]] = {}
        self._respawn_delay = respawn_delay
        self._on_worker_replaced = on_worker_replaced
        self._assigned_ns: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        #: Set whenever a worker becomes ready or goes away (health reacts at once).
        self.workers_changed = asyncio.Event()
        # Workers that could not start their engine before any worker was ever ready (a
        # configuration problem: they are not respawned), and the error they reported.
        self._failed_at_start: set[int] = set()
        self._start_error: VoxguardError | None = None
        self._start_failed = asyncio.Event()
        self._stopping = False
        self._expiry_task: asyncio.Task[None] | None = None
        # Voice ids are never reused, so a deleted voice stays refused for the process's life.
        self._deleted_voices: set[str] = set()
        # Enrollments in flight: job id -> (its result, the worker running it).
        self._enrollments: dict[str, tuple[asyncio.Future[VoiceModel], int]] = {}
        self.engine_name: str | None = None
        self.engine_version: str | None = None

    async def start(self) -> None:
        """Spawn every worker; their engines load in the background (see :meth:`wait_ready`)."""
        self._loop = asyncio.get_running_loop()
        for worker_id in range(len(self._configs)):
            self._spawn(worker_id)
        self._expiry_task = asyncio.create_task(self._expire_loop())

    async def wait_ready(self, timeout: float = 300.0) -> None:
        """Wait until at least one worker has loaded its engine.

        Raises the error the workers reported when none of them could start their engine
        (damaged model files, say), and RuntimeError when none is ready after ``timeout``.
        """
        ready = asyncio.ensure_future(self._ready.wait())
        failed = asyncio.ensure_future(self._start_failed.wait())
        try:
            await asyncio.wait({ready, failed}, timeout=timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            failed.cancel()
        if self._ready.is_set():
            return
        if self._start_error is not None:
            raise self._start_error
        raise RuntimeError("no synthesis worker became ready; see the server log")

    async def start_failure(self) -> VoxguardError:
        """Wait until every worker has failed to start its engine (it may never happen), and
        return the error they reported."""
        await self._start_failed.wait()
        assert self._start_error is not None
        return self._start_error

    @property
    def ready_workers(self) -> int:
        """Workers that loaded their engine and are alive (none once stopping)."""
        return 0 if self._stopping else self._scheduler.workers

    async def stop(self) -> None:
        """Fail outstanding jobs with UNAVAILABLE and stop every worker."""
        self._stopping = True
        if self._expiry_task is not None:
            self._expiry_task.cancel()
        for job_id in list(self._outputs):
            self._fail(job_id, Unavailable("the server is shutting down; retry"))
        for job_id in list(self._enrollments):
            self._settle_enrollment(job_id, Unavailable("the server is shutting down; retry"))
        workers = list(self._workers.values())
        self._workers.clear()
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in workers))

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for operators and tests)."""
        return [w.pid for w in self._workers.values() if w.pid is not None]

    @property
    def queued_jobs(self) -> int:
        """Jobs waiting for a worker."""
        return self._scheduler.queued

    async def run(self, job: SynthesisJob) -> AsyncIterator[AudioPiece]:
        """Queue ``job`` and yield its watermarked pieces in order.

        Raises ResourceExhausted when the queue is full, and the mapped domain error if the
        job fails. Closing the iterator early (the caller left) cancels the job.
        """
        if self._stopping:
            raise Unavailable("the server is shutting down; retry")
        if job.voice_id in self._deleted_voices:
            # The voice was deleted after the request opened its model but before it got here.
            raise FailedPrecondition("the voice was deleted")
        output: asyncio.Queue[_Outcome] = asyncio.Queue()
        self._scheduler.submit(job)
        self._outputs[job.job_id] = output
        finished = False
        try:
            self._dispatch()
            while True:
                item = await output.get()
                if isinstance(item, VoxguardError):
                    finished = True
                    raise item
                yield item
                if item.final:
                    finished = True
                    return
        finally:
            self._outputs.pop(job.job_id, None)
            if not finished:
                self.cancel(job.job_id)

    async def enroll(self, samples: np.ndarray, sample_rate: int, hints: EnrollmentHints,
                     timeout: float = 600.0, request_id: str = "",
                     ready_wait: float = ENROLL_READY_WAIT_SECONDS) -> VoiceModel:
        """Build a voice model in the least busy worker; raises the engine's domain error."""
        if self._stopping:
            raise Unavailable("the server is shutting down; retry")
        worker = await self._ready_worker(ready_wait)
        assert self._loop is not None
        job_id = f"enroll_{secrets.token_hex(10)}"
        result: asyncio.Future[VoiceModel] = self._loop.create_future()
        self._enrollments[job_id] = (result, worker.worker_id)
        try:
            if not worker.send(EnrollJob(job_id, request_id,
                                         np.ascontiguousarray(samples, np.float32),
                                         int(sample_rate), hints)):
                raise Unavailable("a synthesis worker failed; retry the enrollment")
            return await asyncio.wait_for(result, timeout)
        except TimeoutError:
            raise Unavailable("the enrollment took too long; retry") from None
        finally:
            self._enrollments.pop(job_id, None)

    async def _ready_worker(self, wait: float) -> WorkerLink:
        """The least busy ready worker; waits up to ``wait`` s while none is (start-up, or
        all of them being replaced), then UNAVAILABLE."""
        deadline = self._clock() + wait
        while True:
            worker_id = self._scheduler.lightest_worker()
            worker = self._workers.get(worker_id) if worker_id is not None else None
            if worker is not None:
                return worker
            if self._stopping or self._clock() >= deadline:
                raise Unavailable("no synthesis worker is ready yet; retry shortly")
            await asyncio.sleep(0.05)

    def assigned_at_ns(self, job_id: str) -> int | None:
        """When a worker took the job (epoch nanoseconds), for the queueing span."""
        return self._assigned_ns.get(job_id)

    def cancel(self, job_id: str) -> None:
        """Stop a job wherever it is (queued: dropped; running: worker told to stop)."""
        worker_id = self._scheduler.cancel(job_id)
        if worker_id is not None and worker_id in self._workers:
            self._workers[worker_id].send(CancelJob(job_id))
            self._watchdog.stop_requested(job_id)

    def evict_voices(self, voice_ids: Iterable[str]) -> int:
        """Cancel every queued and running job of these voices, purge worker caches, and
        refuse any later job of theirs.

        Returns the number of jobs stopped.
        """
        voice_ids = list(voice_ids)
        self._deleted_voices.update(voice_ids)
        dropped, running = self._scheduler.jobs_for_voices(voice_ids)
        for job_id in dropped:
            self._fail(job_id, FailedPrecondition("the voice was deleted"))
        # The eviction order itself stops a running job of the voice (as FAILED_PRECONDITION).
        for worker in self._workers.values():
            for voice_id in voice_ids:
                worker.send(EvictVoice(voice_id))
        for job_id, _ in running:
            self._watchdog.stop_requested(job_id)
        return len(dropped) + len(running)

    def _spawn(self, worker_id: int) -> None:
        self._workers[worker_id] = self._launch(
            worker_id, self._configs[worker_id], self._on_message, self._on_exit
        )

    def _dispatch(self) -> None:
        for assignment in self._scheduler.assign():
            worker = self._workers.get(assignment.worker_id)
            if worker is None or not worker.send(assignment.job):
                for lost in self._scheduler.remove_worker(assignment.worker_id):
                    self._watchdog.ended(lost.job_id)
                    self._fail(lost.job_id, Unavailable("a synthesis worker failed; retry"))
            else:
                self._watchdog.started(assignment.job.job_id)
                self._assigned_ns[assignment.job.job_id] = time.time_ns()

    def _on_message(self, worker_id: int, message: FromWorker) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._handle_message, worker_id, message)

    def _on_exit(self, worker_id: int) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._handle_exit, worker_id)

    def _handle_message(self, worker_id: int, message: FromWorker) -> None:
        match message:
            case WorkerReady():
                self.engine_name, self.engine_version = message.engine, message.engine_version
                self._scheduler.add_worker(worker_id, message.slots)
                self._ready.set()
                self.workers_changed.set()
            case AudioPiece():
                self._watchdog.progressed(message.job_id)
                queue = self._outputs.get(message.job_id)
                if queue is not None:
                    queue.put_nowait(message)
                if message.final:
                    self._job_ended(message.job_id)
            case EnrollDone():
                self._settle_enrollment(message.job_id, VoiceModel.from_bytes(message.voice_model))
            case JobFailed(job_id=job_id, error=error) if job_id in self._enrollments:
                self._settle_enrollment(job_id, error.to_error())
            case JobFailed(job_id=job_id, error=error):
                self._fail(job_id, error.to_error())
                self._job_ended(job_id)
            case WorkerFailed(error=error):
                log.error("synthesis worker %s cannot start its engine: %s", worker_id,
                          error.message)
                if not self._ready.is_set():
                    self._failed_at_start.add(worker_id)
                    self._start_error = error.to_error()
                    if len(self._failed_at_start) == len(self._configs):
                        self._start_failed.set()
            case _:
                assert_never(message)
        self._dispatch()

    def _settle_enrollment(self, job_id: str, outcome: VoiceModel | VoxguardError) -> None:
        entry = self._enrollments.get(job_id)
        if entry is None or entry[0].done():
            return
        if isinstance(outcome, VoiceModel):
            entry[0].set_result(outcome)
        else:
            entry[0].set_exception(outcome)

    def _job_ended(self, job_id: str) -> None:
        self._watchdog.ended(job_id)
        self._assigned_ns.pop(job_id, None)
        self._scheduler.finish(job_id)

    def _handle_exit(self, worker_id: int) -> None:
        if self._stopping or worker_id not in self._workers:
            return
        pid = self._workers[worker_id].pid
        broken = worker_id in self._failed_at_start
        log.error("synthesis worker %s (pid %s) exited; %s", worker_id, pid,
                  "not replacing it: it cannot start" if broken else "replacing it")
        del self._workers[worker_id]
        self.workers_changed.set()
        for job_id, (_, owner) in list(self._enrollments.items()):
            if owner == worker_id:
                self._settle_enrollment(job_id, Unavailable(
                    "the synthesis worker failed during enrollment; retry"))
        # Every job of the batch it was running fails; jobs on other workers are untouched.
        for job in self._scheduler.remove_worker(worker_id):
            self._watchdog.ended(job.job_id)
            self._fail(job.job_id, Unavailable("the synthesis worker failed; retry the request"))
        if broken:
            return  # it cannot start with this configuration; the server reports it
        assert self._loop is not None
        self._loop.call_later(self._respawn_delay, self._respawn, worker_id)

    def _respawn(self, worker_id: int) -> None:
        if not self._stopping and worker_id not in self._workers:
            self._spawn(worker_id)
            if self._on_worker_replaced is not None:
                self._on_worker_replaced()

    def _fail(self, job_id: str, error: VoxguardError) -> None:
        queue = self._outputs.get(job_id)
        if queue is not None:
            queue.put_nowait(error)

    def _kill_worker_of(self, job_id: str, reason: Overdue) -> None:
        """Kill the process running ``job_id``; the exit handler fails the job and respawns."""
        worker_id = self._scheduler.cancel(job_id)
        worker = self._workers.get(worker_id) if worker_id is not None else None
        if worker is None:
            return
        log.error("synthesis worker %s (pid %s) %s job %s; killing it", worker_id, worker.pid,
                  "ignored the order to stop" if reason is Overdue.IGNORED_STOP else "made no progress on",
                  job_id)
        if reason is Overdue.STALLED:
            self._fail(job_id, Unavailable("the synthesis worker stopped responding; retry"))
        worker.kill()

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            for job_id, reason in self._watchdog.overdue():
                self._kill_worker_of(job_id, reason)
            for job_id in self._scheduler.expire():
                self._fail(job_id, DeadlineExceeded(
                    "the deadline passed while the request was queued"))

