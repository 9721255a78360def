"""Markdown tables from the committed benchmark results, for docs/benchmarks.md.

Reads ``benchmarks/results/*.json`` (written by the benchmarks themselves) so that the
figures in the docs are copied from measurements, never typed in:

    python benchmarks/report.py                # all tables
    python benchmarks/report.py watermark      # one of the names in TABLES
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _load(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / name).read_text())


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def watermark() -> str:
    """Recovery per attack against the targets, imperceptibility, false positives, speed."""
    data = _load("watermark_robustness.json")
    perth = data["perth_reference"]["presence"]
    lines = [
        (f"{data['clips']} marked clips of 10-30 s at {', '.join(str(r) for r in data['rates'])} Hz; "
        f"{data['machine']}; {data['wall_seconds'] / 60:.0f} min."),
        "",
        "| attack | exact payload recovery | target | met | PerTh presence (reference) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in data["recovery"].items():
        target = row["target"]
        met = "report" if target is None else ("yes" if row["rate"] >= target else "**no**")
        goal = "report" if target is None else f">= {_pct(target)}"
        lines.append(f"| {name} | {_pct(row['rate'])} ({row['ok']}/{row['trials']}) | {goal} | {met} | "
                     f"{_pct(perth[name]) if name in perth else '-'} |")
    quality, fp, speed = data["imperceptibility"], data["false_positives"], data["speed"]
    kinds = ", ".join(f"{kind} {v['decodes']}/{v['windows']}" for kind, v in fp["by_kind"].items())
    lines += [
        "",
        "| measure | value | target |",
        "| --- | --- | --- |",
        (f"| wideband PESQ, marked vs original | mean {quality['pesq_wb_mean']:.2f}, min "
        f"{quality['pesq_wb_min']:.2f} | >= 4.3 |"),
        (f"| SNR, marked vs original | mean {quality['snr_db_mean']:.1f} dB, min {quality['snr_db_min']:.1f} dB "
        "| >= 30 dB |"),
        f"| valid decodes on unmarked windows | {fp['valid_decodes']} / {fp['windows']} ({kinds}) | 0 |",
        f"| false-positive bound per detection | {fp['bound_per_detection']:.2e} | <= 1e-9 |",
        (f"| decodes with a wrong key | {data['wrong_key_decodes']['decodes']} / "
        f"{data['wrong_key_decodes']['trials']} | 0 |"),
        f"| embed speed, one core | {speed['embed_x_real_time']:.0f}x real time | >= 200x |",
        f"| detect speed, one core, no speed search | {speed['detect_x_real_time']:.0f}x real time | >= 20x |",
        (f"| PerTh false presence on unmarked clips | {_pct(data['perth_reference']['false_presence_on_unmarked'])} "
        "| (reference) |"),
    ]
    return "\n".join(lines)


#: Each engine's voice-quality targets: the embedded engine's own, then issue 10's for the
#: second generation.
VOICE_TARGETS: dict[str, dict[str, str]] = {
    "embedded": {"similarity": ">= 0.75", "wer": "<= 10 %", "rtf": "<= 0.1", "first_chunk": "<= 300 ms",
                 "enroll": "<= 10 s", "model": "<= 4 MB"},
    "embedded-neural": {"similarity": ">= 0.75", "wer": "<= 8 %", "rtf": "<= 0.3",
                        "first_chunk": "<= 400 ms", "enroll": "<= 15 s", "model": "<= 4 MB"},
}


def voice(engine: str = "embedded") -> str:
    """Similarity, intelligibility and speed of an embedded engine, with baselines."""
    data = _load(f"voice_quality_{engine}.json")
    target = VOICE_TARGETS[engine]
    s = data["summary"]
    lines = [
        (f"Engine `{data['engine']}` {data['engine_version']}; {len(data['sentences'])} sentences x "
        f"{len(data['speakers'])} speakers; {data['machine']}; {data['date']}."),
        "",
        "| speaker | similarity | centroid sim. | base voice | ceiling | floor | WER | RTF | enroll |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for sid, r in data["speakers"].items():
        lines.append(
            f"| {sid} | {r['similarity']:.3f} | {r['similarity_centroid']:.3f} | "
            f"{r.get('base_similarity', float('nan')):.3f} | {r['ceiling_similarity']:.3f} | "
            f"{r['floor_similarity']:.3f} | {_pct(r['wer'])} | {r['rtf']:.3f} | {r['enroll_seconds']:.1f} s |"
        )
    lines += [
        "",
        "| measure | value | target |",
        "| --- | --- | --- |",
        f"| speaker similarity (mean cosine vs 4 held-out utterances) | {s['similarity']:.3f} | {target['similarity']} |",
        (f"| the same, mean output embedding vs mean held-out embedding | {s['similarity_centroid']:.3f} "
        f"(ceiling {s['ceiling_similarity_centroid']:.3f}, floor {s['floor_similarity_centroid']:.3f}) | |"),
        (f"| unconverted base voice / same speaker (ceiling) / other speakers (floor) | "
        f"{s.get('base_similarity', float('nan')):.3f} / {s['ceiling_similarity']:.3f} / "
        f"{s['floor_similarity']:.3f} | |"),
        (f"| WER, Whisper tiny.en | {_pct(s['wer'])} (base voice {_pct(s.get('base_wer', float('nan')))}) "
        f"| {target['wer']} |"),
        f"| real-time factor, one core | {s['rtf']:.3f} | {target['rtf']} |",
        (f"| first chunk of a one-sentence request (median / max) | {s['first_chunk_ms_median']:.0f} / "
        f"{s['first_chunk_ms_max']:.0f} ms | {target['first_chunk']} |"),
        f"| enrolling {s['enroll_60s_audio_seconds']:.0f} s of audio | {s['enroll_60s_seconds']:.1f} s | {target['enroll']} |",
        f"| voice model size (largest) | {s['model_bytes_max'] / 1024:.1f} KB | {target['model']} |",
    ]
    return "\n".join(lines)


def voice_mandarin() -> str:
    """The embedded engines side by side on Mandarin sentences (similarity and speed only)."""
    lines = [
        "| engine | similarity | centroid sim. | base voice | floor | RTF | first chunk (median / max) | sentences x speakers |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for engine in ("embedded", "embedded-neural"):
        data = _load(f"voice_quality_{engine}_cmn.json")
        s = data["summary"]
        lines.append(
            f"| `{engine}` | {s['similarity']:.3f} | {s['similarity_centroid']:.3f} | "
            f"{s.get('base_similarity', float('nan')):.3f} | {s['floor_similarity']:.3f} | {s['rtf']:.3f} | "
            f"{s['first_chunk_ms_median']:.0f} / {s['first_chunk_ms_max']:.0f} ms | "
            f"{len(data['sentences'])} x {len(data['speakers'])} |"
        )
    return "\n".join(lines)


def load(engine: str = "embedded") -> str:
    """What a gRPC caller sees: RTF, first chunk, throughput under concurrency."""
    data = _load(f"synthesis_load_{engine}.json")
    single, first, para = data["single"], data["first_chunk_one_sentence"], data["first_chunk_paragraph"]
    lines = [
        f"{data['machine']}; {data['workers']} synthesis workers; server start {data['server_start_seconds']:.1f} s.",
        "",
        "| measure | value |",
        "| --- | --- |",
        (f"| `Synthesize`, one request at a time: RTF mean (p95) | {single['rtf_mean']:.3f} "
        f"({single['rtf_p95']:.3f}) |"),
        f"| `Synthesize` latency p50, one sentence | {1000 * single['latency_p50_s']:.0f} ms |",
        (f"| `SynthesizeStream` first chunk, one sentence: p50 / p95 | {1000 * first['first_chunk_p50_s']:.0f} / "
        f"{1000 * first['first_chunk_p95_s']:.0f} ms |"),
        (f"| `SynthesizeStream` first chunk, three sentences: p50 (whole reply p50) | "
        f"{1000 * para['first_chunk_p50_s']:.0f} ms ({1000 * para['total_p50_s']:.0f} ms) |"),
        "",
        ("| concurrent clients | completed | refused (queue full) | audio seconds per second | p50 latency "
        "| p95 latency |"),
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in data["concurrency"]:
        lines.append(f"| {row['clients']} | {row['completed']} | {row['refused']} | "
                     f"{row['audio_seconds_per_second']:.1f} | {row['latency_p50_s']:.2f} s | "
                     f"{row['latency_p95_s']:.2f} s |")
    return "\n".join(lines)


TABLES: dict[str, Callable[[], str]] = {
    "watermark": watermark,
    "voice": voice,
    "voice-neural": lambda: voice("embedded-neural"),
    "voice-mandarin": voice_mandarin,
    "load": load,
    "load-neural": lambda: load("embedded-neural"),
}


def main(argv: list[str]) -> int:
    names = argv or list(TABLES)
    unknown = [name for name in names if name not in TABLES]
    if unknown:
        print(f"unknown table(s) {unknown}; choose from {list(TABLES)}", file=sys.stderr)
        return 2
    for name in names:
        print(f"<!-- {name} -->\n{TABLES[name]()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
