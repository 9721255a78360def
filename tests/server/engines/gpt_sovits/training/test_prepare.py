"""``prepare_dataset`` against the official data preparation, and its failure modes.

The expected outputs in ``tests/fixtures/gpt_sovits/training/prepare-*.json|npz`` were recorded
from the official scripts (oracle ``prepare-dataset``) on the same micro model folders and the
same clips, by ``tools/gpt_sovits_training_parity.py prepare --fixture``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.cli.main import main
from server.engines.gpt_sovits.training import experiment as ex
from server.engines.gpt_sovits.training.prepare import (
    REPORT_FILE,
    hubert_input_16k,
    loudness_normalized,
    prepare_dataset,
)
from server.errors import InvalidArgument, InvalidAudio, ModelFilesError
from tests.server.engines.gpt_sovits.model_factory import generate_models
from tests.server.engines.gpt_sovits.training.conftest import SEED
from tests.server.engines.gpt_sovits.training.dataset import ITEMS
from tests.server.engines.gpt_sovits.training.summary import compare_experiments

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits" / "training"


@pytest.fixture
def models(training_models: dict[str, Path]) -> dict[str, Path]:
    return training_models


@pytest.fixture
def dataset(dataset_list: Path) -> Path:
    return dataset_list


@pytest.mark.parametrize("variant", ["v2", "v2Pro"])
def test_matches_the_official_preparation(variant: str, models: dict[str, Path], dataset: Path,
                                          tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    report = prepare_dataset(models[variant], dataset, exp, variant=variant)
    assert report.items == [item[0] for item in ITEMS] and report.skipped == {}
    assert compare_experiments(exp, FIXTURES / f"prepare-{variant}-micro.json") == []
    assert (exp / ex.SV_DIR).is_dir() == (variant == "v2Pro")
    assert (exp / REPORT_FILE).is_file()
    rows = ex.read_name2text(exp)
    assert rows["clip2.wav"].word2ph is not None and rows["clip0.flac"].word2ph is None
    assert [name for name, _ in ex.read_semantic(exp)] == report.items


def test_loudness_rule_is_float32_like_the_official() -> None:
    x = np.array([0.5, -0.25, 0.1], dtype=np.float32)
    out = loudness_normalized(x, np.abs(x).max(), 32768.0)
    expected = (x / np.float32(0.5) * np.float32(15564.8)) + np.float32(16384.0) * x
    assert out.dtype == np.float32 and np.array_equal(out, expected)
    assert len(hubert_input_16k(np.zeros(32001, dtype=np.float32))) == 16001


def test_refuses_a_bad_list_before_loading_models(models: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.list"
    bad.write_text(f"{tmp_path}/gone.wav|spk|en|Hello there.\n", encoding="utf-8")
    with pytest.raises(InvalidArgument, match="gone.wav does not exist"):
        prepare_dataset(models["v2"], bad, tmp_path / "exp")
    assert not (tmp_path / "exp").exists()


def test_refuses_a_folder_without_training_files(dataset: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    generate_models("v2", "micro", SEED, plain)
    with pytest.raises(ModelFilesError, match="lacks the v2 training files"):
        prepare_dataset(plain, dataset, tmp_path / "exp")


def test_refuses_an_experiment_folder_in_use(models: dict[str, Path], dataset: Path,
                                             tmp_path: Path) -> None:
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "2-name2text.txt").write_text("old\n")
    with pytest.raises(InvalidArgument, match="not empty"):
        prepare_dataset(models["v2"], dataset, tmp_path / "exp")
    assert (tmp_path / "exp" / "2-name2text.txt").read_text() == "old\n"


def test_a_failed_run_leaves_nothing(models: dict[str, Path], tmp_path: Path) -> None:
    sf.write(tmp_path / "silent.wav", np.zeros(32000, dtype=np.float32), 16000)
    sf.write(tmp_path / "voice.flac", sf.read(_first_clip())[0], 16000)
    listing = tmp_path / "train.list"
    listing.write_text(f"{tmp_path}/voice.flac|s|en|One two three four.\n"
                       f"{tmp_path}/silent.wav|s|en|Nothing at all here.\n", encoding="utf-8")
    with pytest.raises(InvalidAudio, match="line 2 .*silent"):
        prepare_dataset(models["v2"], listing, tmp_path / "out" / "exp")
    assert list((tmp_path / "out").iterdir()) == []


def test_skips_a_clip_louder_than_the_official_limit(models: dict[str, Path],
                                                     tmp_path: Path) -> None:
    voice = sf.read(_first_clip())[0].astype(np.float32)
    sf.write(tmp_path / "loud.wav", voice / np.abs(voice).max() * 3.0, 16000, subtype="FLOAT")
    sf.write(tmp_path / "voice.flac", voice, 16000)
    listing = tmp_path / "train.list"
    listing.write_text(f"{tmp_path}/voice.flac|s|en|One two three four.\n"
                       f"{tmp_path}/loud.wav|s|en|Far too loud.\n", encoding="utf-8")
    report = prepare_dataset(models["v2"], listing, tmp_path / "exp")
    assert list(report.skipped) == ["loud.wav"] and "above 2.2" in report.skipped["loud.wav"]
    assert [name for name, _ in ex.read_semantic(tmp_path / "exp")] == ["voice.flac"]
    assert not (tmp_path / "exp" / ex.WAV32K_DIR / "loud.wav").exists()


def test_cli_reports_a_bad_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.list"
    bad.write_text("clip.wav|spk|en\n", encoding="utf-8")
    code = main(["gpt-sovits", "prepare-dataset", "--models", str(tmp_path), "--list", str(bad),
                 "--out", str(tmp_path / "exp")])
    assert code == 2
    assert "line 1: 3 field(s)" in capsys.readouterr().err


def _first_clip() -> Path:
    return Path(__file__).resolve().parents[4] / "fixtures" / "speech" / "consent_1998.flac"
