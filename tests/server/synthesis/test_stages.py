"""The output stage: per-job order, most urgent job first, failures drop what is queued.

A real pipe, keyring and watermark; the clock is injected so urgency is decided by the test.
"""

from __future__ import annotations

import threading
from multiprocessing import Pipe
from multiprocessing.connection import Connection

import numpy as np
from opentelemetry.trace import NoOpTracer

from server.engines.base import AudioChunk
from server.synthesis.records import AudioPiece, ErrorRecord, JobFailed
from server.synthesis.stages import OutputStage
from server.watermark import Keyring
from tests.server.synthesis.jobs import make_job

RATE = 16_000


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _noise(seconds: float) -> AudioChunk:
    samples = np.random.default_rng(1).normal(0, 0.1, int(seconds * RATE)).astype(np.float32)
    return AudioChunk(samples=samples, sample_rate=RATE, text="")


def _receive(conn: Connection, count: int) -> list[AudioPiece | JobFailed]:
    messages = []
    for _ in range(count):
        assert conn.poll(10), "the output stage sent nothing"
        messages.append(conn.recv())
    return messages


def test_a_first_chunk_goes_before_the_next_segment_of_a_playing_job() -> None:
    server_end, worker_end = Pipe()
    clock = Clock()
    stage = OutputStage(worker_end, Keyring.generate(), NoOpTracer(), clock=clock)
    release = threading.Event()
    try:
        stage.open(make_job("playing"), NoOpTracer().start_span("a"))
        clock.now = 1.0
        stage.open(make_job("new"), NoOpTracer().start_span("b"))

        def slow_first_segment() -> AudioChunk:
            release.wait(10)
            clock.now = 2.0  # its first audio leaves at 2.0: 3 s of audio play until 5.0
            return _noise(3.0)

        stage.render("playing", slow_first_segment)
        stage.chunk("playing", _noise(3.0))  # queued first, but its listener has audio
        stage.chunk("new", _noise(3.0))  # due since 1.0
        release.set()
        order = [(m.job_id, m.sequence) for m in _receive(server_end, 3)
                 if isinstance(m, AudioPiece)]
        assert order == [("playing", 0), ("new", 0), ("playing", 1)]
    finally:
        release.set()
        stage.close()


def test_each_job_keeps_its_order_and_a_failure_drops_its_queued_audio() -> None:
    server_end, worker_end = Pipe()
    stage = OutputStage(worker_end, Keyring.generate(), NoOpTracer(), clock=Clock())
    release = threading.Event()
    try:
        stage.open(make_job("kept"), NoOpTracer().start_span("a"))
        stage.open(make_job("failed"), NoOpTracer().start_span("b"))
        stage.render("kept", lambda: (release.wait(10), _noise(1.0))[1])
        for _ in range(3):
            stage.chunk("kept", _noise(1.0))
            stage.chunk("failed", _noise(1.0))
        stage.finish("kept")
        stage.fail("failed", ErrorRecord("Cancelled", "the request was cancelled"))
        release.set()
        messages = _receive(server_end, 6)
        failed = [m for m in messages if m.job_id == "failed"]
        assert len(failed) == 1 and isinstance(failed[0], JobFailed)
        kept = [m for m in messages if isinstance(m, AudioPiece)]
        assert [m.sequence for m in kept] == [0, 1, 2, 3, 4] and kept[-1].final
        assert not server_end.poll(0.2), "audio of the failed job was sent after its failure"
    finally:
        release.set()
        stage.close()
