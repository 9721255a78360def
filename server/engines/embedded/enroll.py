"""Enrollment: check the audio, analyse it with WORLD and learn the speaker profile."""

from __future__ import annotations

import numpy as np

from server.audio import resample, to_mono_float32
from server.audio.signal import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from server.engines.embedded.base_voice import (
    FEMALE_VARIANTS,
    HIGH_PITCH_HZ,
    MALE_VARIANTS,
    base_stats,
)
from server.engines.embedded.profile import SpeakerProfile
from server.engines.embedded.stats import (
    frame_energy_db,
    speech_mask,
    summarize,
    syllable_rate,
)
from server.engines.world import FRAME_PERIOD_MS, WORK_RATE, analyze
from server.errors import InvalidAudio

# The engine's own floor; the platform separately requires 20 s of speech.
MIN_ENROLL_SECONDS = 2.0
MIN_VOICED_SECONDS = 1.0
# Only the first two minutes are analysed, which bounds enrollment time.
MAX_ANALYSED_SECONDS = 120.0
SILENCE_RMS = 1e-4
# Speaking-rate adaptation is bounded so intelligibility never suffers much.
MIN_RATE_FACTOR = 0.8
MAX_RATE_FACTOR = 1.25


def prepare_audio(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Validate enrollment audio and return it mono float32 at the working rate.

    Raises :class:`InvalidAudio` for non-numeric, NaN/inf, tiny, silent or out-of-range
    audio, saying what to send instead.
    """
    try:
        array = np.asarray(samples)
    except (TypeError, ValueError) as exc:
        raise InvalidAudio("enrollment audio must be an array of PCM samples") from exc
    if array.dtype.kind not in "fiu" or array.size == 0:
        raise InvalidAudio("enrollment audio is empty or not PCM samples; send a recording")
    if not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise InvalidAudio(
            f"sample rate {sample_rate} Hz is out of range; use {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )
    mono = to_mono_float32(array)
    seconds = len(mono) / float(sample_rate)
    if seconds < MIN_ENROLL_SECONDS:
        raise InvalidAudio(
            f"enrollment audio is {seconds:.1f} s long; at least {MIN_ENROLL_SECONDS:.0f} s "
            "of speech is needed",
            details={"seconds": round(seconds, 2)},
        )
    mono = mono[: int(MAX_ANALYSED_SECONDS * sample_rate)]
    if float(np.sqrt(np.mean(mono.astype(np.float64) ** 2))) < SILENCE_RMS:
        raise InvalidAudio("enrollment audio is silent; record the speaker talking")
    mono = mono - float(np.mean(mono))
    return resample(mono, int(sample_rate), WORK_RATE)


def _choose_variant(speaker: dict[str, np.ndarray], median_f0: float) -> str:
    """Base-voice variant whose average voiced envelope is nearest the speaker's."""
    candidates = FEMALE_VARIANTS if median_f0 >= HIGH_PITCH_HZ else MALE_VARIANTS
    distances = {
        variant: float(
            np.sum((base_stats(variant).arrays["env_v_mean"][1:] - speaker["env_v_mean"][1:]) ** 2)
        )
        for variant in candidates
    }
    return min(distances, key=lambda name: distances[name])


def enroll_profile(samples: np.ndarray, sample_rate: int) -> SpeakerProfile:
    """Learn a :class:`SpeakerProfile` from enrollment audio."""
    audio = prepare_audio(samples, sample_rate)
    features = analyze(audio)
    energy = frame_energy_db(audio, len(features.f0))
    mask = speech_mask(energy)
    voiced = features.voiced & mask
    voiced_seconds = voiced.sum() * FRAME_PERIOD_MS / 1000.0
    unvoiced_frames = int(((~features.voiced) & mask).sum())
    if voiced_seconds < MIN_VOICED_SECONDS or unvoiced_frames < 20:
        raise InvalidAudio(
            f"enrollment audio has {voiced_seconds:.1f} s of voiced speech; at least "
            f"{MIN_VOICED_SECONDS:.0f} s is needed (is it speech, and not noise or a tone?)",
            details={"voiced_seconds": round(voiced_seconds, 2)},
        )
    speaker = summarize(features, mask)
    variant = _choose_variant(speaker, float(np.median(features.f0[voiced])))
    base = base_stats(variant)
    speaker_rate = syllable_rate(energy, features.voiced)
    rate_factor = speaker_rate / base.syllable_rate if base.syllable_rate > 0 and speaker_rate > 0 else 1.0
    arrays = {f"spk_{name}": value for name, value in speaker.items()}
    arrays.update({f"base_{name}": value for name, value in base.arrays.items()})
    return SpeakerProfile(
        variant=variant,
        rate_factor=float(np.clip(rate_factor, MIN_RATE_FACTOR, MAX_RATE_FACTOR)),
        arrays=arrays,
    )
