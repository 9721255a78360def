"""Check (or build) the one-time phrase word list: distinct words Whisper recognises.

Each word is read aloud by eSpeak NG inside the statement's closing sentence ("My one
time phrase is a, b, c, d."), in ``--trials`` different random groups of four and at
alternating speaking rates, and transcribed with the bundled Whisper tiny.en. A word
passes when it is found (as the statement checker finds phrase words) in every trial.
The list must also keep every pair of words at least ``--min-distance`` letter edits
apart. Writes ``benchmarks/results/phrase_words.json``.

    python benchmarks/phrase_words.py                      # check the committed list
    python benchmarks/phrase_words.py --words cand.txt --write-passing out.txt
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

from benchmarks._corpus import RESULTS_DIR, machine_description
from server.speech.asr import Transcriber
from server.speech.espeak import synthesize_espeak
from server.speech.statement import (
    _phrase_word_present,
    edit_distance,
    normalize_words,
    phrase_words,
    sound_key,
)

RATES = (150, 175)


def main(argv: list[str] | None = None) -> int:
    """Run the check; exit status 1 when a committed word fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=Path, help="candidate list (default: the committed list)")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--min-distance", type=int, default=3)
    parser.add_argument("--write-passing", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    words = _read(args.words) if args.words else list(phrase_words())
    kept = distinct_words(words, args.min_distance)
    dropped_close = sorted(set(words) - set(kept))
    if args.words is None and dropped_close:
        print(f"committed words closer than {args.min_distance} edits: {dropped_close}")

    transcriber = Transcriber()
    rng = random.Random(args.seed)
    hits = {word: 0 for word in kept}
    started = time.perf_counter()
    readings = 0
    for trial in range(args.trials):
        order = kept[:]
        rng.shuffle(order)
        for start in range(0, len(order), 4):
            group = order[start : start + 4]
            audio = synthesize_espeak(
                f"My one time phrase is {', '.join(group)}.", words_per_minute=RATES[trial % 2]
            )
            heard = normalize_words(transcriber.transcribe(audio))
            readings += 1
            for word in group:
                hits[word] += _phrase_word_present(word, heard)
    elapsed = time.perf_counter() - started

    passing = [w for w in kept if hits[w] == args.trials]
    failing = sorted(w for w in kept if hits[w] < args.trials)
    report = {
        "candidates": len(words),
        "dropped_as_too_close": dropped_close,
        "checked": len(kept),
        "trials_per_word": args.trials,
        "passing": len(passing),
        "failing": failing,
        "readings": readings,
        "seconds_per_reading": round(elapsed / max(readings, 1), 3),
        "machine": machine_description(),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "phrase_words.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "dropped_as_too_close"}, indent=1))
    if args.write_passing:
        args.write_passing.write_text("\n".join(sorted(passing)) + "\n")
    return 1 if args.words is None and (failing or dropped_close) else 0


def distinct_words(words: list[str], min_distance: int) -> list[str]:
    """Keep words in order, dropping any within ``min_distance - 1`` edits of a kept one
    or within one edit of it in :func:`sound_key`."""
    kept: list[str] = []
    for word in dict.fromkeys(words):
        if all(
            edit_distance(word, other, min_distance - 1) >= min_distance
            and edit_distance(sound_key(word), sound_key(other), 1) >= 2
            for other in kept
        ):
            kept.append(word)
    return kept


def _read(path: Path) -> list[str]:
    return [line.strip().lower() for line in path.read_text().split() if line.strip()]


if __name__ == "__main__":
    raise SystemExit(main())
