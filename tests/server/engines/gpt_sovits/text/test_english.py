"""English front end: parity with the recorded official outputs, quirks, and the neural fallback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from server.engines.gpt_sovits.text import english_g2p
from server.engines.gpt_sovits.text.english import (
    english_to_phones,
    normalize_english,
    tokenize_english,
)
from server.engines.gpt_sovits.text.symbols import SYMBOL_TO_ID
from server.errors import InvalidArgument

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits"
# Recorded from the official English front end (text_normalize, its tokenizer, g2p, and
# clean_text for v2) on hand-written sentences and random strings of words, numbers and symbols.
CASES: dict[str, Any] = json.loads(
    (FIXTURES / "english_cases.json").read_text(encoding="utf-8")
)
SENTENCES: list[dict[str, Any]] = CASES["sentences"]
NORMALISATION: list[dict[str, Any]] = CASES["normalisation"]


def _clean(text: str) -> tuple[str, list[str]]:
    """normalise + G2P + the official cleaner's leading "," for results under four phones."""
    norm = normalize_english(text)
    phones = english_to_phones(norm)
    return norm, [",", *phones] if len(phones) < 4 else phones


@pytest.mark.parametrize("case", SENTENCES, ids=[str(i) for i in range(len(SENTENCES))])
def test_sentences_match_official(case: dict[str, Any]) -> None:
    norm, phones = _clean(case["text"])
    assert norm == case["norm"]
    if "dictionary_differences" not in case:  # those words read differently in cmudict
        assert " ".join(phones) == case["phones"]


def test_normalisation_and_tokens_match_official_on_random_strings() -> None:
    for case in NORMALISATION:
        norm = normalize_english(case["text"])
        assert norm == case["norm"], case["text"]
        assert tokenize_english(norm) == case["tokens"], norm


@pytest.mark.parametrize("text", CASES["errors"])
def test_unreadable_numbers_are_refused(text: str) -> None:
    # The official code crashes on these (a number of 10**36 or more, "$5,.5", "(5$").
    with pytest.raises(InvalidArgument):
        normalize_english(text)


def test_neural_fallback_matches_g2p_en() -> None:
    model = english_g2p.neural_model()
    for word, phones in CASES["neural"].items():
        assert " ".join(model.predict(word)) == phones, word


def test_only_sentences_with_known_dictionary_differences_differ() -> None:
    flagged = [case for case in SENTENCES if "dictionary_differences" in case]
    assert len(flagged) <= 6
    for case in flagged:
        assert " ".join(_clean(case["text"])[1]) != case["phones"]


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("At 7:45, we met.", "At seven forty-five a.m. we met."),
        ("13:00", "one o'clock p.m."),
        ("$19.99", "nineteen dollars and ninety-nine cents"),
        ("in 2024 and 1905", "in twenty twenty-four and nineteen oh five"),
        ("the 5th", "the fifth"),
        ("it’s great: yes; no", "its great yes no"),
        ("GPT and iPhone", "G P T and i Phone"),
        ("good - really", "good minus really"),
        ("is -5", "isnegative five"),
        ("1. Go", "first, Go"),
        ("3/4 and 1/2", "three fourths and one half"),
        ("5km/h", "five kilometersh"),
        ("Hello , world !", "Hello  world "),
        ("1234567", "one million, two hundred thirty-four thousand, five hundred sixty-seven"),
        ("Hi。Ok！", "Hi. Ok!"),
    ],
)
def test_normalisation_quirks(text: str, norm: str) -> None:
    assert normalize_english(text) == norm


def test_tokens_follow_the_tweet_tokenizer() -> None:
    assert tokenize_english("wait.what and node.js, a.m.") == [
        "wait.what", "and", "node.js", ",", "a", ".", "m", ".",
    ]
    assert tokenize_english("rock'n'roll ''''") == ["rock'n'roll", "'", "'", "'"]
    assert english_to_phones("rock'n'roll ''''")[-3:] == ["-", "-", "-"]


def test_phone_rules() -> None:
    assert english_to_phones("A a") == ["EY1", "AH0"]
    assert english_to_phones("read") == ["R", "IY1", "D"]  # homographs: first reading
    # Unknown short words are spelled; unknown possessives get S / AH0 Z / Z.
    assert english_to_phones("xqz") == ["EH1", "K", "S", "K", "Y", "UW1", "Z", "IY1"]
    assert english_to_phones("openai's") == ["OW1", "P", "AH0", "N", "EY1", "AY1", "Z"]
    # An apostrophe token becomes "-".
    assert english_to_phones("' ok") == ["-", "OW1", "K", "EY1"]
    phones = english_to_phones("Supercalifragilisticexpialidociousness, isn't it?")
    assert all(phone in SYMBOL_TO_ID for phone in phones)


def test_g2p_en_and_nltk_are_not_imported() -> None:
    # importing g2p_en would call nltk.download; a fresh interpreter shows what the G2P loads.
    script = (
        "import sys\n"
        "from server.engines.gpt_sovits.text.english import english_to_phones\n"
        "assert english_to_phones('Zorkmid gribbles read.')\n"
        "print(sorted(m for m in ('g2p_en', 'nltk', 'inflect') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[5]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
