#!/usr/bin/env python3
"""Parity of voxguard's GPT-SoVITS fine-tuning pipeline with the official one.

Runs the oracle of ``shared/gpt-sovits-oracle`` (its own venv; nothing of it is imported
here, it runs as a separate process) and ours on the same model folder and dataset, and
compares. With ``--fixture`` it also writes the compact record of the official output that
CI compares against (``tests/fixtures/gpt_sovits/training``).

    python tools/gpt_sovits_training_parity.py prepare --variant v2Pro --size micro --seed 7 \\
        --oracle ORACLE_PY --oracle-python PY [--models DIR] [--fixture OUT.json]

Without ``--models`` the random-weight folder is generated from the seed (with the training
files); the dataset is the one of ``tests/server/engines/gpt_sovits/training/dataset.py``.
Prints a JSON report (differences, timings) and exits 1 when there are differences.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.engines.gpt_sovits.training.prepare import prepare_dataset
from tests.server.engines.gpt_sovits.model_factory import generate_models
from tests.server.engines.gpt_sovits.training.dataset import write_dataset
from tests.server.engines.gpt_sovits.training.summary import (
    compare_experiments,
    write_record,
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
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
