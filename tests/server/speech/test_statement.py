"""Consent statement text, one-time phrases and transcript matching."""

from __future__ import annotations

import random

import pytest

from server.errors import InvalidArgument
from server.speech.statement import (
    build_statement,
    check_statement,
    edit_distance,
    make_one_time_phrase,
    normalize_words,
    phrase_words,
    sound_key,
)

PHRASE = "lantern orchard velvet harbor"
STATEMENT = build_statement("Maria Lopez", "Acme Studios", PHRASE)


def test_word_list_is_large_distinct_and_plain() -> None:
    words = phrase_words()
    assert 250 <= len(words) <= 600
    assert len(set(words)) == len(words)
    assert all(word.isalpha() and word.islower() for word in words)
    for i, word in enumerate(words):
        for other in words[i + 1 :]:
            assert edit_distance(word, other, 2) >= 3, (word, other)
            assert edit_distance(sound_key(word), sound_key(other), 1) >= 2, (word, other)


def test_phrase_is_random_distinct_words_and_reproducible_with_a_seed() -> None:
    phrase = make_one_time_phrase(random.Random(5))
    assert phrase == make_one_time_phrase(random.Random(5))
    words = phrase.split()
    assert len(words) == 4 and len(set(words)) == 4
    assert set(words) <= set(phrase_words())
    assert len({make_one_time_phrase() for _ in range(20)}) == 20


def test_statement_names_person_tenant_consent_and_phrase() -> None:
    assert "Maria Lopez" in STATEMENT
    assert "Acme Studios" in STATEMENT
    assert "synthetic copy of my voice" in STATEMENT
    assert STATEMENT.endswith("lantern, orchard, velvet, harbor.")


@pytest.mark.parametrize("name", ["", "   ", "1234", "x" * 101, "Bad\x00Name"])
def test_statement_refuses_unreadable_names(name: str) -> None:
    with pytest.raises(InvalidArgument):
        build_statement(name, "Acme", PHRASE)


def test_normalisation_handles_case_punctuation_numbers_and_accents() -> None:
    assert normalize_words("My ONE-TIME phrase: Café, 42!") == [
        "my",
        "one",
        "time",
        "phrase",
        "cafe",
        "forty",
        "two",
    ]
    assert normalize_words("I've 7 & 100") == ["ive", "seven", "and", "one", "hundred"]


def test_exact_reading_matches() -> None:
    check = check_statement(STATEMENT, STATEMENT, PHRASE)
    assert check.matched and check.phrase_found
    assert check.word_recall == 1.0
    assert check.missing_phrase_words == ()


def test_typical_recognizer_slips_still_match() -> None:
    heard = (
        "My name is Maria Lopes. I agree that attack means two deals may use recordings of my "
        "voice to create a synthetic copy on my voice and to generate speech with it. "
        "My one-time phrase is Lanterns, orchard velvet harbour."
    )
    check = check_statement(heard, STATEMENT, PHRASE)
    assert check.matched, check
    assert 0.85 < check.word_recall < 1.0


def test_sound_alike_spellings_of_phrase_words_match() -> None:
    statement = build_statement("Ann Lee", "Contoso", "attic ceiling potato armor")
    heard = "My name is Ann Lee. I agree that Contoso may use recordings of my voice to create a "
    heard += "synthetic copy of my voice and to generate speech with it. My one time frame is "
    check = check_statement(
        heard + "Adic, sealing, potato, armour.", statement, "attic ceiling potato armor"
    )
    assert check.matched, check
    assert sound_key("ceiling") == "seiling"


def test_split_compound_words_match() -> None:
    statement = build_statement("Ann Lee", "Contoso", "seagull toothbrush cactus piano")
    heard = statement.replace("seagull", "sea gull").replace("toothbrush", "tooth brush")
    assert check_statement(heard, statement, "seagull toothbrush cactus piano").matched


def test_different_phrase_fails_even_with_the_rest_right() -> None:
    heard = STATEMENT.replace("lantern, orchard, velvet, harbor", "candle, meadow, violin, tiger")
    check = check_statement(heard, STATEMENT, PHRASE)
    assert not check.matched
    assert not check.phrase_found
    assert check.missing_phrase_words == ("lantern", "orchard", "velvet", "harbor")
    assert check.word_recall > 0.8


def test_one_wrong_phrase_word_fails() -> None:
    heard = STATEMENT.replace("velvet", "violet")
    check = check_statement(heard, STATEMENT, PHRASE)
    assert not check.matched
    assert check.missing_phrase_words == ("velvet",)


def test_phrase_alone_or_unrelated_speech_fails() -> None:
    alone = check_statement("Lantern, orchard, velvet, harbor.", STATEMENT, PHRASE)
    assert alone.phrase_found and not alone.matched
    assert alone.word_recall < 0.3
    unrelated = check_statement("The best amount is that which is at hand.", STATEMENT, PHRASE)
    assert not unrelated.matched and unrelated.word_recall < 0.3
    assert not check_statement("", STATEMENT, PHRASE).matched


def test_recall_threshold_is_the_callers() -> None:
    heard = STATEMENT.replace("may use recordings of", "")
    assert check_statement(heard, STATEMENT, PHRASE).matched
    assert not check_statement(heard, STATEMENT, PHRASE, min_word_recall=0.95).matched


def test_edit_distance() -> None:
    assert edit_distance("harbor", "harbour") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("abc", "abcdef", limit=1) == 2


def test_the_statement_says_what_each_purpose_allows() -> None:
    synthesis = build_statement("Ann Lee", "Contoso", PHRASE)
    assert "create a synthetic copy of my voice" in synthesis and "evaluate" not in synthesis
    evaluation = build_statement("Ann Lee", "Contoso", PHRASE, ["evaluation"])
    assert "evaluate how well speech technology works with my voice" in evaluation
    assert "synthetic copy" not in evaluation
    both = build_statement("Ann Lee", "Contoso", PHRASE, ["synthesis", "evaluation", "synthesis"])
    assert both.count("synthetic copy") == 1 and "and to evaluate" in both
    with pytest.raises(InvalidArgument, match="unknown consent purposes"):
        build_statement("Ann Lee", "Contoso", PHRASE, ["marketing"])
