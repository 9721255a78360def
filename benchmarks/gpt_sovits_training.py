"""GPT-SoVITS fine-tuning speed: one training step against the official, and a whole fine-tune.

    python benchmarks/gpt_sovits_training.py steps --models DIR --variant v2Pro \\
        --oracle ORACLE_PY --oracle-python PY [--threads 2] [--s1-steps 10] [--s2-steps 4]
    python benchmarks/gpt_sovits_training.py finetune --models DIR --variant v2Pro \\
        [--corpus ../shared/corpus] [--seconds 60] [--threads 2] [--device cpu]

``steps``     The same deterministic batches through the official trainer (the shared
              oracle, its own venv, run as a separate process) and through ours, on the same
              experiment folder (prepared by the official scripts from the eight test clips),
              with the same torch thread count, one stage after the other. Reports the median
              wall time of a step (the first, a warm-up, left out) and the ratio ours/official.
``finetune``  A whole fine-tune as an operator runs it: about ``--seconds`` of one corpus
              speaker's utterances, transcribed by the bundled recogniser, prepared, then
              s2 (SoVITS) and s1 (GPT) with the official epochs (8 and 15) and the official
              batch-size rule. Reports each stage's wall time and the process's peak memory.
              On a GPU, ``--device cuda`` (voxguard trains in fp32 there; see docs/engines.md).

``--models`` must hold the training files (``tools/gpt_sovits_random_models.py --training``).
Writes JSON to ``--out`` (default: printed).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _median_step(meta: dict[str, Any]) -> float:
    seconds = meta["step_seconds"][1:] or meta["step_seconds"]
    return statistics.median(seconds)


def cmd_steps(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from server.engines.gpt_sovits.training.finetune import finetune
    from server.engines.gpt_sovits.training.options import FinetuneOptions
    from tests.server.engines.gpt_sovits.training.dataset import write_dataset

    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {"threads": args.threads, "variant": args.variant, "stages": {}}
    with tempfile.TemporaryDirectory(prefix="gsv-train-bench-") as tmp:
        scratch = Path(tmp)
        exp = scratch / "exp"
        subprocess.run([str(args.oracle_python), str(args.oracle), "prepare-dataset",
                        "--models", str(args.models), "--variant", args.variant,
                        "--list", str(write_dataset(scratch / "data")), "--out", str(exp)],
                       check=True, stdout=subprocess.DEVNULL)
        for stage, steps in (("s1", args.s1_steps), ("s2", args.s2_steps)):
            official_trace = scratch / f"official-{stage}"
            subprocess.run([str(args.oracle_python), str(args.oracle), "train", "--models",
                            str(args.models), "--variant", args.variant, "--exp", str(exp),
                            "--stage", stage, "--steps", str(steps), "--batch-size",
                            str(args.batch_size), "--deterministic", "--trace",
                            str(official_trace), "--out", str(scratch / f"official-out-{stage}"),
                            "--threads", str(args.threads)],
                           check=True, stdout=subprocess.DEVNULL)
            our_trace = scratch / f"ours-{stage}"
            finetune(args.models, exp, FinetuneOptions(
                stage=stage, batch_size=args.batch_size, steps=steps, deterministic=True,
                trace_dir=our_trace, out_dir=scratch / f"our-out-{stage}"),
                variant=args.variant)
            official_meta = json.loads((official_trace / "meta.json").read_text())["timings_s"]
            ours_meta = json.loads((our_trace / "meta.json").read_text())
            official, ours = _median_step(official_meta), _median_step(ours_meta)
            report["stages"][stage] = {
                "steps": steps, "batch_size": args.batch_size,
                "official_step_s": round(official, 3), "our_step_s": round(ours, 3),
                "ratio": round(ours / official, 3),
                "official_all_s": official_meta["step_seconds"],
                "our_all_s": ours_meta["step_seconds"]}
            print(stage, json.dumps(report["stages"][stage]), file=sys.stderr)
        if args.medium:
            report["s2_medium"] = _medium_effect(args, exp, scratch, report["stages"]["s2"])
    return report


def _medium_effect(args: argparse.Namespace, exp: Path, scratch: Path,
                   fp32: dict[str, Any]) -> dict[str, Any]:
    """Ours s2 again with the official trainer's matmul precision "medium" (bf16 products on
    CPUs with bf16 units): its step time, and how far its losses move from the fp32 run."""
    from server.engines.gpt_sovits.training.finetune import finetune
    from server.engines.gpt_sovits.training.options import FinetuneOptions

    trace = scratch / "ours-s2-medium"
    finetune(args.models, exp, FinetuneOptions(
        stage="s2", batch_size=args.batch_size, steps=args.s2_steps, deterministic=True,
        trace_dir=trace, out_dir=scratch / "our-out-s2-medium", matmul_precision="medium"),
        variant=args.variant)
    medium = json.loads((trace / "losses.json").read_text())["steps"]
    highest = json.loads((scratch / "ours-s2" / "losses.json").read_text())["steps"]
    keys = ("loss_disc_all", "loss_gen_all", "loss_mel", "loss_kl", "loss_fm", "grad_norm_g")
    drift = {k: max(abs(m[k] - h[k]) / max(abs(h[k]), 1e-12) for m, h in zip(medium, highest))
             for k in keys}
    step = _median_step(json.loads((trace / "meta.json").read_text()))
    return {"our_step_s": round(step, 3), "vs_highest": round(step / fp32["our_step_s"], 3),
            "max_relative_loss_change": {k: f"{v:.2e}" for k, v in drift.items()}}


def _corpus_list(corpus: Path, speaker: str | None, seconds: float, folder: Path) -> tuple[
        Path, float]:
    """A ``.list`` of one speaker's utterances (about ``seconds`` of audio), transcribed."""
    import soundfile as sf

    from benchmarks._corpus import load_speakers
    from server.audio.signal import Audio
    from server.speech.asr import Transcriber

    speakers = load_speakers(corpus)
    name = speaker or min(speakers)
    transcriber = Transcriber()
    lines, total = [], 0.0
    for index, utterance in enumerate(speakers[name]):
        if total >= seconds:
            break
        audio: Audio = utterance.audio
        path = folder / f"{name}_{index:02d}.wav"
        sf.write(path, audio.samples, audio.sample_rate, subtype="PCM_16")
        text = transcriber.transcribe(audio)
        lines.append(f"{path}|{name}|en|{text}")
        total += len(audio.samples) / audio.sample_rate
    list_path = folder / "train.list"
    list_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list_path, total


