"""The text front end's orchestration, with small stand-in language back ends and BERT."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from server.engines.gpt_sovits.text.frontend import (
    BERT_DIM,
    ChunkPhones,
    LanguageBackends,
    PhoneSegment,
    TextFrontEnd,
    canonical_language,
)
from server.errors import FailedPrecondition, InvalidArgument

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits"
_MARKS = {"，": ",", "。": ".", "！": "!", "？": "?", ",": ",", ".": ".", "!": "!", "?": "?"}
# Phone table of the stand-ins: punctuation, one Mandarin "initial" and "final", English letters.
SYMBOLS = ["UNK", ",", ".", "!", "?", "zh", "a1", *[c.upper() for c in "abcdefghijklmnopqrstuvwxyz"]]
SYMBOL_TO_ID = {s: i for i, s in enumerate(SYMBOLS)}


def fake_mandarin(text: str, g2p: str) -> ChunkPhones:
    """Keeps Hanzi and marks; two phones per Hanzi, one per mark; "?" stays unknown as "Q?"."""
    assert g2p == "pypinyin"
    norm = "".join(_MARKS.get(c, c) for c in text if c in _MARKS or "\u4e00" <= c <= "\u9fa5")
    phones: list[str] = []
    word2ph: list[int] = []
    for char in norm:
        if char in ",.!?":
            phones.append(char)
            word2ph.append(1)
        else:
            phones += ["zh", "a1"]
            word2ph.append(2)
    return ChunkPhones(phones, word2ph, norm)


def fake_english(text: str) -> ChunkPhones:
    """One phone per letter; a digit becomes the unknown phone "D1"."""
    norm = " ".join(text.split())
    phones = [c.upper() if c.isalpha() else "D1" for c in norm if c.isalnum()]
    phones += [_MARKS[c] for c in norm if c in _MARKS]
    return ChunkPhones(phones, None, norm)


class FakeBert:
    """Feature column = code point of the character, repeated per phone, in every row."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, norm_text: str, word2ph: list[int]) -> torch.Tensor:
        self.calls.append(norm_text)
        values = [float(ord(c)) for c, n in zip(norm_text, word2ph, strict=True) for _ in range(n)]
        return torch.tensor(values).expand(BERT_DIM, len(values)).clone()


BACKENDS = LanguageBackends(
    mandarin=fake_mandarin,
    english=fake_english,
    phone_ids=lambda phones: [SYMBOL_TO_ID[p] for p in phones],
    symbols=SYMBOL_TO_ID,
)


def make_front_end(bert: FakeBert | None | str = "fake") -> TextFrontEnd:
    return TextFrontEnd(FakeBert() if bert == "fake" else bert, backends=BACKENDS)


def test_prompt_gets_a_final_stop_and_phone_level_bert() -> None:
    bert = FakeBert()
    prompt = make_front_end(bert).prompt("你好你好", "zh")
    assert isinstance(prompt, PhoneSegment)
    assert prompt.text == "你好你好。"
    assert prompt.norm_text == "你好你好."
    assert prompt.phone_ids == [5, 6] * 4 + [2]
    assert prompt.bert.shape == (BERT_DIM, 9)
    assert prompt.bert.dtype == torch.float32
    assert prompt.bert[0, :2].tolist() == [float(ord("你"))] * 2
    assert bert.calls == ["你好你好."]


def test_mixed_segment_concatenates_chunks_with_zero_bert_for_english() -> None:
    segment = make_front_end().segments("我们用GPT模型，效果很好。", "zh")[0]
    assert segment.norm_text == "我们用GPT模型,效果很好."
    n_zh_before = 3 * 2
    english = segment.bert[:, n_zh_before : n_zh_before + 3]
    assert segment.phone_ids[n_zh_before : n_zh_before + 3] == [
        SYMBOL_TO_ID["G"], SYMBOL_TO_ID["P"], SYMBOL_TO_ID["T"]]
    assert torch.count_nonzero(english) == 0
    assert segment.bert[0, n_zh_before + 3].item() == float(ord("模"))
    assert segment.bert.shape == (BERT_DIM, len(segment.phone_ids))


