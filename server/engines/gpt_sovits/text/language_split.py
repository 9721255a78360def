"""Split a text into Mandarin and English chunks, as the official GPT-SoVITS front end does.

For the language ``"zh"`` the official front end runs a language splitter over each segment and
then keeps only one distinction: English chunks versus everything else (which is read as
Mandarin). English chunks are phonemised with the English back end and get zero BERT rows; the
other chunks go through the Mandarin normaliser, G2P and BERT. So what has to be reproduced is
*where* the text is cut and which pieces count as English. For ``"en"`` the whole text is one
English chunk and nothing is split.

The official splitter (the ``split_lang`` package) guesses languages with a fastText model. For
the outcome that matters here the guesses mostly do not count: a run of Latin-script text made of
ASCII (plus common CJK/full-width punctuation) is declared English by an explicit rule whatever
the model says, Han text can only become a non-English language, and digits follow fixed
neighbour rules. This module therefore reproduces the splitter with rules alone:

1. Scan the text into runs of one character class: Han (with kana), Hangul, digits, "other"
   (Latin letters and any remaining symbol), single punctuation marks and single line breaks.
   Spaces, and an apostrophe glued to a word, stay in the current run.
2. Punctuation marks and line breaks join the run before them (leading ones join the run after).
3. Runs become items: Han -> Mandarin, "other" -> English when it passes the ASCII test.
4. Adjacent items of one language merge; each digit item then takes the language of a neighbour
   (by the official tie-break rules on the neighbours' texts).
5. Finally every non-English chunk is Mandarin and adjacent chunks of one kind merge.

Where the model does count, this module assumes that Han text is Chinese and ASCII text English:

- a short Han run that the model does not recognise as Chinese or Japanese is "unknown" to the
  official splitter, which then deletes every character of that chunk that is not Han, a digit
  or one of a few marks (for example the ``，`` in ``这个bug很难修，我...`` with the small
  fastText model the reference harness uses); here nothing is deleted;
- a Han word taken for Japanese can change which side a digit between Han and Latin text joins;
- an "other" run that fails the ASCII test (accented letters, symbols such as ``℃``) is English
  here unless it contains a non-ASCII letter.
"""

from __future__ import annotations

from dataclasses import dataclass

# Language codes of the chunks this module produces.
EN = "en"
ZH = "zh"

# Characters the official splitter treats as punctuation: ASCII punctuation except "/", plus
# these CJK / typographic marks.
_MARKS = frozenset(
    "!\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~"
    "\u00b7\u2014\u2018\u2019\u201c\u201d\u2026\u3001\u3002\u3008\u3009\u300a\u300b\u300c\u300d"
    "\u300e\u300f\u3010\u3011\u301c\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f\uffe5"
)
# Marks that the digit tie-break rules look at.
_STOPS = frozenset(",.!?\uff0c\u3002\uff01\uff1f")
_FULL_STOPS = frozenset(".\u3002")

# Run kinds (step 1) and the item languages that are not final chunk languages (step 3).
_HAN, _HANGUL, _DIGIT, _OTHER, _MARK, _BREAK = "han", "hangul", "digit", "other", "mark", "break"
_KO, _NEWLINE, _PUNCT = "ko", "newline", "punctuation"


@dataclass(frozen=True)
class LanguageChunk:
    """A piece of a segment and the language ("en" or "zh") whose back end reads it."""

    text: str
    language: str


@dataclass
class _Item:
    """A piece of text with its kind or language while the splitter works on it."""

    tag: str
    text: str


def split_languages(text: str, language: str) -> list[LanguageChunk]:
    """Cut ``text`` into English and Mandarin chunks for the segment language ``language``.

    ``language`` is ``"en"`` (the whole text is one English chunk, unchanged) or ``"zh"``. For
    ``"zh"`` surrounding whitespace is dropped and an empty result means the text was blank.
    """
    if language == EN:
        return [LanguageChunk(text, EN)]
    if language != ZH:
        raise ValueError(f"unsupported segment language {language!r}")
    runs = _attach_marks(_scan(text.strip()))
    items = _merge_same([_Item(_item_language(run), run.text) for run in runs])
    if any(item.tag == _DIGIT for item in items):
        items = _resolve_digits(items)
    chunks: list[LanguageChunk] = []
    for item in items:
        lang = EN if item.tag == EN else ZH
        if chunks and chunks[-1].language == lang:
            chunks[-1] = LanguageChunk(chunks[-1].text + item.text, lang)
        else:
            chunks.append(LanguageChunk(item.text, lang))
    return chunks


def is_plain_english(text: str) -> bool:
    """Whether the official splitter declares ``text`` English regardless of its model.

    True when an ASCII letter occurs before the first line break and every character is an
    ASCII letter, digit or printable, whitespace, or in the general-punctuation, CJK-symbol or
    full-width blocks.
    """
    first_line = text.split("\n", 1)[0]
    if not any("a" <= c <= "z" or "A" <= c <= "Z" for c in first_line):
        return False
    return all(_english_compatible(c) for c in text)


