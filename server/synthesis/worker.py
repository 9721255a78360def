"""The synthesis worker process: runs the engine and watermarks every sample it emits.

A worker owns one engine instance (one per GPU, or one of N CPU workers), a small LRU
cache of parsed voice models, and the watermark keyring. It takes one job at a time
from its pipe, streams watermarked PCM16 pieces back, and between pieces checks the
pipe for cancellation and eviction orders. Audio never leaves this process unmarked:
the only sender of audio is :func:`_run_job`, and it sends only what the
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
from typing import Any

import numpy as np

from server.errors import FailedPrecondition, InvalidArgument
from server.synthesis.records import (
    AudioPiece,
    CancelJob,
    EvictVoice,
    FailureKind,
    JobFailure,
    Shutdown,
    SynthesisJob,
    WorkerReady,
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


class _JobCancelled(Exception):
    pass


class _VoiceEvicted(Exception):
    pass


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
    from server.engines.base import SynthesisParams, VoiceModel
    from server.engines.registry import create_engine
    from server.tracing import Tracing
    from server.watermark import Keyring

    tracing = Tracing(config.otlp_endpoint, service_name="voxguard-worker")
    engine = create_engine(config.engine_name, config.engine_options)
    engine.prepare()
    keyring = Keyring.load(config.watermark_key_file)
    cache = _VoiceCache(config.cache_size)
    conn.send(WorkerReady(engine=engine.name, engine_version=engine.version))
    lifecycle = _Lifecycle(tracer=tracing.tracer)
    try:
        _serve(conn, engine, keyring, cache, lifecycle, SynthesisParams, VoiceModel)
    finally:
        tracing.shutdown()


def _serve(conn: Connection, engine: Any, keyring: Any, cache: _VoiceCache,
           lifecycle: _Lifecycle, params_type: Any, model_type: Any) -> None:
    while not lifecycle.shutdown_requested:
        try:
            message = conn.recv()
        except EOFError:
            return
        if isinstance(message, Shutdown):
            return
        if isinstance(message, EvictVoice):
            cache.evict(message.voice_id)
        elif isinstance(message, SynthesisJob):
            _serve_job(conn, message, engine, keyring, cache, params_type, model_type, lifecycle)


@dataclass
class _Lifecycle:
    """A Shutdown that arrives during a job lets the job finish; the worker exits after it."""

    tracer: Any = None
    shutdown_requested: bool = False


def _serve_job(conn: Connection, job: SynthesisJob, engine: Any, keyring: Any,
               cache: _VoiceCache, params_type: Any, model_type: Any,
               lifecycle: _Lifecycle) -> None:
    from server.tracing import context_from_carrier

    try:
        with lifecycle.tracer.start_as_current_span(
            "synthesis.worker", context=context_from_carrier(job.trace_context),
            attributes={"voxguard.generation_id": job.generation_id, "voxguard.engine": engine.name},
        ):
            model = cache.get(job.voice_id, job.voice_model, model_type.from_bytes)
            params = params_type(speed=job.speed, sample_rate=job.sample_rate, **job.sampling)
            _run_job(conn, job, engine.synthesize(model, job.text, job.language, params), keyring,
                     cache, lifecycle)
    except _JobCancelled:
        conn.send(JobFailure(job.job_id, FailureKind.CANCELLED, "the request was cancelled"))
    except _VoiceEvicted:
        conn.send(JobFailure(job.job_id, FailureKind.PRECONDITION,
                             "the voice was deleted while it was being synthesized"))
    except InvalidArgument as exc:
        conn.send(JobFailure(job.job_id, FailureKind.INVALID, exc.message))
    except FailedPrecondition as exc:
        conn.send(JobFailure(job.job_id, FailureKind.PRECONDITION, exc.message))
    except Exception:
        log.exception("synthesis job %s failed", job.job_id)
        conn.send(JobFailure(job.job_id, FailureKind.INTERNAL, "synthesis failed inside the engine"))


def _run_job(conn: Connection, job: SynthesisJob, chunks: Any, keyring: Any,
             cache: _VoiceCache, lifecycle: _Lifecycle) -> None:
    from server.watermark import StreamingEmbedder

    payload = bytes.fromhex(job.generation_id)
    embedder = None
    sequence = 0
    rate = 0
    for chunk in chunks:
        _check_orders(conn, job, cache, lifecycle)
        if embedder is None:
            rate = chunk.sample_rate
            embedder = StreamingEmbedder(keyring, payload, rate)
        with lifecycle.tracer.start_as_current_span("watermark"):
            marked = embedder.push(np.asarray(chunk.samples, dtype=np.float32))
        if marked.size:
            conn.send(AudioPiece(job.job_id, job.generation_id, sequence, _pcm16(marked), rate, final=False))
            sequence += 1
    _check_orders(conn, job, cache, lifecycle)
    if embedder is None:
        raise InvalidArgument("the text produced no audio; send words the voice can speak")
    tail = embedder.finish()
    conn.send(AudioPiece(job.job_id, job.generation_id, sequence, _pcm16(tail), rate, final=True))


def _check_orders(conn: Connection, job: SynthesisJob, cache: _VoiceCache,
                  lifecycle: _Lifecycle) -> None:
    """Apply cancel/evict orders that arrived while the job runs (a Shutdown waits for it)."""
    while conn.poll(0):
        order = conn.recv()
        if isinstance(order, EvictVoice):
            cache.evict(order.voice_id)
            if order.voice_id == job.voice_id:
                raise _VoiceEvicted
        elif isinstance(order, Shutdown):
            lifecycle.shutdown_requested = True
        elif isinstance(order, CancelJob) and order.job_id == job.job_id:
            raise _JobCancelled


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
