"""Mandarin text normalisation: what GPT-SoVITS does to Chinese text before G2P.

``normalize_mandarin`` turns raw input into the string the G2P and the BERT see: only Hanzi
(U+4E00..U+9FA5) and the five punctuation marks ``, . ! ? …`` (plus ``-``) survive. On the way:

1. the text is cut into clauses after Chinese/ASCII clause punctuation, spaces and bracket-like
   symbols are dropped;
2. each clause is rewritten by ordered rules (``zh_rules``): traditional -> simplified, full-width
   letters/digits -> ASCII, dates, times, ranges, temperatures, units, arithmetic, fractions,
   percentages, phone numbers, versions, decimals, numbers with measure words, digit strings,
   and finally the remaining numbers, Greek letters and symbols;
3. Chinese punctuation is mapped to ``, . ! ? …``, everything else that is not Hanzi is deleted,
   and runs of punctuation collapse to their first mark.

The result must equal the reference front end character for character: the model's phones and
the BERT features are aligned to it, and the model was trained on its readings (including odd
ones, such as ``3:2`` read 三二 and ``100-200`` read 一百减二百).
"""

from __future__ import annotations

import re

from server.engines.gpt_sovits.text.zh_rules import normalize_clause

# Removed before splitting into clauses (ASCII space only; other whitespace survives).
_DROPPED_BEFORE_SPLIT = re.compile(r"[—《》【】<>{}()（）#&@“”^_|\\]")
# A clause ends after one of these, optionally followed by a closing quote.
_CLAUSE_END = re.compile(r"([：、，；。？！,;?!][”’]?)")

_PUNCTUATION = "!?…,.-"
# Chinese / other punctuation -> the model's marks. "..." is handled before this table.
_PUNCT_MAP = str.maketrans(
    {
        "：": ",",
        "；": ",",
        "，": ",",
        "、": ",",
        "·": ",",
        "/": ",",
        "。": ".",
        "$": ".",
        "\n": ".",
        "！": "!",
        "？": "?",
        "—": "-",
        "~": "…",
        "～": "…",
    }
)
_NOT_KEPT = re.compile(r"[^\u4e00-\u9fa5!?…,.\-]+")
_PUNCT_RUN = re.compile(r"([!?…,.\-])[!?…,.\-]+")


def split_clauses(text: str) -> list[str]:
    """Cut text into clauses, each ending with its punctuation (and closing quote), stripped.

    Spaces and the symbols ``— 《》【】<>{}()（）#&@“”^_|\\`` are deleted first.
    """
    text = _DROPPED_BEFORE_SPLIT.sub("", text.replace(" ", ""))
    text = _CLAUSE_END.sub("\\1\n", text).strip()
    return [clause.strip() for clause in re.split(r"\n+", text)]


def map_punctuation(clause: str) -> str:
    """Map punctuation to the model's marks and delete every character that is not kept.

    嗯 and 呣 are rewritten to 恩 and 母 (their pypinyin readings have no vowel, which the phone
    set cannot express).
    """
    clause = clause.replace("嗯", "恩").replace("呣", "母")
    clause = clause.replace("...", "…").translate(_PUNCT_MAP)
    return _NOT_KEPT.sub("", clause)


def collapse_punctuation(text: str) -> str:
    """Keep only the first mark of every run of consecutive punctuation marks."""
    return _PUNCT_RUN.sub("\\1", text)


def normalize_mandarin(text: str) -> str:
    """Normalise Mandarin text exactly like the reference front end (see the module docstring).

    >>> normalize_mandarin("今天是2024年3月5日，售价3999元，涨了10%。")
    '今天是二零二四年三月五日,售价三千九百九十九元,涨了百分之十.'
    """
    clauses = (map_punctuation(normalize_clause(c)) for c in split_clauses(text))
    return collapse_punctuation("".join(clauses))


__all__ = [
    "collapse_punctuation",
    "map_punctuation",
    "normalize_mandarin",
    "split_clauses",
]
