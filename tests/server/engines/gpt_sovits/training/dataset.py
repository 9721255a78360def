"""A small fine-tuning dataset made from the committed speech fixtures, the same bytes every time.

Eight utterances of 2-4.5 s cut from ``enrollment_1998.flac`` (LibriSpeech, CC BY 4.0), in the
formats a ``.list`` meets in practice (16 kHz FLAC, stereo WAV, 22.05 kHz WAV, MP3), with
English and Mandarin transcripts that exercise the official text rules (numbers, currency,
``%`` and ``￥``, upper-case language codes, a text under four phones). The words do not match
the audio; with random weights that does not matter, and the official recordings were made
on exactly these files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SOURCE = Path(__file__).resolve().parents[4] / "fixtures" / "speech" / "enrollment_1998.flac"

#: (file name, start s, length s, how it is written, language code, transcript)
ITEMS: tuple[tuple[str, float, float, str, str, str], ...] = (
    ("clip0.flac", 0.4, 3.2, "flac16k", "en", "The museum opens at nine in the morning."),
    ("clip1.flac", 3.6, 2.6, "flac16k", "en", "It costs $19.99, about 10% less than before."),
    ("clip2.wav", 6.2, 3.4, "stereo16k", "zh", "今天天气很好，我们去公园散步。"),
    ("clip3.flac", 9.6, 4.4, "flac16k", "zh", "价格是3999元，比去年便宜了百分之十。"),
    ("clip4.mp3", 14.0, 3.0, "mp3", "en", "GPT models speak the 5th chapter aloud."),
    ("clip5.wav", 17.0, 2.8, "wav22k", "ZH", "我们用GPT模型合成语音。"),
    ("clip6.flac", 19.8, 2.2, "flac16k", "EN", "Yes."),
    ("clip7.flac", 22.0, 3.6, "flac16k", "zh", "一个人走在路上￥看着天上的鸟儿。"),
)


def write_dataset(folder: Path, speaker: str = "spk1998") -> Path:
    """Write the clips and ``train.list`` (absolute paths) into ``folder``; the list's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    audio, rate = sf.read(SOURCE, dtype="float32")
    lines = []
    for name, start, length, form, language, text in ITEMS:
        clip = audio[int(start * rate):int((start + length) * rate)]
        _write(folder / name, clip, rate, form)
        lines.append(f"{folder.resolve() / name}|{speaker}|{language}|{text}")
    list_path = folder / "train.list"
    list_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list_path


def _write(path: Path, clip: np.ndarray, rate: int, form: str) -> None:
    if form == "flac16k":
        sf.write(path, clip, rate, format="FLAC", subtype="PCM_16")
    elif form == "stereo16k":
        stereo = np.stack([clip, 0.8 * clip], axis=1)
        sf.write(path, stereo, rate, format="WAV", subtype="PCM_16")
    elif form == "wav22k":
        sf.write(path, resample_poly(clip, 441, 320).astype(np.float32), 22050, format="WAV",
                 subtype="PCM_16")
    elif form == "mp3":
        sf.write(path, clip, rate, format="MP3", subtype="MPEG_LAYER_III")
    else:
        raise ValueError(form)


LONG_RECORDING = "session.flac"


def write_long_recording(folder: Path) -> Path:
    """A 30 s recording with leading, inner and trailing silences (16 kHz FLAC), for slicing."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    audio, rate = sf.read(SOURCE, dtype="float32")
    quiet = np.zeros(int(0.8 * rate), dtype=np.float32)
    parts = [np.zeros(rate, dtype=np.float32), audio[: 9 * rate], quiet,
             audio[9 * rate:], np.zeros(int(1.5 * rate), dtype=np.float32)]
    path = folder / LONG_RECORDING
    sf.write(path, np.concatenate(parts), rate, format="FLAC", subtype="PCM_16")
    return path
