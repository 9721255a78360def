"""Language tags accepted by the text front end and their canonical base codes."""

from __future__ import annotations

from server.errors import InvalidArgument

# Aliases a caller may send, mapped to the base code the front end and engines use.
_ALIASES = {
    "zh": "cmn",
    "zh-cn": "cmn",
    "zh-hans": "cmn",
    "zh-sg": "cmn",
    "cmn-hans": "cmn",
    "cmn-cn": "cmn",
    "mandarin": "cmn",
    "chinese": "cmn",
    "english": "en",
}


def base_language(language: str, *, field: str = "language") -> str:
    """Canonical base code of a BCP-47-like tag: ``"en-US"`` -> ``"en"``, ``"zh-CN"`` -> ``"cmn"``.

    Raises :class:`InvalidArgument` for an empty or malformed tag.
    """
    tag = (language or "").strip().lower().replace("_", "-")
    if not tag or not all(part.isalnum() for part in tag.split("-")):
        raise InvalidArgument(
            f"language {language!r} is not a language tag; send one such as 'en', 'en-US' or 'cmn'",
            field=field,
        )
    if tag in _ALIASES:
        return _ALIASES[tag]
    head = tag.split("-")[0]
    return _ALIASES.get(head, head)


def resolve_language(language: str, supported: frozenset[str], *, field: str = "language") -> str:
    """The tag a request will be spoken in: ``language`` itself if the engine has it, else its base code.

    ``"fr"`` and ``"en-us"`` stay as they are; ``"zh-CN"``, ``"zh"`` and ``"Mandarin"`` become
    ``"cmn"``. Raises :class:`InvalidArgument` for a malformed tag or one the engine cannot speak.
    """
    tag = (language or "").strip().lower().replace("_", "-")
    code = base_language(tag, field=field)
    for candidate in (tag, code):
        if candidate in supported:
            return candidate
    raise InvalidArgument(
        f"language {language!r} is not supported; use one of {', '.join(sorted(supported))}",
        field=field,
    )


def is_cjk(char: str) -> bool:
    """True for a CJK ideograph or CJK punctuation/full-width form."""
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0xF900 <= code <= 0xFAFF
        or 0x3000 <= code <= 0x303F
        or 0xFF00 <= code <= 0xFFEF
    )
