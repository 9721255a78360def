"""Voice-cloning quality benchmark: similarity, intelligibility and speed of an engine.

For every corpus speaker: enroll on the first 6 utterances, synthesise the fixed
sentences, and score speaker similarity (resemblyzer cosine vs the 4 held-out
utterances), WER (Whisper tiny.en) and speed. Baselines in the same run: the engine's
unconverted base voice (if it has one), the speaker's own recordings (ceiling) and the
other speakers' recordings (floor). Prints a table and writes JSON.

    python benchmarks/voice_quality.py --corpus ../shared/corpus --engine embedded-neural
    python benchmarks/voice_quality.py --corpus ../shared/corpus --engine embedded-neural --language cmn

With ``--language cmn`` the sentences are Mandarin and only similarity (to the speakers'
English recordings: a cross-language score) and speed are measured; the bundled
recogniser is English-only, so there is no Mandarin WER.

Pin it to one core (``taskset -c 0``) for the one-core figures: the engines run one
thread, but numpy's BLAS and ONNX Runtime would otherwise borrow a second core.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.scoring import (
    SpeakerScorer,
    Transcriber,
    corpus_wer,
    first_item_latency,
    timed,
)
from benchmarks.sentences import MANDARIN_SENTENCES, SENTENCES
from server.engines import SynthesisParams, create_engine

ENROLL_UTTERANCES = 6
ENROLL_TIMING_SECONDS = 60.0


def _default_corpus() -> Path | None:
    candidate = ROOT.parent / "shared" / "corpus"
    return candidate if candidate.exists() else None


def load_speakers(corpus: Path) -> dict[str, list[tuple[np.ndarray, int]]]:
    """Utterances per speaker folder (sorted by file name), as (samples, rate)."""
    speakers: dict[str, list[tuple[np.ndarray, int]]] = {}
    for folder in sorted((corpus / "speakers").iterdir()):
        if folder.is_dir():
            clips = []
            for path in sorted(folder.glob("*.flac")):
                samples, rate = sf.read(path, dtype="float32")
                clips.append((samples, int(rate)))
            speakers[folder.name] = clips
    return speakers


def _synthesize(engine: Any, model: Any, text: str, language: str) -> tuple[np.ndarray, int, float, float]:
    first, total, chunks = first_item_latency(
        lambda: engine.synthesize(model, text, language, SynthesisParams())
    )
    rate = chunks[0].sample_rate
    return np.concatenate([c.samples for c in chunks]), rate, first, total


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return the JSON-ready results."""
    speakers = load_speakers(args.corpus)
    if args.speakers:
        speakers = {k: v for k, v in speakers.items() if k in args.speakers}
    english = args.language == "en"
    sentences = (SENTENCES if english else MANDARIN_SENTENCES)[: args.sentences]
    options = json.loads(args.options) if args.options else None
    engine = create_engine(args.engine, options)
    scorer = SpeakerScorer(threads=args.threads)
    transcriber = Transcriber(threads=args.threads)

    reference_embeddings = {
        sid: [scorer.embed(s, r) for s, r in clips[ENROLL_UTTERANCES:]] for sid, clips in speakers.items()
    }
    enroll_embeddings = {
        sid: [scorer.embed(s, r) for s, r in clips[:ENROLL_UTTERANCES]] for sid, clips in speakers.items()
    }

    base_embeddings: list[np.ndarray] = []
    base_pairs: list[tuple[str, str]] = []
    render_base = getattr(engine, "render_unconverted", None)
    if render_base is not None and not args.no_baselines:
        for sentence in sentences:
            audio = render_base(sentence, args.language)
            base_embeddings.append(scorer.embed(audio, engine.native_sample_rate))
            if english:
                base_pairs.append((sentence, transcriber.transcribe(audio, engine.native_sample_rate)))

    rows: dict[str, dict[str, Any]] = {}
    all_pairs: list[tuple[str, str]] = []
    total_audio = total_synth = 0.0
    first_chunks: list[float] = []
    for sid, clips in speakers.items():
        enroll_audio = np.concatenate([s for s, _ in clips[:ENROLL_UTTERANCES]])
        enroll = timed(lambda audio=enroll_audio, rate=clips[0][1]: engine.enroll(audio, rate))
        model = enroll.value
        embeddings: list[np.ndarray] = []
        pairs: list[tuple[str, str]] = []
        synth_seconds = audio_seconds = 0.0
        for index, sentence in enumerate(sentences):
            audio, rate, first, total = _synthesize(engine, model, sentence, args.language)
            synth_seconds += total
            audio_seconds += len(audio) / rate
            first_chunks.append(first)
            embeddings.append(scorer.embed(audio, rate))
            if english:
                pairs.append((sentence, transcriber.transcribe(audio, rate)))
            if args.save_audio and index < 3:
                args.save_audio.mkdir(parents=True, exist_ok=True)
                sf.write(args.save_audio / f"{sid}_{index}.wav", audio, rate)
        refs = reference_embeddings[sid]
        others = [e for other, embs in enroll_embeddings.items() if other != sid for e in embs]
        row = {
            "similarity": scorer.mean_cosine(embeddings, refs),
            "similarity_centroid": scorer.centroid_cosine(embeddings, refs),
            "ceiling_similarity": scorer.mean_cosine(enroll_embeddings[sid], refs),
            "floor_similarity": scorer.mean_cosine(others, refs),
            "ceiling_similarity_centroid": scorer.centroid_cosine(enroll_embeddings[sid], refs),
            "floor_similarity_centroid": statistics.mean(
                scorer.centroid_cosine(embs, refs) for other, embs in enroll_embeddings.items() if other != sid
            ),
            "wer": corpus_wer(pairs) if english else None,
            "rtf": synth_seconds / audio_seconds,
            "enroll_seconds": enroll.seconds,
            "enroll_audio_seconds": len(enroll_audio) / clips[0][1],
            "model_bytes": len(model.to_bytes()),
            "transcripts": [hyp for _, hyp in pairs],
        }
        if base_embeddings:
            row["base_similarity"] = scorer.mean_cosine(base_embeddings, refs)
        rows[sid] = row
        all_pairs.extend(pairs)
        total_audio += audio_seconds
        total_synth += synth_seconds
        print(_row_line(sid, row), flush=True)

    first_clips = next(iter(speakers.values()))
    long_audio = np.concatenate([s for s, _ in first_clips])[: int(ENROLL_TIMING_SECONDS * first_clips[0][1])]
    enroll_60 = timed(lambda: engine.enroll(long_audio, first_clips[0][1]))

    summary: dict[str, Any] = {
        "similarity": statistics.mean(r["similarity"] for r in rows.values()),
        "similarity_centroid": statistics.mean(r["similarity_centroid"] for r in rows.values()),
        "ceiling_similarity": statistics.mean(r["ceiling_similarity"] for r in rows.values()),
        "floor_similarity": statistics.mean(r["floor_similarity"] for r in rows.values()),
        "ceiling_similarity_centroid": statistics.mean(r["ceiling_similarity_centroid"] for r in rows.values()),
        "floor_similarity_centroid": statistics.mean(r["floor_similarity_centroid"] for r in rows.values()),
        "wer": corpus_wer(all_pairs) if english else None,
        "rtf": total_synth / total_audio,
        "first_chunk_ms_median": 1000 * statistics.median(first_chunks),
        "first_chunk_ms_max": 1000 * max(first_chunks),
        "enroll_60s_seconds": enroll_60.seconds,
        "enroll_60s_audio_seconds": len(long_audio) / first_clips[0][1],
        "model_bytes_max": max(r["model_bytes"] for r in rows.values()),
    }
    if base_embeddings:
        summary["base_similarity"] = statistics.mean(r["base_similarity"] for r in rows.values())
        if english:
            summary["base_wer"] = corpus_wer(base_pairs)
    return {
        "engine": args.engine,
        "language": args.language,
        "engine_version": engine.version,
        "options": options or {},
        "sentences": list(sentences),
        "machine": f"{platform.machine()} {platform.system()}, scoring threads={args.threads}",
        "date": time.strftime("%Y-%m-%d"),
        "summary": summary,
        "speakers": rows,
    }


