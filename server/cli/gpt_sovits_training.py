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


def _model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=Path, required=True,
                        help="folder laid out like GPT_SoVITS/pretrained_models, with the "
                             "training files")
    parser.add_argument("--variant", choices=VARIANTS, help="default: the newest complete one")


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``prepare-dataset`` to the ``gpt-sovits`` command group."""
    prepare = commands.add_parser(
        "prepare-dataset", help="official data preparation: a .list -> an experiment folder")
    _model_flags(prepare)
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


def register_finetune(commands: argparse._SubParsersAction) -> None:
    """Add ``finetune`` to the ``gpt-sovits`` command group."""
    finetune = commands.add_parser(
        "finetune", help="fine-tune one stage (s1 = GPT, s2 = SoVITS) on an experiment folder")
    _model_flags(finetune)
    finetune.add_argument("--exp", type=Path, required=True,
                          help="experiment folder written by prepare-dataset")
    finetune.add_argument("--stage", choices=("s1", "s2"), required=True)
    length = finetune.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="stop after N batches")
    length.add_argument("--epochs", type=int, help="default: the official 15 (s1) / 8 (s2)")
    finetune.add_argument("--batch-size", type=int, default=None,
                          help="default: the official rule (memory / 4 GiB, halved for fp32)")
    finetune.add_argument("--deterministic", action="store_true",
                          help="dropout off, fixed batch order and slices (parity runs)")
    finetune.add_argument("--trace", type=Path, help="write losses/gradients/parameters here")
    finetune.add_argument("--out", type=Path, required=True, help="folder for the exports")
    finetune.add_argument("--seed", type=int, default=1234)
    finetune.add_argument("--device", default="cpu")
    finetune.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    finetune.add_argument("--fix-phone-mask", action="store_true",
                          help="s1: mask padded phones correctly instead of the official way")
    finetune.add_argument("--matmul-precision", choices=("highest", "high", "medium"),
                          help="torch float32 matmul precision (default: the official trainer's"
                               ", or highest with --deterministic)")
    add_json_flag(finetune)
    finetune.set_defaults(handler=reports_errors(_finetune))


def _finetune(args: argparse.Namespace) -> int:
    import torch

    from server.engines.gpt_sovits.training.finetune import default_batch_size, finetune
    from server.engines.gpt_sovits.training.options import FinetuneOptions
    from server.engines.gpt_sovits.training.progress import RunMonitor, StepReport

    if args.threads:
        torch.set_num_threads(args.threads)
    options = FinetuneOptions(
        stage=args.stage, batch_size=args.batch_size or default_batch_size(args.device),
        out_dir=args.out, epochs=args.epochs, steps=args.steps,
        deterministic=args.deterministic, seed=args.seed, trace_dir=args.trace,
        device=args.device, fix_phone_mask=args.fix_phone_mask,
        matmul_precision=args.matmul_precision)

    def on_step(report: StepReport) -> None:
        if not args.json:
            terms = " ".join(f"{k} {v:.4g}" for k, v in report.losses.items())
            print(f"{report.stage} epoch {report.epoch} step {report.step}/{report.total_steps}"
                  f": {terms} ({report.seconds:.2f} s)", file=sys.stderr)

    result = finetune(args.models, args.exp, options, variant=args.variant,
                      monitor=RunMonitor(on_step=on_step))
    if args.json:
        print_json({"stage": result.stage, "variant": result.variant,
                    "exported": [str(p) for p in result.exported],
                    "steps_run": result.steps_run, "epochs_run": result.epochs_run,
                    "batch_size": result.batch_size, "dataset_items": result.dataset_items,
                    "dropped": result.dropped, "seconds": round(result.seconds, 3)})
        return 0
    for path in result.exported:
        print(f"wrote {path}")
    print(f"{result.stage}: {result.steps_run} steps, {result.epochs_run} epoch(s), batch "
          f"{result.batch_size}, {result.seconds:.1f} s")
    return 0


def register_slice(commands: argparse._SubParsersAction) -> None:
    """Add ``slice`` to the ``gpt-sovits`` command group."""
    slicer = commands.add_parser(
        "slice", help="official slicing of long recordings into utterances, then a .list")
    slicer.add_argument("--in", dest="source", type=Path, required=True,
                        help="a recording, or a folder of recordings")
    slicer.add_argument("--out", type=Path, required=True,
                        help="folder for the utterances and <speaker>.list")
    slicer.add_argument("--speaker", default="speaker", help="the .list's speaker field")
    slicer.add_argument("--language", choices=("en", "zh"), default="en")
    slicer.add_argument("--no-asr", action="store_true",
                        help="leave the transcripts empty (required for zh: write them)")
    slicer.add_argument("--threshold", type=float, default=-34.0, help="silence below, dB")
    slicer.add_argument("--min-length", type=int, default=4000, help="ms")
    slicer.add_argument("--min-interval", type=int, default=300, help="ms")
    slicer.add_argument("--hop", type=int, default=10, help="ms")
    slicer.add_argument("--max-silence-kept", type=int, default=500, help="ms")
    add_json_flag(slicer)
    slicer.set_defaults(handler=reports_errors(_slice))


def _slice(args: argparse.Namespace) -> int:
    from server.engines.gpt_sovits.training.slicing import (
        SliceOptions,
        slice_recordings,
        write_list,
    )
    from server.errors import InvalidArgument

    if args.language != "en" and not args.no_asr:
        raise InvalidArgument("the bundled recogniser is English-only; add --no-asr and write "
                              "the transcripts into the .list")
    options = SliceOptions(threshold_db=args.threshold, min_length_ms=args.min_length,
                           min_interval_ms=args.min_interval, hop_ms=args.hop,
                           max_silence_kept_ms=args.max_silence_kept)
    clips = slice_recordings(args.source, args.out, options)
    if not clips:
        raise InvalidArgument(f"no speech found in {args.source} (everything is below "
                              f"{args.threshold} dB); check the recording or the threshold")
    list_path = args.out / f"{args.speaker}.list"
    lines = write_list(clips, list_path, args.speaker, args.language, not args.no_asr)
    if args.json:
        print_json({"list": str(list_path), "clips": [str(c) for c in clips], "lines": lines})
    else:
        print(f"wrote {len(clips)} utterances and {list_path}")
    return 0
