#!/usr/bin/env python3
"""Write a deterministic random-weight GPT-SoVITS model folder (official formats and layout).

    python tools/gpt_sovits_random_models.py --variant v2Pro --size micro --seed 7 --out DIR

``DIR`` then looks like an official ``GPT_SoVITS/pretrained_models/`` folder for that variant
(GPT and SoVITS checkpoints at their official relative paths, ``chinese-hubert-base/``,
``chinese-roberta-wwm-ext-large/``, and for Pro variants ``sv/``). The same variant, size and
seed give byte-identical files on any machine with the same torch version. Prints one
``sha256  size  path`` line per file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.engines.gpt_sovits.model_factory import (
    SIZES,
    VARIANTS,
    generate_models,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--size", choices=SIZES, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--training", action="store_true",
                        help="also write the training files (SoVITS with enc_q, discriminator)")
    parser.add_argument(
        "--only", action="append", default=None, help="write only this relative path (repeatable)"
    )
    args = parser.parse_args(argv)
    if args.seed < 0:
        parser.error("--seed must be >= 0")
    start = time.perf_counter()
    hashes = generate_models(
        args.variant, args.size, args.seed, args.out, set(args.only) if args.only else None,
        training=args.training,
    )
    total = 0
    for rel, digest in hashes.items():
        size = (args.out / rel).stat().st_size
        total += size
        print(f"{digest}  {size:>11}  {rel}")
    elapsed = time.perf_counter() - start
    print(f"{len(hashes)} files, {total / 2**20:.1f} MiB in {elapsed:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
