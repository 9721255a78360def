"""Parity of the gpt-sovits engine with the official GPT-SoVITS inference.

Two jobs, both run beside the project with the oracle of ``shared/gpt-sovits-oracle``
(its own venv, the official source extracted by its ``setup.sh``; nothing of it is
imported here, it runs as a separate process):

``fixtures``  Generate the micro random-weight folders from a seed (our generator), run the
              official inference on them for the committed cases, and write the small
              expected outputs CI compares against (``tests/fixtures/gpt_sovits/parity``).
``check``     On any model folder (e.g. full-size random models): run the official
              inference and ours on the same inputs and report phones, prompt codes,
              tokens (with the official per-step top-1/top-2 margins at mismatches) and the
              audio SNR, as JSON.

Usage::

    python tools/gpt_sovits_parity.py fixtures --oracle ORACLE_PY --oracle-python PY \\
        [--gsv-src DIR] [--out tests/fixtures/gpt_sovits/parity]
    python tools/gpt_sovits_parity.py check --models DIR --variant V --oracle ORACLE_PY \\
        --oracle-python PY [--gsv-src DIR] [--max-tokens 60] [--cli] [--report out.json]
    python tools/gpt_sovits_parity.py backends --models DIR --variant V --onnx-dir ONNX_DIR \\
        [--max-tokens 60] [--report out.json]

``backends``  Our PyTorch and ONNX Runtime back ends on the same inputs (no oracle): greedy
              tokens per segment and the audio SNR between them (before the watermark).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REFERENCE = ROOT / "tests" / "fixtures" / "speech" / "2033-164914-0001.flac"
EN_REF_TEXT = "The quick brown fox jumps over the lazy dog"
ZH_REF_TEXT = "今天天气很好，我们一起去公园散步吧"
#: The cases CI checks (micro models, seed 7): one per variant and language family.
FIXTURE_CASES: dict[str, dict[str, str]] = {
    "v2-en": {"variant": "v2", "ref_text": EN_REF_TEXT, "ref_lang": "en", "lang": "en",
              "text": "Hello there! On March 5th, 2024 at 7:45 we paid $19.99 for 3 books, and "
                      "Dr. Smith said it's fine. The GPT model works well, doesn't it?"},
    "v2Pro-zh": {"variant": "v2Pro", "ref_text": ZH_REF_TEXT, "ref_lang": "zh", "lang": "zh",
                 "text": "今天是2024年3月5日，我们花了3999元买了10%的股份。你好吗？一个小鸟儿在树上唱歌。"},
    "v2ProPlus-mixed": {"variant": "v2ProPlus", "ref_text": ZH_REF_TEXT, "ref_lang": "zh",
                        "lang": "zh", "text": "我们用GPT模型生成语音，效果很好。Hello world, 这是一个测试。"},
}
#: Longer texts for the full-size check (several segments, every text feature).
CHECK_CASES: dict[str, dict[str, str]] = {
    **FIXTURE_CASES,
    "en-long": {"ref_text": EN_REF_TEXT, "ref_lang": "en", "lang": "en",
                "text": "It was 9:30 p.m. when the U.S. team scored; the crowd went wild. Prices rose "
                        "by 12.5% to $1,250, i.e. a lot! Mr. Brown's 2nd book, on page 42, says so. "
                        "Is this the end? No, not yet, there is more to come, and then some."},
    "zh-long": {"ref_text": ZH_REF_TEXT, "ref_lang": "zh", "lang": "zh",
                "text": "会议时间是8:30到12:30，请准时参加。我不去，你也别去了！这个西瓜又大又甜，"
                        "价格从100到200元不等。温度在20到30度之间，小孩儿在院子里玩儿呢。"},
}
MICRO_SEED = 7
FIXTURE_MAX_TOKENS = 24


def reference_samples() -> np.ndarray:
    """The 6.7 s LibriSpeech reference as float32 (exactly what soundfile gives CI)."""
    samples, rate = sf.read(REFERENCE, dtype="float32")
    assert rate == 16_000
    return samples


def run_oracle(args: argparse.Namespace, models: Path, variant: str, case: dict[str, str],
               max_tokens: int, out: Path, ref_wav: Path) -> dict[str, Any]:
    """The official inference (greedy, noise 0) into ``out``; returns its meta.json."""
    env = {**os.environ, "GSV_SRC": args.gsv_src, "OMP_NUM_THREADS": "2"}
    command = [args.oracle_python, args.oracle, "reference", "--models", str(models),
               "--variant", variant, "--ref", str(ref_wav), "--ref-text", case["ref_text"],
               "--ref-lang", case["ref_lang"], "--text", case["text"], "--lang", case["lang"],
               "--top-k", "1", "--max-tokens", str(max_tokens), "--noise-scale", "0",
               "--out", str(out)]
    for flag in ("gpt_weights", "sovits_weights"):
        if getattr(args, flag, None):
            command += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    with tempfile.TemporaryDirectory() as cwd:
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    meta = json.loads((out / "meta.json").read_text())
    meta["wall_seconds"] = time.perf_counter() - started
    return meta


def official_outputs(out: Path) -> dict[str, Any]:
    """Phones, codes, tokens per segment, audio per segment and the T2S margins."""
    phones = json.loads((out / "phones.json").read_text())
    tokens = np.load(out / "semantic.npy")
    segments, start = [], 0
    for segment in phones["segments"]:
        n = int(segment["n_semantic"])
        segments.append([int(t) for t in tokens[start : start + n]])
        start += n
    audio = np.load(out / "audio.npy")
    trace = np.load(out / "t2s_trace.npz")
    margins = [float(np.nanmin(trace[f"seg{i}_margin"])) for i in range(len(segments))]
    return {
        "prompt_phones": [int(p) for p in phones["prompt"]["phones"]],
        "segment_phones": [[int(p) for p in s["phones"]] for s in phones["segments"]],
        "segment_texts": [s["text"] for s in phones["segments"]],
        "prompt_codes": [int(c) for c in np.load(out / "prompt_semantic.npy")],
        "segments": segments,
        "eos": [bool(s["eos"]) for s in phones["segments"]],
        "min_margins": margins,
        "audio": audio.astype(np.float32),
    }


def ours(models: Path, variant: str, case: dict[str, str], max_tokens: int,
         reference: np.ndarray, gpt_weights: Path | None = None,
         sovits_weights: Path | None = None) -> dict[str, Any]:
    """Our engine on the same inputs (before the watermark)."""
    from server.engines.gpt_sovits.layout import resolve_model_files
    from server.engines.gpt_sovits.models import GptSovitsModels, InferenceOptions
    from server.engines.gpt_sovits.voice import VoicePrompt

    loaded = GptSovitsModels.load(resolve_model_files(
        models, variant=variant, gpt_weights=gpt_weights, sovits_weights=sovits_weights))
    prompt = loaded.frontend.prompt(case["ref_text"], case["ref_lang"])
    voice = VoicePrompt(language=case["ref_lang"], text=case["ref_text"], reference=reference,
                        phone_ids=tuple(prompt.phone_ids), prompt_codes=loaded.prompt_codes(reference),
                        sv_embedding=loaded.speaker_embedding(reference), variant=loaded.variant,
                        fingerprint=loaded.fingerprint)
    prepared = loaded.prepare(voice)
    segments = loaded.segments(case["text"], case["lang"])
    options = InferenceOptions(top_k=1, noise_scale=0.0, max_new_tokens=max_tokens)
    started = time.perf_counter()
    pieces = list(loaded.synthesize(prepared, segments, options))
    return {
        "prompt_phones": list(prepared.prompt.phone_ids),
        "segment_phones": [list(p.segment.phone_ids) for p in pieces],
        "prompt_codes": [int(c) for c in voice.prompt_codes],
        "segments": [[int(t) for t in p.tokens] for p in pieces],
        "audio": np.concatenate([p.audio for p in pieces]) if pieces else np.zeros(0, np.float32),
        "synthesis_seconds": time.perf_counter() - started,
    }


def through_cli(models: Path, variant: str, case: dict[str, str], max_tokens: int,
                ref_wav: Path, scratch: Path) -> dict[str, Any]:
    """``voxguard gpt-sovits run --trace`` on the same inputs: what an operator gets (watermarked)."""
    trace, data_dir = scratch / "trace", scratch / "data"
    command = [sys.executable, "-m", "server.cli.main", "gpt-sovits", "run", "--models", str(models),
               "--variant", variant, "--ref", str(ref_wav), "--ref-text", case["ref_text"],
               "--ref-language", case["ref_lang"], "--text", case["text"],
               "--language", case["lang"], "--out", str(scratch / "out.wav"), "--top-k", "1",
               "--noise-scale", "0", "--max-new-tokens", str(max_tokens), "--trace", str(trace),
               "--data-dir", str(data_dir)]
    done = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"voxguard gpt-sovits run failed: {done.stderr[-2000:]}")
    phones = json.loads((trace / "phones.json").read_text())
    return {"phones": phones, "prompt_codes": np.load(trace / "prompt_semantic.npy"),
            "tokens": np.load(trace / "semantic.npy"), "audio": np.load(trace / "audio.npy")}


def compare_cli(official: dict[str, Any], cli: dict[str, Any]) -> dict[str, Any]:
    """The CLI's trace against the official outputs (audio carries the watermark)."""
    return {
        "phones_equal": cli["phones"] == {"prompt": official["prompt_phones"],
                                          "segments": official["segment_phones"]},
        "prompt_codes_equal": [int(c) for c in cli["prompt_codes"]] == official["prompt_codes"],
        "tokens_equal": [int(t) for t in cli["tokens"]]
        == [t for segment in official["segments"] for t in segment],
        "audio_snr_db": snr_db(official["audio"], cli["audio"].astype(np.float32)),
    }


