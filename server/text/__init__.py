"""Text front end shared by every synthesis engine.

``normalize`` turns written forms (numbers, dates, money, abbreviations, symbols) into
words; ``split_sentences`` cuts text into the chunks engines synthesise and stream one by
one; ``validate_text`` refuses empty or unspeakable text with a clear error.
"""

from __future__ import annotations

import re

from server.text.english import normalize_english
from server.text.languages import base_language, is_cjk, resolve_language
from server.text.mandarin import normalize_mandarin
from server.text.sentences import split_sentences
from server.text.validation import DEFAULT_MAX_TEXT_CHARS, validate_text

_GENERIC_SYMBOLS = {"&": " & ", "*": " ", "_": " ", "|": " ", "~": " ", "^": " "}


def _normalize_generic(text: str) -> str:
    # eSpeak NG reads digits in each of its languages; only stray symbols are removed.
    for symbol, replacement in _GENERIC_SYMBOLS.items():
        text = text.replace(symbol, replacement)
    return re.sub(r"[ \t]+", " ", text).strip()


def _normalize_mixed_mandarin(text: str) -> str:
    """Mandarin rules on CJK runs and English rules on Latin runs of mixed text."""
    runs = re.split(r"([A-Za-z][A-Za-z0-9 .,'%$&:/@+-]*[A-Za-z0-9%.])", text)
    out: list[str] = []
    for index, run in enumerate(runs):
        if index % 2 == 1 and not any(is_cjk(ch) for ch in run):
            out.append(" " + normalize_english(run) + " ")
        else:
            out.append(normalize_mandarin(run))
    return re.sub(r"[ \t]+", " ", "".join(out)).strip()


def normalize(text: str, language: str) -> str:
    """Rewrite ``text`` into speakable words for ``language`` (English fully, Mandarin too).

    Other languages get symbol clean-up only; their numbers are read by the engine.
    """
    code = base_language(language)
    if code == "en":
        return normalize_english(text)
    if code == "cmn":
        return _normalize_mixed_mandarin(text)
    return _normalize_generic(text)


__all__ = [
    "DEFAULT_MAX_TEXT_CHARS",
    "base_language",
    "is_cjk",
    "normalize",
    "resolve_language",
    "split_sentences",
    "validate_text",
]
