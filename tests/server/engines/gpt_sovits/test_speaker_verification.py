"""Tests for ERes2NetV2 and the speaker-verification wrapper of the Pro variants.

The frozen values in ``eres2netv2_frozen.npz`` were produced by the official ERes2NetV2 class
(``forward3`` and ``forward``) loaded with the seeded weights of :func:`seeded_state`, on the
seeded features of :func:`seeded_features`; ``eres2netv2_state_shapes.json`` lists the official
full-size state-dict keys and shapes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from server.engines.gpt_sovits.eres2net import ERes2NetV2
from server.engines.gpt_sovits.speaker_verification import (
    SV_EMBEDDING_DIM,
    Eres2NetEncoder,
    sv_input_from_reference,
)
from server.errors import FailedPrecondition

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gpt_sovits"
FROZEN = np.load(FIXTURES / "eres2netv2_frozen.npz")


def seeded_state(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    """Deterministic weights by name (legacy RandomState streams are stable across numpy)."""
    rs = np.random.RandomState(seed)
    out: dict[str, torch.Tensor] = {}
    for name in sorted(shapes):
        shape = tuple(shapes[name])
        if name.endswith("num_batches_tracked"):
            out[name] = torch.tensor(0)
            continue
        if name.endswith("running_mean"):
            v = 0.1 * rs.standard_normal(shape)
        elif name.endswith("running_var"):
            v = 0.5 + rs.random_sample(shape)
        elif len(shape) == 1 and name.endswith("weight"):
            v = 1.0 + 0.1 * rs.standard_normal(shape)
        elif name.endswith("bias"):
            v = 0.05 * rs.standard_normal(shape)
        else:
            # Variance 0.5 / fan_in keeps the deep random network well conditioned: thread
            # count and kernel choice then move the output by ~1e-7 of its peak, not chaos.
            v = rs.standard_normal(shape) * math.sqrt(0.5 / int(np.prod(shape[1:])))
        out[name] = torch.from_numpy(np.asarray(v, dtype=np.float32))
    return out


def seeded_features(seed: int, frames: int) -> torch.Tensor:
    """Fbank-like ``(1, frames, 80)`` input."""
    x = np.random.RandomState(seed).standard_normal((1, frames, 80)).astype(np.float32)
    return torch.from_numpy(x * 3.0 - 8.0)


def shapes_of(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def full_size_shapes() -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):  # shapes only; skips initialising 53.6 M weights
        return shapes_of(ERes2NetV2())


def assert_close_to(got: torch.Tensor, expected: np.ndarray) -> None:
    """Equal up to float32 kernel differences (~1e-6 of the largest value)."""
    assert tuple(got.shape) == expected.shape
    atol = 1e-5 * float(np.abs(expected).max())
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=atol)


@pytest.fixture(scope="module", autouse=True)
def _single_thread() -> Iterator[None]:
    """One intra-op thread: many small convs spend more time in thread barriers than work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def full_state() -> dict[str, torch.Tensor]:
    return seeded_state(full_size_shapes(), int(FROZEN["full_seed"]))


@pytest.fixture(scope="module")
def full_encoder(full_state: dict[str, torch.Tensor]) -> Eres2NetEncoder:
    return Eres2NetEncoder.from_state_dict(full_state)


def test_full_size_state_dict_matches_official_layout() -> None:
    official = json.loads((FIXTURES / "eres2netv2_state_shapes.json").read_text())
    ours = full_size_shapes()
    assert set(ours) == set(official["keys"])
    assert all(ours[k] == tuple(official["shapes"][k]) for k in ours)
    n_float = sum(math.prod(s) for k, s in ours.items() if not k.endswith("num_batches_tracked"))
    assert n_float == 53_588_064


def test_small_network_matches_official_frozen_values() -> None:
    model = ERes2NetV2(m_channels=8)
    model.load_state_dict(seeded_state(shapes_of(model), int(FROZEN["small_seed"])), strict=True)
    model.eval()
    feats = seeded_features(int(FROZEN["small_seed"]) + 1, int(FROZEN["small_frames"]))
    with torch.inference_mode():
        emb = model(feats)
        again = model(feats)
        proj = model.projected_embedding(feats)
    assert emb.shape == (1, 8 * 8 * 4 * 10)
    assert torch.equal(emb, again)  # deterministic
    assert_close_to(emb, FROZEN["small_emb"])
    assert_close_to(proj, FROZEN["small_proj"])


def test_full_network_matches_official_frozen_values(full_encoder: Eres2NetEncoder) -> None:
    feats = seeded_features(int(FROZEN["full_seed"]) + 1, int(FROZEN["full_frames"]))
    with torch.inference_mode():
        emb = full_encoder.model(feats)
    assert emb.shape == (1, SV_EMBEDDING_DIM)
    assert_close_to(emb, FROZEN["full_emb"])


def test_load_round_trip_is_strict_and_exact(
    tmp_path: Path, full_state: dict[str, torch.Tensor], full_encoder: Eres2NetEncoder
) -> None:
    path = tmp_path / "pretrained_eres2netv2w24s4ep4.ckpt"
    torch.save(full_state, path)
    loaded = Eres2NetEncoder.load(path)
    assert not loaded.model.training
    assert all(not p.requires_grad for p in loaded.model.parameters())
    saved = loaded.model.state_dict()
    assert all(torch.equal(saved[k], full_state[k]) for k in full_state)

    wav = 0.1 * torch.randn(1, 1600, generator=torch.Generator().manual_seed(3))  # 8 frames
    emb = loaded(wav)
    assert emb.shape == (1, SV_EMBEDDING_DIM) and emb.dtype == torch.float32
    assert torch.equal(emb, full_encoder(wav))


def test_load_rejects_mismatched_or_missing_checkpoints(
    tmp_path: Path, full_state: dict[str, torch.Tensor]
) -> None:
    with pytest.raises(FailedPrecondition):
        Eres2NetEncoder.load(tmp_path / "absent.ckpt")
    extra = dict(full_state)
    extra["unexpected.weight"] = torch.zeros(1)
    with pytest.raises(FailedPrecondition, match="unexpected"):
        Eres2NetEncoder.from_state_dict(extra)
    missing = {k: v for k, v in full_state.items() if k != "seg_1.bias"}
    with pytest.raises(FailedPrecondition, match="missing"):
        Eres2NetEncoder.from_state_dict(missing)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(FailedPrecondition):
        Eres2NetEncoder.load(garbage)


def test_reference_chain_feeds_the_encoder() -> None:
    t = torch.arange(8000) / 16000
    wav = 0.4 * torch.sin(2 * torch.pi * 220 * t)
    sv_input = sv_input_from_reference(wav, 16000)
    assert sv_input.shape == (1, 8000)
    # 16k -> 32k -> 16k is close to, but not exactly, the identity.
    assert 0 < (sv_input[0, 200:-200] - wav[200:-200]).abs().max() < 1e-2

    small = ERes2NetV2(m_channels=8)  # the wiring is the same at any size
    encoder = Eres2NetEncoder(small, torch.device("cpu"))
    assert not encoder.model.training
    assert encoder.features(sv_input).shape == (1, 48, 80)
    emb = encoder.embed_reference(wav, 16000)
    assert emb.shape == (1, small.embedding_dim)
    assert torch.equal(emb, encoder(sv_input))
    stereo = torch.stack([wav, wav])  # channels are averaged first
    assert torch.equal(encoder.embed_reference(stereo, 16000), emb)
