"""GPT-SoVITS under load: continuous batching across voices against the serial path.

Full-size random weights (same compute as the real ones). For each concurrency N, N
requests of mixed voices arrive at once and run to completion in two ways, in the same run:

``batched``  one :class:`SynthesisBatch` (what a batching worker runs): every request's
             current segment advances in one T2S forward per step, finished segments are
             decoded by SoVITS and streamed.
``serial``   the same requests one after another through the batch-of-one path (what a
             one-job-at-a-time worker, and the official server, do).

Reported per mode: aggregate audio seconds per wall second, T2S tokens per second,
first-chunk latency p50/p99 and RTF per request (both from the common arrival time), and
peak memory. With ``--official`` the official ``TTS.run`` (through the oracle of
``shared/gpt-sovits-oracle``, its ``tts_run`` time: no imports, no model load) runs the
one-request case on the same models, as the reference point for concurrency 1.

    python benchmarks/gpt_sovits_load.py --models DIR [--variant v2Pro] [--concurrency 1 4 16 64]
        [--texts one three] [--serial-max 16] [--threads 2] [--device cpu] [--dtype float32]
        [--backend torch|onnx --onnx-dir DIR] [--out results.json]
        [--official ORACLE_PY --oracle-python PY --gsv-src DIR]
    python benchmarks/gpt_sovits_load.py --paths --models DIR --variant v2 [--official ...]

``--paths`` instead times one short and one cap-length request side by side through the engine
in-process, the server and the official ``TTS.run`` (``benchmarks/gpt_sovits_paths.py``).

Greedy decoding (top-k 1) with each segment capped at what its phones take at about 13
phones per second (random weights rarely emit EOS), so audio lengths are realistic and the
two modes do identical work. The serial path's throughput does not depend on N (one request
at a time), so above ``--serial-max`` it is not rerun; its latencies there are computed
from the measured per-request times in arrival order and marked ``"derived": true``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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

TEXTS = {
    "one": "The quick brown fox jumps over the lazy dog while the children watch.",
    "three": ("The quick brown fox jumps over the lazy dog. Then it runs into the forest, "
              "looking for something to eat. Nobody knows where it sleeps at night."),
}
SPEECH = ROOT / "tests" / "fixtures" / "speech"
#: Reference clips of the mixed voices: (file, start second, what the clip says).
VOICES = [
    ("2033-164914-0001.flac", 0.0, "The quick brown fox jumps over the lazy dog"),
    ("1998-15444-0001.flac", 0.5, "She sells sea shells by the sea shore"),
    ("2414-128291-0004.flac", 1.0, "Peter Piper picked a peck of pickled peppers"),
    ("2033-164914-0001.flac", 1.5, "How much wood would a woodchuck chuck"),
]
TOKENS_PER_PHONE = 25 / 13
OUTPUT_RATE = 32_000


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _prepare_voices(models: Any) -> list[Any]:
    from server.engines.gpt_sovits.voice import VoicePrompt

    voices = []
    for name, start, text in VOICES:
        samples, rate = sf.read(SPEECH / name, dtype="float32")
        clip = np.ascontiguousarray(samples[int(start * rate): int((start + 5.0) * rate)])
        prompt = models.frontend.prompt(text, "en")
        voices.append(models.prepare(VoicePrompt(
            language="en", text=text, reference=clip, phone_ids=tuple(prompt.phone_ids),
            prompt_codes=models.prompt_codes(clip), sv_embedding=models.speaker_embedding(clip),
            variant=models.variant, fingerprint=models.fingerprint)))
    return voices


def _summary(per_request: list[dict[str, float]], wall: float) -> dict[str, Any]:
    audio = sum(r["audio_seconds"] for r in per_request)
    tokens = sum(r["tokens"] for r in per_request)
    firsts = [r["first_chunk"] for r in per_request]
    rtfs = [r["done"] / r["audio_seconds"] for r in per_request]
    return {
        "wall_seconds": round(wall, 2),
        "audio_seconds": round(audio, 2),
        "aggregate_realtime": round(audio / wall, 3),
        "t2s_tokens_per_second": round(tokens / wall, 1),
        "first_chunk_p50": round(_percentile(firsts, 50), 3),
        "first_chunk_p99": round(_percentile(firsts, 99), 3),
        "rtf_p50": round(_percentile(rtfs, 50), 3),
        "rtf_p99": round(_percentile(rtfs, 99), 3),
    }


def run_batched(models: Any, requests: list[tuple[Any, list[Any], Any]],
                stream: Any = None) -> dict[str, Any]:
    """All requests admitted at t=0 into one batch, stepped to completion."""
    from server.engines.gpt_sovits.batcher import SynthesisBatch

    batch = SynthesisBatch(models)
    started = time.perf_counter()
    records = [{"first_chunk": 0.0, "done": 0.0, "audio_seconds": 0.0, "tokens": 0.0}
               for _ in requests]
    for key, (voice, segments, options) in enumerate(requests):
        batch.add(key, voice, segments, options, stream=stream)
    while len(batch):
        for out in batch.step():
            now = time.perf_counter() - started
            record = records[int(out.key)]  # type: ignore[call-overload]
            if not record["first_chunk"]:
                record["first_chunk"] = now
            pause = 0.3 * OUTPUT_RATE if out.segment_done else 0.0
            record["audio_seconds"] += (len(out.audio) + pause) / OUTPUT_RATE
            if out.segment_done:
                record["tokens"] += len(out.tokens)
            if out.last:
                record["done"] = now
    return _summary(records, time.perf_counter() - started)


def run_serial(models: Any, requests: list[tuple[Any, list[Any], Any]],
               limit: int) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """The first ``limit`` requests one after another (batch of one each), timed alone."""
    alone = []
    for voice, segments, options in requests[:limit]:
        started = time.perf_counter()
        first, audio, tokens = None, 0.0, 0
        for piece in models.synthesize(voice, segments, options):
            if first is None:
                first = time.perf_counter() - started
            audio += (len(piece.audio) + len(piece.pause)) / OUTPUT_RATE
            tokens += len(piece.tokens)
        alone.append({"first_chunk": float(first or 0.0),
                      "done": time.perf_counter() - started,
                      "audio_seconds": audio, "tokens": float(tokens)})
    return _queue_through(alone, len(requests)), alone


def _queue_through(alone: list[dict[str, float]], count: int) -> dict[str, Any]:
    """Latencies of ``count`` requests arriving together at a one-at-a-time worker."""
    records, clock = [], 0.0
    for n in range(count):
        one = alone[n % len(alone)]
        records.append({"first_chunk": clock + one["first_chunk"], "done": clock + one["done"],
                        "audio_seconds": one["audio_seconds"], "tokens": one["tokens"]})
        clock += one["done"]
    summary = _summary(records, clock)
    summary["derived"] = count > len(alone)
    return summary


def run_official(args: argparse.Namespace, text: str, cap: int) -> dict[str, Any]:
    """One request through the official ``TTS.run`` (greedy, same cap), its timings."""
    name, start, ref_text = VOICES[0]
    samples, rate = sf.read(SPEECH / name, dtype="float32")
    with tempfile.TemporaryDirectory() as scratch:
        ref = Path(scratch) / "ref.wav"
        sf.write(ref, samples[int(start * rate): int((start + 5.0) * rate)], rate,
                 subtype="PCM_16")
        out = Path(scratch) / "out"
        command = [args.oracle_python, args.official, "reference", "--models", str(args.models),
                   "--variant", args.variant, "--ref", str(ref), "--ref-text", ref_text,
                   "--ref-lang", "en", "--text", text, "--lang", "en", "--top-k", "1",
                   "--max-tokens", str(cap), "--out", str(out)]
        env = {**os.environ, "GSV_SRC": args.gsv_src, "OMP_NUM_THREADS": str(args.threads)}
        subprocess.run(command, cwd=scratch, env=env, check=True, capture_output=True)
        meta = json.loads((out / "meta.json").read_text())
        audio = np.load(out / "audio.npy")
    segments = len(meta["segments"])
    seconds = len(audio) / OUTPUT_RATE + 0.3 * segments
    run = float(meta["timings_s"]["tts_run"])
    return {"tts_run_seconds": round(run, 2), "audio_seconds": round(seconds, 2),
            "rtf": round(run / seconds, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--variant", default="v2Pro", choices=("v2", "v2Pro", "v2ProPlus"))
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--texts", nargs="+", default=["one", "three"], choices=sorted(TEXTS))
    parser.add_argument("--serial-max", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"))
    parser.add_argument("--backend", default="torch", choices=("torch", "onnx"))
    parser.add_argument("--onnx-dir", type=Path, help="graphs of `voxguard gpt-sovits export-onnx`")
    parser.add_argument("--stream-chunk-tokens", type=int, default=0,
                        help="batched mode streams segments in windows of N tokens (0: off)")
    parser.add_argument("--official", help="the oracle's oracle.py (times the official TTS.run)")
    parser.add_argument("--oracle-python")
    parser.add_argument("--gsv-src", default="/tmp/gsv-src")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--paths", action="store_true",
                        help="instead: one request through the engine, the server and the "
                             "official code, side by side (benchmarks/gpt_sovits_paths.py)")
    from benchmarks import gpt_sovits_paths

    gpt_sovits_paths.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.paths:
        paths = gpt_sovits_paths.run_paths(args)
        if args.out:
            args.out.write_text(json.dumps(paths, indent=1) + "\n")
        return 0

    import torch

    from server.engines.gpt_sovits.layout import resolve_model_files
    from server.engines.gpt_sovits.models import GptSovitsModels, InferenceOptions

    torch.set_num_threads(args.threads)
    models = GptSovitsModels.load(resolve_model_files(args.models, variant=args.variant),
                                  device=args.device, dtype=args.dtype, backend=args.backend,
                                  onnx_dir=args.onnx_dir)
    voices = _prepare_voices(models)
    stream = None
    if args.stream_chunk_tokens:
        from server.engines.gpt_sovits.streaming import StreamPlan

        stream = StreamPlan(chunk_tokens=args.stream_chunk_tokens,
                            first_chunk_tokens=min(12, args.stream_chunk_tokens))
    results: dict[str, Any] = {}
    for text_name in args.texts:
        segments = models.segments(TEXTS[text_name], "en")
        cap = max(int(len(s.phone_ids) * TOKENS_PER_PHONE) for s in segments)
        options = InferenceOptions(top_k=1, noise_scale=0.5, seed=0, max_new_tokens=cap)
        entry: dict[str, Any] = {"segments": len(segments), "token_cap_per_segment": cap}
        list(models.synthesize(voices[0], segments, options))  # warm-up
        alone: list[dict[str, float]] = []
        for n in args.concurrency:
            requests = [(voices[i % len(voices)], segments, options) for i in range(n)]
            batched = run_batched(models, requests, stream)
            if n <= args.serial_max or not alone:
                serial, alone = run_serial(models, requests, min(n, args.serial_max))
            else:
                serial = _queue_through(alone, n)
            batched["gain_vs_serial"] = round(
                batched["aggregate_realtime"] / serial["aggregate_realtime"], 2)
            batched["memory_mib_peak"] = round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            entry[f"c{n}"] = {"batched": batched, "serial": serial}
            print(text_name, n, json.dumps(entry[f"c{n}"]), flush=True)
        if args.official:
            entry["official_c1"] = run_official(args, TEXTS[text_name], cap)
            print(text_name, "official", json.dumps(entry["official_c1"]), flush=True)
        results[text_name] = entry
    report = {
        "variant": models.variant, "device": args.device, "dtype": args.dtype,
        "torch_threads": args.threads, "backend": args.backend,
        "stream_chunk_tokens": args.stream_chunk_tokens,
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count()},
        "results": results,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
