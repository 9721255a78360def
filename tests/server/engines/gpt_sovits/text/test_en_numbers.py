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


def test_every_call_form_agrees_with_inflect_as_the_official_normaliser_calls_it() -> None:
    """The official English normaliser (``en_normalization/expend.py``) gets its words from
    ``inflect``; ours must give the same words (docs/dependencies.md says why we do not
    import inflect at run time). A sample: every number below 3,000, then a sparse sweep."""
    import random

    import inflect

    engine = inflect.engine()
    rng = random.Random(7)
    numbers = list(range(3000)) + [rng.randrange(10 ** rng.randrange(4, 36)) for _ in range(2000)]
    for n in numbers:
        assert cardinal(n) == engine.number_to_words(n), n
        assert cardinal(n, "") == engine.number_to_words(n, andword=""), n
        assert ordinal(n) == engine.ordinal(engine.number_to_words(n)), n
        assert f"{n}{ordinal_suffix(n)}" == engine.ordinal(str(n)), n
    for n in range(1000, 3000):
        expected = engine.number_to_words(n, andword="", zero="oh", group=2).replace(", ", " ")
        assert paired_digits(n) == expected, n
