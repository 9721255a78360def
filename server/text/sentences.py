"""Sentence and phrase splitting, so engines can synthesise and stream one chunk at a time."""

from __future__ import annotations

import re

from server.text.languages import base_language

# A chunk longer than this is split further at phrase boundaries so the first audio of a
# long run-on sentence still arrives early.
DEFAULT_MAX_CHUNK_CHARS = 220
_CJK_MAX_CHUNK_CHARS = 80

_LATIN_END = re.compile(r"([.!?\u2026]+[\"'\u201d\u2019)\]]*)(\s+)")
_CJK_END = re.compile(r"([\u3002\uff01\uff1f\uff1b!?;\u2026]+[\u201d\u2019\u300d\u300f)\uff09]*)\s*")
_PHRASE_BREAK = re.compile(r"(?<=[,;:\uff0c\uff1b\uff1a\u3001])\s*")
# Words whose trailing period does not end a sentence (before normalisation has run).
_NO_BREAK_BEFORE = re.compile(
    r"(?:\b(?:mr|mrs|ms|dr|prof|st|jr|sr|mt|vs|etc|e\.g|i\.e|no|vol|fig|approx|dept|inc|ltd|co)"
    r"|\b[A-Za-z])\.$",
    re.IGNORECASE,
)


def _split_latin(paragraph: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _LATIN_END.finditer(paragraph):
        candidate = paragraph[start : match.end(1)]
        if match.group(1).startswith(".") and _NO_BREAK_BEFORE.search(candidate):
            continue
        pieces.append(candidate)
        start = match.end()
    pieces.append(paragraph[start:])
    return pieces


def _split_cjk(paragraph: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _CJK_END.finditer(paragraph):
        pieces.append(paragraph[start : match.end(1)])
        start = match.end()
    pieces.append(paragraph[start:])
    return pieces


def _limit_length(sentence: str, max_chars: int) -> list[str]:
    """Split an over-long sentence at commas/semicolons, then at spaces, to ``max_chars``."""
    if len(sentence) <= max_chars:
        return [sentence]
    chunks: list[str] = []
    current = ""
    for phrase in _PHRASE_BREAK.split(sentence):
        while len(phrase) > max_chars:
            cut = phrase.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            if current:
                chunks.append(current)
                current = ""
            chunks.append(phrase[:cut])
            phrase = phrase[cut:].lstrip()
        joiner = "" if not current or current.endswith(tuple("\uff0c\uff1b\uff1a\u3001")) else " "
        if current and len(current) + len(joiner) + len(phrase) > max_chars:
            chunks.append(current)
            current = phrase
        else:
            current = current + joiner + phrase if current else phrase
    if current:
        chunks.append(current)
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def _speakable(piece: str) -> bool:
    return any(ch.isalnum() for ch in piece)


def split_sentences(text: str, language: str, max_chars: int | None = None) -> list[str]:
    """Split text into sentences (and over-long sentences into phrases) in reading order.

    Paragraph breaks always split. Pieces with nothing to pronounce (stray punctuation)
    are dropped. ``max_chars`` bounds a chunk's length (defaults depend on the script).
    """
    cjk = base_language(language) in {"cmn", "yue", "ja"}
    limit = max_chars or (_CJK_MAX_CHUNK_CHARS if cjk else DEFAULT_MAX_CHUNK_CHARS)
    sentences: list[str] = []
    for paragraph in re.split(r"\s*\n\s*", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        raw = _split_cjk(paragraph) if cjk else _split_latin(paragraph)
        if cjk:
            raw = [p for piece in raw for p in _split_latin(piece)]
        for piece in raw:
            piece = piece.strip()
            if _speakable(piece):
                sentences.extend(_limit_length(piece, limit))
    return sentences
