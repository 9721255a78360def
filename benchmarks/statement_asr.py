"""Measure the consent statement check end to end: eSpeak NG reads, Whisper transcribes.

For ``--readings`` random (subject, tenant, phrase) triples, eSpeak NG reads the statement
at alternating speaking rates; the bundled Whisper tiny.en transcribes it and
``check_statement`` compares. Reported: the match rate of genuine readings, the word
recall distribution, and two kinds of readings that must fail: the same statement with a
different one-time phrase, and the phrase alone. Also times synthesis-free recognition.
Writes ``benchmarks/results/statement_asr.json``.

    python benchmarks/statement_asr.py --readings 40
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks._corpus import RESULTS_DIR, machine_description
from server.speech.asr import Transcriber
from server.speech.espeak import synthesize_espeak
from server.speech.statement import build_statement, check_statement, make_one_time_phrase

SUBJECTS = (
    "Maria Lopez",
    "John Smith",
    "Aisha Khan",
    "Wei Chen",
    "Olga Petrova",
    "James O'Brien",
    "Fatima Haddad",
    "Lars Nilsson",
    "Priya Raman",
    "Tom Baker",
    "Emily Carter",
    "Kenji Sato",
)
TENANTS = (
    "Acme Studios",
    "Northwind Audio",
    "Blue Harbor Media",
    "Brightline Games",
    "Sunrise Podcasts",
    "Contoso",
    "Globex Voice Lab",
    "Riverbank Books",
)
RATES = (150, 175)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    transcriber = Transcriber()
    genuine, wrong_phrase, phrase_only, seconds, audio_seconds = [], [], [], [], []
    for index in range(args.readings):
        subject, tenant = rng.choice(SUBJECTS), rng.choice(TENANTS)
        phrase, other = make_one_time_phrase(rng), make_one_time_phrase(rng)
        statement = build_statement(subject, tenant, phrase)
        rate = RATES[index % 2]

        audio = synthesize_espeak(statement, words_per_minute=rate)
        started = time.perf_counter()
        transcript = transcriber.transcribe(audio)
        seconds.append(time.perf_counter() - started)
        audio_seconds.append(audio.duration_seconds)
        check = check_statement(transcript, statement, phrase)
        genuine.append({"statement": statement, "transcript": transcript, **_summary(check)})

        other_reading = synthesize_espeak(
            build_statement(subject, tenant, other), words_per_minute=rate
        )
        check = check_statement(transcriber.transcribe(other_reading), statement, phrase)
        wrong_phrase.append(_summary(check))

        alone = synthesize_espeak(f"{', '.join(phrase.split())}.", words_per_minute=rate)
        check = check_statement(transcriber.transcribe(alone), statement, phrase)
        phrase_only.append(_summary(check))

    recalls = np.array([g["word_recall"] for g in genuine])
    report = {
        "readings": args.readings,
        "genuine_match_rate": _rate(genuine, "matched"),
        "genuine_phrase_found_rate": _rate(genuine, "phrase_found"),
        "genuine_word_recall": {
            "min": float(recalls.min()),
            "p5": float(np.percentile(recalls, 5)),
            "median": float(np.median(recalls)),
        },
        "wrong_phrase_match_rate": _rate(wrong_phrase, "matched"),
        "wrong_phrase_max_recall": max(w["word_recall"] for w in wrong_phrase),
        "phrase_only_match_rate": _rate(phrase_only, "matched"),
        "phrase_only_max_recall": max(w["word_recall"] for w in phrase_only),
        "transcribe_seconds_mean": round(float(np.mean(seconds)), 3),
        "statement_audio_seconds_mean": round(float(np.mean(audio_seconds)), 2),
        "machine": machine_description(),
        "failures": [g for g in genuine if not g["matched"]],
        "samples": genuine[:3],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "statement_asr.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k not in ("samples",)}, indent=1))
    return 0


def _summary(check: object) -> dict[str, object]:
    return {
        "matched": check.matched,
        "phrase_found": check.phrase_found,
        "word_recall": check.word_recall,
        "missing_phrase_words": list(check.missing_phrase_words),
    }


def _rate(rows: list[dict[str, object]], key: str) -> float:
    return round(sum(bool(r[key]) for r in rows) / len(rows), 4)


if __name__ == "__main__":
    raise SystemExit(main())
