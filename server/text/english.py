"""English text normalisation: numbers, dates, times, currency, units, abbreviations, symbols.

Each rule is a regular-expression pass that rewrites one kind of written form into the
words a reader would say; the passes run in an order where the more specific forms
(currency, dates, times) are consumed before bare numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from server.text.numbers_en import cardinal, digits, number_string, ordinal, year

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
_MONTH_INDEX = {name.lower(): i for i, name in enumerate(_MONTHS)}
_MONTH_INDEX.update({name[:3].lower(): i for i, name in enumerate(_MONTHS)})
_MONTH_INDEX["sept"] = 8

_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "US$": ("dollar", "dollars", "cent", "cents"),
    "\u00a3": ("pound", "pounds", "penny", "pence"),
    "\u20ac": ("euro", "euros", "cent", "cents"),
    "\u00a5": ("yen", "yen", "", ""),
    "\u20b9": ("rupee", "rupees", "paisa", "paise"),
}
_CURRENCY_CODES = {
    "USD": "$",
    "EUR": "\u20ac",
    "GBP": "\u00a3",
    "JPY": "\u00a5",
    "INR": "\u20b9",
}
_MAGNITUDES = ("thousand", "million", "billion", "trillion")

_ABBREVIATIONS = {
    "mr.": "mister",
    "mrs.": "missus",
    "ms.": "miz",
    "dr.": "doctor",
    "prof.": "professor",
    "st.": "saint",
    "jr.": "junior",
    "sr.": "senior",
    "mt.": "mount",
    "ave.": "avenue",
    "etc.": "et cetera",
    "e.g.": "for example",
    "i.e.": "that is",
    "vs.": "versus",
    "approx.": "approximately",
    "dept.": "department",
    "inc.": "incorporated",
    "ltd.": "limited",
    "co.": "company",
    "corp.": "corporation",
    "jan.": "January",
    "feb.": "February",
    "mar.": "March",
    "apr.": "April",
    "aug.": "August",
    "sep.": "September",
    "sept.": "September",
    "oct.": "October",
    "nov.": "November",
    "dec.": "December",
}
# Units only expand directly after a number ("5 km"), so "m" or "s" in words are safe.
_UNITS = {
    "km": ("kilometer", "kilometers"),
    "m": ("meter", "meters"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "kg": ("kilogram", "kilograms"),
    "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ft": ("foot", "feet"),
    "in": ("inch", "inches"),
    "mi": ("mile", "miles"),
    "mph": ("mile per hour", "miles per hour"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "l": ("liter", "liters"),
    "ml": ("milliliter", "milliliters"),
    "s": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "ms": ("millisecond", "milliseconds"),
    "kb": ("kilobyte", "kilobytes"),
    "mb": ("megabyte", "megabytes"),
    "gb": ("gigabyte", "gigabytes"),
    "tb": ("terabyte", "terabytes"),
    "hz": ("hertz", "hertz"),
    "khz": ("kilohertz", "kilohertz"),
    "\u00b0c": ("degree Celsius", "degrees Celsius"),
    "\u00b0f": ("degree Fahrenheit", "degrees Fahrenheit"),
    "\u00b0": ("degree", "degrees"),
}
_SYMBOLS = {
    "&": " and ",
    "+": " plus ",
    "=": " equals ",
    "@": " at ",
    "#": " number ",
    "\u00d7": " times ",
    "~": " about ",
    "\u00b0": " degrees ",
    "\u2030": " per mille ",
    "<": " less than ",
    ">": " greater than ",
    "*": " ",
    "_": " ",
    "|": " ",
    "^": " ",
    "\\": " ",
}

_NUM = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_Rule = Callable[[re.Match[str]], str]


def _say_number(text: str) -> str:
    return number_string(text)


def _currency(match: re.Match[str]) -> str:
    symbol = match.group("sym") or _CURRENCY_CODES.get((match.group("code") or "").upper(), "$")
    one, many, sub_one, sub_many = _CURRENCIES[symbol]
    amount = match.group("amt").replace(",", "")
    magnitude = (match.group("mag") or "").lower()
    if magnitude:
        return f"{number_string(amount)} {magnitude} {many}"
    whole, _, fraction = amount.partition(".")
    units = int(whole or "0")
    words = f"{cardinal(units)} {one if units == 1 else many}"
    if fraction and sub_one:
        cents = int((fraction + "0")[:2])
        if cents:
            cent_words = f"{cardinal(cents)} {sub_one if cents == 1 else sub_many}"
            words = cent_words if units == 0 else f"{words} and {cent_words}"
    elif fraction:
        words = f"{number_string(amount)} {many}"
    return words


def _spoken_date(month: int, day: int, year_text: str | None) -> str:
    spoken = f"{_MONTHS[month]} {ordinal(day)}"
    if year_text:
        spoken += f", {year(int(year_text))}"
    return spoken


def _iso_date(match: re.Match[str]) -> str:
    y, m, d = int(match.group(1)), int(match.group(2)), int(match.group(3))
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return match.group(0).replace("-", " ")
    return _spoken_date(m - 1, d, str(y))


def _slash_date(match: re.Match[str]) -> str:
    first, second, year_text = int(match.group(1)), int(match.group(2)), match.group(3)
    if len(year_text) == 2:
        year_text = "20" + year_text
    # American order (month/day) unless the first field cannot be a month.
    month, day = (first, second) if first <= 12 else (second, first)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return _spoken_date(month - 1, day, year_text)


def _month_day(match: re.Match[str]) -> str:
    month = _MONTH_INDEX[match.group("mon").lower().rstrip(".")]
    day = int(match.group("day"))
    if not 1 <= day <= 31:
        return match.group(0)
    return _spoken_date(month, day, match.group("yr"))


def _day_month(match: re.Match[str]) -> str:
    month = _MONTH_INDEX[match.group("mon").lower().rstrip(".")]
    day = int(match.group("day"))
    if not 1 <= day <= 31:
        return match.group(0)
    spoken = f"the {ordinal(day)} of {_MONTHS[month]}"
    if match.group("yr"):
        spoken += f" {year(int(match.group('yr')))}"
    return spoken


def _time(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").lower().replace(".", "")
    if hour > 24 or minute > 59:
        return match.group(0)
    spoken = cardinal(hour)
    if minute == 0:
        spoken += "" if suffix else " o'clock" if hour <= 12 else " hundred"
    elif minute < 10:
        spoken += f" oh {cardinal(minute)}"
    else:
        spoken += f" {cardinal(minute)}"
    if suffix:
        spoken += " " + " ".join(suffix.upper())
        # "p.m." at the end of a sentence also carried the full stop.
        rest = match.string[match.end():]
        if match.group(0).endswith(".") and (not rest.strip() or re.match(r"\s+[A-Z]", rest)):
            spoken += "."
    return spoken


def _phone(match: re.Match[str]) -> str:
    groups = re.findall(r"\d+", match.group(0))
    return ", ".join(digits(group) for group in groups)


def _range(match: re.Match[str]) -> str:
    return f"{number_string(match.group(1))} to {number_string(match.group(2))}"


def _percent(match: re.Match[str]) -> str:
    return f"{number_string(match.group(1))} percent"


def _ordinal(match: re.Match[str]) -> str:
    return ordinal(int(match.group(1)))


def _unit(match: re.Match[str]) -> str:
    amount = match.group("amt")
    one, many = _UNITS[match.group("unit").lower()]
    return f"{number_string(amount)} {one if amount in ('1', '-1') else many}"


def _year_context(match: re.Match[str]) -> str:
    return f"{match.group(1)} {year(int(match.group(2)))}"


def _decade(match: re.Match[str]) -> str:
    spoken = year(int(match.group(1)))
    if spoken.endswith("y"):
        return spoken[:-1] + "ies"
    return spoken + "s"


def _fraction(match: re.Match[str]) -> str:
    top, bottom = int(match.group(1)), int(match.group(2))
    if bottom == 2:
        name = "half" if top == 1 else "halves"
    elif bottom == 4:
        name = "quarter" if top == 1 else "quarters"
    else:
        name = ordinal(bottom) + ("" if top == 1 else "s")
    return f"{cardinal(top)} {name}"


def _abbreviation(match: re.Match[str]) -> str:
    return _ABBREVIATIONS[match.group(0).lower()]


def _email(match: re.Match[str]) -> str:
    user, domain = match.group(1), match.group(2)
    return f"{user.replace('.', ' dot ')} at {domain.replace('.', ' dot ')}"


def _url(match: re.Match[str]) -> str:
    body = re.sub(r"^https?://", "", match.group(0)).rstrip("/")
    body = body.replace("www.", "w w w dot ").replace(".", " dot ").replace("/", " slash ")
    return body


def _signed_number(match: re.Match[str]) -> str:
    return match.group(1) + "minus " + number_string(match.group(2))


def _number(match: re.Match[str]) -> str:
    text = match.group(0)
    if len(text) > 1 and text.startswith("0") and "." not in text:
        return digits(text)
    return number_string(text)


def _build_rules() -> list[tuple[re.Pattern[str], str | _Rule]]:
    months = "|".join(sorted(_MONTH_INDEX, key=len, reverse=True))
    abbreviations = "|".join(re.escape(a) for a in sorted(_ABBREVIATIONS, key=len, reverse=True))
    units = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
    currency_symbols = "|".join(re.escape(s) for s in sorted(_CURRENCIES, key=len, reverse=True))
    magnitudes = "|".join(_MAGNITUDES)
    return [
        (re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE), _url),
        (re.compile(r"\b([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)\b"), _email),
        (
            re.compile(
                rf"(?:(?P<sym>{currency_symbols})\s?|(?P<code>USD|EUR|GBP|JPY|INR)\s)"
                rf"(?P<amt>{_NUM})(?:\s?(?P<mag>{magnitudes})\b)?",
                re.IGNORECASE,
            ),
            _currency,
        ),
        (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), _iso_date),
        (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b"), _slash_date),
        (
            re.compile(
                rf"\b(?P<mon>{months})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b"
                r"(?:,?\s+(?P<yr>\d{4})\b)?",
                re.IGNORECASE,
            ),
            _month_day,
        ),
        (
            re.compile(
                rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{months})\b\.?"
                r"(?:,?\s+(?P<yr>\d{4})\b)?",
                re.IGNORECASE,
            ),
            _day_month,
        ),
        (re.compile(r"\b(\d{1,2}):(\d{2})(?:\s?([ap]\.?m\b\.?))?", re.IGNORECASE), _time),
        (re.compile(r"\b(\d{1,2})()\s?([ap]\.?m\b\.?)", re.IGNORECASE), _time),
        (re.compile(r"\(?\b\d{3}\)?[ -]\d{3}-\d{4}\b|\b\d{3}-\d{4}\b"), _phone),
        (re.compile(r"\b(\d+)\s?[-\u2013]\s?(\d+)\b"), _range),
        (re.compile(rf"({_NUM})\s?%"), _percent),
        (re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE), _ordinal),
        (re.compile(r"\b(\d{3}0)s\b"), _decade),
        (
            re.compile(r"\b(in|since|by|until|from|year|circa|during|of)\s+(1[1-9]\d\d|20\d\d)\b", re.IGNORECASE),
            _year_context,
        ),
        (re.compile(r"\b(\d{1,2})/(\d{1,2})\b"), _fraction),
        (re.compile(rf"(?P<amt>(?:(?<![\w-])-)?{_NUM})\s?(?P<unit>{units})(?![\w])", re.IGNORECASE), _unit),
        (re.compile(rf"(?<![\w.])({abbreviations})(?=\s|$)", re.IGNORECASE), _abbreviation),
        (re.compile(rf"(^|[\s(])[-\u2212]({_NUM})\b"), _signed_number),
        (re.compile(_NUM), _number),
    ]


_RULES = _build_rules()
_SYMBOL_PATTERN = re.compile("|".join(re.escape(s) for s in _SYMBOLS))
_SPACES = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")


def normalize_english(text: str) -> str:
    """Rewrite English text so that every token is a word a synthesiser can pronounce."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = text.replace("%", " percent ")
    text = _SYMBOL_PATTERN.sub(lambda m: _SYMBOLS[m.group(0)], text)
    text = re.sub(r"(?<=\w)/(?=\w)", " ", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()
