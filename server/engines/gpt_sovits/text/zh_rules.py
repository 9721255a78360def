"""The ordered rewrite rules that verbalise one Mandarin clause (numbers, dates, units, symbols).

``normalize_clause`` applies them in a fixed order; the order is part of the behaviour (an
ASCII ``-`` between two numbers is read 减 because arithmetic runs before ranges, ``m`` and ``s``
become 米/秒 anywhere, even inside English words, because units run before everything else).
Every rule reproduces the reference normaliser's reading; the module docstring of ``zh_numbers``
describes the three number readings they use.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from server.engines.gpt_sovits.text.zh_numbers import (
    read_cardinal,
    read_digits,
    read_number,
)
from server.engines.gpt_sovits.text.zh_traditional import to_simplified

_Rule = Callable[[re.Match[str]], str]

# Full-width Latin letters and digits -> ASCII (the ideographic space is left alone).
_FULL_WIDTH = {
    code + 0xFEE0: code
    for code in [
        *range(ord("0"), ord("9") + 1),
        *range(ord("A"), ord("Z") + 1),
        *range(ord("a"), ord("z") + 1),
    ]
}

# A signed integer or decimal, or a bare ".5"; used by several rules.
_NUM = r"(?:-?\d+(?:\.\d+)?|\.\d+)"
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ"
_SUPERSCRIPT_VALUE = str.maketrans(_SUPERSCRIPTS, "0123456789xyn")

# --- dates and times --------------------------------------------------------------------
_DATE = re.compile(
    r"(?P<year>\d{4}|\d{2})年"
    r"(?:(?P<month>0?[1-9]|1[0-2])月)?"
    r"(?:(?P<day>0?[1-9]|[12][0-9]|30|31)(?P<suffix>[日号]))?"
)
_DATE_NUMERIC = re.compile(r"(\d{4})([- /.])(0[1-9]|1[012])\2(0[1-9]|[12][0-9]|3[01])")
_CLOCK = r"([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?"
_TIME = re.compile(_CLOCK)
_TIME_RANGE = re.compile(_CLOCK + "[~-]" + _CLOCK)


def _date(m: re.Match[str]) -> str:
    spoken = read_digits(m["year"]) + "年"
    if m["month"]:
        spoken += read_cardinal(m["month"]) + "月"
    if m["day"]:
        spoken += read_cardinal(m["day"]) + m["suffix"]
    return spoken


def _date_numeric(m: re.Match[str]) -> str:
    return f"{read_digits(m[1])}年{read_cardinal(m[3])}月{read_cardinal(m[4])}日"


def _clock_part(two_digits: str) -> str:
    """Minutes/seconds: a leading zero is read (05 -> 零五)."""
    spoken = read_number(two_digits.lstrip("0"))
    return "零" + spoken if two_digits.startswith("0") else spoken


def _clock(hour: str, minute: str, second: str | None, half_hour: bool) -> str:
    spoken = read_number(hour) + "点"
    if minute.lstrip("0"):
        spoken += "半" if half_hour else _clock_part(minute) + "分"
    if second and second.lstrip("0"):
        spoken += _clock_part(second) + "秒"
    return spoken


def _time(m: re.Match[str]) -> str:
    return _clock(m[1], m[2], m[3], m[2] == "30")


def _time_range(m: re.Match[str]) -> str:
    # The reference decides 半 for the end time from the *start* minute; kept as is.
    half = m[2] == "30"
    return _clock(m[1], m[2], m[3], half) + "至" + _clock(m[4], m[5], m[6], half)


# --- ranges, temperatures and units ----------------------------------------------------------
_UNIT_WORDS = r"%|°C|℃|度|摄氏度|cm2|cm²|cm3|cm³|cm|db|ds|kg|km|m2|m²|m³|m3|ml|m|mm|s"
_TILDE_RANGE = re.compile(f"{_NUM}(?:{_UNIT_WORDS})~{_NUM}(?:{_UNIT_WORDS})")
_TEMPERATURE = re.compile(r"(-?)(\d+(?:\.\d+)?)(°C|℃|度|摄氏度)")
# Applied in this order with plain substring replacement ("m" before "mm": 5mm -> 五米米).
_UNITS = (
    ("cm2", "平方厘米"),
    ("cm²", "平方厘米"),
    ("cm3", "立方厘米"),
    ("cm³", "立方厘米"),
    ("cm", "厘米"),
    ("db", "分贝"),
    ("ds", "毫秒"),
    ("kg", "千克"),
    ("km", "千米"),
    ("m2", "平方米"),
    ("m²", "平方米"),
    ("m³", "立方米"),
    ("m3", "立方米"),
    ("ml", "毫升"),
    ("m", "米"),
    ("mm", "毫米"),
    ("s", "秒"),
)


def _temperature(m: re.Match[str]) -> str:
    # Every unit, 摄氏度 included, is read 度: the reference looks for 摄氏度 in the wrong group.
    return ("零下" if m[1] else "") + read_number(m[2]) + "度"


def _units(clause: str) -> str:
    for symbol, spoken in _UNITS:
        clause = clause.replace(symbol, spoken)
    return clause


# --- arithmetic, powers, fractions, percentages --------------------------------------------
_OPERAND = (
    f"-?\\d+(?:\\.\\d+)?[{_SUPERSCRIPTS}]*|\\.\\d+[{_SUPERSCRIPTS}]*|[A-Za-z][{_SUPERSCRIPTS}]*"
)
_ARITHMETIC = re.compile(f"({_OPERAND})([-+×÷=])({_OPERAND})")
_OPERATORS = {"+": "加", "-": "减", "×": "乘", "÷": "除", "=": "等于"}
_POWER = re.compile(f"[{_SUPERSCRIPTS}]+")
_FRACTION = re.compile(r"(-?)(\d+)/(\d+)")
_PERCENT = re.compile(r"(-?)(\d+(?:\.\d+)?)%")


def _arithmetic(m: re.Match[str]) -> str:
    return m[1] + _OPERATORS[m[2]] + m[3]


def _power(m: re.Match[str]) -> str:
    return "的" + m[0].translate(_SUPERSCRIPT_VALUE) + "次方"


def _fraction(m: re.Match[str]) -> str:
    return ("负" if m[1] else "") + read_number(m[3]) + "分之" + read_number(m[2])


def _percent(m: re.Match[str]) -> str:
    return ("负" if m[1] else "") + "百分之" + read_number(m[2])


# --- phone numbers ---------------------------------------------------------------------------
_MOBILE = re.compile(r"(?<!\d)(?:\+?86 ?)?1(?:[38]\d|5[0-35-9]|7[678]|9[89])\d{8}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(?:0(?:10|2[1-3]|[3-9]\d{2})-?)?[1-9]\d{6,7}(?!\d)")
_SERVICE_NUMBER = re.compile(r"400-?\d{3}-?\d{4}")


def _mobile(m: re.Match[str]) -> str:
    return "，".join(read_digits(part, one_as_yao=True) for part in m[0].strip("+").split())


def _landline(m: re.Match[str]) -> str:
    return "，".join(read_digits(part, one_as_yao=True) for part in m[0].split("-"))


# --- plain numbers ---------------------------------------------------------------------------
_NO_OPERAND_BEFORE = r"(?<![\d+\-×÷=])"
_NO_OPERAND_AFTER = r"(?![\d+\-×÷=])"
_RANGE = re.compile(
    f"{_NO_OPERAND_BEFORE}(-?\\d+(?:\\.\\d+)?)[-~](-?\\d+(?:\\.\\d+)?){_NO_OPERAND_AFTER}"
)
_NEGATIVE = re.compile(r"-(\d+)")
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:\.\d+)+")
_DECIMAL = re.compile(r"(-?)(\d+\.\d+)|\.(\d+)")
_NUMBER = re.compile(r"(-?)(\d+(?:\.\d+)?)|\.(\d+)")
_DIGIT_STRING = re.compile(r"\d{3,}")

# Measure words after which a number is read as a count (二 becomes 两). Only whether one of
# them follows matters, not which: the text after the number is kept as written.
_MEASURE_CHARS = (
    "处台架枚趟幅平方堵间床株批项例列篇栋注亩封艘把目套段人所朵匹张座回场尾条个首阙阵网炮顶丘"
    "棵只支袭辆挑担颗壳窠曲墙群腔砣客贯扎捆刀令打手罗坡山岭江溪钟队单双对出口头脚板跳枝件贴针"
    "线管名位身堂课本页家户层丝毫厘分钱两斤铢石钧锱忽寸尺丈里寻常铺程米撮勺合升斗盘碗碟叠桶笼"
    "盆盒杯斛锅簋篮罐瓶壶卮盏箩箱煲啖袋钵年月日季刻时周天秒旬纪岁世更夜春夏秋冬代伏辈丸泡粒幢"
    "堆根道面片块元亿千万百吨角毛"
)
_MEASURE_WORDS = (
    "千克",
    "毫克",
    "微克",
    "公分",
    "千米",
    "分米",
    "厘米",
    "毫米",
    "微米",
    "小时",
    "美元",
    "十吨",
)
_COUNTED = re.compile(f"(\\d+)([多余几+])?(?:{'|'.join(_MEASURE_WORDS)}|[{_MEASURE_CHARS}])")


def _range(m: re.Match[str]) -> str:
    return _NUMBER.sub(_number, m[1]) + "到" + _NUMBER.sub(_number, m[2])


def _negative(m: re.Match[str]) -> str:
    return "负" + read_number(m[1])


def _version(m: re.Match[str]) -> str:
    return "".join("点" if c == "." else read_number(c) for c in m[0])


def _number(m: re.Match[str]) -> str:
    """Replacement for _DECIMAL and _NUMBER: (sign, number) or a bare fraction ".5"."""
    if m[3]:
        return read_number("." + m[3])
    return ("负" if m[1] else "") + read_number(m[2])


def _counted(m: re.Match[str]) -> str:
    spoken = read_number(m[1])
    if spoken == "二":
        spoken = "两"
    approx = "多" if m[2] == "+" else (m[2] or "")
    return spoken + approx + m[0][len(m[1]) + len(m[2] or "") :]


def _digit_string(m: re.Match[str]) -> str:
    return read_digits(m[0], one_as_yao=True)


# --- symbols ---------------------------------------------------------------------------------
_SYMBOL_WORDS = str.maketrans(
    {
        "/": "每",
        "①": "一",
        "②": "二",
        "③": "三",
        "④": "四",
        "⑤": "五",
        "⑥": "六",
        "⑦": "七",
        "⑧": "八",
        "⑨": "九",
        "⑩": "十",
        "α": "阿尔法",
        "β": "贝塔",
        "γ": "伽玛",
        "Γ": "伽玛",
        "δ": "德尔塔",
        "Δ": "德尔塔",
        "ε": "艾普西龙",
        "ζ": "捷塔",
        "η": "依塔",
        "θ": "西塔",
        "Θ": "西塔",
        "ι": "艾欧塔",
        "κ": "喀帕",
        "λ": "拉姆达",
        "Λ": "拉姆达",
        "μ": "缪",
        "ν": "拗",
        "ξ": "克西",
        "Ξ": "克西",
        "ο": "欧米克伦",
        "π": "派",
        "Π": "派",
        "ρ": "肉",
        "ς": "西格玛",
        "Σ": "西格玛",
        "σ": "西格玛",
        "τ": "套",
        "υ": "宇普西龙",
        "φ": "服艾",
        "Φ": "服艾",
        "χ": "器",
        "ψ": "普赛",
        "Ψ": "普赛",
        "ω": "欧米伽",
        "Ω": "欧米伽",
        "+": "加",
        "-": "减",
        "×": "乘",
        "÷": "除",
        "=": "等",
    }
)
_DROPPED_SYMBOLS = re.compile(r"[—《》【】<=>{}()（）#&@“”^_|\\]")


# --- the pipeline ------------------------------------------------------------------------------
_PATTERN_RULES: tuple[tuple[re.Pattern[str], _Rule], ...] = (
    (_DATE, _date),
    (_DATE_NUMERIC, _date_numeric),
    (_TIME_RANGE, _time_range),
    (_TIME, _time),
    (_TILDE_RANGE, lambda m: m[0].replace("~", "至")),
    (_TEMPERATURE, _temperature),
)
_NUMBER_RULES: tuple[tuple[re.Pattern[str], _Rule], ...] = (
    (_POWER, _power),
    (_FRACTION, _fraction),
    (_PERCENT, _percent),
    (_MOBILE, _mobile),
    (_LANDLINE, _landline),
    (_SERVICE_NUMBER, _landline),
    (_RANGE, _range),
    (_NEGATIVE, _negative),
    (_VERSION, _version),
    (_DECIMAL, _number),
    (_COUNTED, _counted),
    (_DIGIT_STRING, _digit_string),
    (_NUMBER, _number),
)


def normalize_clause(clause: str) -> str:
    """Verbalise the numbers and symbols of one clause (punctuation is mapped later)."""
    clause = to_simplified(clause).translate(_FULL_WIDTH)
    for pattern, rule in _PATTERN_RULES:
        clause = pattern.sub(rule, clause)
    clause = _units(clause)
    # Chains such as 1+2=3 need several passes: a match consumes its right operand.
    while _ARITHMETIC.search(clause):
        clause = _ARITHMETIC.sub(_arithmetic, clause)
    for pattern, rule in _NUMBER_RULES:
        clause = pattern.sub(rule, clause)
    return _DROPPED_SYMBOLS.sub("", clause.translate(_SYMBOL_WORDS))


__all__ = ["normalize_clause"]
