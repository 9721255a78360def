"""Training traces in the reference harness's formats, so runs can be compared file by file.

``TRACE_DIR`` holds:

- ``losses.json``: the run's settings and one entry per batch (loss terms, learning rates,
  the items and their order, ...; the stage decides the fields);
- ``grads_step1.json``: the L2 norm (float64 of the float32 gradient) of every parameter after
  the first backward pass, before any update; ``null`` for a parameter without gradient;
- ``params_final.npz``: every parameter after the last step as float32
  ``flat[::max(1, ceil(numel / 4096))]``, and ``params_final.json`` with each tensor's
  shape, numel, stride, L2 norm, sum and the sha256 of its float32 bytes;
- ``meta.json``: settings, dataset facts and timings.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

PARAM_SAMPLE = 4096


class TraceWriter:
    """Collects a run's trace in memory and writes it at the end (``write``)."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.header = dict(header)
        self.steps: list[dict[str, Any]] = []
        self.first_grads: dict[str, float | None] | None = None

    def step(self, entry: dict[str, Any]) -> None:
        """Record one batch."""
        self.steps.append(entry)

    def record_grads(self, named: Iterable[tuple[str, torch.nn.Parameter]]) -> None:
        """Record the gradient norms of the first backward pass (later calls are ignored)."""
        if self.first_grads is None:
            self.first_grads = _grad_norms(named)

    def add_grads(self, named: Iterable[tuple[str, torch.nn.Parameter]]) -> None:
        """Record more first-step gradient norms (s2 has two backward passes: D, then G)."""
        assert self.first_grads is not None
        self.first_grads.update(_grad_norms(named))

    def write(self, trace_dir: Path, params: Iterable[tuple[str, torch.Tensor]],
              meta: dict[str, Any]) -> None:
        """Write every file of the trace into ``trace_dir``."""
        trace_dir.mkdir(parents=True, exist_ok=True)
        losses = {**self.header, "steps_run": len(self.steps), "steps": self.steps}
        _dump(trace_dir / "losses.json", losses)
        _dump(trace_dir / "grads_step1.json", self.first_grads or {})
        samples: dict[str, np.ndarray] = {}
        summary: dict[str, dict[str, Any]] = {}
        for name, tensor in params:
            flat = tensor.detach().float().reshape(-1).cpu()
            stride = max(1, math.ceil(flat.numel() / PARAM_SAMPLE))
            samples[name] = flat[::stride].numpy()
            summary[name] = {
                "shape": list(tensor.shape), "numel": flat.numel(), "sample_stride": stride,
                "l2": float(flat.double().norm()), "sum": float(flat.double().sum()),
                "sha256": hashlib.sha256(flat.numpy().tobytes()).hexdigest()}
        np.savez(trace_dir / "params_final.npz", **samples)  # type: ignore[arg-type]
        _dump(trace_dir / "params_final.json", summary)
        _dump(trace_dir / "meta.json", meta)


def _grad_norms(named: Iterable[tuple[str, torch.nn.Parameter]]) -> dict[str, float | None]:
    """float64 L2 norm of each parameter's gradient; None where it has none."""
    return {name: None if p.grad is None else float(p.grad.detach().double().norm())
            for name, p in named}


def _dump(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
