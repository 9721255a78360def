"""``voxguard gpt-sovits``: check an operator's model folder, export it, run one synthesis.

No command needs a server or touches tenant data. ``run`` takes the official ``TTS.run``
defaults and writes, with ``--trace``, the intermediates the parity checks compare;
``export-onnx`` writes the T2S graphs the ``onnx`` back end runs (see docs/engines.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from server.cli.local import reports_errors
from server.cli.output import add_json_flag, print_json

VARIANTS = ("v2", "v2Pro", "v2ProPlus")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gpt-sovits`` command group."""
    group = subparsers.add_parser("gpt-sovits", help="check GPT-SoVITS model folders, run offline")
    commands = group.add_subparsers(dest="gpt_sovits_command", metavar="COMMAND", required=True)

    inspect = commands.add_parser("inspect", help="report a model folder's variant, files and configs")
    _model_flags(inspect)
    add_json_flag(inspect)
    inspect.set_defaults(handler=reports_errors(_inspect))

    run = commands.add_parser("run", help="synthesize one text from files (offline, watermarked)")
    _model_flags(run)
    run.add_argument("--ref", type=Path, required=True, help="reference clip, 3-10 s")
    run.add_argument("--ref-text", required=True, help="what the reference clip says")
    run.add_argument("--ref-language", required=True, help="en or zh")
    run.add_argument("--text", required=True)
    run.add_argument("--language", required=True, help="en or zh (zh may contain English)")
    run.add_argument("--out", type=Path, required=True, help="output WAV (32 kHz, watermarked)")
    run.add_argument("--top-k", type=int, default=15)
    run.add_argument("--top-p", type=float, default=1.0)
    run.add_argument("--temperature", type=float, default=1.0)
    run.add_argument("--repetition-penalty", type=float, default=1.35)
    run.add_argument("--noise-scale", type=float, default=0.5)
    run.add_argument("--speed", type=float, default=1.0)
    run.add_argument("--seed", type=int, help="random seed (default: a fresh one)")
    run.add_argument("--max-new-tokens", type=int,
                     help="stop each segment after N tokens (official early_stop_num)")
    run.add_argument("--text-split", default="cut1", help="cut0-cut5 (official names)")
    run.add_argument("--zh-g2p", choices=("pypinyin", "g2pw"), default="pypinyin")
    run.add_argument("--device", default="cpu")
    run.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32")
    run.add_argument("--semantic-in", type=Path, help='JSON {"segments": [[tokens], ...]}: skip T2S')
    run.add_argument("--trace", type=Path, help="write phones.json, *.npy intermediates here")
    run.add_argument("--data-dir", type=Path, help="where the watermark key is (VOXGUARD_DATA_DIR)")
    run.add_argument("--backend", choices=("torch", "onnx"), default="torch",
                     help="run T2S on PyTorch or on the graphs of --onnx-dir")
    run.add_argument("--onnx-dir", type=Path, help="graphs written by export-onnx")
    run.set_defaults(handler=reports_errors(_run))

    export = commands.add_parser(
        "export-onnx", help="export T2S and the SoVITS generator to ONNX graphs")
    _model_flags(export)
    export.add_argument("--out", type=Path, required=True, help="folder for the graphs (ONNX_DIR)")
    export.set_defaults(handler=reports_errors(_export_onnx))

    from server.cli import gpt_sovits_training

    gpt_sovits_training.register(commands)
    gpt_sovits_training.register_finetune(commands)
    gpt_sovits_training.register_slice(commands)


def _model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=Path, required=True,
                        help="folder laid out like GPT_SoVITS/pretrained_models")
    parser.add_argument("--variant", choices=VARIANTS, help="default: the newest complete one")
    parser.add_argument("--gpt-weights", type=Path, help="a T2S .ckpt (e.g. fine-tuned)")
    parser.add_argument("--sovits-weights", type=Path, help="a SoVITS .pth (e.g. fine-tuned)")


