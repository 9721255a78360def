"""Opaque identifiers and page tokens."""

from __future__ import annotations

import secrets

from server.errors import InvalidArgument

_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def new_id(prefix: str, *, length: int = 20) -> str:
    """A random id such as ``voice_k3p...`` (100 bits of entropy at the default length)."""
    return f"{prefix}_{''.join(secrets.choice(_ALPHABET) for _ in range(length))}"


def new_generation_id() -> str:
    """A random 64-bit generation id as 16 lowercase hex digits (the watermark payload)."""
    return secrets.token_hex(8)


def is_generation_id(value: str) -> bool:
    """True for 16 lowercase or uppercase hex digits."""
    if len(value) != 16:
        return False
    try:
        int(value, 16)
    except ValueError:
        return False
    return True


def clamp_page_size(page_size: int) -> int:
    """0 means 100; otherwise 1-1000."""
    if page_size == 0:
        return 100
    if not 1 <= page_size <= 1000:
        raise InvalidArgument("page_size must be between 1 and 1000 (0 means 100)",
                              field="page_size")
    return page_size
