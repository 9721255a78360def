"""Spelling out numbers, money, times and symbols in English text (GPT-SoVITS' rules).

The model was trained on text normalised by GPT-SoVITS' English expander, so its rules are
reproduced here, quirks included, in the official order (each step sees the previous one's
output):

1. ``"3. "`` (a number, a dot and a space) becomes ``"3rd, "``;
2. ``a + b`` / ``a - b`` / ``a × b`` / ``a ÷ b`` / ``a = b`` with spaces around the operator
   become words. An operand may be a single letter, so ``"good - really"`` reads
   "good minus really";
3. a ``-`` directly before digits at the start or after whitespace becomes "negative "; the
   whitespace before it is dropped (``"is -5"`` -> ``"isnegative 5"``);
4. commas between digits vanish (``"12,000"`` -> ``"12000"``);
5. ``H:MM`` times are read on a 12-hour clock with "a.m."/"p.m." ("o'clock" on the hour);
6. a number glued to a unit (``5km``, ``1.5s``, ``20°C``) gets the unit's name; ``km/h`` is
   never seen whole because ``km`` matches first;
7. ``£``/``$`` amounts before or after the number become pounds and pence / dollars and cents;
8. decimals are read digit by digit after "point", fractions as "three fourths"/"one half",
   ``1st``-style ordinals as words;
9. the remaining digit runs are read as numbers, four-digit ones between 1000 and 3000 as
   years ("nineteen ninety-nine", "two thousand five", "eleven hundred");
10. accents are stripped, ``%`` becomes " percent", every character other than ASCII letters,
    space and ``'.,?!-`` is deleted, "i.e."/"e.g." are expanded, and an upper-case letter
    that does not start the text or follow a space is split off (``GPT`` -> ``G P T``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from server.engines.gpt_sovits.text import en_numbers
from server.errors import InvalidArgument

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ"
_OPERAND = rf"(?:-?\d+(?:\.\d+)?[{_SUPERSCRIPTS}]*|\.\d+[{_SUPERSCRIPTS}]*|[A-Za-z][{_SUPERSCRIPTS}]*)"
_ARITHMETIC = re.compile(rf"({_OPERAND})\s+([-+×÷=])\s+({_OPERAND})")
_OPERATOR_WORDS = {"+": "plus", "-": "minus", "×": "times", "÷": "divided by", "=": "Equals"}

_NUMBERED_ITEM = re.compile(r"\b([0-9]+)\. ")
_NEGATIVE = re.compile(r"(?:^|\s+)-(\d+)")
_DIGIT_COMMAS = re.compile(r"[0-9][0-9,]+[0-9]")
_CLOCK = re.compile(r"\b([01]?[0-9]|2[0-3]):([0-5][0-9])\b")

# Unit suffixes in the order the official alternation tries them: the first that lets the whole
# pattern match wins, which is why "km/h" never matches (``km`` is followed by a word boundary).
_UNITS: dict[str, tuple[str, str]] = {
    "m": ("meter", "meters"),
    "km": ("kilometer", "kilometers"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "ft": ("feet", "feet"),
    "L": ("liter", "liters"),
    "tbsp": ("tablespoon", "tablespoons"),
    "tsp": ("teaspoon", "teaspoons"),
    "h": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "s": ("second", "seconds"),
    "°C": ("degree celsius", "degrees celsius"),
    "°F": ("degree fahrenheit", "degrees fahrenheit"),
}
_MEASUREMENT = re.compile(
    r"\b([0-9]+(\.[0-9]+)?(" + "|".join(re.escape(unit) for unit in _UNITS) + r"))\b"
)

_POUNDS_BEFORE = re.compile(r"£([0-9.,]*[0-9]+)")
_POUNDS_AFTER = re.compile(r"([0-9.,]*[0-9]+)£")
_DOLLARS_BEFORE = re.compile(r"\$([0-9.,]*[0-9]+)")
_DOLLARS_AFTER = re.compile(r"([(0-9.,]*[0-9]+)\$")  # the "(" is in the official class too
_POUNDS = (("pound", "pounds"), ("penny", "pence"))
_DOLLARS = (("dollar", "dollars"), ("cent", "cents"))

_DECIMAL = re.compile(r"[0-9]+\.\s*[0-9]+")
_FRACTION = re.compile(r"([0-9]+)/([0-9]+)")
_ORDINAL = re.compile(r"([0-9]+)(?:st|nd|rd|th)")
_NUMBER = re.compile(r"[0-9]+")

_NOT_KEPT = re.compile(r"[^ A-Za-z'.,?!\-]")
_THAT_IS = re.compile(r"i\.e\.", re.IGNORECASE)
_FOR_EXAMPLE = re.compile(r"e\.g\.", re.IGNORECASE)
_INNER_CAPITAL = re.compile(r"(?<!^)(?<!\s)([A-Z])")


def _to_int(digits: str) -> int:
    """``int`` for amounts the official code would crash on (e.g. ``"5,"``): a clear error."""
    try:
        return int(digits)
    except ValueError:
        raise InvalidArgument(f"cannot read the amount {digits!r} in the text") from None


def _numbered_item(match: re.Match[str]) -> str:
    digits = match.group(1)
    return f"{digits}{en_numbers.ordinal_suffix(int(digits))}, "


def _arithmetic(match: re.Match[str]) -> str:
    left, operator, right = match.groups()
    return f"{left} {_OPERATOR_WORDS[operator]} {right}"


def _clock(match: re.Match[str]) -> str:
    hours, minutes = int(match.group(1)), int(match.group(2))
    period = "a.m." if hours < 12 else "p.m."
    if hours > 12:
        hours -= 12
    hour_words = en_numbers.cardinal(hours)
    if minutes == 0:
        return f"{hour_words} o'clock {period}"
    return f"{hour_words} {en_numbers.cardinal(minutes)} {period}"


def _measurement(match: re.Match[str]) -> str:
    quantity, fraction, unit = match.group(1), match.group(2), match.group(3)
    singular, plural = _UNITS[unit]
    # Only a whole 1 is singular ("1 meter", "1.0 meters", "0.1 kilometers").
    is_one = fraction is None and int(quantity[: len(quantity) - len(unit)]) == 1
    return quantity.replace(unit, " " + (singular if is_one else plural))


def _money(units: tuple[tuple[str, str], tuple[str, str]]) -> Callable[[re.Match[str]], str]:
    """A replacement that reads ``19.99`` as "19 dollars and 99 cents" (digits stay digits)."""
    (major_one, major_many), (minor_one, minor_many) = units

    def spell(match: re.Match[str]) -> str:
        amount = match.group(1)
        parts = amount.split(".")
        if len(parts) > 2:
            return f"{amount} {major_many}"
        major = _to_int(parts[0]) if parts[0] else 0
        # ".5" is fifty cents: the fraction is padded to two digits, longer ones are kept.
        minor = _to_int(parts[1].ljust(2, "0")) if len(parts) > 1 and parts[1] else 0
        major_text = f"{major} {major_one if major == 1 else major_many}"
        minor_text = f"{minor} {minor_one if minor == 1 else minor_many}"
        if major and minor:
            return f"{major_text} and {minor_text}"
        if major:
            return major_text
        if minor:
            return minor_text
        return f"zero {major_many}"

    return spell


def _decimal(match: re.Match[str]) -> str:
    whole, fraction = match.group(0).split(".")
    # Every character after the dot, whitespace included, is read on its own.
    return f"{whole} point " + " ".join(fraction)


def _fraction(match: re.Match[str]) -> str:
    numerator, denominator = int(match.group(1)), int(match.group(2))
    numerator_words = en_numbers.cardinal(numerator)
    if denominator == 2:
        return f"{numerator_words} {'half' if numerator == 1 else 'halves'}"
    if denominator == 1:
        return numerator_words
    denominator_words = en_numbers.ordinal(denominator)
    return f"{numerator_words} {denominator_words}{'s' if numerator > 1 else ''}"


def _ordinal(match: re.Match[str]) -> str:
    return en_numbers.ordinal(int(match.group(1)))


def _number(match: re.Match[str]) -> str:
    n = int(match.group(0))
    if 1000 < n < 3000:  # read like a year
        if n == 2000:
            return "two thousand"
        if 2000 < n < 2010:
            return "two thousand " + en_numbers.cardinal(n % 100)
        if n % 100 == 0:
            return en_numbers.cardinal(n // 100) + " hundred"
        return en_numbers.paired_digits(n)
    return en_numbers.cardinal(n, andword="")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if unicodedata.category(char) != "Mn")


def expand_english(text: str) -> str:
    """Apply the expansion rules of the module docstring, in order.

    Raises ``InvalidArgument`` for input the official code cannot read either (a number of
    10**36 or more, an amount such as ``$5,.5``).
    """
    text = _NUMBERED_ITEM.sub(_numbered_item, text)
    while _ARITHMETIC.search(text):
        text = _ARITHMETIC.sub(_arithmetic, text)
    text = _NEGATIVE.sub(lambda match: f"negative {match.group(1)}", text)
    text = _DIGIT_COMMAS.sub(lambda match: match.group(0).replace(",", ""), text)
    text = _CLOCK.sub(_clock, text)
    text = _MEASUREMENT.sub(_measurement, text)
    text = _POUNDS_BEFORE.sub(_money(_POUNDS), text)
    text = _POUNDS_AFTER.sub(_money(_POUNDS), text)
    text = _DOLLARS_BEFORE.sub(_money(_DOLLARS), text)
    text = _DOLLARS_AFTER.sub(_money(_DOLLARS), text)
    text = _DECIMAL.sub(_decimal, text)
    text = _FRACTION.sub(_fraction, text)
    text = _ORDINAL.sub(_ordinal, text)
    text = _NUMBER.sub(_number, text)
    text = _strip_accents(text)
    text = text.replace("%", " percent")
    text = _NOT_KEPT.sub("", text)
    text = _THAT_IS.sub("that is", text)
    text = _FOR_EXAMPLE.sub("for example", text)
    return _INNER_CAPITAL.sub(r" \1", text)


__all__ = ["expand_english"]
