"""Cutting a target text into the segments GPT-SoVITS synthesises one by one.

This reproduces the official text-split methods ``cut0`` .. ``cut5`` and the preparation around
them (the official ``TextPreprocessor.pre_seg_text``): runs of repeated punctuation are collapsed,
a very short first clause gets a leading full stop, the chosen method puts line breaks between
segments, segments shorter than five characters are merged into their predecessor, symbol-only
segments are dropped, every segment ends in a split mark, and segments over 510 characters are cut
again at punctuation (the BERT model reads at most 512 tokens).

The quirks are intentional, because the segment texts decide the phones and thus the audio: for
example ``cut1`` splits at *every* split mark, so the ``.`` of ``19.99`` or the ``:`` of ``9:30``
can end a segment, and the methods look only at characters, not at words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from server.errors import InvalidArgument

# Characters after which the official splitter may end a clause (``splits`` in the official code).
SPLIT_MARKS = frozenset(",.?!~:\u2014\u2026\uff0c\u3002\uff1f\uff01\uff1a")

# Segments made only of these characters are dropped by the cut methods.
_TRIVIAL = frozenset("!?\u2026,.- ")
# Marks that ``collapse_repeated_punctuation`` folds: a run of them keeps only its first.
_REPEATABLE = "!?\u2026,.-"
_REPEATED_RUN = re.compile("([" + re.escape(_REPEATABLE) + "])[" + re.escape(_REPEATABLE) + "]+")
# Marks at which ``cut5`` ends a segment.
_CUT5_MARKS = frozenset(",.;?!\u3001\uff0c\u3002\uff1f\uff01\uff1a\u2026")
# ``cut4`` ends segments at a "." that is not next to a digit.
_CUT4_STOP = re.compile(r"(?<!\d)\.(?!\d)")
_SPLIT_AT_MARK = re.compile("([" + re.escape("".join(sorted(SPLIT_MARKS))) + "])")
_FIRST_CLAUSE_END = re.compile("[" + re.escape("".join(sorted(SPLIT_MARKS))) + "]")
_WORD_CHAR = re.compile(r"\w")

MAX_SEGMENT_CHARS = 510
_MIN_SEGMENT_CHARS = 5
_SHORT_FIRST_CLAUSE = 4


def end_mark(language: str) -> str:
    """The full stop the official code appends or prefixes: ``.`` for English, else ``。``."""
    return "." if language == "en" else "\u3002"


def collapse_repeated_punctuation(text: str) -> str:
    """Replace each run of two or more of ``! ? … , . -`` by its first character."""
    return _REPEATED_RUN.sub(r"\1", text)


def split_clauses(text: str) -> list[str]:
    """Cut ``text`` after every split mark (each clause keeps its mark).

    ``……`` becomes ``。`` and ``——`` becomes ``，`` first, and a text that does not end in a split
    mark gets a ``。``, so every clause ends in one.
    """
    text = text.replace("\u2026\u2026", "\u3002").replace("\u2014\u2014", "\uff0c")
    if text[-1] not in SPLIT_MARKS:
        text += "\u3002"
    clauses: list[str] = []
    start = 0
    for index, char in enumerate(text):
        if char in SPLIT_MARKS:
            clauses.append(text[start : index + 1])
            start = index + 1
    return clauses


def _keep(pieces: list[str], trivial: frozenset[str] = _TRIVIAL) -> str:
    """Join the pieces that are not made only of ``trivial`` characters, one per line."""
    return "\n".join(piece for piece in pieces if not set(piece) <= trivial)


def cut0(text: str) -> str:
    """No split: the text is one segment (unless it is only trivial punctuation)."""
    return "\n" if set(text) <= _TRIVIAL else text


def cut1(text: str) -> str:
    """Four clauses per segment; the last segment takes the remainder (up to seven clauses)."""
    text = text.strip("\n")
    clauses = split_clauses(text)
    if len(clauses) <= 4:
        return _keep([text])  # one segment: the unmodified text
    starts = list(range(0, len(clauses), 4))[:-1]
    bounds = [*starts[1:], len(clauses)]
    return _keep(["".join(clauses[a:b]) for a, b in zip(starts, bounds, strict=True)])


def cut2(text: str) -> str:
    """Segments of clauses that together pass 50 characters; a short tail joins the one before."""
    text = text.strip("\n")
    clauses = split_clauses(text)
    if len(clauses) < 2:
        return text
    segments: list[str] = []
    current, length = "", 0
    for clause in clauses:
        current += clause
        length += len(clause)
        if length > 50:
            segments.append(current)
            current, length = "", 0
    if current:
        segments.append(current)
    if len(segments) > 1 and len(segments[-1]) < 50:
        segments[-2:] = [segments[-2] + segments[-1]]
    return _keep(segments)


def cut3(text: str) -> str:
    """Split at the Chinese full stop ``。`` (which is removed)."""
    text = text.strip("\n")
    return _keep(text.strip("\u3002").split("\u3002"))


def cut4(text: str) -> str:
    """Split at an English full stop that is not next to a digit (the stop is removed)."""
    text = text.strip("\n")
    return _keep(_CUT4_STOP.split(text.strip(".")))


def cut5(text: str) -> str:
    """Split after every punctuation mark, except a ``.`` between two digits."""
    text = text.strip("\n")
    segments: list[str] = []
    current: list[str] = []
    last = len(text) - 1
    for index, char in enumerate(text):
        current.append(char)
        if char not in _CUT5_MARKS:
            continue
        decimal_point = (
            char == "." and 0 < index < last and text[index - 1].isdigit()
            and text[index + 1].isdigit()
        )
        if not decimal_point:
            segments.append("".join(current))
            current = []
    if current:
        segments.append("".join(current))
    return _keep(segments, _CUT5_MARKS)


SPLIT_METHODS: dict[str, Callable[[str], str]] = {
    "cut0": cut0,
    "cut1": cut1,
    "cut2": cut2,
    "cut3": cut3,
    "cut4": cut4,
    "cut5": cut5,
}


def split_method(name: str) -> Callable[[str], str]:
    """The cut method called ``name``; InvalidArgument for an unknown name."""
    try:
        return SPLIT_METHODS[name]
    except KeyError:
        known = ", ".join(SPLIT_METHODS)
        raise InvalidArgument(f"unknown text split method {name!r}; use one of {known}") from None


def split_big_text(text: str, max_len: int = MAX_SEGMENT_CHARS) -> list[str]:
    """Cut an over-long segment at split marks into pieces of at most ``max_len`` characters.

    Pieces are filled greedily with the text between marks and the marks themselves; a stretch
    without marks that is longer than ``max_len`` stays whole (and may leave an empty piece
    before it, as the official code does).
    """
    pieces: list[str] = []
    current = ""
    for part in _SPLIT_AT_MARK.split(text):
        if len(current) + len(part) > max_len:
            pieces.append(current)
            current = part
        else:
            current += part
    if current:
        pieces.append(current)
    return pieces


def first_clause(text: str) -> str:
    """The text up to the first split mark, without surrounding whitespace."""
    return _FIRST_CLAUSE_END.split(text, maxsplit=1)[0].strip()


def merge_short_segments(segments: list[str], threshold: int = _MIN_SEGMENT_CHARS) -> list[str]:
    """Join consecutive segments until each has at least ``threshold`` characters.

    A short remainder at the end is appended to the last segment.
    """
    if len(segments) < 2:
        return segments
    merged: list[str] = []
    current = ""
    for segment in segments:
        current += segment
        if len(current) >= threshold:
            merged.append(current)
            current = ""
    if current:
        if merged:
            merged[-1] += current
        else:
            merged.append(current)
    return merged


def pre_segment(text: str, language: str, method: str = "cut1") -> list[str]:
    """The segment texts of a target text, as the official ``pre_seg_text`` produces them.

    ``text`` should already have gone through ``collapse_repeated_punctuation`` (the official
    ``preprocess`` does that first). ``language`` ("en" or "zh") only chooses the full stop that
    is added. Raises InvalidArgument when nothing but line breaks and spaces is left.
    """
    cut = split_method(method)
    text = text.strip("\n")
    if not text:
        return []
    if text[0] not in SPLIT_MARKS and len(first_clause(text)) < _SHORT_FIRST_CLAUSE:
        text = end_mark(language) + text
    text = re.sub("\n+", "\n", cut(text))
    lines = text.split("\n")
    if all(line in (" ", "\n", "") for line in lines):
        raise InvalidArgument("the text has nothing to synthesise; send some words")
    lines = merge_short_segments([line for line in lines if line not in (" ", "")])
    segments: list[str] = []
    for line in lines:
        if not line.strip() or not _WORD_CHAR.search(line):
            continue  # blank or only symbols
        if line[-1] not in SPLIT_MARKS:
            line += end_mark(language)
        if len(line) > MAX_SEGMENT_CHARS:
            segments.extend(split_big_text(line))
        else:
            segments.append(line)
    return segments


def prepare_prompt_text(text: str, language: str) -> str:
    """The reference transcript as the official code reads it: outer line breaks removed and a
    full stop appended when it does not end in a split mark. Raises InvalidArgument when empty.
    """
    text = text.strip("\n")
    if not text:
        raise InvalidArgument("the reference transcript is empty")
    if text[-1] not in SPLIT_MARKS:
        text += end_mark(language)
    return text
