"""What the detector measures: normalised log-magnitudes of the band cells at 8 kHz.

The host's own spectrum is by far the largest "noise" the detector faces. Removing each
frame's spectral envelope (a moving average over neighbouring bins) leaves the fine
structure plus the mark; clipping large values keeps a few deep spectral nulls (common
after lossy coding) from dominating a sum.

Added noise is the second enemy: the mark scales with the host, so a frame drowned in
noise (a pause, a quiet syllable) carries almost none of it but adds as much variance as
a loud one. Each frame is therefore weighted by its estimated share of host power,
``(P - N) / P`` with ``N`` a low percentile of the frame powers (the noise floor), which
is the matched-filter weight for a mark attenuated by that share.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from server.watermark.framing import frame_matrix
from server.watermark.scheme import DETECT_RATE, FRAMES_PER_SECOND, HIGH_BIN, LOW_BIN

DETECT_HOP = DETECT_RATE // FRAMES_PER_SECOND
#: Sub-hop start offsets the detector tries (2.5 ms apart) to find the embedder's frame grid.
OFFSET_STEP = 20
ENVELOPE_BINS = 5
CLIP = 2.0
_FLOOR = 1e-9
#: Percentile of frame powers taken as the noise floor. Low enough to find the floor in
#: speech that pauses rarely; measured on real speech with 20 dB white noise (docs/watermark.md).
NOISE_FLOOR_PERCENTILE = 5.0


def cell_features(audio_8k: np.ndarray, offset: int) -> np.ndarray:
    """``(frames, band bins)`` detector values for frames starting at ``offset`` samples."""
    usable = audio_8k.size - offset
    count = (usable - 2 * DETECT_HOP) // DETECT_HOP + 1
    if count <= 0:
        return np.zeros((0, HIGH_BIN - LOW_BIN))
    frames = frame_matrix(audio_8k[offset:].astype(np.float64), DETECT_HOP, count)
    magnitude = np.abs(np.fft.rfft(frames, axis=1)[:, LOW_BIN - 1 : HIGH_BIN + 1])
    level = np.sqrt(np.mean(magnitude**2, axis=1, keepdims=True))
    log_mag = np.log(magnitude + 1e-3 * level + _FLOOR)
    envelope = uniform_filter1d(log_mag, ENVELOPE_BINS, axis=1, mode="nearest")
    values = (log_mag - envelope)[:, 1:-1]
    scale = np.sqrt(np.mean(values**2)) + _FLOOR
    values = np.clip(values, -CLIP * scale, CLIP * scale)
    return values * host_share(np.mean(magnitude[:, 1:-1] ** 2, axis=1))[:, None]


def host_share(frame_power: np.ndarray) -> np.ndarray:
    """Per-frame weight in [0, 1]: the estimated share of the frame's power above the noise floor."""
    floor = float(np.percentile(frame_power, NOISE_FLOOR_PERCENTILE))
    excess = np.maximum(frame_power - floor, 0.0)
    return excess / (frame_power + _FLOOR)
