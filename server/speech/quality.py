"""Measuring speech audio (duration, detected speech, SNR, clipping, level).

The numbers here feed the enrollment and consent checks in :mod:`server.speech.checks`.
All analysis runs at 16 kHz, the rate the WebRTC voice activity detector, the speaker
encoder and the recognizer all use.

Estimators (see ``docs/speech-checks.md`` for the measurements behind the defaults):

- **Pre-filter.** A 4th-order high-pass at ``highpass_hz`` (80 Hz) removes DC offset and
  rumble first: some real recordings carry a DC offset of -20 dBFS that would otherwise
  count as noise in every frame.
- **Speech seconds.** WebRTC VAD on 30 ms frames, then smoothed: non-speech gaps shorter
  than ``fill_gap_seconds`` between speech frames count as speech (stop closures and
  breaths inside words), and speech runs shorter than ``min_run_seconds`` are dropped
  (clicks, bumps).
- **SNR.** Frame power on 20 ms frames. The noise floor is the ``noise_percentile``-th
  percentile of all frame powers; the speech power is the mean power of the frames the
  VAD marks as speech. ``snr_db = 10 log10((P_speech - P_noise) / P_noise)``. With pauses
  the low percentile lands in the pauses (the true floor); a recording with almost no
  pause puts it on the quietest speech frames, which under-estimates the SNR, so the
  estimate errs towards refusing rather than accepting noise. Stationary noise alone has
  frame powers within a fraction of a decibel of each other, so it measures near 0 dB.
- **Clipping.** The fraction of samples whose magnitude is at least
  ``clip_level`` (0.99 of full scale, within 0.09 dB of it), measured at the input rate
  so resampling cannot smooth it away.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.signal import butter, sosfilt

from server.audio import Audio, resample

ANALYSIS_RATE = 16_000
_VAD_FRAME_SECONDS = 0.03
_SNR_FRAME_SECONDS = 0.02
_POWER_FLOOR = 1e-12  # -120 dBFS: the level reported for digital silence
MAX_SNR_DB = 100.0


@dataclass(frozen=True)
class AnalysisSettings:
    """How :func:`analyze_speech` measures; the defaults are the calibrated ones.

    ``vad_aggressiveness`` is WebRTC's mode 0-3 (3 rejects the most non-speech).
    """

    vad_aggressiveness: int = 2
    fill_gap_seconds: float = 0.15
    min_run_seconds: float = 0.09
    noise_percentile: float = 10.0
    clip_level: float = 0.99
    highpass_hz: float = 80.0


@dataclass(frozen=True)
class SpeechQuality:
    """Measurements of one recording (all levels relative to digital full scale)."""

    duration_seconds: float
    speech_seconds: float
    snr_db: float
    clipped_fraction: float
    peak_dbfs: float
    rms_dbfs: float


def analyze_speech(audio: Audio, settings: AnalysisSettings | None = None) -> SpeechQuality:
    """Measure duration, detected speech, SNR, clipping and level of ``audio``.

    Works on any sample rate (the signal is resampled to 16 kHz for the VAD and the SNR;
    clipping is counted on the original samples).
    """
    settings = settings or AnalysisSettings()
    original = np.asarray(audio.samples, dtype=np.float32)
    samples = _highpass(resample(original, audio.sample_rate, ANALYSIS_RATE), settings.highpass_hz)
    speech_frames = detect_speech_frames(samples, settings)
    speech_seconds = float(speech_frames.sum()) * _VAD_FRAME_SECONDS
    peak = float(np.max(np.abs(original))) if original.size else 0.0
    mean_power = float(np.mean(np.square(original, dtype=np.float64))) if original.size else 0.0
    clipped = (
        float(np.count_nonzero(np.abs(original) >= settings.clip_level)) / original.size
        if original.size
        else 0.0
    )
    return SpeechQuality(
        duration_seconds=audio.duration_seconds,
        speech_seconds=round(speech_seconds, 3),
        snr_db=estimate_snr_db(samples, speech_frames, settings.noise_percentile),
        clipped_fraction=clipped,
        peak_dbfs=_power_db(peak * peak),
        rms_dbfs=_power_db(mean_power),
    )


def detect_speech_frames(samples: np.ndarray, settings: AnalysisSettings) -> np.ndarray:
    """Boolean speech flag per 30 ms frame of 16 kHz ``samples`` (VAD plus smoothing)."""
    vad = _make_vad(settings.vad_aggressiveness)
    frame = int(ANALYSIS_RATE * _VAD_FRAME_SECONDS)
    count = len(samples) // frame
    pcm = (np.clip(samples[: count * frame], -1.0, 1.0) * 32767.0).round().astype("<i2")
    raw = pcm.tobytes()
    step = frame * 2
    flags = np.fromiter(
        (vad.is_speech(raw[i * step : (i + 1) * step], ANALYSIS_RATE) for i in range(count)),
        dtype=bool,
        count=count,
    )
    flags = _fill_short_runs(flags, value=False, max_len=_frames(settings.fill_gap_seconds))
    return _fill_short_runs(flags, value=True, max_len=_frames(settings.min_run_seconds) - 1)


def estimate_snr_db(
    samples: np.ndarray, speech_frames: np.ndarray, noise_percentile: float
) -> float:
    """Signal-to-noise ratio in dB of 16 kHz ``samples`` given 30 ms VAD speech flags.

    See the module docstring for the estimator; returns 0 when no speech was detected and
    :data:`MAX_SNR_DB` for speech over digital silence.
    """
    frame = int(ANALYSIS_RATE * _SNR_FRAME_SECONDS)
    count = len(samples) // frame
    if count == 0 or not speech_frames.any():
        return 0.0
    power = np.mean(
        np.square(samples[: count * frame].reshape(count, frame), dtype=np.float64), axis=1
    )
    centers = (np.arange(count) + 0.5) * _SNR_FRAME_SECONDS
    vad_index = np.minimum((centers / _VAD_FRAME_SECONDS).astype(int), len(speech_frames) - 1)
    is_speech = speech_frames[vad_index]
    if not is_speech.any():
        return 0.0
    noise = float(np.percentile(power, noise_percentile))
    signal = float(np.mean(power[is_speech])) - noise
    if signal <= 0.0:
        return 0.0
    if noise <= _POWER_FLOOR:
        return MAX_SNR_DB
    return float(min(MAX_SNR_DB, 10.0 * np.log10(signal / noise)))


def _make_vad(aggressiveness: int) -> Any:
    if not 0 <= aggressiveness <= 3:
        raise ValueError("VAD aggressiveness must be 0, 1, 2 or 3")
    with warnings.catch_warnings():
        # webrtcvad 2.0.10 imports the deprecated pkg_resources only to read its version.
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        import webrtcvad

    return webrtcvad.Vad(aggressiveness)


def _frames(seconds: float) -> int:
    return round(seconds / _VAD_FRAME_SECONDS)


def _fill_short_runs(flags: np.ndarray, *, value: bool, max_len: int) -> np.ndarray:
    """Flip interior runs of ``value`` no longer than ``max_len`` frames to ``not value``.

    Runs touching either end are left alone when ``value`` is False (a leading pause is
    not a gap between words); speech runs are removed wherever they are.
    """
    if max_len <= 0 or flags.size == 0:
        return flags
    out = flags.copy()
    padded = np.concatenate(([False], flags == value, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    for start, stop in zip(edges[0::2], edges[1::2], strict=True):
        interior = start > 0 and stop < flags.size
        if stop - start <= max_len and (value or interior):
            out[start:stop] = not value
    return out


def _highpass(samples: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Remove DC offset and rumble, which otherwise raise every frame's power alike."""
    if cutoff_hz <= 0 or samples.size == 0:
        return samples
    sos = butter(4, cutoff_hz, btype="highpass", fs=ANALYSIS_RATE, output="sos")
    return sosfilt(sos, samples).astype(np.float32)


def _power_db(power: float) -> float:
    return float(10.0 * np.log10(max(power, _POWER_FLOOR)))
