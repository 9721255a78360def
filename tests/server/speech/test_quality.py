"""Speech quality measurement and the enrollment/consent requirements, on real speech."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from server.audio import Audio, decode_audio, resample
from server.errors import InvalidAudio
from server.speech.checks import (
    ConsentLimits,
    EnrollmentLimits,
    check_consent_audio,
    check_enrollment_audio,
)
from server.speech.quality import AnalysisSettings, SpeechQuality, analyze_speech


def _with_noise(audio: Audio, snr_db: float, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    power = float(np.mean(audio.samples**2))
    noise = rng.standard_normal(audio.samples.size) * np.sqrt(power / 10 ** (snr_db / 10))
    return Audio((audio.samples + noise).astype(np.float32), audio.sample_rate)


def _failed(exc: pytest.ExceptionInfo[InvalidAudio]) -> list[str]:
    return exc.value.details["failed"]


def test_real_enrollment_speech_measures_clean(enrollment_audio: Audio) -> None:
    quality = analyze_speech(enrollment_audio)
    assert quality.duration_seconds == pytest.approx(25.8, abs=0.1)
    assert 20.0 < quality.speech_seconds < quality.duration_seconds
    assert quality.snr_db > 20.0
    assert quality.clipped_fraction == 0.0
    assert -20.0 < quality.peak_dbfs < 0.0
    assert quality.rms_dbfs < quality.peak_dbfs
    check_enrollment_audio(quality, EnrollmentLimits())


def test_real_consent_clip_passes(consent_audio: Audio, impostor_audio: Audio) -> None:
    check_consent_audio(analyze_speech(consent_audio), ConsentLimits())
    check_consent_audio(analyze_speech(impostor_audio), ConsentLimits())


def test_measurement_does_not_depend_on_sample_rate(consent_audio: Audio) -> None:
    at_48k = Audio(resample(consent_audio.samples, 16_000, 48_000), 48_000)
    a, b = analyze_speech(consent_audio), analyze_speech(at_48k)
    assert b.duration_seconds == pytest.approx(a.duration_seconds, abs=0.01)
    assert b.speech_seconds == pytest.approx(a.speech_seconds, abs=0.2)
    assert b.snr_db == pytest.approx(a.snr_db, abs=2.0)


def test_dc_offset_does_not_count_as_noise(consent_audio: Audio) -> None:
    shifted = Audio(consent_audio.samples - 0.1, consent_audio.sample_rate)
    assert analyze_speech(shifted).snr_db > 20.0


def test_silence_is_refused_as_silent() -> None:
    quality = analyze_speech(Audio(np.zeros(16_000 * 30, dtype=np.float32), 16_000))
    assert quality.speech_seconds == 0.0
    with pytest.raises(InvalidAudio, match="silent") as exc:
        check_enrollment_audio(quality)
    assert _failed(exc) == ["speech_seconds"]


@pytest.mark.parametrize("kind", ["white", "hum"])
def test_noise_without_speech_is_refused(kind: str) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(16_000 * 25) / 16_000
    if kind == "white":
        samples = 0.1 * rng.standard_normal(t.size)
    else:
        samples = 0.2 * np.sin(2 * np.pi * 120 * t) + 0.01 * rng.standard_normal(t.size)
    quality = analyze_speech(Audio(samples.astype(np.float32), 16_000))
    with pytest.raises(InvalidAudio) as exc:
        check_enrollment_audio(quality)
    assert set(_failed(exc)) & {"speech_seconds", "snr_db"}


def test_noisy_speech_is_refused_with_the_measured_snr(enrollment_audio: Audio) -> None:
    noisy = _with_noise(enrollment_audio, snr_db=5.0)
    quality = analyze_speech(noisy)
    assert quality.snr_db < 12.0
    with pytest.raises(
        InvalidAudio, match=r"(?i)signal-to-noise ratio is \d+ dB; at least 15 dB"
    ) as exc:
        check_enrollment_audio(quality)
    assert "snr_db" in _failed(exc)
    assert exc.value.details["snr_db"] == pytest.approx(quality.snr_db, abs=0.1)


def test_mild_noise_is_accepted(enrollment_audio: Audio) -> None:
    check_enrollment_audio(analyze_speech(_with_noise(enrollment_audio, snr_db=30.0)))


def test_clipped_speech_is_refused_with_the_fraction(consent_audio: Audio) -> None:
    loud = np.clip(consent_audio.samples * 8.0, -1.0, 1.0)
    data = io.BytesIO()
    sf.write(data, loud, consent_audio.sample_rate, format="WAV", subtype="PCM_16")
    quality = analyze_speech(decode_audio(data.getvalue()))
    assert quality.clipped_fraction > 0.01
    with pytest.raises(
        InvalidAudio,
        match=r"(?i)audio is clipped: [\d.]+ % of samples at full scale; at most 0\.1 %",
    ):
        check_consent_audio(quality)


def test_too_little_speech_for_enrollment(consent_audio: Audio) -> None:
    with pytest.raises(
        InvalidAudio,
        match=r"has \d+\.\d s of detected speech; at least 20 s is needed \(about 60 s",
    ) as exc:
        check_enrollment_audio(analyze_speech(consent_audio))
    assert _failed(exc) == ["speech_seconds"]


def test_too_long_enrollment_is_refused(enrollment_audio: Audio) -> None:
    long = Audio(np.tile(enrollment_audio.samples, 12), enrollment_audio.sample_rate)
    with pytest.raises(InvalidAudio, match=r"is 309\.\d s long; at most 300 s") as exc:
        check_enrollment_audio(analyze_speech(long))
    assert _failed(exc) == ["duration_seconds"]


def test_consent_duration_bounds(consent_audio: Audio, enrollment_audio: Audio) -> None:
    short = Audio(consent_audio.samples[: 16_000 * 2], 16_000)
    with pytest.raises(InvalidAudio, match=r"(?i)consent recording is 2\.0 s long; at least 3 s"):
        check_consent_audio(analyze_speech(short))
    long = Audio(np.tile(enrollment_audio.samples, 3), 16_000)
    with pytest.raises(InvalidAudio, match=r"at most 60 s is allowed"):
        check_consent_audio(analyze_speech(long))


def test_limits_come_from_the_caller(consent_audio: Audio) -> None:
    quality = analyze_speech(consent_audio)
    with pytest.raises(InvalidAudio, match="at least 10 s is needed"):
        check_consent_audio(quality, ConsentLimits(min_speech_seconds=10.0))
    check_enrollment_audio(quality, EnrollmentLimits(min_speech_seconds=1.0))


def test_every_failure_is_reported_at_once() -> None:
    quality = SpeechQuality(
        duration_seconds=400.0,
        speech_seconds=12.4,
        snr_db=6.2,
        clipped_fraction=0.031,
        peak_dbfs=0.0,
        rms_dbfs=-12.0,
    )
    with pytest.raises(InvalidAudio) as exc:
        check_enrollment_audio(quality)
    assert _failed(exc) == ["duration_seconds", "clipped_fraction", "snr_db", "speech_seconds"]
    assert "3.1 % of samples" in exc.value.message
    assert "12.4 s of detected speech" in exc.value.message


def test_nan_audio_never_reaches_analysis() -> None:
    samples = np.zeros(16_000, dtype=np.float32)
    samples[100] = np.nan
    data = io.BytesIO()
    sf.write(data, samples, 16_000, format="WAV", subtype="FLOAT")
    with pytest.raises(InvalidAudio, match="NaN"):
        decode_audio(data.getvalue())


def test_vad_aggressiveness_is_validated(consent_audio: Audio) -> None:
    with pytest.raises(ValueError):
        analyze_speech(consent_audio, AnalysisSettings(vad_aggressiveness=4))
    strict = analyze_speech(consent_audio, AnalysisSettings(vad_aggressiveness=3))
    lenient = analyze_speech(consent_audio, AnalysisSettings(vad_aggressiveness=0))
    assert strict.speech_seconds <= lenient.speech_seconds
