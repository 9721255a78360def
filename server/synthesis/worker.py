"""The synthesis worker process: runs the engine and watermarks every sample it emits.

A worker owns one engine instance (one per GPU, or one of N CPU workers), its batch
runner (:mod:`server.engines.batching`), a small LRU cache of parsed voice models, and
the watermark keyring. It admits up to the runner's capacity of jobs (its *slots*, told
to the server in :class:`WorkerReady`), advances all of them together one step at a
time, streams each job's watermarked PCM16 pieces back, and between steps reads the pipe
for new jobs and for cancellation, eviction and shutdown orders, which stop only the jobs
they name. Per-request work runs on two stages beside the loop (:mod:`.stages`): the input
stage prepares requests and enrolls voices, the output stage watermarks and sends. Audio
never leaves this process unmarked: the only sender of audio is
:meth:`~server.synthesis.stages.OutputStage.chunk`, and it sends only what the job's
:class:`~server.watermark.StreamingEmbedder` returned.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, assert_never

from server.engines.base import SynthesisEngine, VoiceModel
from server.engines.batching import BatchRunner, RunnerEvent, runner_for
from server.errors import Internal, InvalidArgument, VoxguardError
from server.logs import REQUEST_ID
from server.synthesis.records import (
    CancelJob,
    EnrollDone,
    EnrollJob,
    ErrorRecord,
    EvictVoice,
    JobFailed,
    PipeProtocolError,
    Shutdown,
    SynthesisJob,
    ToWorker,
    WorkerFailed,
    WorkerReady,
    to_worker,
)
from server.synthesis.stages import InputStage, OutputStage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs to start (picklable)."""

    engine_name: str
    watermark_key_file: Path
    engine_options: dict[str, Any] = field(default_factory=dict)
    torch_threads: int = 1
    cache_size: int = 16
    otlp_endpoint: str | None = None
    #: The server's logging settings: a worker writes the same JSON lines to stderr.
    log_level: str = "INFO"
    log_format: str = "json"


