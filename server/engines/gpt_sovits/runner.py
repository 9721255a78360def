"""The gpt-sovits engine's worker runner: many requests, one batched T2S step at a time.

Wraps :class:`~server.engines.gpt_sovits.batcher.SynthesisBatch` in the platform's
:class:`~server.engines.batching.BatchRunner` interface: requests are checked and planned
when they arrive (a bad one fails alone), each :meth:`step` advances every running request
by one token, and each segment that finishes comes out as an audio chunk (its audio plus the
official pause, at the requested rate). Requests stream independently: a short request
admitted beside a long one finishes and leaves while the long one continues.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from server.audio import resample
from server.engines.base import AudioChunk, SynthesisRequest, VoiceModel
from server.engines.batching import BatchRunner, RunnerEvent
from server.engines.gpt_sovits.batcher import SegmentOutput, SynthesisBatch
from server.engines.gpt_sovits.models import (
    FRAGMENT_INTERVAL,
    OUTPUT_RATE,
    GptSovitsModels,
    InferenceOptions,
    PreparedVoice,
)
from server.engines.gpt_sovits.streaming import StreamPlan
from server.engines.gpt_sovits.text.frontend import PhoneSegment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynthesisPlan:
    """A checked request: the voice's tensors, the text's segments and the options."""

    voice: PreparedVoice
    segments: list[PhoneSegment]
    options: InferenceOptions
    sample_rate: int


def segment_chunk(audio: np.ndarray, text: str, rate: int, *, pause: bool = True) -> AudioChunk:
    """Decoded audio (a segment: followed by the official pause) at the requested rate."""
    if pause:
        audio = np.concatenate([audio, np.zeros(int(OUTPUT_RATE * FRAGMENT_INTERVAL), np.float32)])
    samples = audio
    if rate != OUTPUT_RATE:
        samples = resample(samples, OUTPUT_RATE, rate)
    return AudioChunk(samples=samples.astype(np.float32), sample_rate=rate, text=text)


class Planner(Protocol):
    """What the runner needs of the engine (``GptSovitsEngine``)."""

    stream_plan: StreamPlan | None

    @property
    def models(self) -> GptSovitsModels: ...

    def plan(self, voice_model: VoiceModel, request: SynthesisRequest) -> SynthesisPlan:
        """Prepare a checked request for decoding."""
        ...


class GptSovitsRunner(BatchRunner):
    """Up to ``capacity`` gpt-sovits requests decoded together."""

    def __init__(self, engine: Planner, capacity: int) -> None:
        self.engine = engine
        self.capacity = capacity
        # Finished segments come out undecoded: the worker's output stage runs the SoVITS
        # decode (``RunnerEvent.render``), and the request's next segment joins T2S after it.
        self._batch = SynthesisBatch(engine.models, defer_decode=True)
        self._rates: dict[str, int] = {}
        self._decoded: queue.SimpleQueue[str] = queue.SimpleQueue()  # filled by the renders

    @property
    def active(self) -> int:
        return len(self._rates)

    @property
    def steppable(self) -> bool:
        return self._batch.steppable or not self._decoded.empty()

    def prepare(self, voice_model: VoiceModel, request: SynthesisRequest) -> SynthesisPlan:
        return self.engine.plan(voice_model, request)

    def admit(self, key: str, prepared: SynthesisPlan) -> None:
        plan = prepared
        self._batch.add(key, plan.voice, plan.segments, plan.options,
                        stream=self.engine.stream_plan)
        self._rates[key] = plan.sample_rate

    def remove(self, key: str) -> None:
        self._batch.remove(key)
        self._rates.pop(key, None)

    def step(self) -> Iterator[RunnerEvent]:
        """One T2S step for all; each finished segment is yielded at once, to be rendered
        (decoded) by the caller; a streamed window comes decoded."""
        try:
            while not self._decoded.empty():
                self._batch.resume(self._decoded.get_nowait())
            for output in self._batch.step():
                key = str(output.key)
                rate = self._rates[key]
                if output.decode is not None:
                    yield RunnerEvent(key, render=self._render(output, rate))
                else:
                    yield RunnerEvent(key, chunk=segment_chunk(
                        output.audio, output.segment.text, rate, pause=output.segment_done))
                if output.last:
                    del self._rates[key]
                    yield RunnerEvent(key, done=True)
        except Exception as exc:
            # A failed batched forward cannot be pinned on one request: all of them fail, and
            # the runner starts over with an empty batch.
            log.exception("a gpt-sovits batch step failed (%d requests)", len(self._rates))
            keys = list(self._rates)
            self._rates.clear()
            self._batch = SynthesisBatch(self.engine.models, defer_decode=True)
            for key in keys:
                yield RunnerEvent(key, error=exc)

    def _render(self, output: SegmentOutput, rate: int) -> Callable[[], AudioChunk]:
        """The segment's decode as the output stage runs it; then its request goes on."""
        decode = output.decode
        assert decode is not None
        key, text, last = str(output.key), output.segment.text, output.last

        def render() -> AudioChunk:
            try:
                return segment_chunk(decode(), text, rate, pause=True)
            finally:
                if not last:
                    self._decoded.put(key)

        return render
