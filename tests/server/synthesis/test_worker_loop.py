"""The worker loop runs several jobs at once and applies orders between steps.

A real pipe, a real keyring and the real watermark; the engine is a small runner that
yields a few chunks of noise per job, so the loop's own rules are what is tested: jobs
interleave, a cancel or an eviction stops only its job, and a Shutdown lets running jobs
finish while refusing new ones.
"""

from __future__ import annotations

import threading
import time
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
STEP_SECONDS = 0.02
SLOW_PREPARE_SECONDS = 0.5


class NoiseRunner(BatchRunner):
    """Every active job gets one 0.5 s chunk of noise per step, then is done."""

    capacity = 4

    def __init__(self) -> None:
        self.left: dict[str, int] = {}
        self.steps = 0

    @property
    def active(self) -> int:
        return len(self.left)

    def prepare(self, voice_model: VoiceModel, request: SynthesisRequest) -> int:
        if request.text == "slow":  # a request whose front end takes a while
            time.sleep(SLOW_PREPARE_SECONDS)
        return CHUNKS_PER_JOB

    def admit(self, key: str, prepared: int) -> None:
        self.left[key] = prepared

    def remove(self, key: str) -> None:
        self.left.pop(key, None)

    def step(self) -> Iterator[RunnerEvent]:
        time.sleep(STEP_SECONDS)  # like real compute: a prepared job joins within a step
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


def _job(job_id: str, voice_id: str = "voice_a", text: str = "Hello.") -> SynthesisJob:
    model = VoiceModel(engine="noise", engine_version="1.0", data=b"x").to_bytes()
    return make_job(job_id, voice_id, voice_model=model, text=text)


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
    # both jobs were stepped together: fewer steps than chunks
    assert runner.steps < 2 * CHUNKS_PER_JOB  # (a job may join one step after the other)
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


def test_a_slow_preparation_does_not_stall_running_jobs() -> None:
    # "slow" is prepared (front end, voice features) beside the loop: "a", already running,
    # takes all its steps meanwhile instead of waiting for that preparation.
    received, _ = _run([_job("a"), _job("slow", text="slow"), Shutdown()])
    order = [m.job_id for m in received if isinstance(m, AudioPiece)]
    assert order.index("slow") > max(i for i, job_id in enumerate(order) if job_id == "a")
    assert _pieces(received, "slow")[-1].final and _pieces(received, "a")[-1].final
