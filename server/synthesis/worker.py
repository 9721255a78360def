"""The synthesis worker process: runs the engine and watermarks every sample it emits.

A worker owns one engine instance (one per GPU, or one of N CPU workers), its batch
runner (:mod:`server.engines.batching`), a small LRU cache of parsed voice models, and
the watermark keyring. It admits up to the runner's capacity of jobs (its *slots*, told
to the server in :class:`WorkerReady`), advances all of them together one step at a
time, streams each job's watermarked PCM16 pieces back, and between steps reads the pipe
for new jobs and for cancellation, eviction and shutdown orders, which stop only the jobs
they name. Audio never leaves this process unmarked: the only sender of audio is
:meth:`_WorkerLoop._send_chunk`, and it sends only what the job's
:class:`~server.watermark.StreamingEmbedder` returned.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, assert_never

import numpy as np

from server.engines.base import SynthesisEngine, VoiceModel
from server.engines.batching import BatchRunner, RunnerEvent, runner_for
from server.errors import Internal, InvalidArgument, VoxguardError
from server.logs import REQUEST_ID
from server.synthesis.records import (
    AudioPiece,
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

    def get(self, voice_id: str, model_bytes: bytes, parse: Any) -> Any:
        digest = hashlib.sha256(model_bytes).digest()
        entry = self._entries.get(voice_id)
        if entry is not None and entry[0] == digest:
            self._entries.move_to_end(voice_id)
            return entry[1]
        model = parse(model_bytes)
        self._entries[voice_id] = (digest, model)
        self._entries.move_to_end(voice_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return model

    def evict(self, voice_id: str) -> None:
        self._entries.pop(voice_id, None)


def worker_main(conn: Connection, config: WorkerConfig) -> None:
    """Process entry point: load the engine and keys, then serve jobs until told to stop."""
    os.environ.setdefault("OMP_NUM_THREADS", str(config.torch_threads))
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
    conn.send(WorkerReady(engine=engine.name, engine_version=engine.version,
                          slots=runner.capacity))
    loop = _WorkerLoop(conn, runner, keyring, _VoiceCache(config.cache_size), tracing.tracer,
                       engine)
    try:
        loop.serve()
    finally:
        tracing.shutdown()


@dataclass
class _RunningJob:
    """A job admitted to the runner: its watermark stream and trace span."""

    job: SynthesisJob
    span: Any
    embedder: Any = None
    sequence: int = 0
    rate: int = 0


class _WorkerLoop:
    """Admit jobs as they arrive, step the runner while any runs, stream marked audio back.

    Orders (cancel, evict, shutdown) are read between steps, so they stop only the jobs
    they name; a ``Shutdown`` lets the running jobs finish and admits no new ones.
    """

    def __init__(self, conn: Connection, runner: BatchRunner, keyring: Any, cache: _VoiceCache,
                 tracer: Any, engine: SynthesisEngine) -> None:
        self.conn = conn
        self.engine = engine
        self.engine_name = engine.name
        self.runner = runner
        self.keyring = keyring
        self.cache = cache
        self.tracer = tracer
        self.jobs: dict[str, _RunningJob] = {}
        self.shutdown_requested = False

    def serve(self) -> None:
        while not (self.shutdown_requested and not self.jobs):
            try:
                # Block only when idle; while jobs run, take whatever has arrived and step.
                if not self._read_orders(block=not self.jobs):
                    return
            except EOFError:
                return
            except PipeProtocolError:
                log.exception("the server sent something this worker cannot read; exiting")
                return
            if self.jobs:
                self._step()

    def _read_orders(self, *, block: bool) -> bool:
        """Apply every pending message; False when the server asked an idle worker to stop."""
        while self.conn.poll(None if block else 0):
            block = False
            if not self._handle(to_worker(self.conn.recv())):
                return False
        return True

    def _handle(self, message: ToWorker) -> bool:
        """Apply one message; False when it was a shutdown with nothing left to finish."""
        match message:
            case Shutdown():
                self.shutdown_requested = True
                return bool(self.jobs)
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
                    self.conn.send(JobFailed(message.job_id, ErrorRecord(
                        "Unavailable", "the synthesis worker is stopping; retry")))
                else:
                    self._admit(message)
            case EnrollJob():
                self._enroll(message)
            case _:
                assert_never(message)
        return True

    def _enroll(self, job: EnrollJob) -> None:
        """Run the engine's enrollment now (the running batch waits this long, once)."""
        token = REQUEST_ID.set(job.request_id)
        try:
            model = self.engine.enroll(job.samples, job.sample_rate, job.hints)
        except VoxguardError as exc:
            self.conn.send(JobFailed(job.job_id, ErrorRecord.of(exc)))
        except Exception:
            log.exception("enrollment %s failed inside the engine", job.job_id)
            self.conn.send(JobFailed(job.job_id, ErrorRecord.engine_bug(job.request_id)))
        else:
            self.conn.send(EnrollDone(job.job_id, model.to_bytes()))
        finally:
            REQUEST_ID.reset(token)

    def _admit(self, job: SynthesisJob) -> None:
        from server.tracing import context_from_carrier

        span = self.tracer.start_span(
            "synthesis.worker", context=context_from_carrier(dict(job.trace_context)),
            attributes={"voxguard.generation_id": job.generation_id,
                        "voxguard.engine": self.engine_name},
        )
        self.jobs[job.job_id] = _RunningJob(job=job, span=span)
        try:
            model = self.cache.get(job.voice_id, job.voice_model, VoiceModel.from_bytes)
            self.runner.add(job.job_id, model, job.request)
        except Exception as exc:  # noqa: BLE001 - one bad request fails alone; _fail_with logs bugs
            self._fail_with(job.job_id, exc)

    def _step(self) -> None:
        """One runner step; each event is handled (audio sent) as soon as it is yielded."""
        events = iter(self.runner.step())
        while True:
            try:
                event = next(events)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - the whole batch fails; _fail_with logs it
                for job_id in list(self.jobs):
                    self._fail_with(job_id, exc)
                return
            self._apply(event)

    def _apply(self, event: RunnerEvent) -> None:
        if event.key not in self.jobs:
            return
        if event.error is not None:
            self._fail_with(event.key, event.error)
        elif event.chunk is not None:
            self._send_chunk(self.jobs[event.key], event.chunk)
        elif event.done:
            self._finish(event.key)

    def _send_chunk(self, running: _RunningJob, chunk: Any) -> None:
        from opentelemetry import trace

        from server.watermark import StreamingEmbedder

        job = running.job
        if running.embedder is None:
            running.rate = chunk.sample_rate
            running.embedder = StreamingEmbedder(self.keyring, bytes.fromhex(job.generation_id),
                                                 running.rate)
        with self.tracer.start_as_current_span(
                "watermark", context=trace.set_span_in_context(running.span)):
            marked = running.embedder.push(np.asarray(chunk.samples, dtype=np.float32))
        if marked.size:
            self.conn.send(AudioPiece(job.job_id, job.generation_id, running.sequence,
                                      _pcm16(marked), running.rate, final=False))
            running.sequence += 1

    def _finish(self, job_id: str) -> None:
        running = self.jobs[job_id]
        if running.embedder is None:
            self._fail_with(job_id, InvalidArgument(
                "the text produced no audio; send words the voice can speak", field="text"))
            return
        del self.jobs[job_id]
        tail = running.embedder.finish()
        job = running.job
        self.conn.send(AudioPiece(job.job_id, job.generation_id, running.sequence, _pcm16(tail),
                                  running.rate, final=True))
        running.span.end()

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
        self.runner.remove(job_id)
        self.conn.send(JobFailed(job_id, error))
        running.span.end()


def _pcm16(samples: np.ndarray) -> bytes:
    pcm: np.ndarray = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    return pcm.tobytes()