class _VoiceCache:
    """LRU of parsed voice models keyed by voice id and content digest."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[bytes, Any]] = OrderedDict()
        self._lock = threading.Lock()  # the input stage reads, the loop evicts

    def get(self, voice_id: str, model_bytes: bytes, parse: Any) -> Any:
        digest = hashlib.sha256(model_bytes).digest()
        with self._lock:
            entry = self._entries.get(voice_id)
            if entry is not None and entry[0] == digest:
                self._entries.move_to_end(voice_id)
                return entry[1]
        model = parse(model_bytes)
        with self._lock:
            self._entries[voice_id] = (digest, model)
            self._entries.move_to_end(voice_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return model

    def evict(self, voice_id: str) -> None:
        with self._lock:
            self._entries.pop(voice_id, None)


def worker_main(conn: Connection, config: WorkerConfig) -> None:
    """Process entry point: load the engine and keys, then serve jobs until told to stop."""
    # The plan's thread count wins over an inherited OMP_NUM_THREADS: it is the one setting.
    os.environ["OMP_NUM_THREADS"] = str(config.torch_threads)
    from server.logs import configure_logging

    configure_logging(config.log_level, config.log_format)
    from server.engines.registry import create_engine
    from server.tracing import Tracing
    from server.watermark import Keyring

    tracing = Tracing(config.otlp_endpoint, service_name="voxguard-worker")
    try:
        engine = create_engine(config.engine_name, config.engine_options)
        engine.prepare()
        runner = runner_for(engine)
        keyring = Keyring.load(config.watermark_key_file)
    except VoxguardError as exc:
        log.error("the synthesis engine cannot start: %s", exc.message)
        conn.send(WorkerFailed(ErrorRecord.of(exc)))
        tracing.shutdown()
        return
    except Exception:
        log.exception("the synthesis engine failed to start")
        conn.send(WorkerFailed(ErrorRecord.of(Internal(
            "the synthesis engine failed to start; the server log has the details"))))
        tracing.shutdown()
        return
    _pin_torch_threads(config.torch_threads)
    conn.send(WorkerReady(engine=engine.name, engine_version=engine.version,
                          slots=runner.capacity))
    loop = _WorkerLoop(conn, runner, keyring, _VoiceCache(config.cache_size), tracing.tracer,
                       engine)
    try:
        loop.serve()
    finally:
        tracing.shutdown()


def _pin_torch_threads(threads: int) -> None:
    """Give torch the planned thread count again, whatever loading the engine set.

    A model loader may lower torch's process-wide count (the speaker encoder does, for the
    gRPC process); in a worker that would silently halve synthesis speed. Torch is not
    imported for it when the engine did not need torch.
    """
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@dataclass
class _RunningJob:
    """A job of this worker: preparing on the input thread, then admitted to the runner."""

    job: SynthesisJob
    admitted: bool = False
    #: Whether the runner produced any audio for it (a text with none is refused).
    produced: bool = False


#: How long the loop waits on the pipe while jobs are only being prepared.
_PREPARING_POLL_SECONDS = 0.005


class _WorkerLoop:
    """Admit prepared jobs, step the runner while any runs, hand audio to the output stage.

    Preparation (voice model, text front end, voice features) and enrollment run on the input
    stage; watermarking, encoding and sending on the output stage (:mod:`.stages`). The loop
    itself only reads orders, admits what is prepared and steps, so a request that joins does
    not stall the others. Orders (cancel, evict, shutdown) are read between steps and stop
    only the jobs they name; a ``Shutdown`` lets the running jobs finish and admits no new ones.
    """

    def __init__(self, conn: Connection, runner: BatchRunner, keyring: Any, cache: _VoiceCache,
                 tracer: Any, engine: SynthesisEngine) -> None:
        self.conn = conn
        self.engine = engine
        self.engine_name = engine.name
        self.runner = runner
        self.cache = cache
        self.tracer = tracer
        self.jobs: dict[str, _RunningJob] = {}
        #: Enrollments on the input stage: job id -> request id.
        self.enrollments: dict[str, str] = {}
        self.shutdown_requested = False
        self.input = InputStage()
        self.output = OutputStage(conn, keyring, tracer)

    def serve(self) -> None:
        try:
            self._serve()
        finally:
            self.input.close()
            self.output.close()

    def _serve(self) -> None:
        while not (self.shutdown_requested and not self.jobs and not self.enrollments):
            admitted = any(job.admitted for job in self.jobs.values())
            running = admitted and self.runner.steppable
            # Admitted jobs whose audio is being rendered on the output stage: wait briefly.
            waiting = self.input.pending > 0 or admitted
            # Block only when idle; while jobs run, take whatever has arrived and step.
            timeout = 0.0 if running else _PREPARING_POLL_SECONDS if waiting else None
            try:
                if not self._read_orders(timeout):
                    return
            except EOFError:
                return
            except PipeProtocolError:
                log.exception("the server sent something this worker cannot read; exiting")
                return
            self._collect_prepared()
            if any(job.admitted for job in self.jobs.values()) and self.runner.steppable:
                self._step()

    def _read_orders(self, timeout: float | None) -> bool:
        """Apply every pending message; False when the server asked an idle worker to stop."""
        while self.conn.poll(timeout):
            timeout = 0.0
            if not self._handle(to_worker(self.conn.recv())):
                return False
        return True

    def _handle(self, message: ToWorker) -> bool:
        """Apply one message; False when it was a shutdown with nothing left to finish."""
        match message:
            case Shutdown():
                self.shutdown_requested = True
                return bool(self.jobs or self.enrollments)
            case EvictVoice(voice_id=voice_id):
                self.cache.evict(voice_id)
                for job_id, running in list(self.jobs.items()):
                    if running.job.voice_id == voice_id:
                        self._fail(job_id, ErrorRecord(
                            "FailedPrecondition",
                            "the voice was deleted while it was being synthesized"))
            case CancelJob(job_id=job_id):
                if job_id in self.jobs:
                    self._fail(job_id, ErrorRecord("Cancelled", "the request was cancelled"))
            case SynthesisJob():
                if self.shutdown_requested:  # draining: finish what runs, take nothing new
                    self.output.send(JobFailed(message.job_id, ErrorRecord(
                        "Unavailable", "the synthesis worker is stopping; retry")))
                else:
                    self._accept(message)
            case EnrollJob():
                self._accept_enrollment(message)
            case _:
                assert_never(message)
        return True

    def _accept(self, job: SynthesisJob) -> None:
        from server.tracing import context_from_carrier

        span = self.tracer.start_span(
            "synthesis.worker", context=context_from_carrier(dict(job.trace_context)),
            attributes={"voxguard.generation_id": job.generation_id,
                        "voxguard.engine": self.engine_name},
        )
        self.jobs[job.job_id] = _RunningJob(job=job)
        self.output.open(job, span)

        def prepare() -> Any:
            model = self.cache.get(job.voice_id, job.voice_model, VoiceModel.from_bytes)
            return self.runner.prepare(model, job.request)

        self.input.submit(job.job_id, prepare)

    def _accept_enrollment(self, job: EnrollJob) -> None:
        self.enrollments[job.job_id] = job.request_id

        def enroll() -> bytes:
            token = REQUEST_ID.set(job.request_id)
            try:
                return self.engine.enroll(job.samples, job.sample_rate, job.hints).to_bytes()
            finally:
                REQUEST_ID.reset(token)

        self.input.submit(job.job_id, enroll)

    def _collect_prepared(self) -> None:
        """Admit every request the input stage finished; report finished enrollments."""
        for key, result, error in self.input.collect():
            if key in self.enrollments:
                self._report_enrollment(key, self.enrollments.pop(key), result, error)
                continue
            running = self.jobs.get(key)
            if running is None:
                continue  # cancelled or evicted while it was being prepared
            if error is not None:
                self._fail_with(key, error)
                continue
            try:
                self.runner.admit(key, result)
            except Exception as exc:  # noqa: BLE001 - one request fails alone; _fail_with logs bugs
                self._fail_with(key, exc)
                continue
            running.admitted = True

    def _report_enrollment(self, job_id: str, request_id: str, model: bytes | None,
                           error: BaseException | None) -> None:
        if error is None and model is not None:
            self.output.send(EnrollDone(job_id, model))
        elif isinstance(error, VoxguardError):
            self.output.send(JobFailed(job_id, ErrorRecord.of(error)))
        else:
            token = REQUEST_ID.set(request_id)
            try:
                log.error("enrollment %s failed inside the engine", job_id, exc_info=error)
            finally:
                REQUEST_ID.reset(token)
            self.output.send(JobFailed(job_id, ErrorRecord.engine_bug(request_id)))

    def _step(self) -> None:
        """One runner step; each event goes to the output stage as soon as it is yielded."""
        events = iter(self.runner.step())
        while True:
            try:
                event = next(events)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - the whole batch fails; _fail_with logs it
                for job_id in [key for key, job in self.jobs.items() if job.admitted]:
                    self._fail_with(job_id, exc)
                return
            self._apply(event)

    def _apply(self, event: RunnerEvent) -> None:
        running = self.jobs.get(event.key)
        if running is None:
            return
        if event.error is not None:
            self._fail_with(event.key, event.error)
        elif event.chunk is not None:
            running.produced = True
            self.output.chunk(event.key, event.chunk)
        elif event.render is not None:
            running.produced = True
            self.output.render(event.key, event.render)
        elif event.done:
            if not running.produced:
                self._fail_with(event.key, InvalidArgument(
                    "the text produced no audio; send words the voice can speak", field="text"))
                return
            del self.jobs[event.key]
            self.output.finish(event.key)

    def _fail_with(self, job_id: str, exc: BaseException) -> None:
        """End a job with the domain error ``exc``; anything else is an engine bug."""
        running = self.jobs.get(job_id)
        if running is None:
            return
        if isinstance(exc, VoxguardError):
            self._fail(job_id, ErrorRecord.of(exc))
            return
        request_id = running.job.request_id
        token = REQUEST_ID.set(request_id)
        try:
            log.error("synthesis job %s failed inside the engine", job_id, exc_info=exc)
        finally:
            REQUEST_ID.reset(token)
        self._fail(job_id, ErrorRecord.engine_bug(request_id))

    def _fail(self, job_id: str, error: ErrorRecord) -> None:
        running = self.jobs.pop(job_id, None)
        if running is None:
            return
        if running.admitted:
            self.runner.remove(job_id)
        self.output.fail(job_id, error)
