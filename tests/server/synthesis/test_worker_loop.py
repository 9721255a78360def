"""The worker loop runs several jobs at once and applies orders between steps.

A real pipe, a real keyring and the real watermark; the engine is a small runner that
yields a few chunks of noise per job, so the loop's own rules are what is tested: jobs
interleave, a cancel or an eviction stops only its job, and a Shutdown lets running jobs
finish while refusing new ones.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from multiprocessing import Pipe
from types import SimpleNamespace
from typing import Any

import numpy as np
from opentelemetry.trace import NoOpTracer

from server.engines.base import AudioChunk, SynthesisRequest, VoiceModel
from server.engines.batching import BatchRunner, RunnerEvent
from server.synthesis.records import (
    AudioPiece,
    CancelJob,
    EvictVoice,
    JobFailed,
    Shutdown,
    SynthesisJob,
)
from server.synthesis.worker import _VoiceCache, _WorkerLoop
from server.watermark import Keyring
from tests.server.synthesis.jobs import make_job

CHUNKS_PER_JOB = 3


class NoiseRunner(BatchRunner):
    """Every active job gets one 0.5 s chunk of noise per step, then is done."""

    capacity = 4

    def __init__(self) -> None:
        self.left: dict[str, int] = {}
        self.steps = 0

    @property
    def active(self) -> int:
        return len(self.left)

    def add(self, key: str, voice_model: VoiceModel, request: SynthesisRequest) -> None:
        self.left[key] = CHUNKS_PER_JOB

    def remove(self, key: str) -> None:
        self.left.pop(key, None)

    def step(self) -> Iterator[RunnerEvent]:
        self.steps += 1
        rng = np.random.default_rng(self.steps)
        for key in list(self.left):
            yield RunnerEvent(key, chunk=AudioChunk(
                samples=(rng.standard_normal(8000) * 0.1).astype(np.float32), sample_rate=16_000,
                text="noise"))
            self.left[key] -= 1
            if not self.left[key]:
                del self.left[key]
                yield RunnerEvent(key, done=True)


def _job(job_id: str, voice_id: str = "voice_a") -> SynthesisJob:
    model = VoiceModel(engine="noise", engine_version="1.0", data=b"x").to_bytes()
    return make_job(job_id, voice_id, voice_model=model)


def _run(orders: list[Any]) -> tuple[list[Any], NoiseRunner]:
    """Send ``orders``, run the loop until it stops, return what it sent back."""
    server_end, worker_end = Pipe()
    runner = NoiseRunner()
    loop = _WorkerLoop(worker_end, runner, Keyring.generate(), _VoiceCache(4), NoOpTracer(),
                       SimpleNamespace(name="noise"))
    for order in orders:
        server_end.send(order)
    thread = threading.Thread(target=loop.serve)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    received = []
    while server_end.poll(0):
        received.append(server_end.recv())
    return received, runner


def _pieces(received: list[Any], job_id: str) -> list[AudioPiece]:
    return [m for m in received if isinstance(m, AudioPiece) and m.job_id == job_id]


def test_jobs_run_together_and_finish_in_order() -> None:
    received, runner = _run([_job("a"), _job("b"), Shutdown()])
    for job_id in ("a", "b"):
        pieces = _pieces(received, job_id)
        assert [p.sequence for p in pieces] == list(range(len(pieces))) and pieces[-1].final
    # both jobs were stepped together: three steps for six chunks
    assert runner.steps == CHUNKS_PER_JOB
    first_b = next(i for i, m in enumerate(received) if getattr(m, "job_id", "") == "b")
    last_a = max(i for i, m in enumerate(received) if getattr(m, "job_id", "") == "a")
    assert first_b < last_a


def test_cancel_and_eviction_stop_only_their_jobs() -> None:
    received, _ = _run([_job("a"), _job("b", voice_id="voice_b"), _job("c"),
                        CancelJob("a"), EvictVoice("voice_b"), Shutdown()])
    failures = {m.job_id: m.error.kind for m in received if isinstance(m, JobFailed)}
    assert failures == {"a": "Cancelled", "b": "FailedPrecondition"}
    assert _pieces(received, "c")[-1].final


def test_shutdown_lets_running_jobs_finish_and_refuses_new_ones() -> None:
    received, _ = _run([_job("a"), Shutdown(), _job("late")])
    assert _pieces(received, "a")[-1].final
    late = [m for m in received if getattr(m, "job_id", "") == "late"]
    assert len(late) == 1 and isinstance(late[0], JobFailed)
    assert late[0].error.kind == "Unavailable" and "stopping" in late[0].error.message
