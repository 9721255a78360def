"""Shared fixtures for the speech tests: the real LibriSpeech clips in tests/fixtures/speech."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.audio import Audio, decode_audio

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "speech"


def load_fixture(name: str) -> Audio:
    """Decode one fixture file through the same path client uploads take."""
    return decode_audio((FIXTURES / name).read_bytes())


@pytest.fixture(scope="session")
def enrollment_audio() -> Audio:
    """About 26 s of speaker 1998 (three utterances)."""
    return load_fixture("enrollment_1998.flac")


@pytest.fixture(scope="session")
def consent_audio() -> Audio:
    """A different utterance of speaker 1998 (3.2 s)."""
    return load_fixture("consent_1998.flac")


@pytest.fixture(scope="session")
def impostor_audio() -> Audio:
    """An utterance of another speaker, 2414 (3.5 s)."""
    return load_fixture("impostor_2414.flac")
