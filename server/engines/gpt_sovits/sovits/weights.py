"""Turning a released SoVITS state dict into the tensors :class:`SovitsModel` loads.

Two transformations, both exact:

- **Weight norm is folded.** Layers trained with weight normalisation are stored as a
  direction ``weight_v`` and a per-output-channel gain ``weight_g`` (``w = g * v / |v|``,
  norm over all axes but the first). The reference recomputes ``w`` before every call; here
  it is computed once at load time with the same kernel, so the numbers are identical and
  inference is plain convolutions.
- **Training-only tensors are dropped** and reported: the posterior encoder ``enc_q`` (the
  released files normally omit it) and the codebook's EMA statistics.

Everything else must match the model exactly (see :func:`load_strict`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from server.engines.gpt_sovits.sovits.quantizer import TRAINING_ONLY_BUFFERS
from server.engines.weight_norm import G_SUFFIX, V_SUFFIX, fold_weight_norm
from server.errors import FailedPrecondition

_IGNORED_PREFIXES = ("enc_q.",)


def _is_ignored(key: str) -> bool:
    if key.startswith(_IGNORED_PREFIXES):
        return True
    return key.startswith("quantizer.") and key.rsplit(".", 1)[-1] in TRAINING_ONLY_BUFFERS


def prepare_state_dict(
    state_dict: Mapping[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Fold weight norm and drop training-only tensors.

    Returns ``(tensors, ignored_keys)``; tensors are float32 (fp16 files are upcast, as the
    reference does when it loads them into an fp32 model).
    """
    out: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    for key, value in state_dict.items():
        if _is_ignored(key):
            ignored.append(key)
        elif key.endswith(G_SUFFIX):
            base = key[: -len(G_SUFFIX)]
            v = state_dict.get(base + V_SUFFIX)
            if v is None:
                raise FailedPrecondition(f"SoVITS checkpoint has {key} but no {base}{V_SUFFIX}")
            out[base + ".weight"] = fold_weight_norm(value.float(), v.float())
        elif key.endswith(V_SUFFIX):
            if key[: -len(V_SUFFIX)] + G_SUFFIX not in state_dict:
                raise FailedPrecondition(f"SoVITS checkpoint has {key} but no weight_g")
        else:
            out[key] = value.float() if value.is_floating_point() else value
    return out, sorted(ignored)


def load_strict(module: nn.Module, tensors: Mapping[str, torch.Tensor]) -> None:
    """Load every parameter and buffer of ``module`` from ``tensors``, with no extras.

    Raises ``FailedPrecondition`` naming the missing/unexpected keys or the shape mismatch.
    """
    expected = module.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise FailedPrecondition(
            "SoVITS checkpoint does not match the model "
            f"(missing {_preview(missing)}; unexpected {_preview(unexpected)})"
        )
    for key, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise FailedPrecondition(
                f"SoVITS checkpoint tensor {key} has shape {tuple(tensor.shape)}, "
                f"the model expects {tuple(expected[key].shape)}"
            )
    module.load_state_dict(dict(tensors), strict=True)


def _preview(keys: list[str], limit: int = 8) -> str:
    if not keys:
        return "none"
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more
