"""``voxguard watermark keygen|embed|detect`` end to end on files."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
import soundfile as sf

from server.cli.main import main

SPEECH = Path(__file__).resolve().parents[2] / "fixtures" / "speech" / "2414-128291-0004.flac"


def test_keygen_embed_detect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "wm.key"
    assert main(["watermark", "keygen", "--key-file", str(key)]) == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    primary = json.loads(capsys.readouterr().out)["primary_key_id"]

    source = tmp_path / "in.flac"
    shutil.copy(SPEECH, source)
    out = tmp_path / "out.wav"
    assert main(["watermark", "embed", "--key-file", str(key), "--payload", "00FF00ff12345678", str(source), str(out)]) == 0
    capsys.readouterr()
    info = sf.info(out)
    assert info.format == "WAV" and info.samplerate == 16_000

    assert main(["watermark", "detect", "--key-file", str(key), str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["detected"] is True
    assert report["payload"] == "00ff00ff12345678"
    assert report["key_id"] == primary
    assert 0.0 < report["confidence"] <= 1.0

    assert main(["watermark", "detect", "--key-file", str(key), str(source)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["detected"] is False and report["payload"] is None

    assert main(["watermark", "keygen", "--key-file", str(key), "--rotate"]) == 0
    assert json.loads(capsys.readouterr().out)["keys"] == 2
    assert main(["watermark", "detect", "--key-file", str(key), str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["key_id"] == primary


def test_errors_exit_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "wm.key"
    assert main(["watermark", "keygen", "--key-file", str(key)]) == 0
    assert main(["watermark", "keygen", "--key-file", str(key)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["watermark", "embed", "--key-file", str(key), "--payload", "xyz", str(SPEECH), str(tmp_path / "o.wav")]) == 2
    assert "16 hex digits" in capsys.readouterr().err
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not audio" * 100)
    assert main(["watermark", "detect", "--key-file", str(key), str(garbage)]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["watermark", "detect", "--key-file", str(tmp_path / "none.key"), str(SPEECH)]) == 2
    assert "does not exist" in capsys.readouterr().err
