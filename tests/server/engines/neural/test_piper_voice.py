"""The bundled Piper voice: eSpeak phonemes with clause punctuation, id layout, audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from server.engines.neural.piper_voice import PiperVoice
from server.errors import InvalidArgument


@pytest.fixture(scope="module")
def piper() -> PiperVoice:
    return PiperVoice()


def test_phonemes_keep_clause_punctuation(piper: PiperVoice) -> None:
    phonemes = piper.phonemes("Hello there, my friend. How are you?")
    assert phonemes.startswith("həlˈoʊ")
    assert phonemes.count(",") == 1 and phonemes.count(".") == 1 and phonemes.endswith("?")


def test_ids_interleave_pads_between_begin_and_end(piper: PiperVoice) -> None:
    ids = piper.phoneme_ids("ab")
    assert len(ids) == 2 + 2 * 2 + 1
    assert ids[1] == ids[3] == ids[5]  # the pad id after the start and after each phoneme
    assert ids[0] != ids[-1]


def test_synthesis_length_follows_the_length_scale(piper: PiperVoice) -> None:
    normal = piper.synthesize("A cold wind blew across the open field.")
    slow = piper.synthesize("A cold wind blew across the open field.", length_scale=1.5)
    assert normal.dtype == np.float32 and piper.sample_rate == 22_050
    assert 1.2 * len(normal) < len(slow) < 1.8 * len(normal)
    assert piper.synthesize("...").size == 0


def test_the_same_text_renders_the_same_audio_even_past_the_noise_bank(piper: PiperVoice) -> None:
    text = "A cold wind blew across the open field."
    first, second = piper.synthesize(text), piper.synthesize(text)
    assert np.array_equal(first, second) and np.abs(first).max() > 0.1
    assert not np.array_equal(first[:20_000], piper.synthesize("A warm wind blew across the open field.")[:20_000])
    # ~20 s needs more frames than the 1,024-frame noise bank holds: it is tiled, not cut.
    long = piper.synthesize(", ".join([text.rstrip(".")] * 8) + ".")
    assert len(long) > 15 * piper.sample_rate and np.isfinite(long).all()


def test_the_int8_decoder_option_is_built_once_and_still_speaks_the_words(tmp_path: Path) -> None:
    import re

    from server.audio import Audio
    from server.speech.asr import Transcriber

    voice = PiperVoice(precision="int8", cache_dir=tmp_path)
    assert [p.name.startswith("piper-en_US-joe-medium-int8-1-") for p in tmp_path.glob("*.onnx")] == [True]
    audio = voice.synthesize("My sister planted tomatoes and beans behind the garage.")
    heard = re.sub(r"[^a-z ]+", " ", Transcriber().transcribe(Audio(audio, voice.sample_rate)).lower()).split()
    assert {"sister", "planted", "tomatoes", "beans", "garage"} <= set(heard), heard


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="'int8' or 'float'"):
        PiperVoice(precision="fp16")
