"""English number words, spelled exactly as GPT-SoVITS' English normaliser spells them.

The official normaliser gets its number words from the ``inflect`` package. Its conventions are
reproduced here (and checked against it over every number below a million plus random large
ones) so that the engine does not pay for importing ``inflect`` at run time:

- groups of three digits are joined with ", " ("one million, two hundred thousand"), and the
  comma before a final single-word group becomes the "and" word ("one thousand and five", or
  "one thousand five" when the and-word is empty); inside a group the and-word follows
  "hundred" ("one hundred and five");
- tens and units are hyphenated ("twenty-three");
- ordinals change the last word ("twenty-first", "twentieth", "one hundredth");
- numbers of 10**36 and above have no name and are refused.
"""

from __future__ import annotations

from server.errors import InvalidArgument

_UNITS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = (
    "", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion",
    "sextillion", "septillion", "octillion", "nonillion", "decillion",
)
# Word endings that ordinals replace; every other word just takes "th".
_ORDINAL_ENDINGS = (
    ("ty", "tieth"), ("one", "first"), ("two", "second"), ("three", "third"),
    ("five", "fifth"), ("eight", "eighth"), ("nine", "ninth"), ("twelve", "twelfth"),
)


def _below_hundred(n: int) -> str:
    """1..99 in words ("seven", "fifteen", "forty", "forty-two")."""
    if n < 10:
        return _UNITS[n]
    if n < 20:
        return _TEENS[n - 10]
    tens, units = divmod(n, 10)
    return _TENS[tens] + (f"-{_UNITS[units]}" if units else "")


def _below_thousand(n: int, andword: str) -> str:
    """1..999 in words; ``andword`` links the hundreds to the rest ("" drops it)."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds:
        words += [_UNITS[hundreds], "hundred"]
        if rest and andword:
            words.append(andword)
    if rest:
        words.append(_below_hundred(rest))
    return " ".join(words)


def cardinal(n: int, andword: str = "and") -> str:
    """A non-negative integer in words, e.g. ``1005`` -> "one thousand and five".

    Raises ``InvalidArgument`` for negative numbers and for numbers of 10**36 and above.
    """
    if n < 0:
        raise InvalidArgument(f"cannot spell the negative number {n}")
    if n == 0:
        return "zero"
    groups: list[int] = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    if len(groups) > len(_SCALES):
        raise InvalidArgument("a number in the text is too large to read out (10**36 or more)")
    spelled = [
        f"{_below_thousand(group, andword)} {_SCALES[index]}".rstrip()
        for index, group in reversed(list(enumerate(groups)))
        if group
    ]
    last = spelled[-1]
    if len(spelled) > 1 and groups[0] and " " not in last:
        # A final one-word group is linked by the and-word instead of a comma.
        head = ", ".join(spelled[:-1])
        return f"{head} {andword} {last}" if andword else f"{head} {last}"
    return ", ".join(spelled)


def paired_digits(n: int) -> str:
    """A four-digit number read as two pairs, the way years are read.

    ``1999`` -> "nineteen ninety-nine", ``1905`` -> "nineteen oh five", ``2010`` -> "twenty ten".
    """
    if not 1000 <= n <= 9999:
        raise ValueError(f"paired_digits needs a four-digit number, got {n}")
    high, low = divmod(n, 100)
    if low >= 10:
        tail = _below_hundred(low)
    elif low:
        tail = f"oh {_UNITS[low]}"
    else:
        tail = "oh oh"
    return f"{_below_hundred(high)} {tail}"


def ordinal_suffix(n: int) -> str:
    """The suffix of a numeric ordinal: "st", "nd", "rd" or "th" (11th-13th, 111th, ...)."""
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def ordinal_of_words(words: str) -> str:
    """Turn spelled-out number words into their ordinal ("twenty-one" -> "twenty-first")."""
    for ending, replacement in _ORDINAL_ENDINGS:
        if words.endswith(ending):
            return words[: len(words) - len(ending)] + replacement
    return words + "th"


def ordinal(n: int) -> str:
    """A non-negative integer as ordinal words (``101`` -> "one hundred and first")."""
    return ordinal_of_words(cardinal(n))


__all__ = ["cardinal", "ordinal", "ordinal_of_words", "ordinal_suffix", "paired_digits"]
