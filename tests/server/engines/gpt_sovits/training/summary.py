"""Compact, committed records of an official experiment folder, and the comparison with ours.

Feature tensors are too large to commit whole, so each is kept as its shape, float64 L2 norm
and sum, and an evenly strided sample of at most ``SAMPLE_SIZE`` values; text files, codes and
the 32 kHz WAVs (by sha256) are kept exactly. ``compare_experiments`` checks a folder against
such a record and returns every difference as a line (empty = parity).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from server.engines.gpt_sovits.training import experiment as ex

SAMPLE_SIZE = 512
FEATURE_DIRS = (ex.BERT_DIR, ex.HUBERT_DIR, ex.SV_DIR)
#: The issue's bound for features ("within 1e-4 relative").
FEATURE_RTOL = 1e-4


def tensor_summary(tensor: torch.Tensor) -> tuple[dict[str, Any], np.ndarray]:
    """(shape, l2, sum, stride) and the strided float32 sample of ``tensor``."""
    flat = tensor.detach().to(torch.float64).reshape(-1)
    stride = max(1, math.ceil(flat.numel() / SAMPLE_SIZE))
    meta = {"shape": list(tensor.shape), "dtype": str(tensor.dtype).removeprefix("torch."),
            "l2": float(flat.norm()), "sum": float(flat.sum()), "stride": stride}
    return meta, flat[::stride].to(torch.float32).numpy()


def record_experiment(exp_dir: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON record and the npz arrays of an experiment folder."""
    record: dict[str, Any] = {
        "name2text": (exp_dir / ex.NAME2TEXT).read_text(encoding="utf-8"),
        "semantic": (exp_dir / ex.SEMANTIC_FILE).read_text(encoding="utf-8"),
        "wav32k_sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                          for p in sorted((exp_dir / ex.WAV32K_DIR).iterdir())},
        "features": {},
    }
    arrays: dict[str, np.ndarray] = {}
    for folder in FEATURE_DIRS:
        if not (exp_dir / folder).is_dir():
            continue
        for path in sorted((exp_dir / folder).iterdir()):
            key = f"{folder}/{path.name}"
            meta, sample = tensor_summary(ex.load_tensor(path))
            record["features"][key] = meta
            arrays[key] = sample
    return record, arrays


def write_record(exp_dir: Path, out_json: Path, **extra: Any) -> None:
    """Write ``out_json`` and the ``.npz`` next to it for ``exp_dir``."""
    record, arrays = record_experiment(exp_dir)
    record.update(extra)
    out_json.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    np.savez_compressed(out_json.with_suffix(".npz"), **arrays)


def compare_experiments(exp_dir: Path, record_json: Path) -> list[str]:
    """Every difference between ``exp_dir`` and the committed record (empty = parity)."""
    expected = json.loads(record_json.read_text(encoding="utf-8"))
    samples = np.load(record_json.with_suffix(".npz"))
    actual, actual_samples = record_experiment(exp_dir)
    problems: list[str] = []
    for key in ("name2text", "semantic"):
        if actual[key] != expected[key]:
            problems.append(f"{key} differs: {_first_line_diff(expected[key], actual[key])}")
    if actual["wav32k_sha256"] != expected["wav32k_sha256"]:
        differing = sorted(k for k in expected["wav32k_sha256"]
                           if actual["wav32k_sha256"].get(k) != expected["wav32k_sha256"][k])
        problems.append(f"5-wav32k differs for {differing or 'the set of files'}")
    if set(actual["features"]) != set(expected["features"]):
        problems.append(f"feature files differ: {sorted(set(actual['features']) ^ set(expected['features']))}")
    for key in sorted(set(actual["features"]) & set(expected["features"])):
        want, got = expected["features"][key], actual["features"][key]
        if (want["shape"], want["dtype"]) != (got["shape"], got["dtype"]):
            problems.append(f"{key}: shape/dtype {got['shape']} {got['dtype']}, official "
                            f"{want['shape']} {want['dtype']}")
            continue
        if abs(got["l2"] - want["l2"]) > FEATURE_RTOL * want["l2"]:
            problems.append(f"{key}: L2 {got['l2']:.6g}, official {want['l2']:.6g}")
        ref, ours = samples[key], actual_samples[key]
        scale = float(np.abs(ref).max()) or 1.0
        worst = float(np.abs(ref - ours).max()) / scale
        if worst > FEATURE_RTOL:
            problems.append(f"{key}: sampled values differ by {worst:.2e} of the peak")
    return problems


def _first_line_diff(expected: str, actual: str) -> str:
    for number, (a, b) in enumerate(zip(expected.split("\n"), actual.split("\n")), start=1):
        if a != b:
            return f"line {number}: ours {b!r}, official {a!r}"
    return "different number of lines"
