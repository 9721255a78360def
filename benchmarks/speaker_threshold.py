"""Calibrate the speaker-verification threshold on the real corpus.

Genuine trials pair a single "consent-like" utterance with an enrollment recording of the
same speaker that does not contain it; impostor trials pair utterances of other people
(the 126 impostor clips and the other corpus speakers) with each speaker's enrollment
recording (first 6 utterances concatenated). Prints score distributions and
FAR/FRR at candidate thresholds and writes ``benchmarks/results/speaker_threshold.json``.

    python benchmarks/speaker_threshold.py --corpus ../shared/corpus
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks._corpus import (
    ENROLLMENT_UTTERANCES,
    RESULTS_DIR,
    add_corpus_argument,
    concatenate,
    load_impostors,
    load_speakers,
    machine_description,
)
from server.speech.speaker import DEFAULT_THRESHOLD, SpeakerEncoder

CANDIDATES = [round(t, 2) for t in np.arange(0.60, 0.91, 0.01)]
CONSENT_MIN_SECONDS = 3.0


def main(argv: list[str] | None = None) -> int:
    """Run the calibration and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_argument(parser)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "speaker_threshold.json")
    args = parser.parse_args(argv)

    encoder = SpeakerEncoder(num_threads=1)
    speakers = load_speakers(args.corpus)
    impostors = load_impostors(args.corpus)

    started = time.perf_counter()
    single = {u.utterance_id: encoder.embed(u.audio) for us in speakers.values() for u in us}
    single.update({u.utterance_id: encoder.embed(u.audio) for u in impostors})
    single_seconds = time.perf_counter() - started
    durations = {u.utterance_id: u.audio.duration_seconds for us in speakers.values() for u in us}
    durations.update({u.utterance_id: u.audio.duration_seconds for u in impostors})

    started = time.perf_counter()
    enrollment = {
        s: encoder.embed(concatenate(us[:ENROLLMENT_UTTERANCES])) for s, us in speakers.items()
    }
    enroll_seconds = (time.perf_counter() - started) / len(speakers)
    held_out_enrollment = {
        s: encoder.embed(concatenate(us[ENROLLMENT_UTTERANCES:])) for s, us in speakers.items()
    }
    leave_one_out = {
        (s, u.utterance_id): encoder.embed(concatenate([o for o in us if o is not u]))
        for s, us in speakers.items()
        for u in us
    }

    trials: list[dict[str, object]] = []

    def add(
        kind: str, group: str, utterance_id: str, reference: str, a: np.ndarray, b: np.ndarray
    ) -> None:
        trials.append(
            {
                "kind": kind,
                "group": group,
                "utterance": utterance_id,
                "reference": reference,
                "seconds": round(durations[utterance_id], 2),
                "score": round(SpeakerEncoder.similarity(a, b), 5),
            }
        )

    for s, us in speakers.items():
        for u in us[ENROLLMENT_UTTERANCES:]:
            add(
                "genuine",
                "held-out vs enrollment(1-6)",
                u.utterance_id,
                s,
                single[u.utterance_id],
                enrollment[s],
            )
        for u in us[:ENROLLMENT_UTTERANCES]:
            add(
                "genuine",
                "enrollment utterance vs held-out(7-10)",
                u.utterance_id,
                s,
                single[u.utterance_id],
                held_out_enrollment[s],
            )
        for u in us:
            add(
                "genuine",
                "utterance vs other 9",
                u.utterance_id,
                s,
                single[u.utterance_id],
                leave_one_out[(s, u.utterance_id)],
            )
        for other, others in speakers.items():
            if other != s:
                for u in others:
                    add(
                        "impostor",
                        "other corpus speaker vs enrollment(1-6)",
                        u.utterance_id,
                        s,
                        single[u.utterance_id],
                        enrollment[s],
                    )
        for u in impostors:
            add(
                "impostor",
                "impostor clip vs enrollment(1-6)",
                u.utterance_id,
                s,
                single[u.utterance_id],
                enrollment[s],
            )

    report = build_report(trials)
    report.update(
        {
            "corpus": str(args.corpus.name),
            "machine": machine_description(),
            "timing": {
                "embed_single_utterance_mean_seconds": round(single_seconds / len(single), 3),
                "embed_enrollment_mean_seconds": round(enroll_seconds, 3),
                "mean_single_utterance_seconds": round(float(np.mean(list(durations.values()))), 2),
            },
            "default_threshold": DEFAULT_THRESHOLD,
            "trials": trials,
        }
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print_summary(report)
    print(f"wrote {args.out}")
    return 0


def build_report(trials: list[dict[str, object]]) -> dict[str, object]:
    """Score statistics, FAR/FRR per candidate threshold and the EER, overall and for
    consent-length clips (at least 3 s)."""
    report: dict[str, object] = {}
    for name, keep in (
        ("all", lambda t: True),
        ("consent_length", lambda t: t["seconds"] >= CONSENT_MIN_SECONDS),
    ):
        chosen = [t for t in trials if keep(t)]
        genuine = np.array([t["score"] for t in chosen if t["kind"] == "genuine"])
        impostor = np.array([t["score"] for t in chosen if t["kind"] == "impostor"])
        report[name] = {
            "genuine": describe(genuine),
            "impostor": describe(impostor),
            "eer": equal_error_rate(genuine, impostor),
            "by_threshold": [
                {
                    "threshold": th,
                    "far": float(np.mean(impostor >= th)),
                    "frr": float(np.mean(genuine < th)),
                }
                for th in CANDIDATES
            ],
            "groups": {
                group: describe(np.array([t["score"] for t in chosen if t["group"] == group]))
                for group in sorted({str(t["group"]) for t in chosen})
            },
        }
    return report


def describe(scores: np.ndarray) -> dict[str, float]:
    """Count, min, percentiles and max of a score array."""
    if scores.size == 0:
        return {"n": 0}
    p1, p5, p50, p95, p99 = np.percentile(scores, [1, 5, 50, 95, 99])
    return {
        "n": int(scores.size),
        "min": round(float(scores.min()), 4),
        "p1": round(float(p1), 4),
        "p5": round(float(p5), 4),
        "median": round(float(p50), 4),
        "p95": round(float(p95), 4),
        "p99": round(float(p99), 4),
        "max": round(float(scores.max()), 4),
    }


def equal_error_rate(genuine: np.ndarray, impostor: np.ndarray) -> dict[str, float]:
    """The threshold where FAR and FRR cross (on a 0.001 grid) and the rate there."""
    grid = np.arange(0.0, 1.0, 0.001)
    far = np.array([np.mean(impostor >= t) for t in grid])
    frr = np.array([np.mean(genuine < t) for t in grid])
    i = int(np.argmin(np.abs(far - frr)))
    return {"threshold": round(float(grid[i]), 3), "rate": round(float((far[i] + frr[i]) / 2), 4)}


def print_summary(report: dict[str, object]) -> None:
    """Human-readable digest of the report."""
    for name in ("all", "consent_length"):
        part = report[name]
        print(f"== {name}: genuine {part['genuine']}")
        print(f"   impostor {part['impostor']}")
        print(f"   EER {part['eer']}")
        for group, stats in part["groups"].items():
            print(f"   {group}: {stats}")
        for row in part["by_threshold"]:
            print(f"   t={row['threshold']:.2f} FAR={row['far']:.4f} FRR={row['frr']:.4f}")
    print("timing", report["timing"])


if __name__ == "__main__":
    raise SystemExit(main())
