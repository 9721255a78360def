"""What the domain needs from outside it, as Protocols the composition root fills in.

``tenants/`` decides (consent, enrollment, erasure) but runs no model: the speaker encoder,
the speaker check and the engine's enrollment are handed in (``server/platform.py`` passes
``server.speech`` and the worker pool's enrollment router), so the domain imports neither
the engine API nor a speech model, and tests can pass plain functions.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from server.audio import Audio


class SpeakerEmbedder(Protocol):
    """Turns speech into a speaker embedding (``server.speech.SpeakerEncoder``)."""

    def embed(self, audio: Audio) -> np.ndarray:
        """The embedding of the one speaker in ``audio``."""
        ...


class SpeakerComparison(Protocol):
    """How alike two speakers are, against the threshold that accepts them."""

    @property
    def score(self) -> float: ...

    @property
    def threshold(self) -> float: ...

    @property
    def accepted(self) -> bool: ...


class SpeakerCheck(Protocol):
    """Compares a candidate recording with a reference speaker (``SpeakerVerifier``)."""

    def verify(self, reference: Audio | np.ndarray, candidate: Audio) -> SpeakerComparison:
        """The comparison of ``candidate``'s speaker with ``reference``."""
        ...


class BuiltVoice(Protocol):
    """A voice model an engine built (``server.engines.base.VoiceModel``)."""

    @property
    def engine(self) -> str: ...

    @property
    def engine_version(self) -> str: ...

    def to_bytes(self) -> bytes:
        """The bytes the vault seals."""
        ...


class VoiceBuilder(Protocol):
    """Runs the engine's enrollment on checked, consented audio (in a worker)."""

    def __call__(self, audio: Audio, language: str, transcript: str | None) -> BuiltVoice:
        """The voice model of ``audio``; raises the engine's domain errors."""
        ...
