"""Mandarin/English chunking of mixed text, checked against the official front end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server.engines.gpt_sovits.text.language_split import (
    LanguageChunk,
    is_plain_english,
    split_languages,
)

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits"
# Recorded from the official get_phones_and_bert(text, "zh") (its language chunks): segment texts
# of hand-written Mandarin and mixed texts, and random mixes of words, numbers and marks.
CASES: list[dict[str, Any]] = json.loads(
    (FIXTURES / "text_segmentation_cases.json").read_text(encoding="utf-8")
)["language_split"]


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(chunk.text, chunk.language) for chunk in split_languages(text, "zh")]


def test_chunks_match_the_official_front_end() -> None:
    for case in CASES:
        assert _pairs(case["text"]) == [tuple(chunk) for chunk in case["chunks"]], case["text"]


def test_latin_runs_become_english_chunks() -> None:
    assert _pairs("我们用GPT模型生成语音，效果很好。Hello world, 这是一个测试。") == [
        ("我们用", "zh"), ("GPT", "en"), ("模型生成语音，效果很好。", "zh"),
        ("Hello world, ", "en"), ("这是一个测试。", "zh")]


@pytest.mark.parametrize(("text", "expected"), [
    ("我有3个apple", [("我有3个", "zh"), ("apple", "en")]),  # same language on both sides
    ("GPT3模型", [("GPT3", "en"), ("模型", "zh")]),  # the longer neighbour wins
    ("苹果apple 3个", [("苹果", "zh"), ("apple 3", "en"), ("个", "zh")]),
    ("他说，3D打印", [("他说，", "zh"), ("3D", "en"), ("打印", "zh")]),  # a stop before: right
    ("2024", [("2024", "zh")]),
])
def test_digits_follow_a_neighbour(text: str, expected: list[tuple[str, str]]) -> None:
    assert _pairs(text) == expected


def test_marks_join_the_piece_before_them_and_leading_marks_the_next() -> None:
    assert _pairs("“Hello”，你好") == [("“Hello”，", "en"), ("你好", "zh")]
    assert _pairs("你好，Hello!") == [("你好，", "zh"), ("Hello!", "en")]


def test_english_text_is_one_unsplit_chunk() -> None:
    assert split_languages(" Hello 你好 ", "en") == [LanguageChunk(" Hello 你好 ", "en")]


def test_plain_english_test() -> None:
    assert is_plain_english("Hello, world！")
    assert not is_plain_english("2024")
    assert not is_plain_english("café")


def test_unsupported_language() -> None:
    with pytest.raises(ValueError):
        split_languages("hello", "ja")
