"""The consent statement: what the person reads aloud, and checking a transcript against it.

The statement names the person and the tenant, states consent to voice cloning and ends
with a fresh one-time phrase of random common words, so a recording made for another
purpose (or another consent) cannot be replayed. The words come from
``phrase_words.txt``: common, concrete English words that Whisper tiny.en recognises
when read aloud and that differ pairwise by at least three letter edits, so a one-letter
recognition slip can never turn one list word into another
(``benchmarks/phrase_words.py`` checks both properties).

Matching is deliberately tolerant of recognizer slips and strict about the phrase:

- both texts are normalised (case, accents, punctuation, hyphens, digits to words);
- statement words are aligned to transcript words in order (longest common subsequence),
  where two words match when their edit distance is within :func:`word_tolerance`, and a
  word may match two adjacent words joined ("seagull" / "sea gull");
- every phrase word must be present (edit distance at most 1 in spelling or in
  :func:`sound_key`, exact for words of three letters or fewer), and at least ``min_word_recall`` of the statement's words must be
  recognised in order. Names are often misheard, so they are part of the recall but not
  individually required.
"""

from __future__ import annotations

import functools
import itertools
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from random import Random

from server.errors import InvalidArgument

PHRASE_WORD_COUNT = 4
DEFAULT_MIN_WORD_RECALL = 0.7
MAX_NAME_LENGTH = 100

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


@dataclass(frozen=True)
class StatementCheck:
    """How well a transcript says the statement.

    ``matched`` is the verdict: every phrase word found and ``word_recall`` (the share of
    statement words recognised, in order) at least ``min_word_recall``.
    """

    matched: bool
    phrase_found: bool
    word_recall: float
    min_word_recall: float
    missing_phrase_words: tuple[str, ...]
    transcript: str


