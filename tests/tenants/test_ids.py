"""Opaque ids, generation ids and page tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.errors import InvalidArgument
from tenants.ids import (
    clamp_page_size,
    decode_page_token,
    encode_page_token,
    is_generation_id,
    new_generation_id,
    new_id,
)


def test_ids_are_prefixed_and_random() -> None:
    ids = {new_id("voice") for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("voice_") and len(i) == 26 for i in ids)


def test_generation_ids_are_16_hex_digits() -> None:
    value = new_generation_id()
    assert is_generation_id(value) and len(bytes.fromhex(value)) == 8
    assert not is_generation_id("xyz") and not is_generation_id("0123456789abcdeg")


def test_page_tokens_round_trip_and_reject_garbage() -> None:
    moment = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    assert decode_page_token(encode_page_token(moment, "voice_a")) == (moment, "voice_a")
    for bad in ("%%%", "bm90IGpzb24", ""):
        with pytest.raises(InvalidArgument):
            decode_page_token(bad)


def test_page_size_bounds() -> None:
    assert clamp_page_size(0) == 100 and clamp_page_size(1000) == 1000
    for bad in (-1, 1001):
        with pytest.raises(InvalidArgument):
            clamp_page_size(bad)
