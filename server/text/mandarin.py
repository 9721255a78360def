"""Mandarin Chinese text normalisation: Arabic numerals, dates, money and symbols to Hanzi.

eSpeak NG's Mandarin voice reads Hanzi; numerals written with Arabic digits, percent
signs and currency symbols are rewritten into the characters a reader would say.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ("", "十", "百", "千")
_BIG_UNITS = ("", "万", "亿", "兆")
_CURRENCY = {"¥": "元", "￥": "元", "$": "美元", "€": "欧元", "£": "英镑"}
_SYMBOLS = {
    "+": "加",
    "=": "等于",
    "&": "和",
    "@": "艾特",
    "#": "号",
    "×": "乘",
    "~": "至",
    "°C": "摄氏度",
    "℃": "摄氏度",
    "°": "度",
    "*": " ",
    "_": " ",
}
_MAX_CARDINAL_DIGITS = 16


def _four_digits(n: int, leading_zero: bool) -> str:
    """Read 0..9999 with zero rules (一千零五); ``leading_zero`` adds 零 for a gap above."""
    out = ""
    zero_pending = leading_zero
    for position in range(3, -1, -1):
        digit = (n // 10**position) % 10
        if digit == 0:
            if out:
                zero_pending = True
            continue
        if zero_pending and (out or leading_zero):
            out += "零"
        zero_pending = False
        out += _DIGITS[digit] + _SMALL_UNITS[position]
    return out


def cardinal_zh(n: int) -> str:
    """Spell an integer in Chinese: 12345 -> 一万二千三百四十五, 10 -> 十."""
    if n < 0:
        return "负" + cardinal_zh(-n)
    if n == 0:
        return "零"
    groups: list[int] = []
    while n:
        n, group = divmod(n, 10_000)
        groups.append(group)
    out = ""
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            continue
        lower_gap = bool(out) and group < 1000
        out += _four_digits(group, lower_gap) + _BIG_UNITS[index]
    if out.startswith("一十"):
        out = out[1:]
    return out


def digits_zh(text: str) -> str:
    """Read digits one by one: 2024 -> 二零二四."""
    return "".join(_DIGITS[int(ch)] for ch in text if ch.isdigit())


def number_zh(text: str) -> str:
    """Read a numeral with optional sign, thousands commas and decimals: 3.14 -> 三点一四."""
    sign = ""
    if text.startswith("-"):
        sign, text = "负", text[1:]
    whole, _, fraction = text.replace(",", "").partition(".")
    if len(whole) > _MAX_CARDINAL_DIGITS:
        spoken = digits_zh(whole)
    else:
        spoken = cardinal_zh(int(whole or "0"))
    if fraction:
        spoken += "点" + digits_zh(fraction)
    return sign + spoken


_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"


def _date(match: re.Match[str]) -> str:
    spoken = ""
    if match.group("y"):
        spoken += digits_zh(match.group("y")) + "年"
    if match.group("m"):
        spoken += cardinal_zh(int(match.group("m"))) + "月"
    if match.group("d"):
        spoken += cardinal_zh(int(match.group("d"))) + match.group("dsuffix")
    return spoken


def _iso_date(match: re.Match[str]) -> str:
    y, m, d = match.group(1), int(match.group(2)), int(match.group(3))
    return f"{digits_zh(y)}年{cardinal_zh(m)}月{cardinal_zh(d)}日"


def _time(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    spoken = cardinal_zh(hour) + "点"
    if minute:
        spoken += ("零" if minute < 10 else "") + cardinal_zh(minute) + "分"
    return spoken


def _money(match: re.Match[str]) -> str:
    unit = _CURRENCY[match.group(1)]
    following = match.string[match.end() : match.end() + len(unit)]
    return number_zh(match.group(2)) + ("" if following == unit else unit)


def _percent(match: re.Match[str]) -> str:
    return "百分之" + number_zh(match.group(1))


def _number(match: re.Match[str]) -> str:
    text = match.group(0)
    if len(text) > 1 and text.startswith("0") and "." not in text:
        return digits_zh(text)
    return number_zh(text)


_Rule = Callable[[re.Match[str]], str]
_RULES: list[tuple[re.Pattern[str], _Rule]] = [
    (re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)"), _iso_date),
    (
        re.compile(r"(?:(?P<y>\d{2,4})年)?(?:(?P<m>\d{1,2})月)?(?:(?P<d>\d{1,2})(?P<dsuffix>[日号]))?"),
        _date,
    ),
    (re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?!\d)"), _time),
    (re.compile(r"([¥￥$€£])\s?(" + _NUM + ")"), _money),
    (re.compile(r"(" + _NUM + r")\s?[%％]"), _percent),
    (re.compile(r"-?(?:" + _NUM + ")"), _number),
]


def _unless_empty(rule: _Rule) -> _Rule:
    """``rule``, except that an empty match (a pattern whose parts are all optional) stays."""
    return lambda match: rule(match) if match.group(0) else ""


def normalize_mandarin(text: str) -> str:
    """Rewrite Mandarin text so digits, dates, money and symbols are spoken Hanzi."""
    for pattern, replacement in _RULES:
        text = pattern.sub(_unless_empty(replacement), text)
    for symbol, word in sorted(_SYMBOLS.items(), key=lambda item: -len(item[0])):
        text = text.replace(symbol, word)
    text = re.sub(r"[ \t]+", " ", text)
    return text.strip()
