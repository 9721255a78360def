"""Typed messages exchanged between the service, the scheduler and the workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from server.engines.base import EnrollmentHints
from tenants.ids import new_id
from tenants.records import GenerationRequest


@dataclass(frozen=True)
class SynthesisJob:
    """One synthesis request, fully resolved and authorised, ready for a worker.

    ``voice_model`` is the decrypted model; it crosses the process boundary over a
    private pipe and is never written to disk.
    """

    job_id: str
    tenant_id: str
    voice_id: str
    voice_model: bytes = field(repr=False)
    text: str
    language: str
    speed: float
    sample_rate: int | None
    generation_id: str
    deadline: float | None = None
    #: Sampling options the caller set (``SynthesisParams`` field names), already validated.
    sampling: dict[str, Any] = field(default_factory=dict)
    #: W3C trace context of the request, so the worker's spans join its trace.
    trace_context: dict[str, str] = field(default_factory=dict)


    @classmethod
    def for_request(cls, request: GenerationRequest,
                    trace_context: dict[str, str] | None = None) -> SynthesisJob:
        """The worker job of an authorised request (a fresh job id)."""
        return cls(
            job_id=new_id("job"), tenant_id=request.tenant_id, voice_id=request.voice_id,
            voice_model=request.voice_model, text=request.text, language=request.language,
            speed=request.speed, sample_rate=request.sample_rate,
            generation_id=request.generation_id, deadline=request.deadline,
            sampling=dict(request.sampling), trace_context=dict(trace_context or {}),
        )


@dataclass(frozen=True)
class EnrollJob:
    """Build a voice model from checked, consented enrollment audio, in a worker.

    The engine's model work (feature models, speaker embedding, speech recognition) runs in
    the worker that already holds the models; the audio crosses a private pipe, never disk.
    """

    job_id: str
    samples: np.ndarray = field(repr=False)  # mono float32
    sample_rate: int
    hints: EnrollmentHints


@dataclass(frozen=True)
class EnrollDone:
    """The voice model an :class:`EnrollJob` produced (``VoiceModel.to_bytes``)."""

    job_id: str
    voice_model: bytes = field(repr=False)


@dataclass(frozen=True)
class AudioPiece:
    """Watermarked mono PCM16 audio produced for a job, in order."""

    job_id: str
    generation_id: str
    sequence: int
    pcm16: bytes
    sample_rate: int
    final: bool


class FailureKind(Enum):
    """Why a job ended without finishing; the service maps these to domain errors."""

    INVALID = "invalid"
    INVALID_AUDIO = "invalid_audio"
    PRECONDITION = "precondition"
    CANCELLED = "cancelled"
    DEADLINE = "deadline"
    CRASHED = "crashed"
    INTERNAL = "internal"


@dataclass(frozen=True)
class JobFailure:
    """A job ended early; ``message`` is safe to show to the caller."""

    job_id: str
    kind: FailureKind
    message: str


@dataclass(frozen=True)
class CancelJob:
    """Ask a worker to stop the job it is running."""

    job_id: str


@dataclass(frozen=True)
class EvictVoice:
    """Ask a worker to drop a voice from its model cache."""

    voice_id: str


@dataclass(frozen=True)
class Shutdown:
    """Ask a worker to exit once its running jobs are done (it admits no new ones)."""


@dataclass(frozen=True)
class WorkerReady:
    """Sent once by a worker when its engine and keys are loaded."""

    engine: str
    engine_version: str
    #: Jobs the worker runs at once (its engine's batch capacity).
    slots: int = 1
