"""One GPT-SoVITS request, side by side: the engine in-process, the server, the official code.

    python benchmarks/gpt_sovits_load.py --paths --models DIR --variant v2 --corpus ../shared/corpus
        [--official ORACLE_PY --oracle-python PY --gsv-src DIR] [--out results.json]

(or ``python benchmarks/gpt_sovits_paths.py`` with the same options). For a short request
(the text's phones at about 13 per second) and a long one (the 1,499-token cap: random
weights never stop earlier), greedy (``top_k`` 1, seed 5), the same text is timed through:

``engine``   the engine in this process, as ``voxguard gpt-sovits run`` runs it: models
             loaded and the voice prepared beforehand (excluded), torch on every core.
``server``   ``Synthesize`` through a real gRPC server on 127.0.0.1 with the default worker
             plan (for gpt-sovits: one worker with every core), the voice enrolled before,
             a warm-up request first; the time from the call to the whole response, which
             includes the watermark, the encoding and the pipe.
``server-2x1`` the same with the plan of before issue 21 (two workers, one thread each).
``official`` the official ``TTS.run`` through the oracle (``--official``): its ``tts_run``
             time, imports and model load excluded, on a 5 s reference of the same corpus.

Times on this VM drift by 10-30 % over minutes, so the engine and the default server are
loaded side by side and their runs alternate (engine, server, engine, ...): ``--repeats`` runs
each of the short request (default 5; the median and every time are reported), one each of the
long one. The old worker plan and the official code run after them.

The engine and the server use the same voice: the server enrolls it from the corpus's first
speaker, and the engine path enrolls the same decoded audio with the same engine, so both
prompt with the same clip and words. Each server configuration is started once per token cap
(the cap is an engine option).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TEXT = "The museum opens at nine in the morning."
SEED = 5
LONG_CAP = 1499
OUTPUT_RATE = 32_000


def _enrollment_audio(corpus: Path) -> bytes:
    """The enrollment audio (FLAC) that ``synthesis_load._setup`` enrolls: the first speaker's
    first six utterances."""
    from benchmarks._corpus import concatenate, load_speakers
    from benchmarks.synthesis_load import _flac

    utterances = next(iter(load_speakers(corpus).values()))
    return _flac(concatenate(utterances[:6]))


def _short_cap() -> int:
    """The short request's token cap: its phones at about 13 per second (25 tokens/s), as in
    the load benchmark."""
    from benchmarks.gpt_sovits_load import TOKENS_PER_PHONE
    from server.engines.gpt_sovits.text.frontend import TextFrontEnd

    segments = TextFrontEnd(None).segments(TEXT, "en", "cut1")  # English needs no BERT
    return max(int(len(segment.phone_ids) * TOKENS_PER_PHONE) for segment in segments)


def _timed(run: Any, repeats: int) -> dict[str, Any]:
    """``run()`` (which returns the seconds of audio it made) ``repeats`` times: the median
    time, every time, in seconds, and the audio length."""
    times, audio = [], 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        audio = run()
        times.append(round(time.perf_counter() - started, 3))
    return {"seconds": round(float(statistics.median(times)), 3), "times": times,
            "audio_seconds": round(audio, 2)}


@contextmanager
def engine_speaker(models_dir: Path, variant: str, enrollment: bytes,
                   cap: int) -> Iterator[Callable[[], float]]:
    """The engine in this process, the voice enrolled from the same audio as the server's;
    yields a call that speaks the text and returns the seconds of audio."""
    import torch

    from server.audio.codecs import decode_audio
    from server.engines.base import EnrollmentHints, SynthesisParams
    from server.engines.gpt_sovits.engine import GptSovitsEngine

    torch.set_num_threads(os.cpu_count() or 1)
    engine = GptSovitsEngine(models_dir=str(models_dir), variant=variant, max_new_tokens=cap)
    engine.prepare()
    audio = decode_audio(enrollment)
    voice = engine.enroll(audio.samples, audio.sample_rate, EnrollmentHints(language="en"))
    params = SynthesisParams(top_k=1, seed=SEED)
    list(engine.synthesize(voice, "Warm up.", "en", params))

    def speak() -> float:
        chunks = engine.synthesize(voice, TEXT, "en", params)
        return sum(len(chunk.samples) for chunk in chunks) / OUTPUT_RATE

    yield speak


@contextmanager
def server_speaker(models_dir: Path, variant: str, corpus: Path, cap: int,
                   workers: int | None, threads: int | None) -> Iterator[Callable[[], float]]:
    """A real server with the given worker plan (None: its default) and the corpus voice
    enrolled (``synthesis_load._setup``); yields a call that speaks the text through
    ``Synthesize`` and returns its audio seconds."""
    from benchmarks.synthesis_load import ADMIN, _setup
    from server.api.v1 import synthesis_pb2, synthesis_pb2_grpc
    from server.config import Settings
    from server.grpc_app.background import BackgroundServer

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings.load(
            data_dir=Path(data_dir), listen="127.0.0.1:0", admin_token=ADMIN,
            engine="gpt-sovits", gpt_sovits_models=models_dir, gpt_sovits_variant=variant,
            engine_options={"max_new_tokens": cap}, cpu_workers=workers, worker_threads=threads,
            consent_verify_statement=False, rate_limit_per_minute=1_000_000,
            rate_limit_burst=100_000)
        server = BackgroundServer(settings)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                md, voice_id = _setup(channel, corpus)
                stub = synthesis_pb2_grpc.SynthesisStub(channel)

                def synthesize(text: str) -> Any:
                    return stub.Synthesize(synthesis_pb2.SynthesizeRequest(
                        voice_id=voice_id, text=text, language="en", top_k=1, seed=SEED),
                        metadata=md)

                synthesize("Warm up.")
                yield lambda: float(synthesize(TEXT).duration_seconds)
        finally:
            server.stop()


def run_paths(args: argparse.Namespace) -> dict[str, Any]:
    """Every path for the short and the long request (see the module docstring).

    The engine and the default server are loaded together and their runs alternate, so that
    both see the same state of this VM, whose speed drifts by 10-30 % over minutes.
    """
    enrollment = _enrollment_audio(args.corpus)
    caps = {"short": _short_cap(), "long": LONG_CAP}
    results: dict[str, Any] = {"text": TEXT, "seed": SEED, "variant": args.variant,
                               "machine": {"platform": platform.platform(),
                                           "cpus": os.cpu_count()}}
    for name, cap in caps.items():
        repeats = args.repeats if name == "short" else 1
        row: dict[str, Any] = {"max_new_tokens": cap, "repeats": repeats}
        times: dict[str, list[float]] = {"engine": [], "server": []}
        audio: dict[str, float] = {}
        with engine_speaker(args.models, args.variant, enrollment, cap) as engine, \
                server_speaker(args.models, args.variant, args.corpus, cap,
                               None, None) as server:
            for _ in range(repeats):
                for path, speak in (("engine", engine), ("server", server)):
                    started = time.perf_counter()
                    audio[path] = speak()
                    times[path].append(round(time.perf_counter() - started, 3))
        for path, taken in times.items():
            row[path] = {"seconds": round(float(statistics.median(taken)), 3),
                         "times": taken, "audio_seconds": round(audio[path], 2)}
        with server_speaker(args.models, args.variant, args.corpus, cap, 2, 1) as old:
            row["server-2x1"] = _timed(old, repeats)
        if args.official:
            from benchmarks.gpt_sovits_load import run_official

            row["official"] = run_official(args, TEXT, cap)
        row["server_over_engine"] = round(row["server"]["seconds"] / row["engine"]["seconds"], 3)
        print(name, row, flush=True)
        results[name] = row
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options this benchmark needs beyond the load benchmark's."""
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus",
                        help="the speech corpus (its first speaker is enrolled)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs of the short request per path (median reported)")


def main(argv: list[str] | None = None) -> int:
    import json

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--variant", default="v2", choices=("v2", "v2Pro", "v2ProPlus"))
    parser.add_argument("--official", help="the oracle's oracle.py (times the official TTS.run)")
    parser.add_argument("--oracle-python")
    parser.add_argument("--gsv-src", default="/tmp/gsv-src")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path)
    add_arguments(parser)
    args = parser.parse_args(argv)
    results = run_paths(args)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
