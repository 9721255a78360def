"""The gpt-sovits worker under bursts: how long a running request waits between T2S steps.

    python benchmarks/worker_stages.py --models DIR [--variant v2Pro] [--concurrency 16 64]
        [--burst 8] [--burst-gap 0.5] [--threads 1] [--warmup same|small] [--out results.json]

Runs the real worker loop (``server.synthesis.worker``) in this process over a real pipe,
with the gpt-sovits engine on the given models (full-size random weights for figures:
``tools/gpt_sovits_random_models.py``). N requests of mixed voices arrive in bursts of
``--burst`` every ``--burst-gap`` seconds, as a front end would hand them over. The runner's
``step`` is timed from outside: for every request, the gaps between the starts of two
consecutive steps while it was in the batch are pooled, and their p50/p99/max reported,
with the first-chunk latency (from its arrival to its first audio) p50/p99. Joining work
that runs inside the loop (front end, voice preparation, SoVITS decode, watermarking) shows
up as long gaps for the requests already running; issue 15 asks that the p99 gap not grow
when requests join. Run it on two commits to compare designs (``git worktree``).

Before each measured run, a warm-up run of the same size (``--warmup same``, the default)
brings the worker to its steady state: the T2S cache keeps the size of the largest batch it
held, so growing it (a copy that stalls every running row) happens once in a worker's life,
not in every burst; ``--warmup small`` measures a fresh worker's first bursts instead.
``benchmarks/gpt_sovits_load.py`` drives the batch below the worker, so it cannot see the
stages; this script runs the worker itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from multiprocessing import Pipe
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPEECH = ROOT / "tests" / "fixtures" / "speech"
VOICES = [
    ("2033-164914-0001.flac", 0.0, "The quick brown fox jumps over the lazy dog"),
    ("1998-15444-0001.flac", 0.5, "She sells sea shells by the sea shore"),
    ("2414-128291-0004.flac", 1.0, "Peter Piper picked a peck of pickled peppers"),
]
TEXT = ("The quick brown fox jumps over the lazy dog. Then it runs into the forest, "
        "looking for something to eat.")


def _percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)), 4) if values else float("nan")


class StepClock:
    """Wraps a runner: records when each step starts and when each request joins and leaves."""

    def __init__(self, runner: Any) -> None:
        self.runner = runner
        self.steps: list[float] = []
        self.joined: dict[str, float] = {}
        self.left: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.runner, name)

    def add(self, key: str, *args: Any) -> None:  # the loop before the staged design
        self.runner.add(key, *args)
        self.joined[key] = time.perf_counter()

    def admit(self, key: str, prepared: Any) -> None:
        self.runner.admit(key, prepared)
        self.joined[key] = time.perf_counter()

    def remove(self, key: str) -> None:
        self.runner.remove(key)
        self.left.setdefault(key, time.perf_counter())

    def step(self) -> Any:
        self.steps.append(time.perf_counter())
        for event in self.runner.step():
            if event.done or event.error is not None:
                self.left.setdefault(event.key, time.perf_counter())
            yield event

    def gaps(self) -> list[float]:
        """Every gap between two step starts that a request spent inside the batch."""
        steps = np.asarray(self.steps)
        pooled: list[float] = []
        for key, joined in self.joined.items():
            left = self.left.get(key, float("inf"))
            inside = steps[(steps >= joined) & (steps <= left)]
            pooled.extend(np.diff(inside).tolist())
        return pooled


def _voice_models(engine: Any) -> list[bytes]:
    from server.engines.base import VoiceModel
    from server.engines.gpt_sovits.voice import VoicePrompt

    models, out = engine.models, []
    for name, start, text in VOICES:
        samples, rate = sf.read(SPEECH / name, dtype="float32")
        clip = np.ascontiguousarray(samples[int(start * rate): int((start + 5.0) * rate)])
        prompt = VoicePrompt(
            language="en", text=text, reference=clip,
            phone_ids=tuple(models.frontend.prompt(text, "en").phone_ids),
            prompt_codes=models.prompt_codes(clip), sv_embedding=models.speaker_embedding(clip),
            variant=models.variant, fingerprint=models.fingerprint)
        out.append(VoiceModel(engine=engine.name, engine_version=engine.version,
                              data=prompt.to_bytes()).to_bytes())
    return out


def run(engine: Any, runner: Any, voices: list[bytes], count: int, burst: int,
        gap: float) -> dict[str, Any]:
    """``count`` requests in bursts through a worker loop; the step gaps and first chunks.

    ``runner`` is the worker's batch runner, the same for every run as in a worker's life.
    """
    from opentelemetry.trace import NoOpTracer

    from server.engines.base import SynthesisParams
    from server.synthesis import worker as worker_module
    from server.synthesis.records import AudioPiece, JobFailed, Shutdown, SynthesisJob
    from server.watermark import Keyring

    rules = engine.request_rules()
    request = rules.check(TEXT, "en", SynthesisParams(top_k=1, seed=0))
    clock = StepClock(runner)
    server_end, worker_end = Pipe()
    loop = worker_module._WorkerLoop(worker_end, clock, Keyring.generate(),
                                     worker_module._VoiceCache(8), NoOpTracer(), engine)
    thread = threading.Thread(target=loop.serve)
    thread.start()
    sent: dict[str, float] = {}
    first: dict[str, float] = {}
    finished: set[str] = set()
    failures: list[str] = []
    all_done = threading.Event()

    def read() -> None:  # like the server's reader thread: the pipe never backs up
        while len(finished) + len(failures) < count:
            message = server_end.recv()
            now = time.perf_counter()
            if isinstance(message, AudioPiece):
                first.setdefault(message.job_id, now - sent[message.job_id])
                if message.final:
                    finished.add(message.job_id)
            elif isinstance(message, JobFailed):
                failures.append(f"{message.job_id}: {message.error.message}")
        all_done.set()

    started = time.perf_counter()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for n in range(count):
        if n and n % burst == 0:
            time.sleep(gap)
        job_id = f"job{n}"
        sent[job_id] = time.perf_counter()
        server_end.send(SynthesisJob(
            job_id=job_id, request_id=f"req_{n}", tenant_id="t", voice_id=f"v{n % len(voices)}",
            voice_model=voices[n % len(voices)], generation_id=f"{n:016x}", request=request))
    all_done.wait()
    if failures:
        raise SystemExit("requests failed: " + "; ".join(failures))
    wall = time.perf_counter() - started
    server_end.send(Shutdown())
    thread.join(120)
    gaps = clock.gaps()
    firsts = list(first.values())
    return {
        "requests": count, "burst": burst, "burst_gap_seconds": gap,
        "wall_seconds": round(wall, 2), "steps": len(clock.steps),
        "step_gap_p50": _percentile(gaps, 50), "step_gap_p99": _percentile(gaps, 99),
        "step_gap_max": round(max(gaps), 4) if gaps else float("nan"),
        "first_chunk_p50": _percentile(firsts, 50), "first_chunk_p99": _percentile(firsts, 99),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--variant", default="v2Pro", choices=("v2", "v2Pro", "v2ProPlus"))
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--burst", type=int, default=8)
    parser.add_argument("--burst-gap", type=float, default=0.5)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (workers run 1 unless OMP_NUM_THREADS says more)")
    parser.add_argument("--warmup", choices=("same", "small"), default="same")
    parser.add_argument("--max-new-tokens", type=int, default=60)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    import torch

    from server.engines.gpt_sovits.engine import GptSovitsEngine

    torch.set_num_threads(args.threads)
    engine = GptSovitsEngine(models_dir=str(args.models), variant=args.variant,
                             max_batch=args.max_batch, max_new_tokens=args.max_new_tokens)
    engine.prepare()
    from server.synthesis.worker import runner_for

    voices = _voice_models(engine)
    runner = runner_for(engine)
    results = {}
    for n in args.concurrency:
        run(engine, runner, voices, n if args.warmup == "same" else 2, args.burst,
            args.burst_gap)
        results[f"c{n}"] = run(engine, runner, voices, n, args.burst, args.burst_gap)
    for name, result in results.items():
        print(name, json.dumps(result), flush=True)
    report = {"variant": args.variant, "torch_threads": args.threads, "warmup": args.warmup,
              "max_new_tokens": args.max_new_tokens, "results": results,
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count()}}
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
