"""Mandarin G2P for GPT-SoVITS: normalised text -> phones and the phone count of each character.

The pipeline matches the reference front end with its pypinyin branch (the one the official
code takes when G2PW is off):

1. the text is cut after every punctuation mark and each piece is processed on its own;
2. jieba's part-of-speech segmentation, then ``tone_sandhi.pre_merge`` regroups the words;
3. per word: pypinyin initials and tone-3 finals (neutral tone as 5), tone sandhi, then the
   erhua adjustment of a final 儿;
4. each syllable becomes two phones (``pinyin_table``), each punctuation mark one.

``word2ph`` has one entry per character of the normalised text (1 for a mark, 2 for a Hanzi);
the BERT features are expanded with it. Latin letters are ignored here (the language splitter
sends them to the English front end).

The official release picks polyphone readings with G2PW, an ONNX model with its own
dictionaries; that mode is refused here (``g2p="g2pw"`` raises FailedPrecondition), so texts
with polyphones can be read differently from a stock G2PW install.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jieba.posseg
from pypinyin import Style, lazy_pinyin

from server.engines.gpt_sovits.text.pinyin_table import syllable_to_phones
from server.engines.gpt_sovits.text.tone_sandhi import Word, apply_sandhi, ensure_jieba, pre_merge
from server.engines.gpt_sovits.text.zh_normalize import normalize_mandarin
from server.errors import FailedPrecondition, InvalidArgument

PUNCTUATION = ("!", "?", "…", ",", ".", "-")
G2P_MODES = ("pypinyin", "g2pw")

_SENTENCE_BREAK = re.compile(r"(?<=[!?…,.\-])\s*")
_LATIN = re.compile(r"[a-zA-Z]+")


def _word_set(words: str) -> frozenset[str]:
    """A set of words written as one space-separated string."""
    return frozenset(words.split())


# Words with a final 儿 that is always its own syllable ...
_NO_ERHUA = _word_set(
    "一儿 为儿 乞儿 体弱儿 侄儿 侄孙儿 俺儿 可儿 女儿 妻儿 婴儿 婴幼儿 孙儿 孤儿 "
    "少儿 幼儿 应采儿 患儿 我儿 护儿 拐儿 救儿 替儿 有儿 流浪儿 混血儿 狗儿 猪儿 "
    "猫儿 男儿 瞒儿 祖儿 红孩儿 美儿 聋儿 脑瘫儿 舫儿 花儿 虐儿 虫儿 蜜雪儿 "
    "连体儿 马儿 鸟儿"
)
# ... and words where it always takes the tone of the syllable before it.
_ALWAYS_ERHUA = _word_set("妥妥儿 媳妇儿 寻老礼儿 小院儿 撒欢儿 老汉儿 胡同儿 范儿")
# Tags (adjective, abbreviation, person name) whose 儿 is left alone.
_NO_ERHUA_TAGS = ("a", "j", "nr")

# Zero-initial syllables: pypinyin's final -> the spelled syllable.
_ZERO_INITIAL_WHOLE = {"ing": "ying", "i": "yi", "in": "yin", "u": "wu"}
_ZERO_INITIAL_GLIDE = {"v": "yu", "i": "y", "u": "w"}
# After an initial pypinyin writes the full finals; the spelled forms contract them.
_CONTRACTED = {"uei": "ui", "iou": "iu", "uen": "un"}


def _segment(text: str) -> list[Word]:
    """jieba part-of-speech segmentation (the dictionary loads on first use)."""
    ensure_jieba()
    return [(pair.word, pair.flag) for pair in jieba.posseg.lcut(text)]


def _erhua(finals: list[str], word: str, pos: str) -> list[str]:
    """Tone of a word-final 儿: er1 -> er2, and in erhua words the previous syllable's tone."""
    out = list(finals)
    if out and word[len(out) - 1] == "儿" and out[-1] == "er1":
        out[-1] = "er2"
    if word not in _ALWAYS_ERHUA and (word in _NO_ERHUA or pos in _NO_ERHUA_TAGS):
        return out
    if len(out) != len(word) or len(out) < 2:
        return out
    if word[-1] == "儿" and out[-1] in ("er2", "er5") and word[-2:] not in _NO_ERHUA:
        out[-1] = "er" + out[-2][-1]
    return out


