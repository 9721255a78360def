"""Folding weight normalisation away, for inference: one implementation for every engine.

A weight-normalised layer stores ``w = g * v / ||v||`` (the norm over every axis but the
first) as ``weight_g`` and ``weight_v``; inference needs only ``w``. Both the SoVITS decoder
and the HiFi-GAN vocoder fold their checkpoints with :func:`fold_weight_norm`, which calls
the kernel ``torch.nn.utils.weight_norm`` itself uses, so folded weights are bit-identical to
what the official code computes on every forward.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

G_SUFFIX = ".weight_g"
V_SUFFIX = ".weight_v"


def fold_weight_norm(g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``g * v / ||v||`` with the norm over every axis but 0 (PyTorch's ``weight_norm``)."""
    if hasattr(torch, "_weight_norm"):
        return torch._weight_norm(v, g, 0)
    norm = torch.linalg.vector_norm(v.reshape(v.shape[0], -1), dim=1)
    return v * (g / norm.view(g.shape))


def fold_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with every ``name.weight_g``/``name.weight_v`` pair replaced by ``name.weight``."""
    folded: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.endswith(V_SUFFIX):
            stem = key[: -len(V_SUFFIX)]
            folded[f"{stem}.weight"] = fold_weight_norm(state[stem + G_SUFFIX], value)
        elif not key.endswith(G_SUFFIX):
            folded[key] = value
    return folded
