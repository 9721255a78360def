#!/usr/bin/env python3
"""Parity of voxguard's GPT-SoVITS fine-tuning pipeline with the official one.

Runs the oracle of ``shared/gpt-sovits-oracle`` (its own venv; nothing of it is imported
here, it runs as a separate process) and ours on the same model folder and dataset, and
compares. With ``--fixture`` it also writes the compact record of the official output that
CI compares against (``tests/fixtures/gpt_sovits/training``).

    python tools/gpt_sovits_training_parity.py prepare --variant v2Pro --size micro --seed 7 \\
        --oracle ORACLE_PY --oracle-python PY [--models DIR] [--fixture OUT.json]
    python tools/gpt_sovits_training_parity.py train --stage s1 --variant v2Pro --steps 12 \\
        --batch-size 2 --oracle ORACLE_PY --oracle-python PY [--models DIR] [--fixture OUT.json]

``train`` prepares the dataset with the official scripts, then runs one deterministic stage
with the official trainer and with ours on that same experiment folder, and compares the
traces (losses, first-step gradients, final parameters) and the exported files.

Without ``--models`` the random-weight folder is generated from the seed (with the training
files); the dataset is the one of ``tests/server/engines/gpt_sovits/training/dataset.py``.
Prints a JSON report (differences, timings) and exits 1 when there are differences.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.engines.gpt_sovits.training.finetune import finetune
from server.engines.gpt_sovits.training.options import FinetuneOptions
from server.engines.gpt_sovits.training.prepare import prepare_dataset
from tests.server.engines.gpt_sovits.model_factory import generate_models
from tests.server.engines.gpt_sovits.training.dataset import write_dataset
from tests.server.engines.gpt_sovits.training.summary import (
    compare_experiments,
    write_record,
)
from tests.server.engines.gpt_sovits.training.trace_compare import (
    compact_trace,
    compare_traces,
    export_summary,
    write_compact,
)


def _prepare(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="gsv-prepare-") as tmp:
        scratch = Path(tmp)
        models = args.models
        if models is None:
            models = scratch / "models"
            generate_models(args.variant, args.size, args.seed, models, training=True)
        list_file = write_dataset(scratch / "data")
        official, ours = scratch / "official" / "exp", scratch / "ours" / "exp"
        started = time.perf_counter()
        subprocess.run([str(args.oracle_python), str(args.oracle), "prepare-dataset",
                        "--models", str(models), "--variant", args.variant,
                        "--list", str(list_file), "--out", str(official)],
                       check=True, stdout=subprocess.DEVNULL)
        official_s = time.perf_counter() - started
        started = time.perf_counter()
        torch_threads(1)  # as the official scripts run (bit-identical features then)
        prepare_dataset(models, list_file, ours, variant=args.variant)
        ours_s = time.perf_counter() - started
        record = scratch / "official.json"
        write_record(official, record)
        problems = compare_experiments(ours, record)
        if args.fixture is not None:
            args.fixture.parent.mkdir(parents=True, exist_ok=True)
            write_record(official, args.fixture, variant=args.variant, size=args.size,
                         seed=args.seed)
    print(json.dumps({"variant": args.variant, "size": args.size, "seed": args.seed,
                      "differences": problems, "official_s": round(official_s, 1),
                      "ours_s": round(ours_s, 1)}, indent=1, ensure_ascii=False))
    return 1 if problems else 0


def _train(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="gsv-train-") as tmp:
        scratch = Path(tmp)
        models = args.models
        if models is None:
            models = scratch / "models"
            generate_models(args.variant, args.size, args.seed, models, training=True)
        exp = scratch / "exp" / f"{args.variant}-{args.size}"
        subprocess.run([str(args.oracle_python), str(args.oracle), "prepare-dataset",
                        "--models", str(models), "--variant", args.variant,
                        "--list", str(write_dataset(scratch / "data")), "--out", str(exp)],
                       check=True, stdout=subprocess.DEVNULL)
        runs = {}
        started = time.perf_counter()
        subprocess.run([str(args.oracle_python), str(args.oracle), "train", "--models",
                        str(models), "--variant", args.variant, "--exp", str(exp), "--stage",
                        args.stage, "--steps", str(args.steps), "--batch-size",
                        str(args.batch_size), "--deterministic", "--trace",
                        str(scratch / "official-trace"), "--out", str(scratch / "official-out"),
                        "--threads", str(args.threads)],
                       check=True, stdout=subprocess.DEVNULL)
        runs["official_s"] = round(time.perf_counter() - started, 1)
        torch_threads(args.threads)
        started = time.perf_counter()
        finetune(models, exp, FinetuneOptions(
            stage=args.stage, batch_size=args.batch_size, steps=args.steps, deterministic=True,
            trace_dir=scratch / "our-trace", out_dir=scratch / "our-out"), variant=args.variant)
        runs["ours_s"] = round(time.perf_counter() - started, 1)
        official, official_arrays = compact_trace(scratch / "official-trace")
        ours, our_arrays = compact_trace(scratch / "our-trace")
        problems = compare_traces(official, official_arrays, ours, our_arrays)
        official_files = sorted((scratch / "official-out").iterdir())
        our_files = sorted((scratch / "our-out").iterdir())
        if [p.name for p in official_files] != [p.name for p in our_files]:
            problems.append(f"exports {[p.name for p in our_files]}, official "
                            f"{[p.name for p in official_files]}")
        exports = [export_summary(p) for p in official_files]
        for want, path in zip(exports, our_files):
            got = export_summary(path)
            for key in want:
                if got[key] != want[key]:
                    problems.append(f"export {path.name}: {key} differs")
        identical = [a.read_bytes() == b.read_bytes() for a, b in zip(official_files, our_files)]
        runs["official_step_s"] = _median_step(scratch / "official-trace", "timings_s")
        runs["our_step_s"] = _median_step(scratch / "our-trace", None)
        if args.fixture is not None:
            args.fixture.parent.mkdir(parents=True, exist_ok=True)
            write_compact(scratch / "official-trace", args.fixture, variant=args.variant,
                          size=args.size, seed=args.seed, stage=args.stage, run_steps=args.steps,
                          batch_size=args.batch_size, exports=exports)
    print(json.dumps({"stage": args.stage, "variant": args.variant, "size": args.size,
                      "steps": args.steps, "batch_size": args.batch_size,
                      "differences": problems, "exports_byte_identical": identical, **runs},
                     indent=1, ensure_ascii=False))
    return 1 if problems else 0


def _median_step(trace: Path, section: str | None) -> float:
    """Median wall time of one training step (the first is left out: warm-up)."""
    meta = json.loads((trace / "meta.json").read_text(encoding="utf-8"))
    seconds = (meta[section] if section else meta)["step_seconds"][1:]
    return round(statistics.median(seconds), 4) if seconds else float("nan")


def torch_threads(count: int) -> None:
    import torch

    torch.set_num_threads(count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("prepare", help="data preparation parity")
    prepare.add_argument("--variant", required=True, choices=("v2", "v2Pro"))
    prepare.add_argument("--size", default="micro", choices=("micro", "full"))
    prepare.add_argument("--seed", type=int, default=7)
    prepare.add_argument("--models", type=Path, help="existing folder (default: generate one)")
    prepare.add_argument("--oracle", type=Path, required=True, help="path of oracle.py")
    prepare.add_argument("--oracle-python", type=Path, required=True,
                         help="python of the oracle's venv")
    prepare.add_argument("--fixture", type=Path, help="write the official record here")
    prepare.set_defaults(handler=_prepare)
    train = commands.add_parser("train", help="deterministic training parity (one stage)")
    train.add_argument("--stage", required=True, choices=("s1", "s2"))
    train.add_argument("--variant", required=True, choices=("v2", "v2Pro"))
    train.add_argument("--size", default="micro", choices=("micro", "full"))
    train.add_argument("--seed", type=int, default=7)
    train.add_argument("--steps", type=int, required=True)
    train.add_argument("--batch-size", type=int, default=2)
    train.add_argument("--threads", type=int, default=1)
    train.add_argument("--models", type=Path, help="existing folder (default: generate one)")
    train.add_argument("--oracle", type=Path, required=True, help="path of oracle.py")
    train.add_argument("--oracle-python", type=Path, required=True,
                       help="python of the oracle's venv")
    train.add_argument("--fixture", type=Path, help="write the official record here")
    train.set_defaults(handler=_train)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
