"""The embedded-neural engine on real speech: enrollment, streaming, words, voice, refusals."""

from __future__ import annotations

import re

import numpy as np
import pytest

from server.audio import Audio
from server.engines import SynthesisParams, VoiceModel
from server.engines.neural.convert import f0_track
from server.engines.neural.engine import EmbeddedNeuralEngine
from server.engines.neural.profile import NeuralProfile
from server.errors import FailedPrecondition, InvalidArgument, InvalidAudio
from server.speech.asr import Transcriber
from server.speech.speaker import SpeakerEncoder

SENTENCE = "The morning train was late again, so we walked to the office."


def _speech(engine: EmbeddedNeuralEngine, voice: VoiceModel, text: str, language: str = "en") -> np.ndarray:
    return np.concatenate([chunk.samples for chunk in engine.synthesize(voice, text, language)])


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z ]+", " ", text.lower()).split()


def test_enrollment_builds_a_small_versioned_profile(
    neural: EmbeddedNeuralEngine, male_voice: VoiceModel
) -> None:
    assert male_voice.engine == "embedded-neural"
    assert male_voice.engine_version == neural.version
    assert len(male_voice.data) < 16 * 1024
    profile = NeuralProfile.from_bytes(male_voice.data)
    assert set(profile.base_mel) == {"piper", "espeak"}
    assert profile.speaker_mel[0].shape == (80,)
    assert NeuralProfile.from_bytes(profile.to_bytes()).warp == pytest.approx(profile.warp)


def test_a_higher_voice_gets_higher_pitch_and_a_larger_formant_warp(
    male_voice: VoiceModel, female_voice: VoiceModel
) -> None:
    male = NeuralProfile.from_bytes(male_voice.data)
    female = NeuralProfile.from_bytes(female_voice.data)
    assert np.exp(female.speaker_pitch.mean) > 1.3 * np.exp(male.speaker_pitch.mean)
    assert female.warp > male.warp >= 1.0
    assert female.espeak_variant.startswith("f") and male.espeak_variant.startswith("m")


def test_a_sentence_streams_in_several_windows_at_the_native_rate(
    neural: EmbeddedNeuralEngine, male_voice: VoiceModel
) -> None:
    chunks = list(neural.synthesize(male_voice, SENTENCE, "en"))
    assert len(chunks) >= 3  # windows, not one chunk per sentence
    assert {chunk.text for chunk in chunks} == {SENTENCE}
    assert all(chunk.sample_rate == neural.native_sample_rate == 22_050 for chunk in chunks)
    audio = np.concatenate([chunk.samples for chunk in chunks])
    assert audio.dtype == np.float32 and np.isfinite(audio).all()
    assert np.max(np.abs(audio)) <= 0.99
    assert 2.0 < len(audio) / 22_050 < 6.0
    assert np.sqrt(np.mean(audio**2)) > 0.02


def test_the_first_window_converted_ahead_matches_the_whole_sentence_pass(
    neural: EmbeddedNeuralEngine, male_voice: VoiceModel
) -> None:
    profile = NeuralProfile.from_bytes(male_voice.data)
    first = next(iter(neural.stream_sentence(profile, SENTENCE, "en")))
    assert len(first) == 24 * 256
    # What the first window would be, had it waited for the whole sentence's WORLD pass.
    speech = neural._render("piper", SENTENCE, "en", "m1", profile.rate_factor)
    mel = neural.converted_mel(profile, "piper", speech)
    expected = np.clip(neural._vocoder.render(mel, 0, 24), -0.99, 0.99)
    assert float(np.max(np.abs(first - expected))) < 0.01 * float(np.max(np.abs(expected)))


def test_the_output_says_the_words(neural: EmbeddedNeuralEngine, female_voice: VoiceModel) -> None:
    audio = _speech(neural, female_voice, SENTENCE)
    heard = _words(Transcriber().transcribe(Audio(samples=audio, sample_rate=22_050)))
    expected = _words(SENTENCE)
    assert len(set(expected) & set(heard)) >= len(expected) - 2, heard


