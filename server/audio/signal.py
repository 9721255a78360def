"""The in-memory audio record and sample-level helpers (mono mix, finiteness, resampling)."""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np
from scipy.signal import resample_poly

from server.errors import InvalidAudio

MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 48_000


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] and their sample rate in Hz."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_seconds(self) -> float:
        """Length of the clip in seconds."""
        return len(self.samples) / float(self.sample_rate)


def ensure_finite(samples: np.ndarray) -> None:
    """Raise :class:`InvalidAudio` if any sample is NaN or infinite."""
    if samples.size and not np.isfinite(samples).all():
        raise InvalidAudio("audio contains NaN or infinite samples; send finite PCM values")


def to_mono_float32(samples: np.ndarray) -> np.ndarray:
    """Mix ``(frames, channels)`` or ``(frames,)`` audio down to mono float32.

    Integer input is scaled to [-1, 1]; NaN or infinite samples are rejected.
    """
    array = np.asarray(samples)
    if array.ndim == 2:
        array = array.mean(axis=1) if array.shape[1] > 1 else array[:, 0]
    elif array.ndim != 1:
        raise InvalidAudio("audio must be mono or interleaved multi-channel samples")
    if np.issubdtype(array.dtype, np.integer):
        scale = float(np.iinfo(array.dtype).max) + 1.0
        array = array.astype(np.float32) / scale
    array = array.astype(np.float32, copy=False)
    ensure_finite(array)
    return array


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono audio with a polyphase anti-aliasing filter (exact rational ratio)."""
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    if from_rate <= 0 or to_rate <= 0:
        raise InvalidAudio("sample rates must be positive")
    divisor = gcd(int(from_rate), int(to_rate))
    out = resample_poly(samples, int(to_rate) // divisor, int(from_rate) // divisor)
    return out.astype(np.float32, copy=False)
