"""``voxguard gpt-sovits inspect``: the report on a model folder, and its errors."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import torch

from server.cli.main import main
from server.engines.gpt_sovits import speaker_verification
from server.engines.gpt_sovits.inspect import inspect_models
from server.errors import ModelFilesError
from tests.server.engines.gpt_sovits.official_files import (
    SOVITS_FILES,
    SV_FILE,
    T2S_FILES,
    write_bert,
    write_hubert,
    write_sovits,
    write_t2s,
)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete v2 folder (and v2Pro T2S/SoVITS/SV files) with tiny weights."""
    folder = tmp_path_factory.mktemp("models")
    write_t2s(folder / T2S_FILES["v2"], dim=16, layers=2)
    write_sovits(folder / SOVITS_FILES["v2"], "v2")
    write_hubert(folder / "chinese-hubert-base")
    write_bert(folder / "chinese-roberta-wwm-ext-large")
    return folder


def test_report_lists_variant_files_sizes_parameters_and_configs(models: Path) -> None:
    report = inspect_models(models)

    assert report.variant == "v2"
    roles = [f.role for f in report.files]
    assert roles == ["T2S (GPT)", "SoVITS", "HuBERT", "BERT"]
    t2s, sovits, hubert, bert = report.files
    assert t2s.path == models / T2S_FILES["v2"]
    assert t2s.bytes == (models / T2S_FILES["v2"]).stat().st_size
    assert t2s.parameters == 16 * 1024 + 732 * 16 + 2 * 1025 * 16 + 2 * 48 * 16
    assert t2s.config["embedding_dim"] == 16 and t2s.config["n_layer"] == 2
    assert t2s.config["phoneme_vocab_size"] == 732 and t2s.config["EOS"] == 1024
    assert t2s.config["info"] == "GPT-e15"
    assert sovits.config["version"] == "v2"
    assert sovits.config["sampling_rate"] == 32000 and sovits.config["hop_length"] == 640
    assert sovits.config["segment_size"] == 20480
    assert sovits.config["upsample_rates"] == [10, 8, 2, 2, 2]
    assert hubert.config["hidden_size"] == 768 and hubert.parameters
    assert bert.config["vocab.txt tokens"] == 11 and bert.config["num_hidden_layers"] == 1
    assert "vocab.txt" in bert.config["tokenizer"]

    text = report.format()
    assert text.splitlines()[:2] == [f"GPT-SoVITS model folder {models}", "variant: v2"]
    assert f"SoVITS: {SOVITS_FILES['v2']} ({sovits.bytes:,} bytes, " in text
    assert "    phoneme_vocab_size = 732" in text
    assert "    upsample_rates = [10, 8, 2, 2, 2]" in text
    assert json.loads(json.dumps(report.to_dict()))["variant"] == "v2"


def test_pro_folder_reports_the_speaker_model(models: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    own = write_sovits(tmp_path / "mine.pth", "v2ProPlus")
    (models / SV_FILE).parent.mkdir(exist_ok=True)
    (models / SV_FILE).write_bytes(b"sv")
    loaded: list[Path] = []

    def fake_load(cls: type, path: Path, device: str = "cpu") -> object:
        loaded.append(path)  # the real net is 53.6 M parameters: too big for a unit test
        return types.SimpleNamespace(model=torch.nn.Linear(2, 3))

    monkeypatch.setattr(speaker_verification.Eres2NetEncoder, "load", classmethod(fake_load))
    report = inspect_models(models, gpt_weights=models / T2S_FILES["v2"], sovits_weights=own)

    assert report.variant == "v2ProPlus"
    assert loaded == [models / SV_FILE]
    sv = next(f for f in report.files if f.role.startswith("speaker verification"))
    assert sv.parameters == 9
    assert report.files[1].config["upsample_kernel_sizes"][0] == 20
    assert f"SoVITS: {own} (" in report.format()  # outside the folder: the full path
    (models / SV_FILE).unlink()


def test_bert_with_a_missing_weight_is_refused(tmp_path: Path) -> None:
    write_t2s(tmp_path / T2S_FILES["v2"])
    write_sovits(tmp_path / SOVITS_FILES["v2"], "v2")
    write_hubert(tmp_path / "chinese-hubert-base")
    write_bert(tmp_path / "chinese-roberta-wwm-ext-large",
               drop=("bert.encoder.layer.0.output.dense.weight",))
    with pytest.raises(ModelFilesError, match="BERT model in .* lacks 1 weight"):
        inspect_models(tmp_path)


def test_cli_prints_the_report(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gpt-sovits", "inspect", "--models", str(models)]) == 0
    out = capsys.readouterr().out
    assert "variant: v2" in out and "HuBERT: chinese-hubert-base (" in out
    assert main(["gpt-sovits", "inspect", "--models", str(models), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["role"] == "T2S (GPT)"


def test_cli_bad_folder_is_one_error_line_and_exit_2(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["gpt-sovits", "inspect", "--models", str(tmp_path / "nowhere")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"error: GPT-SoVITS model folder {tmp_path / 'nowhere'} ")
