"""``voxguard demo`` end to end (about a minute on 2 CPU cores), and its bundled sample."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import soundfile as sf

from tests.server.cli.conftest import Voxguard


def test_bundled_sample_is_small_attributed_and_long_enough() -> None:
    folder = resources.files("server.demo_data")
    names = {entry.name for entry in folder.iterdir()}
    assert {"enrollment_2033.flac", "consent_2033.flac", "README.md"} <= names
    total = sum(len((folder / n).read_bytes()) for n in names if n.endswith(".flac"))
    assert total < 1_500_000
    with resources.as_file(folder / "enrollment_2033.flac") as path:
        assert 45 <= sf.info(path).duration <= 60
    readme = (folder / "README.md").read_text()
    assert "CC BY 4.0" in readme and "2033" in readme and "164914" in readme


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_demo_runs_the_whole_story(voxguard: Voxguard, tmp_path: Path) -> None:
    result = voxguard("demo", "--data-dir", str(tmp_path / "data"), "--out-dir", str(tmp_path / "out"))
    assert result.code == 0, result.out + result.err
    out = result.out
    assert "REJECTED as expected: FAILED_PRECONDITION" in out
    assert "is now ACTIVE" in out
    assert "demo.mp3" in out and "-> voice voice_" in out
    assert "receipt signature verified" in out
    assert "blobs of voice and consent left in" in out and out.count(": none") >= 2
    assert "chain intact" in out
    assert sf.info(tmp_path / "out" / "demo.wav").duration > 1.0


def test_demo_refuses_a_used_data_dir(voxguard: Voxguard, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "voxguard.db").write_bytes(b"")
    result = voxguard("demo", "--data-dir", str(tmp_path / "data"), "--out-dir", str(tmp_path / "out"))
    assert result.code == 2 and "not empty" in result.out + result.err
