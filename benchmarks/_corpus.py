"""Locating and reading the shared development corpus for the speech benchmarks."""

from __future__ import annotations

import argparse
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from server.audio import Audio

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"
ENROLLMENT_UTTERANCES = 6


@dataclass(frozen=True)
class Utterance:
    """One corpus clip: who speaks it, its id (file stem) and its audio."""

    speaker: str
    utterance_id: str
    audio: Audio


def add_corpus_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--corpus DIR`` defaulting to ``../shared/corpus`` beside the project."""
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS if DEFAULT_CORPUS.exists() else None,
        required=not DEFAULT_CORPUS.exists(),
        help="corpus folder with speakers/<id>/*.flac and impostors/*.flac",
    )


def read_clip(path: Path) -> Audio:
    """Read a FLAC clip as mono float32 :class:`Audio`."""
    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return Audio(samples=samples.mean(axis=1).astype(np.float32), sample_rate=int(rate))


def load_speakers(corpus: Path) -> dict[str, list[Utterance]]:
    """The corpus speakers' utterances, in file order, keyed by speaker id."""
    speakers: dict[str, list[Utterance]] = {}
    for folder in sorted((corpus / "speakers").iterdir()):
        if folder.is_dir():
            speakers[folder.name] = [
                Utterance(folder.name, path.stem, read_clip(path))
                for path in sorted(folder.glob("*.flac"))
            ]
    if not speakers:
        raise SystemExit(f"no speakers found under {corpus / 'speakers'}")
    return speakers


def load_impostors(corpus: Path) -> list[Utterance]:
    """The single-utterance impostor clips (each a different speaker)."""
    return [
        Utterance(path.stem.split("-")[0], path.stem, read_clip(path))
        for path in sorted((corpus / "impostors").glob("*.flac"))
    ]


def concatenate(utterances: list[Utterance]) -> Audio:
    """Join utterances of one speaker into one recording (as an enrollment upload would be)."""
    rate = utterances[0].audio.sample_rate
    return Audio(np.concatenate([u.audio.samples for u in utterances]), rate)


def machine_description() -> str:
    """Short description of the machine a benchmark ran on."""
    import os

    return f"{os.cpu_count()}-core {platform.machine()} CPU, {platform.system()}, no GPU"
