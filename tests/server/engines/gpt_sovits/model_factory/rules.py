"""How each tensor of a synthetic GPT-SoVITS checkpoint is randomised, chosen by its key.

The values only have to be deterministic and numerically sane when the official pipeline runs
on them; they follow the same spirit as the reference harness (``N(m, s)`` below means the
bell-shaped draws of ``draws`` with that mean and standard deviation):

* matrices and kernels N(0, 1/sqrt(fan_in)), biases N(0, 0.05), embeddings N(0, 1);
* norm weights (LayerNorm, GroupNorm, BatchNorm, VITS ``gamma``) 1 + N(0, 0.1), their
  biases/``beta`` N(0, 0.05); BatchNorm running mean N(0, 0.1), variance U(0.5, 2);
* weight norm: ``weight_v`` random, ``weight_g = ||v|| * U(0.8, 1.2)``;
* T2S: positional ``alpha`` U(0.5, 1.5); ``ar_predict_layer`` scaled so that logits are about
  N(0, 2^2) (wide top-1/top-2 gaps for greedy decoding), its EOS row boosted so EOS sometimes
  wins and the stop logic gets exercised;
* SoVITS: RVQ codebook ``inited = 1``, ``embed`` N(0, 1), ``cluster_size`` U(1, 100),
  ``embed_avg = embed * cluster_size``; relative attention embeddings N(0, k^-0.5); the
  zero-initialised ``flow.*.post`` convolutions made non-zero so the flow is not the identity;
  PReLU slopes U(0.05, 0.4); the Pro ``sv_emb`` projection at a tenth of the usual scale, so
  the speaker term stays comparable to the style vector and the decoder out of saturation;
* tensors the schema marks as equal to another one (tied BERT decoder) copy it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .draws import Draws

BIAS_STD = 0.05
NORM_STD = 0.1
EOS_BOOST = 1.3
LOGIT_STD = 2.0
FLOW_POST_GAIN = 0.3
# A random ERes2NetV2 embeds speech at about N(0, 14^2); at full gain the Pro speaker term
# would dwarf the reference-encoder style vector and drive the decoder into tanh saturation.
SV_EMB_GAIN = 0.1


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of a checkpoint as the schema describes it."""

    key: str
    dtype: torch.dtype
    shape: tuple[int, ...]
    equals: str | None = None  # the key of another tensor with identical values


@dataclass(frozen=True)
class InitContext:
    """Config values some rules need (taken from the checkpoint's own config)."""

    upsample_rates: tuple[int, ...] = ()  # SoVITS decoder ConvTranspose strides
    eos_boost: float = EOS_BOOST


@dataclass
class _State:
    draws: Draws
    context: InitContext
    specs: dict[str, TensorSpec]
    values: dict[str, torch.Tensor] = field(default_factory=dict)  # float32 / int64


def _fan_in(key: str, shape: tuple[int, ...], context: InitContext) -> float:
    """Inputs seen by one output unit; a ConvTranspose1d (in, out, k) sees in * k / stride."""
    match = re.match(r"dec\.ups\.(\d+)\.", key)
    if match and len(shape) == 3 and context.upsample_rates:
        stride = context.upsample_rates[int(match.group(1))]
        return shape[0] * shape[2] / stride
    return float(math.prod(shape[1:])) if len(shape) >= 2 else float(shape[0])


def _kernel_std(key: str, shape: tuple[int, ...], context: InitContext) -> float:
    gain = 1.0
    if key.startswith("flow.") and ".post." in key:
        gain = FLOW_POST_GAIN
    elif key == "sv_emb.weight":
        gain = SV_EMB_GAIN
    return gain / math.sqrt(_fan_in(key, shape, context))


def _weight_norm(state: _State, key: str) -> None:
    """Draw a ``weight_v``/``weight_g`` pair together (g is derived from v)."""
    prefix = key[: -len("weight_v")] if key.endswith("weight_v") else key[: -len("weight_g")]
    v_spec, g_spec = state.specs[prefix + "weight_v"], state.specs[prefix + "weight_g"]
    std = _kernel_std(v_spec.key, v_spec.shape, state.context)
    v, g = state.draws.weight_norm_pair(v_spec.shape, g_spec.shape, std)
    state.values[v_spec.key], state.values[g_spec.key] = v, g


def _get(state: _State, key: str) -> torch.Tensor:
    if key not in state.values:
        _fill(state, state.specs[key])
    return state.values[key]


def _special(state: _State, spec: TensorSpec) -> torch.Tensor | None:
    """Rules for individual tensors; None when the generic rules apply."""
    key, shape, d = spec.key, spec.shape, state.draws
    if key.endswith("position.alpha"):
        return d.uniform(shape, 0.5, 1.5)
    if key.endswith("ar_predict_layer.weight"):
        weight = d.normal(shape, LOGIT_STD / math.sqrt(shape[1]))
        weight[-1] = weight[-1] * state.context.eos_boost  # EOS is the last token
        return weight
    if key.endswith("_codebook.inited"):
        return torch.ones(shape, dtype=torch.float32)
    if key.endswith("_codebook.embed"):
        return d.normal(shape, 1.0)
    if key.endswith("_codebook.cluster_size"):
        return d.uniform(shape, 1.0, 100.0)
    if key.endswith("_codebook.embed_avg"):
        prefix = key[: -len("embed_avg")]
        return _get(state, prefix + "embed") * _get(state, prefix + "cluster_size")[:, None]
    if re.search(r"\.emb_rel_[kv]$", key):
        return d.normal(shape, shape[-1] ** -0.5)
    if key.endswith("prelu.weight"):
        return d.uniform(shape, 0.05, 0.4)
    if key == "masked_spec_embed":
        return d.uniform(shape, 0.0, 1.0)
    return None


def _generic(state: _State, spec: TensorSpec) -> torch.Tensor:
    key, shape, d = spec.key, spec.shape, state.draws
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked" or not spec.dtype.is_floating_point:
        return d.integers(shape, 1, 100_000)
    if leaf == "running_mean":
        return d.normal(shape, NORM_STD)
    if leaf == "running_var":
        return d.uniform(shape, 0.5, 2.0)
    if len(shape) <= 1:
        if leaf in ("weight", "gamma"):  # every 1-D weight left here belongs to a norm layer
            return d.normal(shape, NORM_STD, 1.0)
        return d.normal(shape, BIAS_STD)
    if "embedding" in key:
        return d.normal(shape, 1.0)
    return d.normal(shape, _kernel_std(key, shape, state.context))


def _fill(state: _State, spec: TensorSpec) -> None:
    if spec.equals is not None:
        state.values[spec.key] = _get(state, spec.equals).clone()
    elif spec.key.endswith(("weight_v", "weight_g")):
        _weight_norm(state, spec.key)
    else:
        value = _special(state, spec)
        state.values[spec.key] = value if value is not None else _generic(state, spec)


def random_tensors(
    specs: Sequence[TensorSpec], draws: Draws, context: InitContext
) -> dict[str, torch.Tensor]:
    """Random values for every spec, in spec order, cast to each tensor's stored dtype."""
    state = _State(draws=draws, context=context, specs={s.key: s for s in specs})
    for spec in specs:
        if spec.key not in state.values:
            _fill(state, spec)
    out: dict[str, torch.Tensor] = {}
    for spec in specs:
        value = state.values[spec.key]
        if tuple(value.shape) != spec.shape:
            raise ValueError(f"{spec.key}: drew {tuple(value.shape)}, schema says {spec.shape}")
        out[spec.key] = value.to(spec.dtype).contiguous()
    return out
