"""Every attack family of the robustness benchmark, on one real clip (reduced size)."""

from __future__ import annotations

import numpy as np
import pytest

from server.watermark import Keyring, detect
from server.watermark import attacks as A
from tests.server.watermark.conftest import PAYLOAD

SURVIVED = [
    ("mp3_64k", A.mp3(64_000)),
    ("mp3_32k", A.mp3(32_000)),
    ("aac_64k", A.aac(64_000)),
    ("opus_32k", A.opus(32_000)),
    ("resample_8k", A.resample_round_trip(8_000)),
    ("lowpass_3400", A.low_pass(3_400.0)),
    ("highpass_500", A.high_pass(500.0)),
    ("mulaw_8k_telephone", A.mu_law_telephone),
    ("gain_0.25", A.gain(0.25)),
    ("gain_4_clipped", A.gain(4.0)),
    ("window_5s", A.crop(5.0)),
]


@pytest.mark.parametrize(("name", "attack"), SURVIVED, ids=[name for name, _ in SURVIVED])
def test_payload_survives(name: str, attack: A.Attack, marked: np.ndarray, speech: tuple[np.ndarray, int], keyring: Keyring) -> None:
    _, rate = speech
    attacked, attacked_rate = attack(marked, rate, np.random.default_rng(1))
    found = detect(attacked, attacked_rate, keyring)
    assert found.detected, name
    assert found.payload == PAYLOAD


@pytest.mark.parametrize(
    "attack",
    [A.white_noise(20.0), A.replay_speed(1.05), A.time_stretch(1.05), A.pitch_shift(1.0), A.reverb(0.3), A.opus(16_000)],
    ids=["noise_20db", "speed_1.05", "time_stretch_1.05", "pitch_shift_1", "reverb_0.3s", "opus_16k"],
)
def test_harder_attacks_never_give_a_wrong_id(attack: A.Attack, marked: np.ndarray, speech: tuple[np.ndarray, int], keyring: Keyring) -> None:
    _, rate = speech
    attacked, attacked_rate = attack(marked, rate, np.random.default_rng(2))
    assert attacked.size > 0 and np.isfinite(attacked).all()
    found = detect(attacked, attacked_rate, keyring)
    assert found.payload in (None, PAYLOAD)
