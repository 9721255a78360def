"""Shared fixtures: real speech clips and one enrolled embedded voice per test session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.engines import VoiceModel, create_engine
from server.engines.embedded.engine import EmbeddedEngine

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "speech"


def load_clip(name: str) -> tuple[np.ndarray, int]:
    """A fixture clip as (float32 samples, sample rate)."""
    samples, rate = sf.read(FIXTURES / name, dtype="float32")
    return samples, int(rate)


@pytest.fixture(scope="session")
def male_clip() -> tuple[np.ndarray, int]:
    return load_clip("2033-164914-0001.flac")


@pytest.fixture(scope="session")
def female_clip() -> tuple[np.ndarray, int]:
    return load_clip("1998-15444-0001.flac")


@pytest.fixture(scope="session")
def engine() -> EmbeddedEngine:
    built = create_engine("embedded")
    assert isinstance(built, EmbeddedEngine)
    return built


@pytest.fixture(scope="session")
def voice(engine: EmbeddedEngine, male_clip: tuple[np.ndarray, int]) -> VoiceModel:
    samples, rate = male_clip
    return engine.enroll(samples, rate)