@functools.cache
def phrase_words() -> tuple[str, ...]:
    """The committed list of words one-time phrases are drawn from."""
    text = resources.files("server.speech").joinpath("phrase_words.txt").read_text("utf-8")
    return tuple(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def make_one_time_phrase(rng: Random | None = None, *, words: int = PHRASE_WORD_COUNT) -> str:
    """A phrase of ``words`` distinct random list words, space-separated.

    ``rng`` defaults to the operating system's CSPRNG; tests pass a seeded ``Random``.
    Four words from the list give about 32 bits, ample for a phrase that expires.
    """
    chooser = rng if rng is not None else secrets.SystemRandom()
    return " ".join(chooser.sample(phrase_words(), words))


#: What the person agrees to, per consent purpose, in the words they read aloud.
PURPOSE_CLAUSES = {
    "synthesis": "create a synthetic copy of my voice and to generate speech with it",
    "evaluation": "evaluate how well speech technology works with my voice",
}


def build_statement(
    subject_name: str, tenant_name: str, phrase: str, purposes: Sequence[str] = ("synthesis",)
) -> str:
    """The text the person reads aloud to consent (plain words that recognizers handle).

    It names the person and the tenant, says what each of ``purposes`` (values of
    :data:`PURPOSE_CLAUSES`) allows, and ends with the one-time phrase.
    """
    subject = _clean_name(subject_name, "subject_name")
    tenant = _clean_name(tenant_name, "tenant_name")
    phrase_list = ", ".join(phrase.split())
    if not phrase_list:
        raise InvalidArgument("the one-time phrase is empty")
    unknown = [purpose for purpose in purposes if purpose not in PURPOSE_CLAUSES]
    if unknown or not purposes:
        raise InvalidArgument(f"unknown consent purposes {unknown}; use {sorted(PURPOSE_CLAUSES)}")
    agreed = " and to ".join(PURPOSE_CLAUSES[purpose] for purpose in dict.fromkeys(purposes))
    return (
        f"My name is {subject}. I agree that {tenant} may use recordings of my voice to "
        f"{agreed}. My one time phrase is {phrase_list}."
    )


def check_statement(
    transcript: str,
    statement: str,
    phrase: str,
    *,
    min_word_recall: float = DEFAULT_MIN_WORD_RECALL,
) -> StatementCheck:
    """Compare a recognizer ``transcript`` with the ``statement`` and its one-time ``phrase``."""
    heard = normalize_words(transcript)
    expected = normalize_words(statement)
    missing = tuple(
        word for word in normalize_words(phrase) if not _phrase_word_present(word, heard)
    )
    recall = _aligned_matches(expected, heard) / len(expected) if expected else 0.0
    return StatementCheck(
        matched=not missing and recall >= min_word_recall,
        phrase_found=not missing,
        word_recall=round(recall, 4),
        min_word_recall=min_word_recall,
        missing_phrase_words=missing,
        transcript=transcript,
    )


def normalize_words(text: str) -> list[str]:
    """Lower-case ASCII words: accents, punctuation and apostrophes removed, digits spelled."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    ascii_text = ascii_text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    words: list[str] = []
    for token in re.split(r"[^a-z0-9]+", ascii_text):
        if not token:
            continue
        if token.isdigit():
            words.extend(_number_words(int(token)) if len(token) <= 6 else list(token))
        else:
            words.append(token)
    return words


def word_tolerance(word: str) -> int:
    """Letter edits allowed when matching ``word``: 0 up to 3 letters, 1 up to 7, else 2."""
    if len(word) <= 3:
        return 0
    return 1 if len(word) <= 7 else 2


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Levenshtein distance; stops early and returns ``limit + 1`` once it is exceeded."""
    if a == b:
        return 0
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if limit is not None and min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def sound_key(word: str) -> str:
    """A rough spelling-independent key: "attic" and "adic" or "ceiling" and "sealing"
    differ by one letter in it, where recognizers often pick the other spelling."""
    key = word
    for spelled, sound in (("ph", "f"), ("ck", "k"), ("gh", "g"), ("wh", "w"), ("kn", "n")):
        key = key.replace(spelled, sound)
    key = re.sub(r"c(?=[eiy])", "s", key)
    key = key.replace("c", "k").replace("q", "k").replace("z", "s").replace("x", "ks")
    return re.sub(r"(.)\1+", r"\1", key)


def _close(expected: str, heard: str, tolerance: int) -> bool:
    if expected == heard or edit_distance(expected, heard, tolerance) <= tolerance:
        return True
    return (
        tolerance > 0
        and edit_distance(sound_key(expected), sound_key(heard), tolerance) <= tolerance
    )


def _phrase_word_present(word: str, heard: list[str]) -> bool:
    tolerance = min(1, word_tolerance(word))
    candidates = heard + [a + b for a, b in itertools.pairwise(heard)]
    return any(_close(word, candidate, tolerance) for candidate in candidates)


def _aligned_matches(expected: list[str], heard: list[str]) -> int:
    """Most statement words matched in order (fuzzy LCS, with two-word joins)."""
    n, m = len(expected), len(heard)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            options = [best[i + 1][j], best[i][j + 1]]
            word = expected[i]
            if _close(word, heard[j], word_tolerance(word)):
                options.append(best[i + 1][j + 1] + 1)
            if j + 1 < m and _close(word, heard[j] + heard[j + 1], word_tolerance(word)):
                options.append(best[i + 1][j + 2] + 1)
            if i + 1 < n:
                joined = word + expected[i + 1]
                if _close(joined, heard[j], word_tolerance(joined)):
                    options.append(best[i + 2][j + 1] + 2)
            best[i][j] = max(options)
    return best[0][0]


def _number_words(value: int) -> list[str]:
    """English words for 0 <= value < 1,000,000 ("42" -> "forty two")."""
    if value < 20:
        return [_ONES[value]]
    if value < 100:
        tens, ones = divmod(value, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return [_ONES[hundreds], "hundred"] + (_number_words(rest) if rest else [])
    thousands, rest = divmod(value, 1000)
    return _number_words(thousands) + ["thousand"] + (_number_words(rest) if rest else [])


def _clean_name(name: str, field: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or not any(ch.isalpha() for ch in cleaned):
        raise InvalidArgument(f"{field} must contain a name to read aloud")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"{field} is {len(cleaned)} characters; at most {MAX_NAME_LENGTH} are allowed"
        )
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise InvalidArgument(f"{field} contains control characters")
    return cleaned
