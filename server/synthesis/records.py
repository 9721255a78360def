"""The typed messages between the gRPC process and its synthesis workers, both directions.

Every message is a frozen dataclass. :data:`ToWorker` and :data:`FromWorker` are the closed
sets each side accepts: :func:`to_worker` and :func:`from_worker` refuse anything else read
from a pipe (:class:`PipeProtocolError`), and both sides dispatch with an exhaustive ``match``
that ends in ``assert_never``, so a message added here and not handled there fails the type
check. Errors cross as :class:`ErrorRecord` (kind, message, details), so the server raises the
same domain error the worker saw: an engine bug arrives as INTERNAL naming the request id,
never as a retryable UNAVAILABLE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import numpy as np

from server.engines.base import EnrollmentHints
from server.engines.request import SynthesisRequest
from server.errors import Internal, VoxguardError, error_of_kind

# -- server -> worker ------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthesisJob:
    """One synthesis request, authorised, recorded and checked, ready for a worker.

    ``voice_model`` is the decrypted model; it crosses the process boundary over a private
    pipe and is never written to disk. ``request`` was checked by ``RequestRules`` at the
    edge and is not checked again.
    """

    job_id: str
    #: The RPC's request id: worker log lines and an INTERNAL error name it.
    request_id: str
    tenant_id: str
    voice_id: str
    voice_model: bytes = field(repr=False)
    generation_id: str
    request: SynthesisRequest
    #: ``time.monotonic()`` deadline in the server process, or None.
    deadline: float | None = None
    #: W3C trace context of the request, so the worker's spans join its trace.
    trace_context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EnrollJob:
    """Build a voice model from checked, consented enrollment audio, in a worker.

    The engine's model work (feature models, speaker embedding, speech recognition) runs in
    the worker that already holds the models; the audio crosses a private pipe, never disk.
    """

    job_id: str
    request_id: str
    samples: np.ndarray = field(repr=False)  # mono float32
    sample_rate: int
    hints: EnrollmentHints


@dataclass(frozen=True)
class CancelJob:
    """Stop the job now (the caller left, its deadline passed, or the watchdog asked)."""

    job_id: str


@dataclass(frozen=True)
class EvictVoice:
    """Drop a voice from the model cache and stop its running jobs (it was deleted)."""

    voice_id: str


@dataclass(frozen=True)
class Shutdown:
    """Exit once the running jobs are done; admit no new ones."""


ToWorker = SynthesisJob | EnrollJob | CancelJob | EvictVoice | Shutdown

# -- worker -> server ------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerReady:
    """Sent once by a worker when its engine and keys are loaded."""

    engine: str
    engine_version: str
    #: Jobs the worker runs at once (its engine's batch capacity).
    slots: int = 1


@dataclass(frozen=True)
class AudioPiece:
    """Watermarked mono PCM16 audio produced for a job, in order; ``final`` ends the job."""

    job_id: str
    generation_id: str
    sequence: int
    pcm16: bytes = field(repr=False)
    sample_rate: int
    final: bool


@dataclass(frozen=True)
class EnrollDone:
    """The voice model an :class:`EnrollJob` produced (``VoiceModel.to_bytes``)."""

    job_id: str
    voice_model: bytes = field(repr=False)


@dataclass(frozen=True)
class ErrorRecord:
    """A domain error as it crosses the pipe: its kind (class name), caller-safe message and
    machine-readable details, all of them kept."""

    kind: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, error: VoxguardError) -> ErrorRecord:
        """The record of a domain error."""
        return cls(error.kind, error.message, dict(error.details))

    @classmethod
    def engine_bug(cls, request_id: str) -> ErrorRecord:
        """What the caller is told when the engine raised something that is not a domain
        error: a defect, logged in the worker with the same request id."""
        return cls.of(Internal(
            f"synthesis failed inside the engine; the operator can find request {request_id} "
            "in the server log", details={"request_id": request_id}))

    def to_error(self) -> VoxguardError:
        """The domain error to raise in the server (same class, message and details)."""
        return error_of_kind(self.kind, self.message, self.details)


@dataclass(frozen=True)
class JobFailed:
    """A synthesis or enrollment job ended without its result."""

    job_id: str
    error: ErrorRecord


@dataclass(frozen=True)
class WorkerFailed:
    """Sent instead of :class:`WorkerReady` by a worker that cannot start its engine (model
    files damaged, a device missing); the worker exits right after."""

    error: ErrorRecord


FromWorker = WorkerReady | AudioPiece | EnrollDone | JobFailed | WorkerFailed

_TO_WORKER = (SynthesisJob, EnrollJob, CancelJob, EvictVoice, Shutdown)
_FROM_WORKER = (WorkerReady, AudioPiece, EnrollDone, JobFailed, WorkerFailed)


class PipeProtocolError(Exception):
    """Something that is not one of the pipe's messages was read from it (a bug or a worker
    of another build): the side that reads it stops talking to that peer."""


def _is_to_worker(message: object) -> TypeGuard[ToWorker]:
    return isinstance(message, _TO_WORKER)


def _is_from_worker(message: object) -> TypeGuard[FromWorker]:
    return isinstance(message, _FROM_WORKER)


def to_worker(message: object) -> ToWorker:
    """``message`` as a server -> worker message, or :class:`PipeProtocolError`."""
    if not _is_to_worker(message):
        raise PipeProtocolError(f"a worker cannot handle a {type(message).__name__}")
    return message


def from_worker(message: object) -> FromWorker:
    """``message`` as a worker -> server message, or :class:`PipeProtocolError`."""
    if not _is_from_worker(message):
        raise PipeProtocolError(f"the server cannot handle a {type(message).__name__}")
    return message
