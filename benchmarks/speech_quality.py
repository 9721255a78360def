"""Measure the speech-quality estimators on the real corpus and on spoiled copies of it.

For every corpus utterance (6 speakers x 10 plus 126 impostor clips) this measures the
real clip, copies with white noise added at 20, 10 and 5 dB SNR (relative to the clip's
mean power), a copy driven 4x past full scale and clipped, and checks each against the
default consent limits' SNR and clipping thresholds (the same as enrollment's). It also
times the analysis of a 60 s recording. Writes ``benchmarks/results/speech_quality.json``.

    python benchmarks/speech_quality.py --corpus ../shared/corpus
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
    RESULTS_DIR,
    add_corpus_argument,
    concatenate,
    load_impostors,
    load_speakers,
    machine_description,
)
from server.audio import Audio
from server.speech.checks import DEFAULT_MAX_CLIPPED_FRACTION, DEFAULT_MIN_SNR_DB
from server.speech.quality import analyze_speech

NOISE_SNRS = (20.0, 10.0, 5.0)
OVERDRIVE = 4.0


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_corpus_argument(parser)
    args = parser.parse_args(argv)
    speakers = load_speakers(args.corpus)
    clips = [u for us in speakers.values() for u in us] + load_impostors(args.corpus)
    rng = np.random.default_rng(0)

    rows: dict[str, list[float]] = {"speech_fraction": [], "snr_db": [], "clipped": []}
    rows.update({f"snr_db_noise_{snr:g}": [] for snr in NOISE_SNRS})
    rows["clipped_overdriven"] = []
    consent_length_speech: list[float] = []
    for clip in clips:
        samples = clip.audio.samples
        quality = analyze_speech(clip.audio)
        rows["speech_fraction"].append(quality.speech_seconds / quality.duration_seconds)
        rows["snr_db"].append(quality.snr_db)
        rows["clipped"].append(quality.clipped_fraction)
        if quality.duration_seconds >= 3.0:
            consent_length_speech.append(quality.speech_seconds)
        power = float(np.mean(samples**2))
        for snr in NOISE_SNRS:
            noise = rng.standard_normal(samples.size) * np.sqrt(power / 10 ** (snr / 10))
            noisy = Audio((samples + noise).astype(np.float32), clip.audio.sample_rate)
            rows[f"snr_db_noise_{snr:g}"].append(analyze_speech(noisy).snr_db)
        loud = np.clip(samples / np.max(np.abs(samples)) * OVERDRIVE, -1.0, 1.0)
        rows["clipped_overdriven"].append(
            analyze_speech(Audio(loud.astype(np.float32), clip.audio.sample_rate)).clipped_fraction
        )

    minute = concatenate([u for us in speakers.values() for u in us][:6])
    minute = Audio(np.resize(minute.samples, 60 * minute.sample_rate), minute.sample_rate)
    started = time.perf_counter()
    for _ in range(3):
        analyze_speech(minute)
    analysis_seconds = (time.perf_counter() - started) / 3

    report: dict[str, object] = {
        "clips": len(clips),
        "thresholds": {
            "min_snr_db": DEFAULT_MIN_SNR_DB,
            "max_clipped_fraction": DEFAULT_MAX_CLIPPED_FRACTION,
        },
        "stats": {name: _describe(np.array(values)) for name, values in rows.items()},
        "real_failing_snr": int(np.sum(np.array(rows["snr_db"]) < DEFAULT_MIN_SNR_DB)),
        "real_failing_clipping": int(
            np.sum(np.array(rows["clipped"]) > DEFAULT_MAX_CLIPPED_FRACTION)
        ),
        "noisy_passing_snr": {
            f"{snr:g}": int(np.sum(np.array(rows[f"snr_db_noise_{snr:g}"]) >= DEFAULT_MIN_SNR_DB))
            for snr in NOISE_SNRS
        },
        "overdriven_passing_clipping": int(
            np.sum(np.array(rows["clipped_overdriven"]) <= DEFAULT_MAX_CLIPPED_FRACTION)
        ),
        "consent_length_clip_min_speech_seconds": round(min(consent_length_speech), 2),
        "analysis_seconds_per_60s_recording": round(analysis_seconds, 3),
        "machine": machine_description(),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "speech_quality.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


def _describe(values: np.ndarray) -> dict[str, float]:
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {
        "min": round(float(values.min()), 4),
        "p5": round(float(p5), 4),
        "median": round(float(p50), 4),
        "p95": round(float(p95), 4),
        "max": round(float(values.max()), 4),
    }


if __name__ == "__main__":
    raise SystemExit(main())