def _spelled(initial: str, toneless_final: str) -> str:
    """The spelled syllable for a pypinyin (initial, final) pair: ("", "ian") -> "yan"."""
    if initial:
        return initial + _CONTRACTED.get(toneless_final, toneless_final)
    if toneless_final in _ZERO_INITIAL_WHOLE:
        return _ZERO_INITIAL_WHOLE[toneless_final]
    glide = _ZERO_INITIAL_GLIDE.get(toneless_final[:1])
    return glide + toneless_final[1:] if glide else toneless_final


def _syllable_phones(initial: str, final: str, context: str) -> list[str]:
    """One syllable (or punctuation mark) -> its phones."""
    if initial == final:  # pypinyin returns non-Hanzi text unchanged in both styles
        if initial not in PUNCTUATION:
            raise InvalidArgument(f"cannot pronounce {initial!r} in Mandarin text {context!r}")
        return [initial]
    tone, body = final[-1:], final[:-1]
    phones = syllable_to_phones(_spelled(initial, body)) if tone in "12345" and tone else None
    if phones is None:
        raise InvalidArgument(
            f"no GPT-SoVITS phones for the syllable {initial + final!r} in {context!r}"
        )
    return [phones[0], phones[1] + tone]


def _sentence_syllables(sentence: str) -> tuple[list[str], list[str]]:
    """Initials and spoken finals of every character of one punctuation-delimited piece."""
    initials: list[str] = []
    finals: list[str] = []
    for word, pos in pre_merge(_segment(sentence)):
        if pos == "eng":
            continue
        word_initials = lazy_pinyin(word, neutral_tone_with_five=True, style=Style.INITIALS)
        word_finals = lazy_pinyin(word, neutral_tone_with_five=True, style=Style.FINALS_TONE3)
        word_finals = _erhua(apply_sandhi(word, pos, word_finals), word, pos)
        initials += word_initials
        finals += word_finals
    return initials, finals


def mandarin_to_phones(norm_text: str, g2p: str = "pypinyin") -> tuple[list[str], list[int]]:
    """Phones and per-character phone counts (word2ph) of normalised Mandarin text.

    ``g2p`` selects the polyphone model: ``"pypinyin"`` (the dictionary path; the only one
    available) or ``"g2pw"`` (the official default, which needs the G2PW ONNX model; refused).
    Raises InvalidArgument for characters without a pronunciation.
    """
    if g2p not in G2P_MODES:
        raise InvalidArgument(f"unknown Mandarin G2P mode {g2p!r}; expected one of {G2P_MODES}")
    if g2p == "g2pw":
        raise FailedPrecondition(
            "Mandarin G2P mode 'g2pw' is not available in this engine; use 'pypinyin'"
        )
    phones: list[str] = []
    word2ph: list[int] = []
    pieces = [p for p in _SENTENCE_BREAK.split(norm_text) if p.strip()]
    for piece in pieces:
        initials, finals = _sentence_syllables(_LATIN.sub("", piece))
        for initial, final in zip(initials, finals, strict=False):
            syllable = _syllable_phones(initial, final, piece)
            phones += syllable
            word2ph.append(len(syllable))
    return phones, word2ph


@dataclass(frozen=True)
class MandarinPhones:
    """What the reference ``clean_text(text, "zh")`` returns: phones, word2ph, normalised text."""

    phones: list[str]
    word2ph: list[int]
    norm_text: str


# Symbols that turn every pause of the text into a special silence phone (first match wins).
_SILENCE_MARKERS = (("￥", "SP2"), ("^", "SP3"))


def clean_mandarin(text: str, g2p: str = "pypinyin") -> MandarinPhones:
    """Normalise and phonemise raw Mandarin text like the reference ``clean_text(text, "zh")``.

    A text containing ``￥`` (or else ``^``) is the reference's silence trick: the marker is read
    as a comma and every comma phone of the result becomes ``SP2`` (``SP3``).
    """
    silence = next(((m, s) for m, s in _SILENCE_MARKERS if m in text), None)
    if silence is not None:
        text = text.replace(silence[0], ",")
    norm_text = normalize_mandarin(text)
    phones, word2ph = mandarin_to_phones(norm_text, g2p)
    if silence is not None:
        phones = [silence[1] if p == "," else p for p in phones]
    elif len(word2ph) != len(norm_text):
        raise InvalidArgument(f"cannot align phones with the Mandarin text {norm_text!r}")
    return MandarinPhones(phones, word2ph, norm_text)


__all__ = [
    "G2P_MODES",
    "PUNCTUATION",
    "MandarinPhones",
    "clean_mandarin",
    "mandarin_to_phones",
]
