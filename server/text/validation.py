"""Refusal of text that cannot be synthesised (empty, unspeakable, too long)."""

from __future__ import annotations

import unicodedata

from server.errors import InvalidArgument

DEFAULT_MAX_TEXT_CHARS = 5_000


def validate_text(text: str, max_chars: int = DEFAULT_MAX_TEXT_CHARS, *, field: str = "text") -> str:
    """Return ``text`` stripped, or raise :class:`InvalidArgument` saying what to change.

    Refused: non-strings, empty or whitespace-only text, text longer than ``max_chars``
    and text with no letter or digit to pronounce (only punctuation, symbols or emoji).
    Control characters other than line breaks and tabs are replaced by spaces.
    """
    if not isinstance(text, str):
        raise InvalidArgument("text must be a string", field=field)
    cleaned = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Cf"} and ch not in "\n\t" else ch for ch in text
    ).strip()
    if not cleaned:
        raise InvalidArgument("text is empty; send at least one word to synthesise", field=field)
    if len(cleaned) > max_chars:
        raise InvalidArgument(
            f"text has {len(cleaned)} characters; at most {max_chars} are allowed per request, "
            "split it into several requests",
            field=field, details={"length": len(cleaned), "max_chars": max_chars},
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidArgument(
            "text has nothing to pronounce (only punctuation, symbols or emoji); "
            "send words or numbers",
            field=field,
        )
    return cleaned
