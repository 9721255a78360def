"""Speaker embeddings and verification with resemblyzer's pretrained encoder (CPU).

resemblyzer ships its trained GE2E speaker encoder weights inside the pip package, so
nothing is downloaded. The model is loaded on first use (never at import), once per
:class:`SpeakerEncoder`, under a lock; inference is serialised by the same lock so that a
busy server never runs more than ``num_threads`` torch threads for it.

The verification threshold is calibrated on real speech by
``benchmarks/speaker_threshold.py``; ``docs/speaker-verification.md`` gives the
false-accept and false-reject rates behind :data:`DEFAULT_THRESHOLD`.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from server.audio import Audio, resample
from server.errors import FailedPrecondition, InvalidAudio

ENCODER_RATE = 16_000
# Below this much voiced audio (after resemblyzer trims long pauses) an embedding is noise.
MIN_VOICED_SECONDS = 1.0
DEFAULT_THRESHOLD = 0.81
_SILENCE_PEAK = 1e-3  # -60 dBFS


@dataclass(frozen=True)
class SpeakerMatch:
    """Outcome of comparing a candidate recording with a reference voice."""

    score: float
    threshold: float
    accepted: bool


class SpeakerEncoder:
    """Turns speech into a 256-dimensional, L2-normalised speaker embedding.

    ``weights_path`` defaults to the weights inside the installed resemblyzer package;
    ``num_threads`` caps torch's intra-op threads (it is lowered process-wide, never
    raised, because torch has one global setting).
    """

    def __init__(self, *, weights_path: Path | None = None, num_threads: int = 1) -> None:
        if num_threads < 1:
            raise ValueError("num_threads must be at least 1")
        self._weights_path = weights_path
        self._num_threads = num_threads
        self._lock = threading.Lock()
        self._model: Any = None

    def embed(self, audio: Audio) -> np.ndarray:
        """Embedding of the speaker in ``audio`` (float32, unit length).

        Raises :class:`InvalidAudio` when the clip holds too little voiced audio to
        characterise a speaker.
        """
        samples = resample(
            np.asarray(audio.samples, dtype=np.float32), audio.sample_rate, ENCODER_RATE
        )
        if samples.size == 0 or float(np.max(np.abs(samples))) < _SILENCE_PEAK:
            raise InvalidAudio("audio is silent; the speaker cannot be recognised")
        with self._lock:
            model = self._load_locked()
            from resemblyzer import preprocess_wav

            voiced = preprocess_wav(samples)
            if voiced.size < MIN_VOICED_SECONDS * ENCODER_RATE:
                raise InvalidAudio(
                    f"audio has {voiced.size / ENCODER_RATE:.1f} s of voiced speech; at least "
                    f"{MIN_VOICED_SECONDS:g} s is needed to recognise the speaker"
                )
            embedding = model.embed_utterance(voiced)
        return _normalise(np.asarray(embedding, dtype=np.float32))

    @staticmethod
    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        """Cosine similarity of two embeddings, in [-1, 1] (1 means the same direction)."""
        a = _normalise(np.asarray(a, dtype=np.float32))
        b = _normalise(np.asarray(b, dtype=np.float32))
        if a.shape != b.shape:
            raise ValueError(f"embeddings differ in shape: {a.shape} vs {b.shape}")
        return float(np.clip(np.dot(a, b), -1.0, 1.0))

    def _load_locked(self) -> Any:
        if self._model is None:
            import torch

            if torch.get_num_threads() > self._num_threads:
                torch.set_num_threads(self._num_threads)
            with warnings.catch_warnings():
                # resemblyzer imports deprecated modules (pkg_resources via webrtcvad,
                # scipy.ndimage.morphology); the warnings say nothing actionable here.
                warnings.simplefilter("ignore", category=DeprecationWarning)
                warnings.simplefilter("ignore", category=UserWarning)
                from resemblyzer import VoiceEncoder

                self._model = VoiceEncoder(
                    device="cpu", verbose=False, weights_fpath=self._weights_path
                )
        return self._model


class SpeakerVerifier:
    """Decides whether a candidate recording is the same speaker as a reference.

    A score at or above ``threshold`` is accepted.
    """

    def __init__(self, encoder: SpeakerEncoder, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ValueError("threshold must be a cosine similarity in [-1, 1]")
        self.encoder = encoder
        self.threshold = threshold

    def verify(self, reference: Audio | np.ndarray, candidate: Audio) -> SpeakerMatch:
        """Score ``candidate`` against ``reference`` (a recording or a stored embedding)."""
        ref = reference if isinstance(reference, np.ndarray) else self.encoder.embed(reference)
        score = self.encoder.similarity(ref, self.encoder.embed(candidate))
        return SpeakerMatch(score=score, threshold=self.threshold, accepted=score >= self.threshold)

    def require_same_speaker(self, reference: Audio | np.ndarray, candidate: Audio) -> SpeakerMatch:
        """Like :meth:`verify`, but raise :class:`FailedPrecondition` on a mismatch.

        The error details carry ``speaker_match`` (the score) and ``threshold``.
        """
        match = self.verify(reference, candidate)
        if not match.accepted:
            raise FailedPrecondition(
                f"the enrollment speaker does not match the consent recording (similarity "
                f"{match.score:.3f}; at least {match.threshold:.3f} is needed); enroll with "
                "the voice of the person who recorded the consent",
                details={"speaker_match": round(match.score, 4), "threshold": match.threshold},
            )
        return match


def _normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("embedding has zero or non-finite length")
    return (vector / norm).astype(np.float32)
