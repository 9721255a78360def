"""SoVITS decoder: loading (weight-norm folding, strictness), shapes, noise and speed handling,
batch splitting, relative attention and codebook encoding, on small random models.

Parity with the official implementation is covered by the oracle fixtures (test_parity);
these tests pin the behaviour that must hold for any weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from server.engines.gpt_sovits.sovits import SovitsConfig, SovitsModel
from server.engines.gpt_sovits.sovits.attention import RelativeSelfAttention
from server.engines.weight_norm import fold_weight_norm
from server.errors import FailedPrecondition, InvalidArgument

SAMPLES_PER_TOKEN = 1280


def _hps(gin: int) -> dict[str, Any]:
    return {
        "model": {
            "inter_channels": 8, "hidden_channels": 16, "filter_channels": 24, "n_heads": 2,
            "n_layers": 2, "kernel_size": 3, "p_dropout": 0.1, "resblock": "1",
            "resblock_kernel_sizes": [3, 5], "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
            "upsample_rates": [10, 8, 2, 2, 2], "upsample_initial_channel": 32,
            "upsample_kernel_sizes": [16, 16, 8, 2, 2], "n_layers_q": 3,
            "use_spectral_norm": False, "gin_channels": gin, "semantic_frame_rate": "25hz",
            "freeze_quantizer": True,
        },
        "data": {"filter_length": 2048, "hop_length": 640, "sampling_rate": 32000},
        "train": {"segment_size": 20480},
    }


@dataclass
class _Checkpoint:
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    version: str
    path: Any = field(default=None)


def _weight_normed(key: str) -> bool:
    """The layers the released files store as weight_g / weight_v."""
    if not key.endswith(".weight"):
        return False
    return key.startswith(("dec.ups.", "dec.resblocks.")) or (
        key.startswith("flow.") and any(p in key for p in ("in_layers", "res_skip", "cond_layer"))
    )


def _official_state(version: str, seed: int) -> dict[str, torch.Tensor]:
    """A random state dict in the released layout (fp16-rounded, weight norm unfolded)."""
    gen = torch.Generator().manual_seed(seed)
    gin = 512 if version == "v2" else 64
    shapes = SovitsModel(_config(version, gin)).state_dict()
    state: dict[str, torch.Tensor] = {}
    for key, ref in shapes.items():
        fan_in = max(1, ref[0].numel()) if ref.dim() > 1 else 1
        value = torch.randn(ref.shape, generator=gen) / math.sqrt(fan_in)
        if key.endswith("gamma"):
            value = 1 + 0.1 * value
        if _weight_normed(key):
            norm = value.flatten(1).norm(dim=1).view(-1, *([1] * (value.dim() - 1)))
            gain = norm * (0.8 + 0.4 * torch.rand(norm.shape, generator=gen))
            state[key[: -len("weight")] + "weight_g"] = gain.half().float()
            state[key[: -len("weight")] + "weight_v"] = value.half().float()
        else:
            state[key] = value.half().float()
    for buffer in ("inited", "cluster_size", "embed_avg"):
        state[f"quantizer.vq.layers.0._codebook.{buffer}"] = torch.ones(1)
    return state


def _config(version: str, gin: int) -> SovitsConfig:
    return SovitsConfig.from_hps(_hps(gin), version)


def _model(version: str = "v2", seed: int = 0) -> SovitsModel:
    gin = 512 if version == "v2" else 64
    return SovitsModel.from_checkpoint(
        _Checkpoint(config=_hps(gin), state_dict=_official_state(version, seed), version=version)
    )


@pytest.fixture(scope="module")
def v2() -> SovitsModel:
    return _model("v2")


@pytest.fixture(scope="module")
def pro() -> SovitsModel:
    return _model("v2Pro", seed=1)


def _inputs(n_codes: int = 6, n_phones: int = 9, seed: int = 0) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 1024, (1, 1, n_codes), generator=gen)
    phones = torch.randint(0, 732, (1, n_phones), generator=gen)
    spec = torch.rand(1, 1025, 37, generator=gen) * 3
    return codes, phones, spec


# -- loading ------------------------------------------------------------------------------


def test_loading_folds_weight_norm_and_reports_training_only_keys() -> None:
    state = _official_state("v2", 3)
    state["enc_q.pre.weight"] = torch.zeros(2, 2, 1)
    model = SovitsModel.from_checkpoint(_Checkpoint(_hps(512), state, "v2"))
    assert model.ignored_keys == [
        "enc_q.pre.weight", "quantizer.vq.layers.0._codebook.cluster_size",
        "quantizer.vq.layers.0._codebook.embed_avg", "quantizer.vq.layers.0._codebook.inited",
    ]
    folded = fold_weight_norm(state["dec.ups.1.weight_g"], state["dec.ups.1.weight_v"])
    assert torch.equal(model.dec.ups[1].weight, folded)
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.training


@pytest.mark.parametrize("change", ["missing", "unexpected", "shape", "half_pair"])
def test_loading_is_strict(change: str) -> None:
    state = _official_state("v2", 4)
    if change == "missing":
        del state["enc_p.proj.bias"]
    elif change == "unexpected":
        state["enc_p.extra.weight"] = torch.zeros(1)
    elif change == "shape":
        state["enc_p.proj.bias"] = torch.zeros(3)
    else:
        del state["dec.ups.0.weight_v"]
    with pytest.raises(FailedPrecondition):
        SovitsModel.from_checkpoint(_Checkpoint(_hps(512), state, "v2"))


def test_unsupported_versions_and_configs_are_refused() -> None:
    state = _official_state("v2", 5)
    with pytest.raises(FailedPrecondition):
        SovitsModel.from_checkpoint(_Checkpoint(_hps(512), state, "v3"))
    with pytest.raises(FailedPrecondition):
        SovitsModel(_config("v2", 64))  # v2 feeds ge straight into the 512-wide MRTE
    broken = _hps(512)
    del broken["model"]["upsample_rates"]
    with pytest.raises(FailedPrecondition):
        SovitsModel.from_checkpoint(_Checkpoint(broken, state, "v2"))


@pytest.mark.parametrize("transposed", [False, True])
def test_folded_weight_norm_equals_the_parametrized_layer(transposed: bool) -> None:
    torch.manual_seed(0)
    layer: nn.Module = (
        nn.ConvTranspose1d(6, 4, 8, 4, padding=2) if transposed else nn.Conv1d(6, 4, 5, padding=2)
    )
    normed = weight_norm(layer, dim=0)
    with torch.no_grad():
        normed.parametrizations.weight.original0.mul_(torch.rand(6 if transposed else 4, 1, 1))
    g = normed.parametrizations.weight.original0.detach()
    v = normed.parametrizations.weight.original1.detach()
    plain = (
        nn.ConvTranspose1d(6, 4, 8, 4, padding=2) if transposed else nn.Conv1d(6, 4, 5, padding=2)
    )
    with torch.no_grad():
        plain.weight.copy_(fold_weight_norm(g, v))
        plain.bias.copy_(normed.bias)
    x = torch.randn(1, 6, 21)
    with torch.no_grad():
        assert torch.equal(plain(x), normed(x))


# -- decoding -----------------------------------------------------------------------------


def test_decode_shape_range_and_determinism(v2: SovitsModel) -> None:
    codes, phones, spec = _inputs()
    noise = torch.randn(1, 8, 12, generator=torch.Generator().manual_seed(7))
    audio = v2.decode(codes, phones, [spec], noise=noise)
    assert audio.shape == (1, 1, 6 * SAMPLES_PER_TOKEN)
    assert audio.dtype == torch.float32 and float(audio.abs().max()) <= 1
    assert torch.equal(audio, v2.decode(codes, phones, [spec], noise=noise))
    drawn = [
        v2.decode(codes, phones, [spec], generator=torch.Generator().manual_seed(11))
        for _ in range(2)
    ]
    assert torch.equal(drawn[0], drawn[1])
    assert not torch.equal(drawn[0], audio)


def test_noise_scale_scales_the_injected_noise(v2: SovitsModel) -> None:
    codes, phones, spec = _inputs()
    noise = torch.randn(1, 8, 12)
    silent = v2.decode(codes, phones, [spec], noise_scale=0.0, noise=noise)
    assert torch.equal(silent, v2.decode(codes, phones, [spec], noise_scale=0.0, noise=2 * noise))
    trace: dict[str, torch.Tensor] = {}
    v2.decode(codes, phones, [spec], noise_scale=0.5, noise=noise, trace=trace)
    expected = trace["m_p"] + noise * torch.exp(trace["logs_p"]) * 0.5
    assert torch.equal(trace["z_p"], expected)
    with pytest.raises(InvalidArgument):
        v2.decode(codes, phones, [spec], noise=torch.zeros(1, 8, 11))


@pytest.mark.parametrize("speed", [0.8, 1.25, 2.0])
def test_speed_resamples_the_prior_frames(v2: SovitsModel, speed: float) -> None:
    codes, phones, spec = _inputs(n_codes=7)
    frames = int(14 / speed) + 1
    trace: dict[str, torch.Tensor] = {}
    audio = v2.decode(codes, phones, [spec], speed=speed, noise=torch.zeros(1, 8, frames),
                      trace=trace)
    assert trace["m_p"].shape == (1, 8, frames)
    assert audio.shape == (1, 1, frames * 640)


def test_decode_segments_at_speed_1_splits_one_joint_decode(v2: SovitsModel) -> None:
    gen = torch.Generator().manual_seed(3)
    codes = [torch.randint(0, 1024, (n,), generator=gen) for n in (4, 7, 2)]
    phones = [torch.randint(0, 732, (n,), generator=gen) for n in (6, 11, 5)]
    noise = [torch.randn(1, 8, 2 * c.numel(), generator=gen) for c in codes]
    spec = _inputs()[2]
    pieces = v2.decode_segments(codes, phones, [spec], noise=noise)
    assert [p.shape[0] for p in pieces] == [n * SAMPLES_PER_TOKEN for n in (4, 7, 2)]
    joint = v2.decode(torch.cat(codes)[None, None], torch.cat(phones)[None], [spec],
                      noise=torch.cat(noise, dim=-1))
    assert torch.equal(torch.cat(pieces), joint[0, 0])
    # One segment: the same as a plain decode.
    single = v2.decode_segments(codes[:1], phones[:1], [spec], noise=noise[:1])
    assert torch.equal(single[0], v2.decode(codes[0][None, None], phones[0][None], [spec],
                                            noise=noise[0])[0, 0])


def test_decode_segments_at_other_speeds_decodes_each_alone(v2: SovitsModel) -> None:
    gen = torch.Generator().manual_seed(4)
    codes = [torch.randint(0, 1024, (n,), generator=gen) for n in (5, 3)]
    phones = [torch.randint(0, 732, (n,), generator=gen) for n in (7, 4)]
    noise = [torch.randn(1, 8, int(2 * c.numel() / 1.5) + 1, generator=gen) for c in codes]
    spec = _inputs()[2]
    pieces = v2.decode_segments(codes, phones, [spec], speed=1.5, noise=noise)
    for c, p, n, piece in zip(codes, phones, noise, pieces, strict=True):
        alone = v2.decode(c[None, None], p[None], [spec], speed=1.5, noise=n)
        assert torch.equal(piece, alone[0, 0])


def test_pro_conditions_on_the_speaker_embedding(pro: SovitsModel) -> None:
    codes, phones, spec = _inputs(n_codes=4, n_phones=6)
    gen = torch.Generator().manual_seed(9)
    sv_a, sv_b = torch.randn(1, 20480, generator=gen), torch.randn(1, 20480, generator=gen)
    noise = torch.randn(1, 8, 8, generator=gen)
    with pytest.raises(InvalidArgument):
        pro.decode(codes, phones, [spec], noise=noise)
    trace: dict[str, torch.Tensor] = {}
    a = pro.decode(codes, phones, [spec], sv_emb=[sv_a], noise=noise, trace=trace)
    assert trace["ge"].shape == (1, 64, 1) and trace["mrte_ge"].shape == (1, 512, 1)
    assert a.shape == (1, 1, 4 * SAMPLES_PER_TOKEN)
    assert not torch.equal(a, pro.decode(codes, phones, [spec], sv_emb=[sv_b], noise=noise))
    # Several references are averaged: two copies of one reference change nothing.
    ge = pro.speaker_vector([spec], [sv_a])
    assert torch.equal(pro.speaker_vector([spec, spec], [sv_a, sv_a]), ge)
    mixed = pro.speaker_vector([spec, spec], [sv_a, sv_b])
    expected = (ge + pro.speaker_vector([spec], [sv_b])) / 2
    assert torch.allclose(mixed, expected, atol=1e-5)


def test_invalid_decode_inputs_are_refused(v2: SovitsModel) -> None:
    codes, phones, spec = _inputs()
    with pytest.raises(InvalidArgument):
        v2.decode(codes[0], phones, [spec])
    with pytest.raises(InvalidArgument):
        v2.decode(codes, phones[:, :0], [spec])
    with pytest.raises(InvalidArgument):
        v2.decode(codes, phones, [])
    with pytest.raises(InvalidArgument):
        v2.decode(codes, phones, [spec[:, :500]])
    with pytest.raises(InvalidArgument):
        v2.decode(codes, phones, [spec], speed=0)
    with pytest.raises(InvalidArgument):
        v2.decode(codes + 1024, phones, [spec])
    with pytest.raises(InvalidArgument):
        v2.decode(codes, phones - 1000, [spec])


# -- prompt codes --------------------------------------------------------------------------


def test_extract_latent_picks_the_nearest_codeword(v2: SovitsModel) -> None:
    ssl = torch.randn(1, 768, 41, generator=torch.Generator().manual_seed(2))
    codes = v2.extract_latent(ssl)
    assert codes.shape == (1, 1, 20) and codes.dtype == torch.int64
    with torch.no_grad():
        frames = v2.ssl_proj(ssl)[0].t().double()
    embed = v2.quantizer.codebooks[0].embed.double()
    assert torch.equal(codes[0, 0], torch.cdist(frames, embed).argmin(dim=1))
    # Decoding a code gives its codeword back.
    decoded = v2.quantizer.decode(codes)
    assert torch.equal(decoded[0, :, 3], v2.quantizer.codebooks[0].embed[codes[0, 0, 3]])
    with pytest.raises(InvalidArgument):
        v2.extract_latent(torch.randn(1, 512, 10))


# -- relative attention --------------------------------------------------------------------


def _naive_relative_attention(layer: RelativeSelfAttention, x: torch.Tensor) -> torch.Tensor:
    """The textbook formula, one query/key pair at a time."""
    t = x.shape[-1]
    h, d, w = layer.n_heads, layer.head_dim, layer.window
    q = layer.conv_q(x)[0].view(h, d, t).double() / math.sqrt(d)
    k = layer.conv_k(x)[0].view(h, d, t).double()
    v = layer.conv_v(x)[0].view(h, d, t).double()
    ek, ev = layer.emb_rel_k[0].double(), layer.emb_rel_v[0].double()
    out = torch.zeros(h, d, t, dtype=torch.float64)
    for head in range(h):
        scores = torch.zeros(t, t, dtype=torch.float64)
        for i in range(t):
            for j in range(t):
                scores[i, j] = q[head, :, i] @ k[head, :, j]
                if abs(j - i) <= w:
                    scores[i, j] += q[head, :, i] @ ek[j - i + w]
        probs = torch.softmax(scores, dim=-1)
        for i in range(t):
            acc = probs[i] @ v[head].t()
            for j in range(t):
                if abs(j - i) <= w:
                    acc = acc + probs[i, j] * ev[j - i + w]
            out[head, :, i] = acc
    return layer.conv_o(out.reshape(1, h * d, t).float())


@pytest.mark.parametrize("length", [1, 3, 5, 13])
def test_relative_attention_matches_the_direct_formula(length: int) -> None:
    torch.manual_seed(length)
    layer = RelativeSelfAttention(8, 2, 4)
    with torch.no_grad():
        layer.emb_rel_k.normal_()
        layer.emb_rel_v.normal_()
        x = torch.randn(1, 8, length)
        assert torch.allclose(layer(x), _naive_relative_attention(layer, x), atol=1e-5)