def _inspect(args: argparse.Namespace) -> int:
    from server.engines.gpt_sovits.inspect import inspect_models

    report = inspect_models(args.models, args.variant, args.gpt_weights, args.sovits_weights)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.format())
    return 0


def _run(args: argparse.Namespace) -> int:
    from server.cli.gpt_sovits_offline import OfflineRun, check_text_split, run_offline
    from server.config import Settings
    from server.engines.base import SynthesisParams
    from server.engines.gpt_sovits.models import InferenceOptions
    from server.engines.gpt_sovits.t2s_decode import MAX_NEW_TOKENS
    from server.errors import InvalidArgument
    from server.platform import load_watermark_keyring

    split = check_text_split(args.text_split)
    SynthesisParams(speed=args.speed, top_k=args.top_k, top_p=args.top_p,  # range checks
                    temperature=args.temperature, repetition_penalty=args.repetition_penalty)
    if not 0 <= args.noise_scale <= 2:
        raise InvalidArgument("--noise-scale must lie in 0-2 (official default 0.5)")
    cap = args.max_new_tokens if args.max_new_tokens is not None else MAX_NEW_TOKENS
    if not 1 <= cap <= MAX_NEW_TOKENS:
        raise InvalidArgument(f"--max-new-tokens must lie in 1-{MAX_NEW_TOKENS}")
    options = InferenceOptions(top_k=args.top_k, top_p=args.top_p, temperature=args.temperature,
                               repetition_penalty=args.repetition_penalty,
                               noise_scale=args.noise_scale, speed=args.speed, seed=args.seed,
                               max_new_tokens=cap, text_split=split)
    settings = Settings.load(data_dir=args.data_dir) if args.data_dir else Settings.load()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keyring = load_watermark_keyring(settings)
    result = run_offline(OfflineRun(
        models_dir=args.models, variant=args.variant, gpt_weights=args.gpt_weights,
        sovits_weights=args.sovits_weights, ref=args.ref, ref_text=args.ref_text,
        ref_language=args.ref_language, text=args.text, language=args.language, out=args.out,
        options=options, zh_g2p=args.zh_g2p, device=args.device, dtype=args.dtype,
        semantic_in=args.semantic_in, trace_dir=args.trace, backend=args.backend,
        onnx_dir=args.onnx_dir), keyring)
    print(f"wrote {args.out}: {result.seconds:.2f} s at 32 kHz, {result.segments} segments, "
          f"{result.tokens} tokens, variant {result.variant}, generation {result.generation_id}")
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    from server.engines.gpt_sovits.checkpoints import (
        check_pair,
        load_sovits_checkpoint,
        load_t2s_checkpoint,
    )
    from server.engines.gpt_sovits.layout import resolve_model_files
    from server.engines.gpt_sovits.sovits import SovitsModel
    from server.engines.gpt_sovits.sovits_onnx import export_generator, sovits_source
    from server.engines.gpt_sovits.t2s import T2SModel
    from server.engines.gpt_sovits.t2s_onnx import export_t2s, t2s_source

    files = resolve_model_files(args.models, variant=args.variant, gpt_weights=args.gpt_weights,
                                sovits_weights=args.sovits_weights)
    t2s_ckpt, sovits_ckpt = load_t2s_checkpoint(files.t2s), load_sovits_checkpoint(files.sovits)
    check_pair(t2s_ckpt, sovits_ckpt)
    written = export_t2s(T2SModel.from_checkpoint(t2s_ckpt), args.out, t2s_source(files.t2s))
    written += export_generator(SovitsModel.from_checkpoint(sovits_ckpt), args.out,
                                sovits_source(files.sovits))
    for path in written:
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(f"serve with VOXGUARD_GPT_SOVITS_BACKEND=onnx VOXGUARD_GPT_SOVITS_ONNX_DIR={args.out}")
    return 0
