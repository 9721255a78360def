"""WORLD vocoder analysis and synthesis (``pyworld``): the one wrapper both embedded engines use.

Speech is described per 5 ms frame by F0 (0 = unvoiced), a spectral envelope coded as
``ENVELOPE_DIMS`` mel-cepstral-like coefficients, and aperiodicity in dB per FFT bin.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

with warnings.catch_warnings():
    # pyworld imports the deprecated pkg_resources only to read its own version.
    warnings.simplefilter("ignore")
    import pyworld

WORK_RATE = 16_000
FRAME_PERIOD_MS = 5.0
FFT_SIZE = 1024
ENVELOPE_DIMS = 40
F0_FLOOR = 60.0
F0_CEIL = 500.0


@dataclass
class WorldFeatures:
    """Frame-wise WORLD parameters of one utterance (all arrays share their first axis)."""

    f0: np.ndarray  # (T,) Hz, 0 where unvoiced
    envelope: np.ndarray  # (T, ENVELOPE_DIMS) coded spectral envelope
    aperiodicity_db: np.ndarray  # (T, FFT_SIZE // 2 + 1), <= 0

    @property
    def voiced(self) -> np.ndarray:
        """Boolean mask of voiced frames."""
        return self.f0 > 0


def f0_with_times(x: np.ndarray, sample_rate: int = WORK_RATE) -> tuple[np.ndarray, np.ndarray]:
    """WORLD F0 (Hz, 0 when unvoiced) every :data:`FRAME_PERIOD_MS` ms, and the frame times
    (DIO refined by StoneMask); ``x`` is float64 audio at ``sample_rate``."""
    f0, times = pyworld.dio(
        x, sample_rate, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_PERIOD_MS
    )
    return pyworld.stonemask(x, f0, times, sample_rate), times


def analyze(samples: np.ndarray, with_aperiodicity: bool = True) -> WorldFeatures:
    """Analyse mono float audio at :data:`WORK_RATE` into :class:`WorldFeatures`."""
    x = np.ascontiguousarray(samples, dtype=np.float64)
    f0, times = f0_with_times(x)
    spectrum = pyworld.cheaptrick(x, f0, times, WORK_RATE, fft_size=FFT_SIZE)
    envelope = pyworld.code_spectral_envelope(spectrum, WORK_RATE, ENVELOPE_DIMS)
    if with_aperiodicity:
        aperiodicity = pyworld.d4c(x, f0, times, WORK_RATE, fft_size=FFT_SIZE)
        ap_db = 20.0 * np.log10(np.clip(aperiodicity, 1e-5, 1.0))
    else:
        ap_db = np.zeros((len(f0), FFT_SIZE // 2 + 1))
    return WorldFeatures(f0=f0, envelope=envelope, aperiodicity_db=ap_db)


def synthesize(features: WorldFeatures) -> np.ndarray:
    """Render :class:`WorldFeatures` back to float32 audio at :data:`WORK_RATE`."""
    spectrum = pyworld.decode_spectral_envelope(
        np.ascontiguousarray(features.envelope, dtype=np.float64), WORK_RATE, FFT_SIZE
    )
    aperiodicity = np.clip(10.0 ** (features.aperiodicity_db / 20.0), 1e-5, 1.0)
    audio = pyworld.synthesize(
        np.ascontiguousarray(features.f0, dtype=np.float64),
        spectrum,
        np.ascontiguousarray(aperiodicity, dtype=np.float64),
        WORK_RATE,
        FRAME_PERIOD_MS,
    )
    return audio.astype(np.float32)
