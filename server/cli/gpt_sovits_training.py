"""``voxguard gpt-sovits prepare-dataset`` and ``finetune``: the official fine-tuning pipeline.

Both work on files only (no server, no tenant data): ``prepare-dataset`` turns an official
``.list`` into an official experiment folder; ``finetune`` trains one stage (s1 = GPT,
s2 = SoVITS) from the pretrained files and exports the official weight files. See
docs/engines.md ("Fine-tuning").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server.cli.local import reports_errors
from server.cli.output import add_json_flag, print_json

VARIANTS = ("v2", "v2Pro", "v2ProPlus")


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``prepare-dataset`` to the ``gpt-sovits`` command group."""
    prepare = commands.add_parser(
        "prepare-dataset", help="official data preparation: a .list -> an experiment folder")
    prepare.add_argument("--models", type=Path, required=True,
                         help="folder laid out like GPT_SoVITS/pretrained_models, with the "
                              "training files")
    prepare.add_argument("--variant", choices=VARIANTS, help="default: the newest complete one")
    prepare.add_argument("--list", type=Path, required=True,
                         help="official .list file: wav_path|speaker|language|text per line")
    prepare.add_argument("--out", type=Path, required=True,
                         help="experiment folder to create (EXP_DIR; must be new or empty)")
    prepare.add_argument("--wav-dir", type=Path,
                         help="read each clip as WAV_DIR/<base name> (official inp_wav_dir)")
    prepare.add_argument("--zh-g2p", choices=("pypinyin", "g2pw"), default="pypinyin")
    prepare.add_argument("--device", default="cpu")
    add_json_flag(prepare)
    prepare.set_defaults(handler=reports_errors(_prepare))


def _prepare(args: argparse.Namespace) -> int:
    from server.engines.gpt_sovits.training.prepare import prepare_dataset

    def progress(stage: str, done: int, total: int) -> None:
        if not args.json:
            print(f"\r{stage}: {done}/{total}", end="\n" if done == total else "",
                  file=sys.stderr, flush=True)

    report = prepare_dataset(args.models, args.list, args.out, variant=args.variant,
                             wav_dir=args.wav_dir, zh_g2p=args.zh_g2p, device=args.device,
                             progress=progress)
    if args.json:
        print_json(report.to_json())
        return 0
    kept = len(report.items) - len(report.skipped)
    print(f"wrote {args.out}: {kept} of {len(report.items)} items ({report.variant})")
    for name, reason in report.skipped.items():
        print(f"skipped {name}: {reason}")
    return 0
