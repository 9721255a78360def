"""Normalisation of written forms into speakable words (English and Mandarin)."""

from __future__ import annotations

import pytest

from server.text import normalize
from server.text.mandarin import cardinal_zh
from server.text.numbers_en import cardinal, ordinal, year


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (45, "forty-five"),
        (100, "one hundred"),
        (1234, "one thousand two hundred thirty-four"),
        (2_000_017, "two million seventeen"),
        (-8, "minus eight"),
    ],
)
def test_cardinals(number: int, words: str) -> None:
    assert cardinal(number) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [(1, "first"), (2, "second"), (3, "third"), (12, "twelfth"), (21, "twenty-first"), (40, "fortieth")],
)
def test_ordinals(number: int, words: str) -> None:
    assert ordinal(number) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [(1984, "nineteen eighty-four"), (2005, "two thousand five"), (1900, "nineteen hundred"), (1907, "nineteen oh seven"), (2024, "twenty twenty-four")],
)
def test_years(number: int, words: str) -> None:
    assert year(number) == words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It costs $12.50.", "It costs twelve dollars and fifty cents."),
        ("Only $1 left", "Only one dollar left"),
        ("A $1.2 million grant", "A one point two million dollars grant"),
        ("\u20ac0.99 each", "ninety-nine cents each"),
        ("Sales rose 45%.", "Sales rose forty-five percent."),
        ("on 2024-03-15", "on March fifteenth, twenty twenty-four"),
        ("on March 3rd, 2001", "on March third, two thousand one"),
        ("on 15 June 2023", "on the fifteenth of June twenty twenty-three"),
        ("at 3:30 pm.", "at three thirty P M."),
        ("at 10:05", "at ten oh five"),
        ("born in 1984", "born in nineteen eighty-four"),
        ("the 1990s", "the nineteen nineties"),
        ("Dr. Smith and Mr. Jones", "doctor Smith and mister Jones"),
        ("salt, pepper, etc.", "salt, pepper, et cetera"),
        ("ran 5 km", "ran five kilometers"),
        ("it was -5\u00b0C", "it was minus five degrees Celsius"),
        ("rock & roll", "rock and roll"),
        ("1,234,567 people", "one million two hundred thirty-four thousand five hundred sixty-seven people"),
        ("pi is 3.14", "pi is three point one four"),
        ("pages 10-20", "pages ten to twenty"),
        ("call 555-0100", "call five five five, zero one zero zero"),
        ("agent 007", "agent zero zero seven"),
        ("mail jo.doe@example.com", "mail jo dot doe at example dot com"),
        ("1/2 cup", "one half cup"),
        ("the 21st century", "the twenty-first century"),
    ],
)
def test_english_normalisation(text: str, expected: str) -> None:
    assert normalize(text, "en") == expected


def test_english_output_has_no_digits_or_symbols() -> None:
    text = "On 2024-01-02 at 9:15 am, 3 of 4 users paid $5 (20% off) & left #1 review."
    spoken = normalize(text, "en-US")
    assert not any(ch.isdigit() for ch in spoken)
    assert not set("$%&#") & set(spoken)


@pytest.mark.parametrize(
    ("number", "words"),
    [(10, "十"), (15, "十五"), (101, "一百零一"), (1005, "一千零五"), (10000, "一万"), (1200000, "一百二十万")],
)
def test_mandarin_cardinals(number: int, words: str) -> None:
    assert cardinal_zh(number) == words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我在2024年3月15日出生。", "我在二零二四年三月十五日出生。"),
        ("增长了45%", "增长了百分之四十五"),
        ("花了¥12.5", "花了十二点五元"),
        ("花了¥300元", "花了三百元"),
        ("十点开会，10:05开始", "十点开会，十点零五分开始"),
        ("共有1,234人", "共有一千二百三十四人"),
        ("编号007", "编号零零七"),
    ],
)
def test_mandarin_normalisation(text: str, expected: str) -> None:
    assert normalize(text, "cmn") == expected


def test_mixed_mandarin_and_english_normalises_each_script() -> None:
    spoken = normalize("我买了3个iPhone, it cost $5.", "zh-CN")
    assert "三个" in spoken
    assert "five dollars" in spoken
    assert not any(ch.isdigit() for ch in spoken)


def test_other_languages_keep_digits_for_the_engine() -> None:
    assert normalize("Il y a 3 chats * ici", "fr") == "Il y a 3 chats ici"
