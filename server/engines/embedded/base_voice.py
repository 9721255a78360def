"""The eSpeak NG base voice: language-to-voice mapping, variants and their statistics.

Conversion maps statistics of the base voice onto the speaker's, so the base voice's
own statistics are measured once per process (per variant) on a fixed reference
passage and cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from server.audio import resample
from server.engines.embedded.stats import frame_energy_db, speech_mask, summarize, syllable_rate
from server.engines.world import WORK_RATE, analyze
from server.errors import InvalidArgument
from server.speech.espeak import DEFAULT_RATE_WPM, get_espeak

# Variants tried at enrollment, by the speaker's pitch range. Each costs one analysis
# of the reference passage the first time a process sees it.
MALE_VARIANTS = ("m1", "m3", "m7")
FEMALE_VARIANTS = ("f1", "f2", "f4")
# Median F0 above which a speaker is matched against the higher-pitched variants.
HIGH_PITCH_HZ = 165.0

# Language code -> eSpeak NG voice name, where the two differ.
_VOICE_NAMES = {"en": "en-us", "cmn": "cmn", "zh": "cmn", "yue": "yue"}

REFERENCE_PASSAGE = (
    "The little boat drifted past the old stone bridge while the children watched "
    "from the shore. Every morning my neighbour walks her two dogs along the quiet "
    "river path. Could you please bring the yellow folder and the heavy books to my "
    "office before lunch? Fresh bread, sharp cheese and ripe plums were waiting on the "
    "kitchen table. Thousands of birds gathered above the frozen lake at sunset, then "
    "vanished into the thick grey fog. She measured the height of the wooden fence "
    "twice, just to be sure."
)


@dataclass(frozen=True)
class BaseVoiceStats:
    """Statistics of one base-voice variant on the reference passage."""

    variant: str
    arrays: dict[str, np.ndarray]
    syllable_rate: float


def espeak_voice(language: str) -> str:
    """eSpeak NG voice name for a base language code; InvalidArgument if there is none."""
    name = _VOICE_NAMES.get(language, language)
    if not get_espeak().has_voice(name):
        raise InvalidArgument(f"language {language!r} is not supported by the embedded engine")
    return name


def voice_with_variant(language: str, variant: str) -> str:
    """eSpeak NG voice string ``name+variant`` for a language."""
    return f"{espeak_voice(language)}+{variant}"


def render(text: str, language: str, variant: str, rate_wpm: int = DEFAULT_RATE_WPM) -> np.ndarray:
    """Synthesise ``text`` with the base voice, resampled to the working rate."""
    output = get_espeak().synthesize(text, voice_with_variant(language, variant), rate_wpm)
    return resample(output.samples, output.sample_rate, WORK_RATE)


@lru_cache(maxsize=32)
def base_stats(variant: str) -> BaseVoiceStats:
    """Statistics of ``variant`` speaking the English reference passage (cached)."""
    audio = render(REFERENCE_PASSAGE, "en", variant)
    features = analyze(audio)
    energy = frame_energy_db(audio, len(features.f0))
    mask = speech_mask(energy)
    return BaseVoiceStats(
        variant=variant,
        arrays=summarize(features, mask),
        syllable_rate=syllable_rate(energy, features.voiced),
    )