def _row_line(sid: str, row: dict[str, Any]) -> str:
    base = row.get("base_similarity")
    return (
        f"{sid:>6}  sim {row['similarity']:.3f} (centroid {row['similarity_centroid']:.3f}, "
        f"base {base if base is None else f'{base:.3f}'}, ceiling {row['ceiling_similarity']:.3f}, "
        f"floor {row['floor_similarity']:.3f})  WER {_percent(row['wer'])}  RTF {row['rtf']:.3f}  "
        f"enroll {row['enroll_seconds']:.1f}s  model {row['model_bytes'] / 1024:.0f} KB"
    )


def _percent(value: float | None) -> str:
    return "  n/a" if value is None else f"{100 * value:5.1f}%"


def print_summary(results: dict[str, Any]) -> None:
    """Print the summary table against the targets."""
    s = results["summary"]
    print("\nmeasure                      value     target")
    print(f"speaker similarity (mean)    {s['similarity']:.3f}     >= 0.75")
    print(f"  centroid similarity        {s['similarity_centroid']:.3f} (ceiling "
          f"{s['ceiling_similarity_centroid']:.3f}, floor {s['floor_similarity_centroid']:.3f})")
    if "base_similarity" in s:
        print(f"  base voice (unconverted)   {s['base_similarity']:.3f}")
    print(f"  ceiling (same speaker)     {s['ceiling_similarity']:.3f}")
    print(f"  floor (other speakers)     {s['floor_similarity']:.3f}")
    print(f"WER                          {_percent(s['wer'])}     <= 8%")
    if "base_wer" in s:
        print(f"  base voice WER             {100 * s['base_wer']:.1f}%")
    print(f"real-time factor             {s['rtf']:.3f}     <= 0.3")
    print(f"first chunk (median / max)   {s['first_chunk_ms_median']:.0f} / {s['first_chunk_ms_max']:.0f} ms  <= 400 ms")
    print(f"enroll {s['enroll_60s_audio_seconds']:.0f} s of audio           {s['enroll_60s_seconds']:.1f} s     <= 15 s")
    print(f"voice model size (max)       {s['model_bytes_max'] / 1024:.0f} KB    <= 4096 KB")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=_default_corpus(), help="corpus folder")
    parser.add_argument("--engine", default="embedded", help="engine name (registry)")
    parser.add_argument("--options", default="", help="engine options as JSON")
    parser.add_argument("--language", choices=("en", "cmn"), default="en",
                        help="sentence language: en (all measures) or cmn (similarity and speed)")
    parser.add_argument("--sentences", type=int, default=len(SENTENCES), help="number of sentences")
    parser.add_argument("--speakers", nargs="*", default=None, help="only these speaker ids")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for scoring models")
    parser.add_argument("--no-baselines", action="store_true", help="skip the base-voice baseline")
    parser.add_argument("--save-audio", type=Path, default=None, help="folder for sample outputs")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args(argv)
    if args.corpus is None or not (args.corpus / "speakers").exists():
        parser.error("corpus folder not found; pass --corpus DIR")
    results = run(args)
    print_summary(results)
    suffix = "" if args.language == "en" else f"_{args.language}"
    out = args.out or ROOT / "benchmarks" / "results" / f"voice_quality_{args.engine}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
