"""English number words (values checked against the inflect package the official code uses)."""

from __future__ import annotations

import pytest

from server.engines.gpt_sovits.text.en_numbers import (
    cardinal,
    ordinal,
    ordinal_of_words,
    ordinal_suffix,
    paired_digits,
)
from server.errors import InvalidArgument


@pytest.mark.parametrize(
    ("n", "andword", "words"),
    [
        (0, "and", "zero"),
        (1, "", "one"),
        (15, "", "fifteen"),
        (40, "", "forty"),
        (99, "", "ninety-nine"),
        (100, "and", "one hundred"),
        (105, "and", "one hundred and five"),
        (105, "", "one hundred five"),
        (1005, "and", "one thousand and five"),
        (1005, "", "one thousand five"),
        (1100, "and", "one thousand, one hundred"),
        (21000, "and", "twenty-one thousand"),
        (1000021, "", "one million twenty-one"),
        (1234567, "", "one million, two hundred thirty-four thousand, five hundred sixty-seven"),
        (10**33, "", "one decillion"),
    ],
)
def test_cardinal(n: int, andword: str, words: str) -> None:
    assert cardinal(n, andword) == words


def test_cardinal_limits() -> None:
    with pytest.raises(InvalidArgument):
        cardinal(10**36)
    with pytest.raises(InvalidArgument):
        cardinal(-1)


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 5, 8, 9, 12, 20, 21, 100, 101)] == [
        "first", "second", "third", "fifth", "eighth", "ninth", "twelfth", "twentieth",
        "twenty-first", "one hundredth", "one hundred and first",
    ]
    assert [ordinal_suffix(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 101, 111, 112)] == [
        "st", "nd", "rd", "th", "th", "th", "th", "st", "st", "th", "th",
    ]
    assert ordinal_of_words("zero") == "zeroth"


def test_paired_digits() -> None:
    assert paired_digits(1999) == "nineteen ninety-nine"
    assert paired_digits(1905) == "nineteen oh five"
    assert paired_digits(2010) == "twenty ten"
    with pytest.raises(ValueError):
        paired_digits(999)
