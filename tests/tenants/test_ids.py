"""Opaque ids, generation ids and page tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.errors import InvalidArgument
from tenants.ids import clamp_page_size, is_generation_id, new_generation_id, new_id
from tenants.pagination import PageTokens


def test_ids_are_prefixed_and_random() -> None:
    ids = {new_id("voice") for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("voice_") and len(i) == 26 for i in ids)


def test_generation_ids_are_16_hex_digits() -> None:
    value = new_generation_id()
    assert is_generation_id(value) and len(bytes.fromhex(value)) == 8
    assert not is_generation_id("xyz") and not is_generation_id("0123456789abcdeg")


def test_page_tokens_round_trip_and_reject_garbage() -> None:
    import base64
    import json

    tokens = PageTokens(b"k" * 32)
    moment = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    token = tokens.encode("voices", moment, "voice_a")
    assert tokens.decode("voices", token) == (moment, "voice_a")
    # forged cursors that once overflowed or crashed the server (naive dates, years 1/9999)
    forged = [base64.urlsafe_b64encode(json.dumps(c).encode()).decode().rstrip("=")
              for c in (["0001-01-01T00:00:00+14:00", "x"], ["9999-12-31T23:59:59-14:00", "x"],
                        ["2026-01-01T00:00:00", "x"], "not a list")]
    cursor, _, tag = token.partition(".")
    candidates = ["%%%", "bm90IGpzb24", "", ".", token + "x", f"{cursor}.", f"{forged[0]}.{tag}",
                  *forged, *(f"{f}.{tag}" for f in forged)]
    for bad in candidates:
        with pytest.raises(InvalidArgument, match="page_token is not valid"):
            tokens.decode("voices", bad)
    with pytest.raises(InvalidArgument):  # a token of one listing is not valid for another
        tokens.decode("consents", token)
    with pytest.raises(InvalidArgument):  # nor under another server secret
        PageTokens(b"j" * 32).decode("voices", token)


def test_page_size_bounds() -> None:
    assert clamp_page_size(0) == 100 and clamp_page_size(1000) == 1000
    for bad in (-1, 1001):
        with pytest.raises(InvalidArgument):
            clamp_page_size(bad)
