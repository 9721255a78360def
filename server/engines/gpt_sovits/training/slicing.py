"""From long recordings to a ``.list``: the official slicing step, then the transcript.

Each recording (a file, or every file of a folder in name order) is decoded to 32 kHz mono by
FFmpeg, cut by :class:`~.slicer.Slicer`, and every utterance is written as the official
``slice_audio.py`` writes it: ``<recording name>_<start>_<end>.wav`` (sample offsets, ten
digits), 16-bit 32 kHz, after the official level rule ``x / peak * 0.9 * 0.25 + 0.75 * x``
(and ``x / peak`` first when the peak is above 1). English utterances are then transcribed by
the bundled recogniser; for other languages the ``.list`` gets empty transcripts for the
caller to fill in (``prepare-dataset`` refuses a line without one).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from server.audio.codecs import decode_with_ffmpeg
from server.audio.signal import Audio
from server.engines.gpt_sovits.training import slicer as sl
from server.errors import InvalidArgument

RATE = 32_000
LEVEL_PEAK = 0.9  # the official _max
LEVEL_ALPHA = 0.25  # the official alpha
MAX_RECORDING_SECONDS = 4 * 3600.0


@dataclass(frozen=True)
class SliceOptions:
    """The official slicing settings (web UI defaults)."""

    threshold_db: float = sl.THRESHOLD_DB
    min_length_ms: int = sl.MIN_LENGTH_MS
    min_interval_ms: int = sl.MIN_INTERVAL_MS
    hop_ms: int = sl.HOP_MS
    max_silence_kept_ms: int = sl.MAX_SILENCE_KEPT_MS
    peak: float = LEVEL_PEAK
    alpha: float = LEVEL_ALPHA


def recordings(source: Path) -> list[Path]:
    """The recording files of ``source`` (a file, or a folder's files in name order)."""
    if source.is_file():
        return [source]
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.is_file())
        if files:
            return files
        raise InvalidArgument(f"{source} holds no recordings")
    raise InvalidArgument(f"{source} does not exist; give a recording or a folder of them")


def slice_recordings(source: Path, out_dir: Path, options: SliceOptions | None = None) -> list[Path]:
    """Write the utterances of every recording of ``source`` into ``out_dir``; their paths."""
    options = options or SliceOptions()
    try:
        slicer = sl.Slicer(RATE, options.threshold_db, options.min_length_ms,
                           options.min_interval_ms, options.hop_ms, options.max_silence_kept_ms)
    except ValueError as error:
        raise InvalidArgument(f"slicing settings: {error}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for path in recordings(source):
        samples, _ = decode_with_ffmpeg(str(path), sample_rate=RATE,
                                        max_seconds=MAX_RECORDING_SECONDS)
        for chunk in slicer.slice(samples):
            level = leveled(samples[chunk.start:chunk.end], options)
            if level is None:
                continue  # a silent piece: nothing to learn from
            target = out_dir / f"{path.name}_{chunk.start:010d}_{chunk.end:010d}.wav"
            temporary = target.with_name(target.name + ".partial")
            wavfile.write(temporary, RATE, (level * 32767).astype(np.int16))
            os.replace(temporary, target)
            written.append(target)
    return written


def leveled(chunk: np.ndarray, options: SliceOptions) -> np.ndarray | None:
    """The official level rule in float32; None for a silent chunk."""
    chunk = np.array(chunk, dtype=np.float32)
    peak = np.abs(chunk).max() if chunk.size else np.float32(0)
    if peak == 0:
        return None
    if peak > 1:
        chunk /= peak  # as officially: then divided by the old peak once more below
    return (chunk / peak * np.float32(options.peak * options.alpha)
            + np.float32(1 - options.alpha) * chunk)


def write_list(clips: list[Path], list_path: Path, speaker: str, language: str,
               transcribe: bool) -> list[str]:
    """The ``.list`` of ``clips`` (``path|speaker|LANG|text``); its lines.

    ``transcribe`` runs the bundled English recogniser; otherwise the texts are left empty.
    """
    if transcribe and language != "en":
        raise InvalidArgument("the bundled recogniser is English-only; for other languages "
                              "slice without speech recognition and write the transcripts")
    transcriber = None
    if transcribe:
        from server.speech.asr import Transcriber

        transcriber = Transcriber()
    lines = []
    for clip in clips:
        text = ""
        if transcriber is not None:
            rate, pcm = wavfile.read(clip)
            text = transcriber.transcribe(Audio(pcm.astype(np.float32) / 32768.0, int(rate)))
        lines.append(f"{clip.resolve()}|{speaker}|{language.upper()}|{text}")
    list_path.parent.mkdir(parents=True, exist_ok=True)
    list_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines
