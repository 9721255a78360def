"""Input checks and the short-time spectrum shared by the embedder and the detector.

Frames are 2 hops long (40 ms) with a square-root periodic Hann window; analysis and
synthesis with that window at 50 % overlap reconstruct exactly. Frame ``t`` covers samples
``[(t - 1) * hop, (t + 1) * hop)`` of the clip, zero-padded outside it, so every sample is
covered by exactly two frames.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from server.errors import InvalidArgument, InvalidAudio
from server.watermark.scheme import FRAMES_PER_SECOND

MIN_RATE = 8_000
MAX_RATE = 192_000


def hop_for(sample_rate: int) -> int:
    """Samples per hop (20 ms) at this rate; raises for rates where that is not whole."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise InvalidArgument(f"sample rate must be an integer number of Hz, not {sample_rate!r}")
    rate = int(sample_rate)
    if not MIN_RATE <= rate <= MAX_RATE or rate % FRAMES_PER_SECOND:
        raise InvalidAudio(
            f"sample rate {rate} Hz is not supported for watermarking; use a multiple of "
            f"{FRAMES_PER_SECOND} Hz between {MIN_RATE} and {MAX_RATE} Hz "
            "(for example 16000, 22050, 24000, 32000, 44100 or 48000)"
        )
    return rate // FRAMES_PER_SECOND


def check_samples(samples: np.ndarray, sample_rate: int, min_seconds: float, purpose: str) -> np.ndarray:
    """Validate mono audio and return it as float32; raises :class:`InvalidAudio`."""
    array = np.asarray(samples)
    if array.ndim != 1:
        raise InvalidAudio(f"audio must be a 1-D mono array, got shape {array.shape}")
    if array.size == 0:
        raise InvalidAudio(f"audio is empty; {purpose} needs at least {min_seconds:g} s of audio")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise InvalidAudio(f"audio samples must be numbers, not {array.dtype}")
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) / (float(np.iinfo(array.dtype).max) + 1.0)
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise InvalidAudio("audio contains NaN or infinite samples; send finite PCM values")
    seconds = array.size / float(sample_rate)
    if seconds < min_seconds:
        raise InvalidAudio(
            f"audio is {seconds:.3f} s long; {purpose} needs at least {min_seconds:g} s"
        )
    return array


@lru_cache(maxsize=16)
def window(frame_length: int) -> np.ndarray:
    """Square-root periodic Hann window (its square sums to one at 50 % overlap)."""
    n = np.arange(frame_length)
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_length))


def frames_needed(length: int, hop: int) -> int:
    """Number of frames that cover ``length`` samples."""
    return (length - 1) // hop + 2


def frame_matrix(padded: np.ndarray, hop: int, count: int) -> np.ndarray:
    """``count`` windowed frames of length ``2 * hop`` taken every ``hop`` from ``padded``."""
    strided = np.lib.stride_tricks.sliding_window_view(padded, 2 * hop)[::hop][:count]
    return strided * window(2 * hop)
