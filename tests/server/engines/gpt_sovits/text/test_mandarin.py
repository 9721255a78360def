"""Mandarin G2P: parity with the reference front end, pinyin table, tone sandhi and erhua."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server.engines.gpt_sovits.text.mandarin import clean_mandarin, mandarin_to_phones
from server.engines.gpt_sovits.text.pinyin_table import all_syllables, syllable_to_phones
from server.engines.gpt_sovits.text.tone_sandhi import apply_sandhi, pre_merge
from server.errors import FailedPrecondition, InvalidArgument

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits"
# Recorded from the official clean_text(text, "zh", "v2") with G2PW off: hand-written
# sentences (numbers, dates, sandhi, erhua, polyphones, punctuation, silence markers) and
# random strings of jieba dictionary words.
CASES: list[dict[str, Any]] = json.loads(
    (FIXTURES / "mandarin_g2p_cases.json").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_matches_reference_front_end(case: dict[str, Any]) -> None:
    if case.get("error"):
        with pytest.raises(InvalidArgument):
            clean_mandarin(case["text"])
        return
    result = clean_mandarin(case["text"])
    assert result.norm_text == case["norm_text"]
    assert " ".join(result.phones) == case["phones"]
    assert result.word2ph == case["word2ph"]


def test_word2ph_counts_phones_per_character() -> None:
    phones, word2ph = mandarin_to_phones("一个小鸟儿,不要担心.")
    assert len(word2ph) == len("一个小鸟儿,不要担心.")
    assert sum(word2ph) == len(phones)
    assert phones[:4] == ["y", "i2", "g", "e5"]  # 一 before a 4th tone; 个 after a numeral
    assert phones[-1] == "." and word2ph[-1] == 1


def test_silence_markers_turn_commas_into_silence_phones() -> None:
    result = clean_mandarin("你好￥世界，再见。")
    assert result.norm_text == "你好,世界,再见."
    assert result.phones.count("SP2") == 2 and "," not in result.phones


def test_g2p_modes() -> None:
    with pytest.raises(FailedPrecondition):
        mandarin_to_phones("你好", g2p="g2pw")
    with pytest.raises(InvalidArgument):
        mandarin_to_phones("你好", g2p="espeak")


def test_empty_text() -> None:
    assert mandarin_to_phones("") == ([], [])


def test_pinyin_table_rules() -> None:
    table = all_syllables()
    assert len(table) == 429
    expected = {
        "zhi": ("zh", "ir"),
        "ri": ("r", "ir"),
        "ci": ("c", "i0"),
        "ji": ("j", "i"),
        "yan": ("y", "En"),
        "ye": ("y", "E"),
        "yu": ("y", "v"),
        "yuan": ("y", "van"),
        "yvn": ("y", "vn"),
        "ju": ("j", "v"),
        "xue": ("x", "ve"),
        "lve": ("l", "ve"),
        "a": ("AA", "a"),
        "ou": ("OO", "ou"),
        "er": ("EE", "er"),
        "eng": ("EE", "eng"),
        "wu": ("w", "u"),
        "gui": ("g", "ui"),
        "niu": ("n", "iu"),
        "lun": ("l", "un"),
    }
    for syllable, phones in expected.items():
        assert syllable_to_phones(syllable) == phones, syllable
    for invalid in ("lue", "bu1", "ê", "zhiu", "", "fo"[::-1]):
        assert syllable_to_phones(invalid) is None, invalid
    finals = {final for _, final in table.values()}
    assert {"i0", "ir", "E", "En", "v", "ve", "van", "vn"} <= finals


@pytest.mark.parametrize(
    ("word", "pos", "finals", "expected"),
    [
        ("不怕", "d", ["u4", "a4"], ["u2", "a4"]),
        ("看不懂", "v", ["an4", "u4", "ong3"], ["an4", "u5", "ong3"]),
        ("一天", "m", ["i1", "ian1"], ["i4", "ian1"]),
        ("一段", "m", ["i1", "uan4"], ["i2", "uan4"]),
        ("看一看", "v", ["an4", "i1", "an4"], ["an4", "i5", "an4"]),
        ("第一", "m", ["i4", "i1"], ["i4", "i1"]),
        ("一零一", "m", ["i1", "ing2", "i1"], ["i1", "ing2", "i1"]),
        ("奶奶", "n", ["ai3", "ai3"], ["ai3", "ai5"]),
        ("走了", "ul", ["ou3", "e5"], ["ou3", "e5"]),
        ("桌子", "n", ["uo1", "i3"], ["uo1", "i5"]),
        ("你好", "l", ["i3", "ao3"], ["i2", "ao3"]),
        ("东西", "n", ["ong1", "i1"], ["ong1", "i5"]),
    ],
)
def test_tone_sandhi(word: str, pos: str, finals: list[str], expected: list[str]) -> None:
    before = list(finals)
    assert apply_sandhi(word, pos, finals) == expected
    assert finals == before  # the input list is not modified


def test_pre_merge_regroups_words() -> None:
    assert pre_merge([("听", "v"), ("一", "m"), ("听", "v")]) == [("听一听", "v")]
    assert pre_merge([("不", "d"), ("去", "v")]) == [("不去", "v")]
    assert pre_merge([("我", "r"), ("不", "d")]) == [("我", "r"), ("不", "d")]
    assert pre_merge([("走", "v"), ("走", "v")]) == [("走走", "v")]
    assert pre_merge([("花", "n"), ("儿", "n")]) == [("花儿", "n")]
