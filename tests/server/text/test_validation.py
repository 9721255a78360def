"""Refusal of empty, unspeakable or oversized text and of bad language tags."""

from __future__ import annotations

import pytest

from server.errors import InvalidArgument
from server.text import base_language, resolve_language, validate_text


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument, match="empty"):
        validate_text(text)


@pytest.mark.parametrize("text", ["!!!", "... ?", "\U0001F600\U0001F389", "--- ***"])
def test_unspeakable_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidArgument, match="nothing to pronounce"):
        validate_text(text)


def test_too_long_text_is_refused_with_the_limit() -> None:
    with pytest.raises(InvalidArgument, match="at most 10 are allowed") as info:
        validate_text("a" * 11, max_chars=10)
    assert info.value.details == {"length": 11, "max_chars": 10, "field": "text"}


def test_control_characters_become_spaces() -> None:
    assert validate_text(" Hi\x00there\x07 ") == "Hi there"


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        validate_text(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tag", "code"),
    [("en", "en"), ("en-US", "en"), ("EN_gb", "en"), ("zh-CN", "cmn"), ("cmn", "cmn"), ("zh", "cmn"), ("fr-FR", "fr")],
)
def test_language_tags_map_to_base_codes(tag: str, code: str) -> None:
    assert base_language(tag) == code


@pytest.mark.parametrize("tag", ["", "  ", "en US!", "e/n"])
def test_malformed_language_tags_are_refused(tag: str) -> None:
    with pytest.raises(InvalidArgument, match="language"):
        base_language(tag)


SPOKEN = frozenset({"en", "en-us", "cmn", "fr"})


@pytest.mark.parametrize(
    ("tag", "resolved"),
    [("en", "en"), ("EN-us", "en-us"), ("en-GB", "en"), ("zh-CN", "cmn"), ("zh", "cmn"), ("Mandarin", "cmn"),
     ("fr_FR", "fr")],
)
def test_requested_languages_resolve_to_what_the_engine_speaks(tag: str, resolved: str) -> None:
    assert resolve_language(tag, SPOKEN) == resolved


@pytest.mark.parametrize("tag", ["de", "klingon", "", "e/n"])
def test_languages_the_engine_cannot_speak_are_refused(tag: str) -> None:
    with pytest.raises(InvalidArgument, match="language"):
        resolve_language(tag, SPOKEN)