def cmd_finetune(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from server.engines.gpt_sovits.training.finetune import default_batch_size, finetune
    from server.engines.gpt_sovits.training.options import DEFAULT_EPOCHS, FinetuneOptions
    from server.engines.gpt_sovits.training.prepare import prepare_dataset

    torch.set_num_threads(args.threads)
    batch = args.batch_size or default_batch_size(args.device)
    report: dict[str, Any] = {"threads": args.threads, "device": args.device,
                              "variant": args.variant, "batch_size": batch, "stages": {}}
    with tempfile.TemporaryDirectory(prefix="gsv-finetune-bench-") as tmp:
        scratch = Path(tmp)
        (scratch / "clips").mkdir()
        list_path, seconds = _corpus_list(args.corpus, args.speaker, args.seconds,
                                          scratch / "clips")
        report["speech_seconds"] = round(seconds, 1)
        started = time.perf_counter()
        prepared = prepare_dataset(args.models, list_path, scratch / "exp",
                                   variant=args.variant, device=args.device)
        report["stages"]["prepare"] = {"seconds": round(time.perf_counter() - started, 1),
                                       "items": len(prepared.items)}
        for stage in ("s2", "s1"):
            result = finetune(args.models, scratch / "exp", FinetuneOptions(
                stage=stage, batch_size=batch, epochs=DEFAULT_EPOCHS[stage],
                out_dir=scratch / "out", device=args.device), variant=args.variant)
            report["stages"][stage] = {
                "seconds": round(result.seconds, 1), "steps": result.steps_run,
                "epochs": result.epochs_run, "batch_size": result.batch_size,
                "step_s": round(result.seconds / max(result.steps_run, 1), 3)}
            print(stage, json.dumps(report["stages"][stage]), file=sys.stderr)
    report["total_seconds"] = round(sum(s["seconds"] for s in report["stages"].values()), 1)
    report["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    if args.device.startswith("cuda"):
        report["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return report


def main(argv: list[str] | None = None) -> int:
    from benchmarks._corpus import add_corpus_argument, machine_description

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler in (("steps", cmd_steps), ("finetune", cmd_finetune)):
        sub = commands.add_parser(name)
        sub.add_argument("--models", type=Path, required=True)
        sub.add_argument("--variant", default="v2Pro", choices=("v2", "v2Pro", "v2ProPlus"))
        sub.add_argument("--threads", type=int, default=2)
        sub.add_argument("--out", type=Path)
        sub.set_defaults(handler=handler)
    steps = commands.choices["steps"]
    steps.add_argument("--oracle", type=Path, required=True, help="path of oracle.py")
    steps.add_argument("--oracle-python", type=Path, required=True)
    steps.add_argument("--s1-steps", type=int, default=10)
    steps.add_argument("--s2-steps", type=int, default=4)
    steps.add_argument("--batch-size", type=int, default=2)
    steps.add_argument("--medium", action="store_true",
                       help="also time ours s2 with matmul precision 'medium' (the official's)")
    finetune = commands.choices["finetune"]
    add_corpus_argument(finetune)
    finetune.add_argument("--speaker", help="corpus speaker id (default: the first)")
    finetune.add_argument("--seconds", type=float, default=60.0)
    finetune.add_argument("--device", default="cpu")
    finetune.add_argument("--batch-size", type=int, help="default: the official rule")
    args = parser.parse_args(argv)
    report = {"benchmark": f"gpt_sovits_training {args.command}",
              "machine": machine_description(), **args.handler(args)}
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
