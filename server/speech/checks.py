"""Requirements on enrollment and consent recordings, checked against measured quality.

Each check raises :class:`server.errors.InvalidAudio` naming every requirement that
failed, with the measured value, the limit and what to change, so a client can fix
everything in one retry. ``details`` carries the same facts for machines.

Default thresholds come from measurements on the real development corpus (186 LibriSpeech
utterances) and synthetic bad variants of them; ``docs/speech-checks.md`` has the figures
and ``benchmarks/speech_quality.py`` reproduces them:

- ``min_snr_db = 15``: every real utterance measures at least 16.4 dB; every utterance
  with white noise added at 10 dB SNR measures at most 14.4 dB.
- ``max_clipped_fraction = 0.001`` (0.1 % of samples at full scale): no real utterance
  has a single sample there; every utterance driven 4x past full scale has at least 0.3 %.
- consent ``min_speech_seconds = 1.5``: the real utterances of 3 s or more have at least
  1.86 s of detected speech. It only catches empty or near-empty recordings; whether the
  statement was said is the transcript check's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.errors import InvalidAudio
from server.speech.quality import SpeechQuality

DEFAULT_MIN_SNR_DB = 15.0
DEFAULT_MAX_CLIPPED_FRACTION = 0.001
# Below this peak level a recording is reported as silent rather than as "too little speech".
SILENCE_PEAK_DBFS = -60.0


@dataclass(frozen=True)
class EnrollmentLimits:
    """What enrollment audio must meet (the service settings pass the deployed values)."""

    min_speech_seconds: float = 20.0
    recommended_speech_seconds: float = 60.0
    max_duration_seconds: float = 300.0
    min_snr_db: float = DEFAULT_MIN_SNR_DB
    max_clipped_fraction: float = DEFAULT_MAX_CLIPPED_FRACTION


@dataclass(frozen=True)
class ConsentLimits:
    """What a consent recording (the person reading the statement) must meet."""

    min_duration_seconds: float = 3.0
    max_duration_seconds: float = 60.0
    min_speech_seconds: float = 1.5
    min_snr_db: float = DEFAULT_MIN_SNR_DB
    max_clipped_fraction: float = DEFAULT_MAX_CLIPPED_FRACTION


def check_enrollment_audio(quality: SpeechQuality, limits: EnrollmentLimits | None = None) -> None:
    """Raise :class:`InvalidAudio` unless ``quality`` meets the enrollment ``limits``."""
    limits = limits or EnrollmentLimits()
    _check(
        quality,
        _Spec(
            kind="enrollment",
            noun="enrollment audio",
            min_duration=0.0,
            max_duration=limits.max_duration_seconds,
            min_speech=limits.min_speech_seconds,
            min_snr_db=limits.min_snr_db,
            max_clipped_fraction=limits.max_clipped_fraction,
            long_hint="; send a shorter recording",
            short_hint="",
            speech_hint=f" (about {limits.recommended_speech_seconds:g} s recommended)",
        ),
    )


def check_consent_audio(quality: SpeechQuality, limits: ConsentLimits | None = None) -> None:
    """Raise :class:`InvalidAudio` unless ``quality`` meets the consent-recording ``limits``."""
    limits = limits or ConsentLimits()
    _check(
        quality,
        _Spec(
            kind="consent",
            noun="consent recording",
            min_duration=limits.min_duration_seconds,
            max_duration=limits.max_duration_seconds,
            min_speech=limits.min_speech_seconds,
            min_snr_db=limits.min_snr_db,
            max_clipped_fraction=limits.max_clipped_fraction,
            long_hint="; record only the statement",
            short_hint="; read the whole statement",
            speech_hint="; read the statement aloud",
        ),
    )


@dataclass(frozen=True)
class _Spec:
    """One kind of recording's limits plus the wording of its messages."""

    kind: str
    noun: str
    min_duration: float
    max_duration: float
    min_speech: float
    min_snr_db: float
    max_clipped_fraction: float
    long_hint: str
    short_hint: str
    speech_hint: str


def _check(quality: SpeechQuality, spec: _Spec) -> None:
    """Collect every failed requirement of ``spec`` and raise them together."""
    problems: list[tuple[str, str]] = []
    length = f"{spec.noun} is {quality.duration_seconds:.1f} s long"
    if quality.duration_seconds < spec.min_duration:
        problems.append(
            _problem(
                "duration_seconds",
                f"{length}; at least {spec.min_duration:g} s is needed{spec.short_hint}",
            )
        )
    elif quality.duration_seconds > spec.max_duration:
        problems.append(
            _problem(
                "duration_seconds",
                f"{length}; at most {spec.max_duration:g} s is allowed{spec.long_hint}",
            )
        )
    problems.extend(_level_problems(quality, spec.min_snr_db, spec.max_clipped_fraction))
    if quality.speech_seconds < spec.min_speech and not _is_silent(quality):
        problems.append(
            _problem(
                "speech_seconds",
                f"{spec.noun} has {quality.speech_seconds:.1f} s of detected speech; at least "
                f"{spec.min_speech:g} s is needed{spec.speech_hint}",
            )
        )
    _raise_if_any(spec.kind, problems, quality)


def _is_silent(quality: SpeechQuality) -> bool:
    """True when :func:`_level_problems` has already reported the absence of speech."""
    return quality.peak_dbfs < SILENCE_PEAK_DBFS or quality.speech_seconds == 0.0


def _level_problems(
    quality: SpeechQuality, min_snr_db: float, max_clipped_fraction: float
) -> list[tuple[str, str]]:
    """Silence, clipping and noise problems shared by both kinds of recording."""
    if quality.peak_dbfs < SILENCE_PEAK_DBFS:
        return [
            _problem(
                "speech_seconds",
                f"audio is silent (peak level {quality.peak_dbfs:.0f} dBFS); check the microphone",
            )
        ]
    if quality.speech_seconds == 0.0:
        return [("speech_seconds", "no speech was detected in the audio; record someone speaking")]
    problems: list[tuple[str, str]] = []
    if quality.clipped_fraction > max_clipped_fraction:
        problems.append(
            _problem(
                "clipped_fraction",
                f"audio is clipped: {_percent(quality.clipped_fraction)} of samples at full "
                f"scale; at most {_percent(max_clipped_fraction)} is allowed; lower the input gain",
            )
        )
    if quality.snr_db < min_snr_db:
        problems.append(
            _problem(
                "snr_db",
                f"signal-to-noise ratio is {quality.snr_db:.0f} dB; at least {min_snr_db:g} dB is "
                "needed; record in a quieter place or closer to the microphone",
            )
        )
    return problems


def _problem(name: str, message: str) -> tuple[str, str]:
    """A failed requirement: the measurement's name and the caller-facing sentence."""
    return name, message


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + "."


def _percent(fraction: float) -> str:
    value = fraction * 100.0
    return f"{value:.2f} %" if value < 0.1 else f"{value:.1f} %"


def _raise_if_any(kind: str, problems: list[tuple[str, str]], quality: SpeechQuality) -> None:
    if not problems:
        return
    details: dict[str, Any] = {
        "recording": kind,
        "failed": [name for name, _ in problems],
        "duration_seconds": round(quality.duration_seconds, 2),
        "speech_seconds": round(quality.speech_seconds, 2),
        "snr_db": round(quality.snr_db, 1),
        "clipped_fraction": round(quality.clipped_fraction, 5),
    }
    raise InvalidAudio(" ".join(_sentence(message) for _, message in problems), details=details)
