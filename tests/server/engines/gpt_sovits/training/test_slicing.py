"""Slicing long recordings as the official tools do, and writing the ``.list``.

``tests/fixtures/gpt_sovits/training/slice-session.json`` holds the names and sha256 of the
files the official ``Slicer`` and ``slice_audio.py`` level rule wrote for the same recording.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.cli.main import main
from server.engines.gpt_sovits.training.dataset_list import read_list
from server.engines.gpt_sovits.training.slicer import Slicer, frame_rms
from server.engines.gpt_sovits.training.slicing import SliceOptions, leveled, slice_recordings
from server.errors import InvalidArgument
from tests.server.engines.gpt_sovits.training.dataset import write_long_recording

FIXTURE = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits" / "training" / \
    "slice-session.json"


def test_slices_like_the_official_tools(tmp_path: Path) -> None:
    recording = write_long_recording(tmp_path / "in")
    clips = slice_recordings(recording, tmp_path / "out")
    expected = json.loads(FIXTURE.read_text())["slices"]
    assert [c.name for c in clips] == [e["name"] for e in expected]
    assert [hashlib.sha256(c.read_bytes()).hexdigest() for c in clips] == \
        [e["sha256"] for e in expected]


def test_cuts_only_at_silences_long_enough() -> None:
    rate = 32_000
    tone = 0.3 * np.sin(np.arange(5 * rate) * 2 * np.pi * 220 / rate).astype(np.float32)
    gap = np.zeros(rate // 2, dtype=np.float32)
    blip = np.zeros(rate // 10, dtype=np.float32)  # 100 ms: shorter than min_interval
    chunks = Slicer(rate).slice(np.concatenate([tone, blip, tone, gap, tone]))
    assert len(chunks) == 2  # one cut, in the 500 ms gap
    assert 10 * rate < chunks[0].end <= chunks[1].start < 11 * rate
    assert Slicer(rate).slice(np.zeros(3 * rate, dtype=np.float32)) == []


def test_frame_rms_pads_half_a_window() -> None:
    rms = frame_rms(np.ones(1000, dtype=np.float32), 400, 100)
    assert len(rms) == 11 and rms[0] == pytest.approx(np.sqrt(0.5)) and rms[5] == 1.0


def test_level_rule_and_silent_pieces() -> None:
    out = leveled(np.array([0.5, -0.25], dtype=np.float32), SliceOptions())
    assert out is not None and out.dtype == np.float32
    assert out[0] == np.float32(0.5) / np.float32(0.5) * np.float32(0.225) + np.float32(0.75) * \
        np.float32(0.5)
    assert leveled(np.zeros(10, dtype=np.float32), SliceOptions()) is None


def test_cli_writes_utterances_and_a_list_with_english_transcripts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = Path(__file__).resolve().parents[4] / "fixtures" / "speech" / "consent_1998.flac"
    samples, rate = sf.read(clip, dtype="float32")
    sf.write(tmp_path / "talk.wav", np.concatenate([np.zeros(rate, np.float32), samples]), rate)
    assert main(["gpt-sovits", "slice", "--in", str(tmp_path / "talk.wav"), "--out",
                 str(tmp_path / "out"), "--speaker", "anna", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    items = read_list(Path(report["list"]))
    assert [i.speaker for i in items] == ["anna"] and items[0].language == "en"
    assert len(items[0].text.split()) >= 3  # the consent sentence, recognised


def test_refuses_asr_for_mandarin_and_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="does not exist"):
        slice_recordings(tmp_path / "none.wav", tmp_path / "out")
    assert main(["gpt-sovits", "slice", "--in", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--language", "zh"]) == 2