def test_segments_follow_the_split_method() -> None:
    front = make_front_end()
    text = "你好你好，我们我们。他们他们！大家大家？"
    assert [s.text for s in front.segments(text, "zh", "cut5")] == [
        "你好你好，", "我们我们。", "他们他们！", "大家大家？"]
    assert len(front.segments(text, "zh", "cut0")) == 1


def test_short_segment_is_redone_with_a_leading_stop() -> None:
    segment = make_front_end().segments("Hi there, you are here.", "en", "cut0")[0]
    assert segment.norm_text == "Hi there, you are here."  # long enough: no retry
    short = make_front_end().prompt("你好", "zh")  # 5 phones: retried as ".你好。"
    assert short.text == "你好。"
    assert short.norm_text == ".你好."
    assert short.phone_ids[0] == SYMBOL_TO_ID["."]
    assert short.bert.shape == (BERT_DIM, 6)


def test_english_language_never_splits() -> None:
    segment = make_front_end(None).prompt("Hello 你好 world", "en")
    assert segment.norm_text == "Hello 你好 world."
    assert torch.count_nonzero(segment.bert) == 0


def test_unknown_phones_become_unk() -> None:
    segment = make_front_end().prompt("Route 66 is long", "en")
    assert segment.phone_ids.count(SYMBOL_TO_ID["UNK"]) == 2


def test_mandarin_without_bert_is_a_clear_error() -> None:
    front = make_front_end(None)
    front.segments("Only English here, thanks.", "en")
    with pytest.raises(FailedPrecondition, match="BERT"):
        front.segments("这是中文。", "zh")


def test_segments_that_normalise_to_nothing_are_dropped() -> None:
    silent = LanguageBackends(
        mandarin=lambda text, g2p: ChunkPhones([], [], ""),
        english=BACKENDS.english, phone_ids=BACKENDS.phone_ids, symbols=SYMBOL_TO_ID)
    bert = FakeBert()
    assert TextFrontEnd(bert, backends=silent).segments("你好你好。", "zh") == []
    assert bert.calls == []
    assert make_front_end().segments("\n\n", "zh") == []


def test_runs_of_spaces_are_collapsed() -> None:
    front = make_front_end()
    assert front.prompt("Hello    big   world", "en").norm_text == "Hello big world."


def test_bert_with_a_wrong_shape_is_refused() -> None:
    front = TextFrontEnd(lambda text, word2ph: torch.zeros(BERT_DIM, 1), backends=BACKENDS)
    with pytest.raises(FailedPrecondition):
        front.prompt("你好你好", "zh")


@pytest.mark.parametrize(("code", "expected"), [("zh", "zh"), ("cmn", "zh"), ("EN", "en")])
def test_language_codes(code: str, expected: str) -> None:
    assert canonical_language(code) == expected


def test_unsupported_language_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        make_front_end().segments("Bonjour.", "fr")


class ZeroBert:
    """Stands in for BERT where only phone ids are checked."""

    def __call__(self, norm_text: str, word2ph: list[int]) -> torch.Tensor:
        return torch.zeros(BERT_DIM, sum(word2ph))


def test_real_back_ends_match_the_official_front_end() -> None:
    """Prompt and cut1 segments of recorded texts: texts, normalised texts and phone ids."""
    cases: list[dict[str, Any]] = json.loads(
        (FIXTURES / "text_frontend_cases.json").read_text(encoding="utf-8"))["cases"]
    front = TextFrontEnd(ZeroBert())
    for case in cases:
        prompt = front.prompt(case["text"], case["lang"])
        assert (prompt.text, prompt.norm_text, prompt.phone_ids) == (
            case["prompt"]["text"], case["prompt"]["norm_text"], case["prompt"]["phones"])
        segments = front.segments(case["text"], case["lang"], "cut1")
        assert [(s.text, s.norm_text, s.phone_ids) for s in segments] == [
            (s["text"], s["norm_text"], s["phones"]) for s in case["segments"]], case["text"]
