"""Sentence and phrase splitting for chunked synthesis."""

from __future__ import annotations

from server.text import split_sentences


def test_english_sentences_split_at_terminators_but_not_abbreviations() -> None:
    text = 'Dr. Smith arrived. He said: "Hi!" Then J. R. left... Really? Yes.'
    assert split_sentences(text, "en") == [
        "Dr. Smith arrived.",
        'He said: "Hi!"',
        "Then J. R. left...",
        "Really?",
        "Yes.",
    ]


def test_paragraph_breaks_split_and_decimals_do_not() -> None:
    assert split_sentences("It is 3.5 m long\nNext line", "en") == ["It is 3.5 m long", "Next line"]


def test_mandarin_splits_at_full_width_punctuation() -> None:
    assert split_sentences("你好，世界。今天天气很好！你呢？", "cmn") == [
        "你好，世界。",
        "今天天气很好！",
        "你呢？",
    ]


def test_punctuation_only_pieces_are_dropped() -> None:
    assert split_sentences("Hello. ... !!", "en") == ["Hello."]


def test_long_sentences_are_split_into_phrases_under_the_limit() -> None:
    sentence = ", ".join(["the quick brown fox jumps over the lazy dog"] * 12) + "."
    chunks = split_sentences(sentence, "en", max_chars=100)
    assert len(chunks) > 1
    assert all(len(chunk) <= 100 for chunk in chunks)
    assert " ".join(chunks).replace(" ", "") == sentence.replace(" ", "")


def test_long_text_without_punctuation_still_splits() -> None:
    chunks = split_sentences("word " * 200, "en", max_chars=60)
    assert all(len(chunk) <= 60 for chunk in chunks)
    assert sum(len(chunk.split()) for chunk in chunks) == 200
