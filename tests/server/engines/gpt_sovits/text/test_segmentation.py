"""Text segmentation: the official cut methods and pre-segmentation, checked against recordings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server.engines.gpt_sovits.text.segmentation import (
    SPLIT_METHODS,
    collapse_repeated_punctuation,
    cut1,
    cut4,
    cut5,
    first_clause,
    merge_short_segments,
    pre_segment,
    prepare_prompt_text,
    split_big_text,
    split_clauses,
    split_method,
)
from server.errors import InvalidArgument

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits"
# Recorded from the official pre_seg_text(replace_consecutive_punctuation(text), lang, method):
# hand-written English, Mandarin and mixed texts plus random strings of marks, numbers and words.
CASES: list[dict[str, Any]] = json.loads(
    (FIXTURES / "text_segmentation_cases.json").read_text(encoding="utf-8")
)["segmentation"]
METHODS = sorted(SPLIT_METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_segments_match_the_official_front_end(method: str) -> None:
    for case in CASES:
        expected = case[method]
        text = collapse_repeated_punctuation(case["text"])
        if expected is None:
            with pytest.raises(InvalidArgument):
                pre_segment(text, case["lang"], method)
        else:
            assert pre_segment(text, case["lang"], method) == expected, case["text"]


def test_cut1_groups_four_clauses_and_cuts_numbers_apart() -> None:
    text = "So, well, at 9:30 we paid 19.99, then 5.50, then 7.25, and left."
    assert cut1(text).split("\n") == [
        "So, well, at 9:30 we paid 19.", "99, then 5.50, then 7.25, and left."]
    assert cut1("one, two, three, four.") == "one, two, three, four."


def test_cut4_and_cut5_keep_decimal_points() -> None:
    assert cut4("Pi is 3.14, roughly. E is 2.72.").split("\n") == [
        "Pi is 3.14, roughly", " E is 2.72"]
    assert cut5("价格19.99元，好。").split("\n") == ["价格19.99元，", "好。"]


def test_split_clauses_keeps_marks_and_closes_the_text() -> None:
    assert split_clauses("你好……再见——朋友") == ["你好。", "再见，", "朋友。"]


def test_short_first_clause_gets_a_leading_stop() -> None:
    assert pre_segment("Hi, there you are.", "en") == [".Hi, there you are."]
    assert pre_segment("你好，很高兴见到你", "zh") == ["。你好，很高兴见到你。"]
    assert first_clause("  Hello world, again") == "Hello world"


def test_short_segments_merge_into_the_previous_one() -> None:
    assert merge_short_segments(["abcde", "fg", "hijkl", "m"]) == ["abcde", "fghijklm"]
    assert merge_short_segments(["ab"]) == ["ab"]


def test_symbol_only_segments_are_dropped_and_blank_text_refused() -> None:
    assert pre_segment("。。。", "zh") == []
    assert pre_segment("\n\n", "zh") == []
    with pytest.raises(InvalidArgument):
        pre_segment("...", "en")


def test_split_big_text_respects_the_limit() -> None:
    text = "，".join(["字" * 100] * 8) + "。"
    pieces = split_big_text(text)
    assert "".join(pieces) == text
    assert all(len(piece) <= 510 for piece in pieces)


def test_collapse_repeated_punctuation() -> None:
    assert collapse_repeated_punctuation("Wait!!! What?? No...") == "Wait! What? No."
    assert collapse_repeated_punctuation("好！！") == "好！！"  # full-width marks are kept


def test_prompt_text_gets_a_final_stop() -> None:
    assert prepare_prompt_text("\n今天天气很好\n", "zh") == "今天天气很好。"
    assert prepare_prompt_text("The quick brown fox", "en") == "The quick brown fox."
    assert prepare_prompt_text("Done!", "en") == "Done!"
    with pytest.raises(InvalidArgument):
        prepare_prompt_text("\n", "en")


def test_unknown_method_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        split_method("cut9")
