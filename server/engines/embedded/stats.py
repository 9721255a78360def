"""Frame selection and summary statistics of WORLD features (speaker and base voice alike)."""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from server.engines.world import FRAME_PERIOD_MS, WORK_RATE, WorldFeatures

HOP = int(WORK_RATE * FRAME_PERIOD_MS / 1000)
# Frames quieter than this many dB below the loud (95th percentile) level are pauses.
SPEECH_RANGE_DB = 35.0


def frame_energy_db(samples: np.ndarray, frames: int) -> np.ndarray:
    """RMS level in dB of a 20 ms window centred on each WORLD frame."""
    padded = np.pad(samples.astype(np.float64), (2 * HOP, 2 * HOP + HOP * frames))
    windows = np.lib.stride_tricks.sliding_window_view(padded, 4 * HOP)[::HOP][:frames]
    return 10.0 * np.log10(np.mean(windows**2, axis=1) + 1e-12)


def speech_mask(energy_db: np.ndarray, *, floor_db: float | None = -70.0) -> np.ndarray:
    """Frames that carry speech (not pauses or silence): within :data:`SPEECH_RANGE_DB` of the
    loud (95th percentile) frame energy and, unless ``floor_db`` is None, above it. Both
    embedded engines use it (the neural one on mel energy, with no floor)."""
    if energy_db.size == 0:
        return np.zeros(0, dtype=bool)
    loud = float(np.percentile(energy_db, 95))
    mask = energy_db > loud - SPEECH_RANGE_DB
    return mask & (energy_db > floor_db) if floor_db is not None else mask


def syllable_rate(energy_db: np.ndarray, voiced: np.ndarray) -> float:
    """Syllable nuclei per second of speech: peaks of smoothed energy inside voiced frames.

    Used only as a ratio between the speaker and the base voice, so its absolute bias
    cancels out.
    """
    mask = speech_mask(energy_db)
    if mask.sum() < 20:
        return 0.0
    kernel = np.hanning(9)
    smooth = np.convolve(energy_db, kernel / kernel.sum(), mode="same")
    peaks, _ = find_peaks(smooth, distance=int(100 / FRAME_PERIOD_MS), prominence=3.0)
    peaks = peaks[voiced[peaks] & mask[peaks]]
    # Pauses longer than 300 ms do not count as speaking time.
    speaking_frames = _speaking_frames(mask, int(300 / FRAME_PERIOD_MS))
    return len(peaks) / max(speaking_frames * FRAME_PERIOD_MS / 1000.0, 1e-3)


def _speaking_frames(mask: np.ndarray, max_gap: int) -> int:
    total = 0
    gap = 0
    started = False
    for active in mask:
        if active:
            if started:
                total += min(gap, max_gap) if gap <= max_gap else 0
            total += 1
            gap = 0
            started = True
        else:
            gap += 1
    return total


def summarize(features: WorldFeatures, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Means and deviations of log-F0, envelope and aperiodicity over speech frames.

    Voiced and unvoiced speech frames are summarised separately because their
    envelopes differ systematically (vowels vs fricatives).
    """
    voiced = features.voiced & mask
    unvoiced = (~features.voiced) & mask
    log_f0 = np.log(features.f0[voiced])
    env = features.envelope
    ap = features.aperiodicity_db
    return {
        "lf0_mean": np.array([log_f0.mean()]),
        "lf0_std": np.array([log_f0.std() + 1e-6]),
        "env_v_mean": env[voiced].mean(axis=0),
        "env_v_std": env[voiced].std(axis=0) + 1e-6,
        "env_u_mean": env[unvoiced].mean(axis=0),
        "env_u_std": env[unvoiced].std(axis=0) + 1e-6,
        "ap_v_mean": ap[voiced].mean(axis=0),
        "ap_u_mean": ap[unvoiced].mean(axis=0),
    }
