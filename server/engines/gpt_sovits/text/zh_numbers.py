"""Reading Arabic numerals aloud in Mandarin, the way the GPT-SoVITS normaliser does.

Three readings exist and the normaliser picks one by context:

- *cardinal* (``120`` -> 一百二十, ``10`` -> 十): counts, amounts, months, days;
- *digit by digit* (``2024`` -> 二零二四): years, codes, long numbers; phone numbers read the
  digit one as 幺;
- *number* (``3.50`` -> 三点五零): a cardinal integer part plus the decimals read digit by digit.

The quirks of the reference reading are kept on purpose, because the model was trained on its
output: a trailing run of zeros in the decimals is kept as a single zero (``3.500`` -> 三点五零),
``0.5``'s integer part is read 零, and large numbers nest units (``1234567890`` ->
十二亿三千四百五十六万七千八百九十).
"""

from __future__ import annotations

import unicodedata

_DIGIT_NAMES = "零一二三四五六七八九"
# Place units by number of trailing digits, largest last; 10^5..10^7 nest under 万.
_PLACE_UNITS = ((1, "十"), (2, "百"), (3, "千"), (4, "万"), (8, "亿"))


def digit_name(digit: str) -> str:
    """The Chinese name of one decimal digit character (any script's decimal digit)."""
    if "0" <= digit <= "9":
        return _DIGIT_NAMES[ord(digit) - ord("0")]
    # Non-ASCII decimal digits (Arabic-Indic, ...) match the normaliser's \d patterns; read them
    # by value instead of failing.
    return _DIGIT_NAMES[unicodedata.decimal(digit)]


def read_digits(digits: str, *, one_as_yao: bool = False) -> str:
    """Read every digit on its own: ``"2024"`` -> 二零二四; ``one_as_yao`` reads 1 as 幺."""
    spoken = "".join(digit_name(d) for d in digits)
    return spoken.replace("一", "幺") if one_as_yao else spoken


def _cardinal_parts(digits: str) -> list[str]:
    """Symbols of a cardinal reading, before the leading 一十 -> 十 shortening.

    Splits at the largest place unit shorter than the number, reads both halves recursively,
    and writes 零 where a half starts with zeros before a single significant digit.
    """
    significant = digits.lstrip("0")
    if not significant:
        return []
    if len(significant) == 1:
        if len(significant) < len(digits):
            return ["零", digit_name(significant)]
        return [digit_name(significant)]
    power, unit = max((p, u) for p, u in _PLACE_UNITS if p < len(significant))
    return _cardinal_parts(digits[:-power]) + [unit] + _cardinal_parts(digits[-power:])


def read_cardinal(digits: str) -> str:
    """Read an unsigned integer as a quantity: ``"120"`` -> 一百二十, ``"10"`` -> 十, ``"0"`` -> 零.

    An empty string reads as nothing.
    """
    if not digits:
        return ""
    digits = digits.lstrip("0")
    if not digits:
        return "零"
    parts = _cardinal_parts(digits)
    if len(parts) >= 2 and parts[0] == "一" and parts[1] == "十":
        parts = parts[1:]  # 一十五 is said 十五
    return "".join(parts)


def read_number(number: str) -> str:
    """Read an unsigned integer or decimal: ``"65.5"`` -> 六十五点五, ``".5"`` -> 零点五.

    Raises ValueError for more than one decimal point (the callers' patterns never pass one).
    """
    pieces = number.split(".")
    if len(pieces) > 2:
        raise ValueError(f"not a number: {number!r}")
    integer = pieces[0]
    decimals = pieces[1] if len(pieces) == 2 else ""
    spoken = read_cardinal(integer)
    if decimals.endswith("0"):
        decimals = decimals.rstrip("0") + "0"  # "3.500" keeps one zero: 三点五零
    if decimals:
        spoken = (spoken or "零") + "点" + read_digits(decimals)
    return spoken


__all__ = ["digit_name", "read_cardinal", "read_digits", "read_number"]
