"""The embedded engine on real speech: enrollment, synthesis, chunking and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from server.engines import SynthesisParams, VoiceModel
from server.engines.embedded.engine import EmbeddedEngine
from server.engines.embedded.profile import SpeakerProfile
from server.errors import FailedPrecondition, InvalidArgument, InvalidAudio

SENTENCE = "The quick brown fox jumps over the lazy dog."


def _speech(engine: EmbeddedEngine, voice: VoiceModel, text: str, language: str = "en", **params: object) -> np.ndarray:
    chunks = list(engine.synthesize(voice, text, language, SynthesisParams(**params)))  # type: ignore[arg-type]
    return np.concatenate([chunk.samples for chunk in chunks])


def test_enrollment_builds_a_small_versioned_model(engine: EmbeddedEngine, voice: VoiceModel) -> None:
    assert voice.engine == "embedded"
    assert voice.engine_version == engine.version
    assert len(voice.to_bytes()) < 4 * 1024 * 1024
    assert VoiceModel.from_bytes(voice.to_bytes()) == voice
    profile = SpeakerProfile.from_bytes(voice.data)
    assert profile.variant.startswith("m")  # a male speaker gets a male base voice


def test_pitch_follows_the_enrolled_speaker(
    engine: EmbeddedEngine, voice: VoiceModel, female_clip: tuple[np.ndarray, int]
) -> None:
    female = engine.enroll(*female_clip)
    male_f0 = np.exp(SpeakerProfile.from_bytes(voice.data).arrays["spk_lf0_mean"][0])
    female_f0 = np.exp(SpeakerProfile.from_bytes(female.data).arrays["spk_lf0_mean"][0])
    assert female_f0 > male_f0 * 1.15
    assert SpeakerProfile.from_bytes(female.data).variant.startswith("f")


def test_synthesis_yields_finite_speech_at_the_native_rate(
    engine: EmbeddedEngine, voice: VoiceModel
) -> None:
    chunks = list(engine.synthesize(voice, SENTENCE, "en"))
    assert len(chunks) == 1
    chunk = chunks[0]
    assert chunk.sample_rate == engine.native_sample_rate == 16_000
    assert chunk.samples.dtype == np.float32
    assert np.isfinite(chunk.samples).all()
    assert np.max(np.abs(chunk.samples)) <= 1.0
    assert 1.5 < chunk.duration_seconds < 6.0
    assert chunk.text == SENTENCE
    assert np.sqrt(np.mean(chunk.samples**2)) > 0.01


def test_chunked_output_equals_whole_output(engine: EmbeddedEngine, voice: VoiceModel) -> None:
    # Sentences of a few seconds: in a one-second clip the long-term spectrum rests on a few
    # harmonics, which eSpeak NG's call-to-call pitch flutter moves noticeably.
    first, second = "Good morning to you, and welcome to the old station.", "The train leaves at 9:15 am."
    chunks = list(engine.synthesize(voice, f"{first} {second}", "en"))
    assert [chunk.text for chunk in chunks] == [first, "The train leaves at nine fifteen A M."]
    # Each chunk is the same speech as that sentence requested alone. eSpeak NG's pitch
    # generator carries a little state between calls, so lengths may differ by a few ms.
    for chunk, alone in zip(chunks, (_speech(engine, voice, first), _speech(engine, voice, second))):
        assert len(chunk.samples) == pytest.approx(len(alone), rel=0.02)
        assert _level_db(chunk.samples) == pytest.approx(_level_db(alone), abs=1.0)
        assert _spectral_distance_db(chunk.samples, alone) < 1.5


def test_synthesis_is_repeatable(engine: EmbeddedEngine, voice: VoiceModel) -> None:
    once, again = _speech(engine, voice, SENTENCE), _speech(engine, voice, SENTENCE)
    assert len(once) == pytest.approx(len(again), rel=0.02)
    assert _spectral_distance_db(once, again) < 1.0
    # The measure tells sentences apart: another sentence is several dB away.
    assert _spectral_distance_db(once, _speech(engine, voice, "Good morning to you.")) > 2.0
    assert _level_db(once) == pytest.approx(_level_db(again), abs=1.0)


def _level_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2)))


def _spectral_distance_db(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of long-term band spectra (16 bands of 500 Hz) in dB.

    Each spectrum is taken relative to its own mean level, so this compares spectral
    shape; loudness is checked separately with :func:`_level_db`. (eSpeak NG's pitch
    flutter carries state between calls, so renderings are never bit-identical.)
    """

    def spectrum(x: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::256] * np.hanning(512)
        power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)[:256]
        bands = power.reshape(16, 16).sum(axis=1)
        level = 10 * np.log10(bands + bands.max() * 1e-6)
        return level - level.mean()

    return float(np.mean(np.abs(spectrum(a) - spectrum(b))))


