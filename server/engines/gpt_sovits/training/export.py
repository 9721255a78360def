"""Writing fine-tuned weights as the official trainer saves them.

- **GPT** ``<exp>-e<E>.ckpt``: ``{"weight": {"model.<key>": fp16}, "config": dict,
  "info": "GPT-e<E>"}``, saved like the official ``my_save``: ``torch.save`` to
  ``<unix time>.pth``, then renamed, so the zip's root folder is that time.
- **SoVITS** ``<exp>_e<E>_s<N>.pth``: ``{"weight": {key: fp16} without enc_q, "config": hps,
  "info": "<E>epoch_<N>iteration"}``; ``hps`` pickled as the official ``utils.HParams``. v2
  files are saved like ``my_save``; v2Pro/v2ProPlus like ``my_save2``: saved to memory with the
  root ``archive/`` and the first two bytes replaced by the version tag ``05``/``06``.

Files are written under a temporary name and renamed, so a crash never leaves a half file.
Deterministic runs pass a fixed ``timestamp`` so their exports are byte-reproducible.
"""

from __future__ import annotations

import io
import os
import pickle
import time
import types
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from server.engines.gpt_sovits.checkpoints import HParams

PRO_HEADERS = {"v2Pro": b"05", "v2ProPlus": b"06"}
#: The zip root of deterministic exports (the reference harness fixes the same time).
FIXED_TIMESTAMP = "1723456789.0"


_PurePickler: Any = pickle._Pickler  # the pure-Python pickler


class _HParamsPickler(_PurePickler):
    """Writes :class:`HParams` as the global ``utils.HParams`` of the official code."""

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj is HParams:
            self.write(pickle.GLOBAL + b"utils\nHParams\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)


_PICKLE_MODULE = types.SimpleNamespace(Pickler=_HParamsPickler, __name__="pickle")


def hparams(values: dict[str, Any]) -> HParams:
    """Nested dicts -> nested :class:`HParams`, as the official ``utils.HParams`` nests them."""
    out = HParams()
    out.__dict__.update({k: hparams(v) if isinstance(v, dict) else v for k, v in values.items()})
    return out


def _torch_save(obj: Any, target: str | io.BytesIO) -> None:
    config = obj.get("config") if isinstance(obj, dict) else None  # OrderedDict included
    if isinstance(config, HParams):  # the C pickler cannot name a stand-in class
        torch.save(obj, target, pickle_module=_PICKLE_MODULE)
    else:
        torch.save(obj, target)


def save_trainer_file(obj: Any, path: Path, *, header: bytes | None = None,
                      timestamp: str | None = None) -> None:
    """Save ``obj`` to ``path`` like ``my_save`` (``header`` None) or ``my_save2``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if header is None:
        stamp = timestamp or str(time.time())
        temporary = path.parent / f"{stamp}.pth"
        _torch_save(obj, str(temporary))
    else:
        buffer = io.BytesIO()
        _torch_save(obj, buffer)
        temporary = path.parent / f".{path.name}.partial"
        temporary.write_bytes(header + buffer.getvalue()[2:])
    os.replace(temporary, path)


def half_weights(state: dict[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Every tensor ``.half()``, as the official exports store them (order kept)."""
    return OrderedDict((k, v.detach().half().cpu()) for k, v in state.items())


def export_gpt(path: Path, state: dict[str, torch.Tensor], config: dict[str, Any], epoch: int,
               timestamp: str | None = None) -> None:
    """Write a fine-tuned GPT checkpoint (``state`` keys already ``model.*``)."""
    document: OrderedDict[str, Any] = OrderedDict()  # the official trainer's container
    document["weight"] = half_weights(state)
    document["config"] = config
    document["info"] = f"GPT-e{epoch}"
    save_trainer_file(document, path, timestamp=timestamp)


def export_sovits(path: Path, state: dict[str, torch.Tensor], hps: dict[str, Any], epoch: int,
                  steps: int, variant: str, timestamp: str | None = None) -> None:
    """Write a fine-tuned SoVITS generator (``state`` without ``enc_q``) like ``savee``."""
    document: OrderedDict[str, Any] = OrderedDict()
    document["weight"] = {k: v.detach().half().cpu() for k, v in state.items()}
    document["config"] = hparams(hps)
    document["info"] = f"{epoch}epoch_{steps}iteration"
    save_trainer_file(document, path, header=PRO_HEADERS.get(variant), timestamp=timestamp)
