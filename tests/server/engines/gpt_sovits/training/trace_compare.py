"""Compact records of a training trace (``--trace`` of oracle ``train`` and of ours) and the
parity check between two of them.

The issue's bounds, in deterministic mode: per-step loss terms within 1e-4 relative, first-step
gradient norms per tensor within 1e-3, final parameters within 1e-3 relative L2 per tensor.
Parameters are compared on a strided sample (at most ``PARAM_SAMPLE`` values per tensor) and
on their full L2 norms; everything that is not a float (items, row order, lengths, slices,
whether the optimiser stepped) must be equal.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from server.engines.gpt_sovits.checkpoints import _load_document, read_header

LOSS_RTOL = 1e-4
GRAD_RTOL = 1e-3
PARAM_RTOL = 1e-3
PARAM_SAMPLE = 128
#: Informative values that are not part of the contract (top-3 accuracy is a float ratio of
#: a few counts; wall times differ by nature).
IGNORED_STEP_KEYS = frozenset({"acc", "seconds"})


def compact_trace(trace_dir: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON record and parameter samples of a trace folder."""
    losses = json.loads((trace_dir / "losses.json").read_text(encoding="utf-8"))
    grads = json.loads((trace_dir / "grads_step1.json").read_text(encoding="utf-8"))
    params = json.loads((trace_dir / "params_final.json").read_text(encoding="utf-8"))
    samples = np.load(trace_dir / "params_final.npz")
    arrays: dict[str, np.ndarray] = {}
    for name in samples.files:
        values = samples[name]
        arrays[name] = values[::max(1, math.ceil(len(values) / PARAM_SAMPLE))]
    record = {
        "settings": {k: v for k, v in losses.items() if k not in ("steps", "exported", "size")},
        "steps": losses["steps"],
        "grads": grads,
        "params": {k: {"shape": v["shape"], "l2": v["l2"], "sum": v["sum"]}
                   for k, v in params.items()},
    }
    return record, arrays


def write_compact(trace_dir: Path, out_json: Path, **extra: Any) -> None:
    """Write ``out_json`` and its ``.npz`` for ``trace_dir``."""
    record, arrays = compact_trace(trace_dir)
    record.update(extra)
    out_json.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    np.savez_compressed(out_json.with_suffix(".npz"), **arrays)


def compare_traces(expected: dict[str, Any], expected_arrays: dict[str, np.ndarray],
                   actual: dict[str, Any], actual_arrays: dict[str, np.ndarray]) -> list[str]:
    """Every difference beyond the bounds (empty = parity)."""
    problems: list[str] = []
    if len(expected["steps"]) != len(actual["steps"]):
        problems.append(f"{len(actual['steps'])} steps, official {len(expected['steps'])}")
    for want, got in zip(expected["steps"], actual["steps"]):
        for key, value in want.items():
            if key in IGNORED_STEP_KEYS:
                continue
            if key not in got:
                problems.append(f"step {want['step']}: {key} missing")
            elif not _close(value, got[key], LOSS_RTOL):
                problems.append(f"step {want['step']}: {key} {got[key]}, official {value}")
    if list(expected["grads"]) != list(actual["grads"]):
        problems.append("first-step gradients name different tensors")
    for name, value in expected["grads"].items():
        got = actual["grads"].get(name)
        if (value is None) != (got is None) or (value is not None and not
                                                _close(value, got, GRAD_RTOL)):
            problems.append(f"gradient of {name}: {got}, official {value}")
    for name, meta in expected["params"].items():
        got = actual["params"].get(name)
        if got is None or got["shape"] != meta["shape"]:
            problems.append(f"parameter {name} missing or of another shape")
            continue
        ref = expected_arrays[name].astype(np.float64)
        diff = float(np.linalg.norm(ref - actual_arrays[name].astype(np.float64)))
        if diff > PARAM_RTOL * max(float(np.linalg.norm(ref)), 1e-12) or \
                abs(got["l2"] - meta["l2"]) > PARAM_RTOL * max(meta["l2"], 1e-12):
            problems.append(f"parameter {name}: relative L2 difference "
                            f"{diff / max(float(np.linalg.norm(ref)), 1e-12):.2e}")
    return problems


def _close(want: Any, got: Any, rtol: float) -> bool:
    if isinstance(want, float) and isinstance(got, (int, float)):
        return abs(got - want) <= rtol * max(abs(want), 1e-12)
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return all(_close(w, g, rtol) for w, g in zip(want, got))
    return bool(want == got)


def load_compact(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A committed record and its samples."""
    samples = np.load(path.with_suffix(".npz"))
    return (json.loads(path.read_text(encoding="utf-8")),
            {name: samples[name] for name in samples.files})


def export_summary(path: Path) -> dict[str, Any]:
    """What the official format fixes about an exported file (not its weights)."""
    document = _load_document(path, "exported")
    config = document["config"]
    config = config.to_dict() if hasattr(config, "to_dict") else config
    with zipfile.ZipFile(path if read_header(path, "exported") == b"PK" else
                         io.BytesIO(b"PK" + path.read_bytes()[2:])) as archive:
        root = archive.namelist()[0].split("/", 1)[0]
    return {"name": path.name, "header": read_header(path, "exported").decode("ascii"),
            "zip_root": "archive" if root == "archive" else "time",
            "container": type(document).__name__, "top_keys": list(document),
            "info": document["info"], "config": config, "keys": list(document["weight"]),
            "dtypes": sorted({str(t.dtype) for t in document["weight"].values()
                              if isinstance(t, torch.Tensor)})}