def test_output_rate_and_speed_parameters(engine: EmbeddedEngine, voice: VoiceModel) -> None:
    native = _speech(engine, voice, SENTENCE)
    chunk = next(iter(engine.synthesize(voice, SENTENCE, "en", SynthesisParams(sample_rate=24_000))))
    assert chunk.sample_rate == 24_000
    assert len(chunk.samples) == pytest.approx(len(native) * 1.5, rel=0.01)
    fast = _speech(engine, voice, SENTENCE, speed=1.6)
    assert len(fast) < 0.8 * len(native)


@pytest.mark.parametrize(
    ("text", "language"),
    [("你好，世界。今天天气很好。", "cmn"), ("我用iPhone打电话。", "zh-CN"), ("Bonjour tout le monde.", "fr")],
)
def test_other_languages_produce_speech(
    engine: EmbeddedEngine, voice: VoiceModel, text: str, language: str
) -> None:
    audio = _speech(engine, voice, text, language)
    assert len(audio) / 16_000 > 0.8
    assert np.sqrt(np.mean(audio**2)) > 0.01
    assert "cmn" in engine.supported_languages and "fr" in engine.supported_languages


def test_empty_and_unspeakable_text_are_refused_before_streaming(
    engine: EmbeddedEngine, voice: VoiceModel
) -> None:
    with pytest.raises(InvalidArgument, match="empty"):
        engine.synthesize(voice, "  ", "en")
    with pytest.raises(InvalidArgument, match="nothing to pronounce"):
        engine.synthesize(voice, "?!", "en")


def test_unsupported_language_is_refused(engine: EmbeddedEngine, voice: VoiceModel) -> None:
    with pytest.raises(InvalidArgument, match="language 'tlh' is not supported"):
        engine.synthesize(voice, "Qapla'", "tlh")


def test_voice_model_from_another_engine_is_refused(engine: EmbeddedEngine, voice: VoiceModel) -> None:
    foreign = VoiceModel(engine="gpt-sovits", engine_version="2.0.0", data=voice.data)
    with pytest.raises(FailedPrecondition, match="'gpt-sovits'.*'embedded'"):
        engine.synthesize(foreign, SENTENCE, "en")


def test_voice_model_from_an_incompatible_version_is_refused(
    engine: EmbeddedEngine, voice: VoiceModel
) -> None:
    old = VoiceModel(engine="embedded", engine_version="0.1.0", data=voice.data)
    with pytest.raises(FailedPrecondition, match="version 0.1.0"):
        engine.synthesize(old, SENTENCE, "en")


def test_corrupt_profile_is_refused(engine: EmbeddedEngine) -> None:
    broken = VoiceModel(engine="embedded", engine_version=engine.version, data=b"garbage")
    with pytest.raises(FailedPrecondition, match="corrupt"):
        engine.synthesize(broken, SENTENCE, "en")


def test_tiny_audio_is_refused(engine: EmbeddedEngine, male_clip: tuple[np.ndarray, int]) -> None:
    samples, rate = male_clip
    with pytest.raises(InvalidAudio, match="0.5 s long; at least 2 s"):
        engine.enroll(samples[: rate // 2], rate)


def test_silent_audio_is_refused(engine: EmbeddedEngine) -> None:
    with pytest.raises(InvalidAudio, match="silent"):
        engine.enroll(np.zeros(16_000 * 5, dtype=np.float32), 16_000)


def test_noise_without_speech_is_refused(engine: EmbeddedEngine) -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, 16_000 * 5).astype(np.float32)
    with pytest.raises(InvalidAudio, match="voiced speech"):
        engine.enroll(noise, 16_000)


def test_nan_audio_is_refused(engine: EmbeddedEngine, male_clip: tuple[np.ndarray, int]) -> None:
    samples, rate = male_clip
    broken = samples.copy()
    broken[100] = np.nan
    with pytest.raises(InvalidAudio, match="NaN"):
        engine.enroll(broken, rate)


@pytest.mark.parametrize("payload", [np.array(["a", "b"]), np.zeros(0, dtype=np.float32)])
def test_non_pcm_audio_is_refused(engine: EmbeddedEngine, payload: np.ndarray) -> None:
    with pytest.raises(InvalidAudio, match="not PCM samples"):
        engine.enroll(payload, 16_000)


def test_out_of_range_rate_is_refused(engine: EmbeddedEngine, male_clip: tuple[np.ndarray, int]) -> None:
    with pytest.raises(InvalidAudio, match="sample rate 100 Hz"):
        engine.enroll(male_clip[0], 100)


def test_enrollment_accepts_other_rates_and_integer_pcm(
    engine: EmbeddedEngine, male_clip: tuple[np.ndarray, int]
) -> None:
    samples, rate = male_clip
    pcm16 = (samples * 32767).astype(np.int16)
    stereo = np.stack([pcm16, pcm16], axis=1)
    model = engine.enroll(stereo, rate)
    assert model.engine == "embedded"
