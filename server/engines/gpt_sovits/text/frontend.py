"""The GPT-SoVITS text front end: from a text to per-segment phone ids and BERT features.

This is the engine's counterpart of the official ``TextPreprocessor`` plus the prompt handling
of ``TTS.run``:

- the target text has repeated punctuation collapsed and is cut into segments
  (``segmentation.pre_segment``); segments whose normalised text is empty are dropped;
- the reference transcript (the prompt) is not cut: it only gets a final full stop when it does
  not end in a split mark;
- every segment (and the prompt) is split into English and Mandarin chunks
  (``language_split``); each chunk is normalised and phonemised by its language's back end,
  unknown phones become ``UNK``; Mandarin chunks get BERT features (one column per phone),
  English chunks zero columns; the chunks are concatenated in order;
- a segment with fewer than six phones is redone once as ``"." + text`` (a leading pause makes
  very short texts speakable), as the official code does.

The language back ends are injectable (``LanguageBackends``) so that the orchestration can be
tested without the G2P dictionaries or a BERT model; by default the engine's own modules are used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch

from server.engines.gpt_sovits.text.language_split import EN, ZH, split_languages
from server.engines.gpt_sovits.text.segmentation import (
    collapse_repeated_punctuation,
    pre_segment,
    prepare_prompt_text,
)
from server.errors import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from server.engines.gpt_sovits.text.bert import BertFeatures

# Width of the BERT features the T2S model expects (chinese-roberta-wwm-ext-large).
BERT_DIM = 1024
# Segments with fewer phones than this are redone with a leading ".".
_MIN_PHONES = 6
_UNKNOWN_PHONE = "UNK"
_SPACE_RUN = re.compile(" {2,}")

# Language codes accepted here and the front-end language they select.
_LANGUAGES = {"en": EN, "zh": ZH, "cmn": ZH}


@dataclass(frozen=True)
class PhoneSegment:
    """One unit of synthesis: its text, normalised text, phone ids and BERT features.

    ``bert`` is float32 ``(1024, len(phone_ids))``; columns of English chunks are zeros.
    ``text`` is the segment (or prompt) text before any ``"."`` retry; ``norm_text`` is what the
    back ends produced (including that retry's ``"."``).
    """

    text: str
    norm_text: str
    phone_ids: list[int]
    bert: torch.Tensor


@dataclass(frozen=True)
class ChunkPhones:
    """What a language back end returns for one chunk (the official ``clean_text`` result).

    ``word2ph`` (phones per character of ``norm_text``) is required for Mandarin, where it
    expands the character-level BERT features; English chunks leave it None.
    """

    phones: list[str]
    word2ph: list[int] | None
    norm_text: str


class PhoneBert(Protocol):
    """The part of ``BertFeatures`` the front end uses."""

    def __call__(self, norm_text: str, word2ph: list[int]) -> torch.Tensor: ...


@dataclass(frozen=True)
class LanguageBackends:
    """The language-specific functions the front end calls.

    ``mandarin(text, g2p)`` normalises and phonemises a raw Mandarin chunk (including the
    official ``￥``/``^`` silence markers); ``english(text)`` does the same for an English chunk,
    including the official leading ``","`` for results under four phones; ``phone_ids`` maps
    phone symbols to model ids; ``symbols`` is the phone table (anything else becomes ``UNK``).
    """

    mandarin: Callable[[str, str], ChunkPhones]
    english: Callable[[str], ChunkPhones]
    phone_ids: Callable[[list[str]], list[int]]
    symbols: Container[str]


def default_backends() -> LanguageBackends:
    """The engine's own normalisers, G2P and symbol table (imported on first use)."""
    from server.engines.gpt_sovits.text import english, mandarin, symbols

    def clean_mandarin(text: str, g2p: str) -> ChunkPhones:
        result = mandarin.clean_mandarin(text, g2p)
        return ChunkPhones(list(result.phones), list(result.word2ph), result.norm_text)

    def clean_english(text: str) -> ChunkPhones:
        norm_text = english.normalize_english(text)
        phones = list(english.english_to_phones(norm_text))
        if len(phones) < 4:
            phones = [",", *phones]  # the official clean_text pads very short words
        return ChunkPhones(phones, None, norm_text)

    return LanguageBackends(
        mandarin=clean_mandarin,
        english=clean_english,
        phone_ids=symbols.phones_to_ids,
        symbols=symbols.SYMBOL_TO_ID,
    )


def canonical_language(language: str) -> str:
    """``"en"`` or ``"zh"`` for the codes this front end accepts (``en``, ``zh``, ``cmn``)."""
    try:
        return _LANGUAGES[language.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(_LANGUAGES))
        raise InvalidArgument(
            f"language {language!r} is not supported by the gpt-sovits engine; use one of {known}"
        ) from None


class TextFrontEnd:
    """Turns prompt and target texts into ``PhoneSegment``s, as the official front end does.

    ``bert`` may be None only for English-only use: a Mandarin chunk without a BERT model is a
    FailedPrecondition. ``zh_g2p`` is the Mandarin polyphone mode passed to the Mandarin back end.
    """

    def __init__(
        self,
        bert: BertFeatures | PhoneBert | None,
        zh_g2p: str = "pypinyin",
        backends: LanguageBackends | None = None,
    ) -> None:
        self._bert = bert
        self._zh_g2p = zh_g2p
        self._backends = backends or default_backends()

    def prompt(self, text: str, language: str) -> PhoneSegment:
        """Phones and BERT features of the reference transcript (never cut into segments)."""
        lang = canonical_language(language)
        prompt_text = prepare_prompt_text(text, lang)
        return self._phone_segment(prompt_text, lang)

    def segments(self, text: str, language: str, split_method: str = "cut1") -> list[PhoneSegment]:
        """The target text cut by ``split_method`` (``cut0``..``cut5``) into phone segments.

        Segments that normalise to nothing are left out, so the list may be empty.
        """
        lang = canonical_language(language)
        pieces = pre_segment(collapse_repeated_punctuation(text), lang, split_method)
        segments = (self._phone_segment(piece, lang) for piece in pieces)
        return [segment for segment in segments if segment.norm_text]

    def _phone_segment(self, text: str, language: str) -> PhoneSegment:
        phones, bert, norm_text = self._phones_and_bert(_SPACE_RUN.sub(" ", text), language)
        if len(phones) < _MIN_PHONES:
            phones, bert, norm_text = self._phones_and_bert(
                "." + _SPACE_RUN.sub(" ", text), language)
        return PhoneSegment(text=text, norm_text=norm_text, phone_ids=phones, bert=bert)

    def _phones_and_bert(self, text: str, language: str) -> tuple[list[int], torch.Tensor, str]:
        ids: list[int] = []
        features: list[torch.Tensor] = []
        norm_parts: list[str] = []
        for chunk in split_languages(text, language):
            cleaned = self._clean(chunk.text, chunk.language)
            ids += self._backends.phone_ids(cleaned.phones)
            features.append(self.features(cleaned, chunk.language))
            norm_parts.append(cleaned.norm_text)
        bert = torch.cat(features, dim=1) if features else torch.zeros(BERT_DIM, 0)
        return ids, bert, "".join(norm_parts)

    def clean(self, text: str, language: str) -> ChunkPhones:
        """The official ``clean_text`` of a whole text in one language, with no language split.

        This is what the official training data preparation applies to each transcript;
        ``language`` is one of the codes :func:`canonical_language` accepts.
        """
        return self._clean(text, canonical_language(language))

    def _clean(self, text: str, language: str) -> ChunkPhones:
        if language == ZH:
            cleaned = self._backends.mandarin(text, self._zh_g2p)
        else:
            cleaned = self._backends.english(text)
        known = self._backends.symbols
        phones = [p if p in known else _UNKNOWN_PHONE for p in cleaned.phones]
        return ChunkPhones(phones, cleaned.word2ph, cleaned.norm_text)

    def features(self, cleaned: ChunkPhones, language: str) -> torch.Tensor:
        """BERT columns of one chunk: the model's for Mandarin, zeros for English."""
        n_phones = len(cleaned.phones)
        if language != ZH or n_phones == 0:
            return torch.zeros(BERT_DIM, n_phones)
        if self._bert is None:
            raise FailedPrecondition(
                "Mandarin text needs the chinese-roberta-wwm-ext-large BERT model, which is "
                "not loaded; install it in the models folder")
        if cleaned.word2ph is None or sum(cleaned.word2ph) != n_phones:
            raise InvalidArgument(
                f"cannot align the phones of the Mandarin text {cleaned.norm_text!r}")
        features = self._bert(cleaned.norm_text, cleaned.word2ph).float().cpu()
        if features.shape != (BERT_DIM, n_phones):
            raise FailedPrecondition(
                f"the BERT model gave features of shape {tuple(features.shape)}, expected "
                f"({BERT_DIM}, {n_phones})")
        return features
