"""English number reading: cardinals, ordinals, years, decimals and digit strings.

These are the building blocks of :mod:`server.text.english`; they take digit strings
(not ints) where leading zeros or digit-by-digit reading matter.
"""

from __future__ import annotations

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = (
    (10**12, "trillion"),
    (10**9, "billion"),
    (10**6, "million"),
    (10**3, "thousand"),
)
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
# Above this many digits a number is read digit by digit (account numbers, ids).
MAX_CARDINAL_DIGITS = 15


def _below_thousand(n: int) -> str:
    parts: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        parts.append(f"{_ONES[hundreds]} hundred")
    if rest:
        if rest < 20:
            parts.append(_ONES[rest])
        else:
            tens, ones = divmod(rest, 10)
            parts.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    return " ".join(parts)


def cardinal(n: int) -> str:
    """Spell a whole number: ``1234`` -> ``one thousand two hundred thirty-four``."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n == 0:
        return "zero"
    if n >= 10**15:
        return digits(str(n))
    parts: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            count, n = divmod(n, value)
            parts.append(f"{_below_thousand(count)} {name}")
    if n:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def ordinal(n: int) -> str:
    """Spell an ordinal: ``21`` -> ``twenty-first``."""
    words = cardinal(n)
    head, sep, last = words.rpartition(" ")
    stem_head, dash, stem = last.rpartition("-")
    if stem in _ORDINAL_IRREGULAR:
        stem = _ORDINAL_IRREGULAR[stem]
    elif stem.endswith("y"):
        stem = stem[:-1] + "ieth"
    else:
        stem += "th"
    return head + sep + stem_head + dash + stem


def digits(text: str) -> str:
    """Read a digit string one digit at a time: ``"007"`` -> ``zero zero seven``."""
    return " ".join(_ONES[int(ch)] for ch in text if ch.isdigit())


def year(n: int) -> str:
    """Read a year the way people say it: 1984 -> nineteen eighty-four, 2005 -> two thousand five."""
    if n < 1000 or n >= 10000:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return cardinal(n) if high % 10 == 0 else f"{cardinal(high)} hundred"
    if 2000 <= n < 2010:
        return cardinal(n)
    if low < 10:
        return f"{cardinal(high)} oh {cardinal(low)}"
    return f"{cardinal(high)} {cardinal(low)}"


def number_string(text: str) -> str:
    """Read a numeral as written, with optional sign, thousands commas and decimals.

    ``"1,234.50"`` -> ``one thousand two hundred thirty-four point five zero``; very long
    integers are read digit by digit.
    """
    sign = ""
    if text[:1] in "-\u2212":
        sign, text = "minus ", text[1:]
    whole, _, fraction = text.replace(",", "").partition(".")
    if len(whole) > MAX_CARDINAL_DIGITS:
        spoken = digits(whole)
    else:
        spoken = cardinal(int(whole)) if whole else "zero"
    if fraction:
        spoken += " point " + digits(fraction)
    return sign + spoken
