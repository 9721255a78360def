"""Speed of the gpt-sovits engine on full-size random weights (same compute as the real ones).

Measures, in one process as a synthesis worker runs it: model load time, memory after
load, T2S tokens per second, real-time factor and first-chunk latency for a one-sentence
and a three-sentence request (engine level: text in, first 32 kHz segment out, before the
platform's watermark and encoding), and enrollment time for 60 s of speech.

    python benchmarks/gpt_sovits_speed.py [--models DIR] [--variant v2Pro] [--device cpu]
        [--dtype float32] [--threads 2] [--repeats 3] [--max-new-tokens 0] [--out results.json]

Without ``--models`` a full-size random folder is generated from a seed into a temporary
directory first (about 20 s, 1.1-1.4 GB). Random weights rarely emit EOS, so every segment
runs to the token cap: ``--max-new-tokens 0`` (default) caps each segment at what its
phones would take at a speaking rate of about 13 phones per second (25 tokens per second of
audio), which keeps the audio length realistic; the cap is reported.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ONE_SENTENCE = "The quick brown fox jumps over the lazy dog while the children watch."
THREE_SENTENCES = ("The quick brown fox jumps over the lazy dog. Then it runs into the forest, "
                   "looking for something to eat. Nobody knows where it sleeps at night.")
TOKENS_PER_PHONE = 25 / 13  # 25 semantic tokens per second, ~13 phones per second of speech


def _rss_mib() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    rss = next(line for line in status if line.startswith("VmRSS"))
    return int(rss.split()[1]) / 1024


def _reference() -> tuple[np.ndarray, str]:
    samples, rate = sf.read(ROOT / "tests" / "fixtures" / "speech" / "2033-164914-0001.flac",
                            dtype="float32")
    assert rate == 16_000
    return samples, "The quick brown fox jumps over the lazy dog"


def measure(models_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from server.engines.gpt_sovits.layout import resolve_model_files
    from server.engines.gpt_sovits.models import OUTPUT_RATE, GptSovitsModels, InferenceOptions
    from server.engines.gpt_sovits.voice import VoicePrompt

    torch.set_num_threads(args.threads)
    rss_before = _rss_mib()
    started = time.perf_counter()
    models = GptSovitsModels.load(resolve_model_files(models_dir, variant=args.variant),
                                  device=args.device, dtype=args.dtype)
    load_seconds = time.perf_counter() - started
    rss_loaded = _rss_mib()

    reference, ref_text = _reference()
    started = time.perf_counter()
    prompt = models.frontend.prompt(ref_text, "en")
    voice = VoicePrompt(language="en", text=ref_text, reference=reference,
                        phone_ids=tuple(prompt.phone_ids), prompt_codes=models.prompt_codes(reference),
                        sv_embedding=models.speaker_embedding(reference), variant=models.variant,
                        fingerprint=models.fingerprint)
    prepared = models.prepare(voice)
    voice_seconds = time.perf_counter() - started

    results: dict[str, Any] = {}
    for name, text in (("one_sentence", ONE_SENTENCE), ("three_sentences", THREE_SENTENCES)):
        runs = []
        for repeat in range(args.repeats + 1):  # the first run warms up and is not counted
            segments = models.segments(text, "en")
            cap = args.max_new_tokens or max(
                int(len(s.phone_ids) * TOKENS_PER_PHONE) for s in segments)
            options = InferenceOptions(top_k=15, seed=repeat, max_new_tokens=cap)
            t0 = time.perf_counter()
            first = None
            tokens = 0
            samples = 0
            for piece in models.synthesize(prepared, segments, options):
                if first is None:
                    first = time.perf_counter() - t0
                tokens += len(piece.tokens)
                samples += len(piece.audio) + len(piece.pause)
            wall = time.perf_counter() - t0
            if repeat:
                runs.append({"wall": wall, "first_chunk": first, "tokens": tokens,
                             "audio_seconds": samples / OUTPUT_RATE, "cap": cap,
                             "segments": len(segments)})
        results[name] = {
            "segments": runs[0]["segments"],
            "token_cap_per_segment": runs[0]["cap"],
            "audio_seconds": statistics.median(r["audio_seconds"] for r in runs),
            "first_chunk_seconds_median": statistics.median(r["first_chunk"] for r in runs),
            "rtf_median": statistics.median(r["wall"] / r["audio_seconds"] for r in runs),
            "tokens_per_second_median": statistics.median(r["tokens"] / r["wall"] for r in runs),
        }
    return {
        "sovits_generator_4_segments": _generator_batching(models),
        "variant": models.variant,
        "device": args.device,
        "dtype": args.dtype,
        "torch_threads": args.threads,
        "load_seconds": round(load_seconds, 2),
        "memory_mib_after_load": round(rss_loaded, 1),
        "memory_mib_models": round(rss_loaded - rss_before, 1),
        "memory_mib_peak": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "voice_prepare_seconds": round(voice_seconds, 2),
        "requests": results,
    }


def _generator_batching(models: Any) -> dict[str, float]:
    """Seconds for 4 segments of 3.6 s through the SoVITS generator: one by one vs batched.

    Tells whether batching the decoder across requests would pay on this machine.
    """
    import torch

    dec = models.sovits.dec
    z = torch.randn(4, dec.conv_pre.in_channels, 180, generator=torch.Generator().manual_seed(0))
    g = torch.randn(4, dec.cond.in_channels, 1, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        dec(z[:1], g[:1])  # warm-up
        started = time.perf_counter()
        for i in range(4):
            dec(z[i : i + 1], g[i : i + 1])
        separate = time.perf_counter() - started
        started = time.perf_counter()
        dec(z, g)
        batched = time.perf_counter() - started
    return {"separate_seconds": round(separate, 2), "batched_seconds": round(batched, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path)
    parser.add_argument("--variant", default="v2Pro", choices=("v2", "v2Pro", "v2ProPlus"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        models = args.models
        generated = None
        if models is None:
            from tests.server.engines.gpt_sovits.model_factory import generate_models

            models = Path(scratch) / f"full-{args.variant}"
            t0 = time.perf_counter()
            generate_models(args.variant, "full", args.seed, models)
            generated = round(time.perf_counter() - t0, 1)
        result = measure(models, args)
    result["machine"] = {"platform": platform.platform(), "processor": platform.processor(),
                         "cpus": __import__("os").cpu_count()}
    result["generated_models_seconds"] = generated
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