def snr_db(reference: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-noise ratio of ``test`` against ``reference`` (same length needed)."""
    if reference.shape != test.shape:
        return float("-inf")
    noise = float(np.sum((reference.astype(np.float64) - test) ** 2))
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(signal / noise)


def compare(official: dict[str, Any], mine: dict[str, Any]) -> dict[str, Any]:
    """Every parity figure of one case."""
    token_report = []
    for index, (a, b) in enumerate(zip(official["segments"], mine["segments"], strict=False)):
        first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
        token_report.append({"segment": index, "official": len(a), "ours": len(b),
                             "first_mismatch": first,
                             "official_min_margin": official["min_margins"][index]})
    return {
        "phones_equal": official["prompt_phones"] == mine["prompt_phones"]
        and official["segment_phones"] == mine["segment_phones"],
        "prompt_codes_equal": official["prompt_codes"] == mine["prompt_codes"],
        "prompt_code_mismatches": sum(a != b for a, b in zip(official["prompt_codes"],
                                                             mine["prompt_codes"], strict=False)),
        "tokens_equal": official["segments"] == mine["segments"],
        "tokens": token_report,
        "audio_snr_db": snr_db(official["audio"], mine["audio"]),
    }


def cmd_fixtures(args: argparse.Namespace) -> int:
    from tests.server.engines.gpt_sovits.model_factory import generate_models

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        ref_wav = Path(scratch) / "ref.wav"
        sf.write(ref_wav, reference_samples(), 16_000, subtype="PCM_16")
        for name, case in FIXTURE_CASES.items():
            variant = case["variant"]
            models = Path(scratch) / f"micro-{variant}"
            if not models.exists():
                generate_models(variant, "micro", MICRO_SEED, models)
            run = Path(scratch) / f"run-{name}"
            meta = run_oracle(args, models, variant, case, FIXTURE_MAX_TOKENS, run, ref_wav)
            official = official_outputs(run)
            np.savez_compressed(out_dir / f"{name}.npz", audio=official.pop("audio").astype(np.float16))
            record = {"case": name, **case, "size": "micro", "seed": MICRO_SEED,
                      "max_tokens": FIXTURE_MAX_TOKENS, "top_k": 1, "noise_scale": 0.0,
                      "text_split": "cut1", "official_source": meta.get("source", {}).get("commit"),
                      **official}
            (out_dir / f"{name}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n")
            print(f"{name}: {len(official['segments'])} segments, tokens "
                  f"{[len(s) for s in official['segments']]}, min margin "
                  f"{min(official['min_margins']):.4f}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    reference = reference_samples()
    cases = {k: v for k, v in CHECK_CASES.items() if not args.cases or k in args.cases}
    report: dict[str, Any] = {"models": str(args.models), "variant": args.variant, "cases": {}}
    with tempfile.TemporaryDirectory() as scratch:
        ref_wav = Path(scratch) / "ref.wav"
        sf.write(ref_wav, reference, 16_000, subtype="PCM_16")
        for name, case in cases.items():
            run = Path(scratch) / name
            meta = run_oracle(args, Path(args.models), args.variant, case, args.max_tokens, run,
                              ref_wav)
            official = official_outputs(run)
            mine = ours(Path(args.models), args.variant, case, args.max_tokens, reference,
                        args.gpt_weights, args.sovits_weights)
            result = compare(official, mine)
            if args.cli:
                result["cli_watermarked"] = compare_cli(official, through_cli(
                    Path(args.models), args.variant, case, args.max_tokens, ref_wav,
                    Path(scratch) / f"cli-{name}"))
            result["official_seconds"] = meta["wall_seconds"]
            result["our_synthesis_seconds"] = mine["synthesis_seconds"]
            report["cases"][name] = result
            print(name, json.dumps(result, default=str))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1, default=str) + "\n")
    return 0


def cmd_backends(args: argparse.Namespace) -> int:
    """Tokens and audio of the torch and onnx back ends on the same text (``en-long``)."""
    from server.engines.gpt_sovits.layout import resolve_model_files
    from server.engines.gpt_sovits.models import GptSovitsModels, InferenceOptions
    from server.engines.gpt_sovits.voice import VoicePrompt

    reference, case = reference_samples(), CHECK_CASES["en-long"]
    files = resolve_model_files(Path(args.models), variant=args.variant)
    outputs: dict[str, Any] = {}
    for backend in ("torch", "onnx"):
        models = GptSovitsModels.load(files, backend=backend, onnx_dir=Path(args.onnx_dir))
        prompt = models.frontend.prompt(case["ref_text"], case["ref_lang"])
        voice = models.prepare(VoicePrompt(
            language=case["ref_lang"], text=case["ref_text"], reference=reference,
            phone_ids=tuple(prompt.phone_ids), prompt_codes=models.prompt_codes(reference),
            sv_embedding=models.speaker_embedding(reference), variant=models.variant,
            fingerprint=models.fingerprint))
        options = InferenceOptions(top_k=1, noise_scale=0.0, max_new_tokens=args.max_tokens)
        started = time.perf_counter()
        pieces = list(models.synthesize(voice, models.segments(case["text"], case["lang"], "cut5"),
                                        options))
        outputs[backend] = {"seconds": time.perf_counter() - started,
                            "tokens": [[int(t) for t in p.tokens] for p in pieces],
                            "audio": np.concatenate([p.audio for p in pieces])}
        del models
    torch_out, onnx_out = outputs["torch"], outputs["onnx"]
    report = {"variant": args.variant, "segments": len(torch_out["tokens"]),
              "tokens_equal": torch_out["tokens"] == onnx_out["tokens"],
              "audio_snr_db": snr_db(torch_out["audio"], onnx_out["audio"]),
              "torch_seconds": round(torch_out["seconds"], 2),
              "onnx_seconds": round(onnx_out["seconds"], 2)}
    print(json.dumps(report, default=str))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1, default=str) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("fixtures", "check"):
        sub = commands.add_parser(name)
        sub.add_argument("--oracle", required=True, help="path of the oracle's oracle.py")
        sub.add_argument("--oracle-python", required=True, help="python of the oracle's venv")
        sub.add_argument("--gsv-src", default="/tmp/gsv-src", help="official source (setup.sh)")
    commands.choices["fixtures"].add_argument("--out", default=str(
        ROOT / "tests" / "fixtures" / "gpt_sovits" / "parity"))
    check = commands.choices["check"]
    check.add_argument("--models", required=True)
    check.add_argument("--variant", required=True, choices=("v2", "v2Pro", "v2ProPlus"))
    check.add_argument("--max-tokens", type=int, default=60)
    check.add_argument("--cases", nargs="*")
    check.add_argument("--gpt-weights", type=Path, help="e.g. a fine-tuned export")
    check.add_argument("--sovits-weights", type=Path, help="e.g. a fine-tuned export")
    backends = commands.add_parser("backends")
    backends.add_argument("--models", required=True)
    backends.add_argument("--variant", required=True, choices=("v2", "v2Pro", "v2ProPlus"))
    backends.add_argument("--onnx-dir", required=True, help="graphs of export-onnx")
    backends.add_argument("--max-tokens", type=int, default=60)
    backends.add_argument("--report")
    check.add_argument("--cli", action="store_true",
                       help="also run `voxguard gpt-sovits run --trace` and compare its outputs")
    check.add_argument("--report")
    args = parser.parse_args(argv)
    commands_run = {"fixtures": cmd_fixtures, "check": cmd_check, "backends": cmd_backends}
    return commands_run[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
