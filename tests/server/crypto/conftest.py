"""Deterministic randomness for crypto tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest


class CountingRandom:
    """Deterministic byte source: SHA-256 in counter mode over a seed (tests only)."""

    def __init__(self, seed: bytes = b"voxguard-tests") -> None:
        self._seed = seed
        self._counter = 0

    def __call__(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        return out[:n]


@pytest.fixture
def seeded_random() -> Callable[[int], bytes]:
    """A fresh deterministic random source per test."""
    return CountingRandom()