def test_the_output_pitch_follows_the_speaker(
    neural: EmbeddedNeuralEngine, male_voice: VoiceModel, female_voice: VoiceModel
) -> None:
    def median_f0(voice: VoiceModel) -> float:
        f0 = f0_track(_speech(neural, voice, SENTENCE), 22_050)
        return float(np.median(f0[f0 > 0]))

    outputs = {}
    for voice in (male_voice, female_voice):
        wanted = float(np.exp(NeuralProfile.from_bytes(voice.data).speaker_pitch.mean))
        outputs[voice] = median_f0(voice)
        assert 0.8 * wanted < outputs[voice] < 1.25 * wanted
    assert outputs[female_voice] > 1.15 * outputs[male_voice]


def test_conversion_moves_the_voice_toward_the_speaker(
    neural: EmbeddedNeuralEngine,
    male_voice: VoiceModel,
    female_voice: VoiceModel,
    female_clip: tuple[np.ndarray, int],
) -> None:
    text = f"{SENTENCE} Fresh bread, sharp cheese and ripe plums were waiting on the table."
    encoder = SpeakerEncoder()

    def embed(samples: np.ndarray, rate: int = 22_050) -> np.ndarray:
        return encoder.embed(Audio(samples=samples, sample_rate=rate))

    speaker = embed(*female_clip)
    converted = float(embed(_speech(neural, female_voice, text)) @ speaker)
    base = float(embed(neural.render_unconverted(text, "en")) @ speaker)
    other = float(embed(_speech(neural, male_voice, text)) @ speaker)
    assert converted > base + 0.03
    assert converted > other + 0.03


def test_mandarin_is_spoken_with_the_espeak_base(
    neural: EmbeddedNeuralEngine, male_voice: VoiceModel
) -> None:
    audio = _speech(neural, male_voice, "今天天气很好，我们去公园散步。", "cmn")
    assert 1.0 < len(audio) / 22_050 < 8.0
    assert np.sqrt(np.mean(audio**2)) > 0.02


def test_speed_and_output_rate(neural: EmbeddedNeuralEngine, male_voice: VoiceModel) -> None:
    normal = _speech(neural, male_voice, SENTENCE)
    chunks = list(neural.synthesize(male_voice, SENTENCE, "en", SynthesisParams(speed=1.5, sample_rate=16_000)))
    fast = np.concatenate([chunk.samples for chunk in chunks])
    assert all(chunk.sample_rate == 16_000 for chunk in chunks)
    assert len(fast) / 16_000 < 0.85 * len(normal) / 22_050


def test_a_request_renders_the_same_audio_every_time(
        neural: EmbeddedNeuralEngine, male_voice: VoiceModel) -> None:
    assert np.array_equal(_speech(neural, male_voice, SENTENCE), _speech(neural, male_voice, SENTENCE))


def test_bad_requests_are_refused_before_any_work(
    neural: EmbeddedNeuralEngine, male_voice: VoiceModel
) -> None:
    with pytest.raises(InvalidArgument, match="nothing to pronounce"):
        neural.synthesize(male_voice, "?!", "en")
    with pytest.raises(InvalidArgument, match="language 'xx-unknown' is not supported"):
        neural.synthesize(male_voice, "hello", "xx-unknown")
    old = VoiceModel(engine="embedded", engine_version="1.0.0", data=b"x")
    with pytest.raises(FailedPrecondition, match="enroll the voice again"):
        neural.synthesize(old, "hello", "en")
    corrupt = VoiceModel(engine="embedded-neural", engine_version=neural.version, data=b"not a profile")
    with pytest.raises(FailedPrecondition, match="corrupt; enroll again"):
        neural.synthesize(corrupt, "hello", "en")


def test_unusable_enrollment_audio_is_refused(neural: EmbeddedNeuralEngine) -> None:
    with pytest.raises(InvalidAudio, match="at least"):
        neural.enroll(np.zeros(8_000, dtype=np.float32) + 0.1, 16_000)
    with pytest.raises(InvalidAudio, match="silent"):
        neural.enroll(np.zeros(16_000 * 5, dtype=np.float32), 16_000)
    noise = np.random.default_rng(3).normal(0, 0.1, 16_000 * 5).astype(np.float32)
    with pytest.raises(InvalidAudio, match="voiced speech"):
        neural.enroll(noise, 16_000)


def test_unknown_vocoder_option_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="vocoder must be"):
        EmbeddedNeuralEngine(vocoder="fp64")
