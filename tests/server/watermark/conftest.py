"""Shared fixtures: a real speech clip (LibriSpeech, see tests/fixtures/speech/README.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.watermark import Keyring, embed

SPEECH = Path(__file__).resolve().parents[2] / "fixtures" / "speech" / "2414-128291-0004.flac"
PAYLOAD = bytes.fromhex("0123456789abcdef")


def counter_bytes(start: int) -> Callable[[int], bytes]:
    """A deterministic stand-in for ``secrets.token_bytes``."""
    return lambda n: bytes((start + i) % 256 for i in range(n))


@pytest.fixture(scope="session")
def speech() -> tuple[np.ndarray, int]:
    samples, rate = sf.read(SPEECH, dtype="float32")
    return samples, rate


@pytest.fixture(scope="session")
def keyring() -> Keyring:
    return Keyring.generate(random_bytes=counter_bytes(7))


@pytest.fixture(scope="session")
def marked(speech: tuple[np.ndarray, int], keyring: Keyring) -> np.ndarray:
    samples, rate = speech
    return embed(samples, rate, PAYLOAD, keyring)
