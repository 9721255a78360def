"""The embedded-neural engine: a neural base voice, converted, and a neural vocoder.

English is spoken by the bundled Piper voice (natural, intelligible); other languages by
eSpeak NG as in the ``embedded`` engine. Either base is moved toward the enrolled speaker
(pitch statistics and a formant warp with WORLD, then per-band mel statistics) and turned
into sound by HiFi-GAN, streamed window by window. Everything comes from pip packages;
nothing is downloaded. The first-generation ``embedded`` engine stays selectable by name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from server.audio import resample
from server.engines.base import (
    AudioChunk,
    EnrollmentHints,
    SynthesisEngine,
    SynthesisParams,
    SynthesisRequest,
    VoiceModel,
)
from server.engines.embedded.base_voice import REFERENCE_PASSAGE
from server.engines.embedded.engine import render_base
from server.engines.embedded.enroll import MAX_RATE_FACTOR, MIN_RATE_FACTOR, prepare_audio
from server.engines.embedded.stats import frame_energy_db, syllable_rate
from server.engines.neural.convert import (
    Aperiodicity,
    PitchStats,
    f0_track,
    map_mel,
    mean_aperiodicity,
    mel_stats,
    pitch_stats,
    shift_voice,
    warp_for,
)
from server.engines.neural.hifigan import SAMPLE_RATE, log_mel
from server.engines.neural.piper_voice import PiperVoice
from server.engines.neural.profile import NeuralProfile
from server.engines.neural.spec import ENGINE_NAME, ENGINE_VERSION
from server.engines.neural.vocoder import FIRST_WINDOW_FRAMES, Vocoder
from server.engines.world import WORK_RATE
from server.errors import InvalidArgument, InvalidAudio
from server.speech.espeak import DEFAULT_RATE_WPM, espeak_languages
from server.text import base_language, normalize, split_sentences

PIPER, ESPEAK = "piper", "espeak"
MIN_VOICED_SECONDS = 1.0
HIGH_PITCH_HZ = 165.0
#: Samples are kept inside this level (HiFi-GAN's tanh output can touch full scale).
PEAK_LIMIT = 0.99
#: Audio converted ahead of the rest of a sentence for its first window (24 frames plus
#: 13 of context end 0.46 s in; the rest is margin for WORLD's and the resampler's edges).
HEAD_SECONDS = 0.6


@dataclass(frozen=True)
class _BaseReference:
    """A base voice reading the reference passage, and its speaker-independent measures."""

    passage: np.ndarray
    pitch: PitchStats
    noise: Aperiodicity
    syllable_rate: float


class EmbeddedNeuralEngine(SynthesisEngine):
    """Piper/eSpeak base voice -> speaker conversion -> int8 HiFi-GAN. Thread-safe."""

    name = ENGINE_NAME
    version = ENGINE_VERSION
    native_sample_rate = SAMPLE_RATE

    def __init__(
        self,
        max_text_chars: int = 5_000,
        vocoder: str = "int8",
        piper: str = "float",
        cache_dir: str | None = None,
        threads: int = 1,
    ) -> None:
        if vocoder not in ("int8", "torch"):
            raise InvalidArgument("vocoder must be 'int8' or 'torch'")
        if piper not in ("int8", "float"):
            raise InvalidArgument("piper must be 'int8' or 'float'")
        self.max_text_chars = int(max_text_chars)
        self._lock = threading.Lock()
        self._references: dict[str, _BaseReference] = {}
        cache = Path(cache_dir) if cache_dir else None
        self._piper = PiperVoice(threads=threads, precision=piper, cache_dir=cache)
        self._vocoder = Vocoder(
            calibration=self._calibration_mels, backend=vocoder, cache_dir=cache, threads=threads
        )

    @property
    def supported_languages(self) -> tuple[str, ...]:
        """What the spec declares: every eSpeak NG voice, plus ``en`` and ``cmn``."""
        return tuple(sorted(espeak_languages()))

    def prepare(self) -> None:
        """Render the reference passages enrollment compares against (about 2 s), up front."""
        for base, variant in ((PIPER, "m1"), (ESPEAK, "m1"), (ESPEAK, "f1")):
            self._reference(base, variant)

    # -- base voices -------------------------------------------------------------------

    def _render(self, base: str, text: str, code: str, variant: str, speed: float) -> np.ndarray:
        """Base-voice audio at 22,050 Hz."""
        if base == PIPER:
            return self._piper.synthesize(text, length_scale=1.0 / speed)
        audio = render_base(text, code, variant, round(DEFAULT_RATE_WPM * speed))
        return resample(audio, WORK_RATE, SAMPLE_RATE)

    def _reference(self, base: str, variant: str) -> _BaseReference:
        """The reference passage in a base voice and what enrollment and synthesis measure
        on it (speaker-independent), computed once per process."""
        key = f"{base}:{variant}"
        with self._lock:
            if key not in self._references:
                passage = self._render(base, REFERENCE_PASSAGE, "en", variant, 1.0)
                at_work_rate = resample(passage, SAMPLE_RATE, WORK_RATE)
                f0 = f0_track(at_work_rate, WORK_RATE)
                self._references[key] = _BaseReference(
                    passage=passage,
                    pitch=pitch_stats(f0_track(passage, SAMPLE_RATE)),
                    noise=mean_aperiodicity(passage),
                    syllable_rate=syllable_rate(frame_energy_db(at_work_rate, len(f0)), f0 > 0),
                )
            return self._references[key]

    def _calibration_mels(self) -> list[np.ndarray]:
        """Mels to quantise the vocoder with: base-voice speech, as synthesis will feed it."""
        return [log_mel(self._reference(PIPER, "m1").passage), log_mel(self._reference(ESPEAK, "f1").passage)]

    # -- enrollment --------------------------------------------------------------------

    def enroll(
        self, samples: np.ndarray, sample_rate: int, hints: EnrollmentHints | None = None
    ) -> VoiceModel:
        """Learn pitch, warp and mel statistics from enrollment audio (no transcript needed)."""
        audio = prepare_audio(samples, sample_rate)
        f0 = f0_track(audio, WORK_RATE)
        voiced_seconds = float((f0 > 0).sum()) * 0.005
        if voiced_seconds < MIN_VOICED_SECONDS:
            raise InvalidAudio(
                f"enrollment audio has {voiced_seconds:.1f} s of voiced speech; at least "
                f"{MIN_VOICED_SECONDS:.0f} s is needed (is it speech, and not noise or a tone?)",
                details={"voiced_seconds": round(voiced_seconds, 2)},
            )
        speaker_pitch = pitch_stats(f0)
        median_f0 = float(np.median(f0[f0 > 0]))
        warp = warp_for(median_f0)
        variant = "f1" if median_f0 >= HIGH_PITCH_HZ else "m1"
        speaker_mel = mel_stats(log_mel(resample(audio, WORK_RATE, SAMPLE_RATE)))
        speaker_rate = syllable_rate(frame_energy_db(audio, len(f0)), f0 > 0)
        base_rate = self._reference(PIPER, "m1").syllable_rate
        rate_factor = speaker_rate / base_rate if speaker_rate > 0 and base_rate > 0 else 1.0
        profile = NeuralProfile(
            speaker_pitch=speaker_pitch,
            warp=warp,
            speaker_mel=speaker_mel,
            espeak_variant=variant,
            rate_factor=float(np.clip(rate_factor, MIN_RATE_FACTOR, MAX_RATE_FACTOR)),
        )
        for base in (PIPER, ESPEAK):
            reference = self._reference(base, variant if base == ESPEAK else "m1")
            shifted = shift_voice(reference.passage, reference.pitch, speaker_pitch, warp, reference.noise)
            profile.base_pitch[base] = reference.pitch
            profile.base_mel[base] = mel_stats(log_mel(shifted))
        # Level: the speaker's recording level is not part of the voice. Shift the speaker's
        # mel mean so speech comes out as loud as the base voice's.
        mean, std = profile.speaker_mel
        profile.speaker_mel = (mean + (profile.base_mel[PIPER][0].mean() - mean.mean()), std)
        return VoiceModel(engine=self.name, engine_version=self.version, data=profile.to_bytes())

    # -- synthesis ---------------------------------------------------------------------

    def stream(self, voice_model: VoiceModel, request: SynthesisRequest) -> Iterator[AudioChunk]:
        """Check the voice model up front, then stream audio window by window, sentence by
        sentence."""
        self.check_voice_model(voice_model)
        code = base_language(request.language)
        sentences = split_sentences(normalize(request.text, code), code)
        if not sentences:
            raise InvalidArgument("text has nothing to pronounce after normalisation; send words",
                                  field="text")
        profile = NeuralProfile.from_bytes(voice_model.data)
        return self._chunks(profile, sentences, code, request.params)

    def _chunks(
        self, profile: NeuralProfile, sentences: list[str], code: str, params: SynthesisParams
    ) -> Iterator[AudioChunk]:
        out_rate = params.sample_rate or SAMPLE_RATE
        for sentence in sentences:
            for piece in self.stream_sentence(profile, sentence, code, params.speed):
                yield AudioChunk(
                    samples=resample(piece, SAMPLE_RATE, out_rate), sample_rate=out_rate, text=sentence
                )

    def stream_sentence(
        self, profile: NeuralProfile, sentence: str, code: str, speed: float = 1.0
    ) -> Iterator[np.ndarray]:
        """Converted speech for one normalised sentence, in vocoder windows, at 22,050 Hz."""
        base = PIPER if code == "en" else ESPEAK
        audio = self._render(base, sentence, code, profile.espeak_variant, speed * profile.rate_factor)
        if audio.size == 0:
            return
        start = 0
        head = round(HEAD_SECONDS * SAMPLE_RATE)
        if len(audio) >= 2 * head:
            # The first window needs only the first ~0.45 s: convert a head alone first, so
            # the first audio does not wait for the whole sentence's WORLD pass. WORLD is
            # causal enough that the head's frames match the full pass away from its end.
            head_mel = self.converted_mel(profile, base, audio[:head])
            yield self._clip(self._vocoder.render(head_mel, 0, FIRST_WINDOW_FRAMES))
            start = FIRST_WINDOW_FRAMES
        mel = self.converted_mel(profile, base, audio)
        for piece in self._vocoder.stream(mel, start):
            yield self._clip(piece)

    def converted_mel(self, profile: NeuralProfile, base: str, speech: np.ndarray) -> np.ndarray:
        """Base-voice speech at 22,050 Hz -> the speaker's log-mel (pitch, warp, band stats)."""
        noise = self._reference(base, profile.espeak_variant if base == ESPEAK else "m1").noise
        shifted = shift_voice(speech, profile.base_pitch[base], profile.speaker_pitch, profile.warp, noise)
        return map_mel(log_mel(shifted), profile.base_mel[base], profile.speaker_mel)

    @staticmethod
    def _clip(audio: np.ndarray) -> np.ndarray:
        return np.clip(audio, -PEAK_LIMIT, PEAK_LIMIT)

    def render_unconverted(self, sentence: str, language: str, variant: str = "m1") -> np.ndarray:
        """The base voice alone (the benchmark's baseline)."""
        code = base_language(language)
        base = PIPER if code == "en" else ESPEAK
        return self._render(base, normalize(sentence, code), code, variant, 1.0)
