"""Mandarin text normalisation: parity with the reference normaliser and the number readings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.engines.gpt_sovits.text.zh_normalize import normalize_mandarin, split_clauses
from server.engines.gpt_sovits.text.zh_numbers import read_cardinal, read_digits, read_number
from server.engines.gpt_sovits.text.zh_traditional import to_simplified

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits"
# Recorded from the official chinese2.text_normalize: hand-picked cases plus random
# combinations of numbers, separators, units, symbols and Hanzi.
CASES: list[dict[str, str]] = json.loads(
    (FIXTURES / "zh_normalize_cases.json").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_matches_reference_normaliser(case: dict[str, str]) -> None:
    assert normalize_mandarin(case["text"]) == case["norm_text"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天是2024年3月5日。", "今天是二零二四年三月五日."),
        ("售价3999元，涨了10%！", "售价三千九百九十九元,涨了百分之十!"),
        ("会议8:30-12:30", "会议八点半至十二点半"),
        ("气温-3°C", "气温零下三度"),
        ("拨打13812345678", "拨打幺三八幺二三四五六七八"),
        ("2个苹果", "两个苹果"),
        ("3/5的人", "五分之三的人"),
        ("這是繁體字", "这是繁体字"),
        ("你好……世界～", "你好…世界…"),
        ("《书名》“引号”", "书名引号"),
    ],
)
def test_examples(text: str, expected: str) -> None:
    assert normalize_mandarin(text) == expected


def test_output_alphabet() -> None:
    out = normalize_mandarin("Hello 世界! ABC-123, ½ ☺ 3:2")
    assert all("\u4e00" <= c <= "\u9fa5" or c in "!?…,.-" for c in out)


def test_split_clauses() -> None:
    assert split_clauses("你好，世界！ 再见") == ["你好，", "世界！", "再见"]
    assert split_clauses("他说：“好。”然后") == ["他说：", "好。", "然后"]


@pytest.mark.parametrize(
    ("digits", "cardinal"),
    [
        ("0", "零"),
        ("000", "零"),
        ("10", "十"),
        ("15", "十五"),
        ("105", "一百零五"),
        ("1005", "一千零五"),
        ("1010", "一千零一十"),
        ("20000", "二万"),
        ("100000", "十万"),
        ("1234567890", "十二亿三千四百五十六万七千八百九十"),
        ("", ""),
    ],
)
def test_read_cardinal(digits: str, cardinal: str) -> None:
    assert read_cardinal(digits) == cardinal


def test_read_number_and_digits() -> None:
    assert read_number("3.50") == "三点五零"
    assert read_number("3.500") == "三点五零"
    assert read_number(".5") == "零点五"
    assert read_number("12") == "十二"
    assert read_digits("2024") == "二零二四"
    assert read_digits("110", one_as_yao=True) == "幺幺零"
    assert read_digits("٣") == "三"  # any script's decimal digits
    with pytest.raises(ValueError):
        read_number("1.2.3")


def test_to_simplified() -> None:
    assert to_simplified("應該轉換成簡體，頭髮") == "应该转换成简体，头发"
    assert to_simplified("abc 你好") == "abc 你好"