def _english_compatible(char: str) -> bool:
    code = ord(char)
    return (
        char.isspace()
        or 0x20 <= code <= 0x7E
        or 0x2000 <= code <= 0x206F
        or 0x3000 <= code <= 0x303F
        or 0xFF00 <= code <= 0xFFEF
    )


def _char_kind(text: str, index: int) -> str | None:
    """The run kind of ``text[index]``; None for characters that extend the current run."""
    char = text[index]
    code = ord(char)
    if 0x4E00 <= code <= 0x9FFF or 0x3040 <= code <= 0x30FF or char == "\u3005":
        return _HAN
    if 0xAC00 <= code <= 0xD7AF:
        return _HANGUL
    if char.isdigit():
        return _DIGIT
    if char in _MARKS:
        if char == "'" and index > 0 and not text[index - 1].isspace():
            return None  # an apostrophe inside or after a word belongs to it
        return _MARK
    if char in "\n\r":
        return _BREAK
    if char.isspace():
        return None
    return _OTHER


def _scan(text: str) -> list[_Item]:
    """Step 1: runs of one character class; every mark and line break is a run of its own."""
    runs: list[_Item] = []
    for index, char in enumerate(text):
        kind = _char_kind(text, index)
        if runs and (kind is None or (kind == runs[-1].tag and kind not in (_MARK, _BREAK))):
            runs[-1].text += char
        else:
            runs.append(_Item(kind or _OTHER, char))
    return runs


def _attach_marks(runs: list[_Item]) -> list[_Item]:
    """Step 2: marks and line breaks join the run before them; leading marks the run after.

    Leading marks followed by a line break form a piece of their own (tagged "break"), and a
    text made only of marks stays one piece (tagged "mark").
    """
    out: list[_Item] = []
    lead = ""  # leading marks waiting for the first other run
    for run in runs:
        if out and run.tag in (_MARK, _BREAK):
            out[-1].text += run.text
        elif out:
            out.append(_Item(run.tag, run.text))
        elif run.tag == _MARK:
            lead += run.text
        else:
            out.append(_Item(run.tag, lead + run.text))
            lead = ""
    if lead:
        out.append(_Item(_MARK, lead))
    return out


def _item_language(run: _Item) -> str:
    """Step 3: the language the official splitter gives each run (before digit resolution)."""
    if run.tag == _HAN:
        return ZH
    if run.tag == _HANGUL:
        return _KO
    if run.tag == _OTHER:
        return EN if _reads_as_english(run) else ZH
    if run.tag == _BREAK:
        return _NEWLINE
    if run.tag == _MARK:
        return _PUNCT
    return _DIGIT


def _reads_as_english(run: _Item) -> bool:
    """Whether an "other" run (with its attached marks) becomes an English item.

    Runs that pass the ASCII test are English by the official rule. For the rest the official
    result is the fastText guess on the run's own text; that model returns English for anything
    it does not know (symbols such as "/" or "℃"), so only runs with non-ASCII letters (Latin
    with accents, Cyrillic, ...) are taken as not English here.
    """
    if is_plain_english(run.text):
        return True
    return not any(c.isalpha() and ord(c) > 0x7F for c in run.text)


def _merge_same(items: list[_Item]) -> list[_Item]:
    out: list[_Item] = []
    for item in items:
        if out and out[-1].tag == item.tag:
            out[-1] = _Item(item.tag, out[-1].text + item.text)
        else:
            out.append(_Item(item.tag, item.text))
    return out


def _resolve_digits(items: list[_Item]) -> list[_Item]:
    """Step 4: give each digit item a neighbour's language, by the official tie-break rules.

    ``done`` holds the items already resolved and merged; the right neighbour is read from the
    unresolved list.
    """
    done: list[_Item] = []
    last = len(items) - 1
    for i, item in enumerate(items):
        tag = item.tag
        if tag == _DIGIT:
            if done and i == last:
                tag = done[-1].tag
            elif not done and i < last:
                tag = items[1].tag
            elif done and i < last:
                tag = _digit_between(done[-1], item, items[i + 1])
            else:
                tag = ZH  # the text is nothing but digits
        if done and done[-1].tag == tag:
            done[-1] = _Item(tag, done[-1].text + item.text)
        else:
            done.append(_Item(tag, item.text))
    return done


def _digit_between(left: _Item, digits: _Item, right: _Item) -> str:
    if left.tag == right.tag:
        return left.tag
    if left.text[-1] in _STOPS:
        return right.tag  # a sentence mark before the digits: they start the next part
    if right.text[0] in _STOPS:
        return left.tag
    if digits.text[-1] in _FULL_STOPS:
        return left.tag
    return left.tag if len(left.text) >= len(right.text) else right.tag
