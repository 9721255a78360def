"""The eSpeak NG binding's phonemizer (used by the Piper base voice)."""

from __future__ import annotations

import pytest

from server.errors import InvalidArgument
from server.speech.espeak import get_espeak


def test_phonemes_are_ipa_words() -> None:
    phonemes = get_espeak().phonemes("Good morning", "en-us")
    assert phonemes.split() == ["ɡˈʊd", "mˈɔːɹnɪŋ"]


def test_phonemes_of_an_unknown_voice_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="no voice"):
        get_espeak().phonemes("hello", "no-such-voice")
