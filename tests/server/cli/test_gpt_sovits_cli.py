"""``voxguard gpt-sovits inspect`` (and run, once the engine is complete) on generated folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.server.cli.conftest import Voxguard
from tests.server.engines.gpt_sovits.model_factory import generate_models


@pytest.fixture(scope="module")
def micro_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("micro-v2")
    generate_models("v2", "micro", 7, folder)
    return folder


def test_inspect_reports_variant_files_and_configs(voxguard: Voxguard, micro_v2: Path) -> None:
    result = voxguard("gpt-sovits", "inspect", "--models", str(micro_v2), "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["variant"] == "v2"
    roles = {f["role"]: f for f in report["files"]}
    assert set(roles) == {"T2S (GPT)", "SoVITS", "HuBERT", "BERT"}
    assert roles["T2S (GPT)"]["config"]["phoneme_vocab_size"] == 732
    assert roles["SoVITS"]["config"]["hop_length"] == 640
    assert all(f["bytes"] > 0 and f["parameters"] > 0 for f in report["files"])
    text = voxguard("gpt-sovits", "inspect", "--models", str(micro_v2)).out
    assert "variant: v2" in text and "upsample_rates" in text


def test_bad_folders_give_one_clear_line(voxguard: Voxguard, micro_v2: Path, tmp_path: Path) -> None:
    empty = voxguard("gpt-sovits", "inspect", "--models", str(tmp_path))
    assert empty.code == 2 and "holds no complete v2, v2Pro or v2ProPlus model" in empty.err
    assert empty.err.count("\n") == 1
    wrong_variant = voxguard("gpt-sovits", "inspect", "--models", str(micro_v2), "--variant", "v2Pro")
    assert wrong_variant.code == 2 and "missing s1v3.ckpt" in wrong_variant.err
    broken = tmp_path / "broken"
    shutil.copytree(micro_v2, broken)
    sovits = broken / "gsv-v2final-pretrained" / "s2G2333k.pth"
    sovits.write_bytes(sovits.read_bytes()[:100_000])
    truncated = voxguard("gpt-sovits", "inspect", "--models", str(broken))
    assert truncated.code == 2 and "s2G2333k.pth is truncated" in truncated.err
    gpt = broken / "gsv-v2final-pretrained" / "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"
    shutil.copy(micro_v2 / "gsv-v2final-pretrained" / "s2G2333k.pth", sovits)
    swapped = voxguard("gpt-sovits", "inspect", "--models", str(broken), "--gpt-weights", str(sovits),
                       "--sovits-weights", str(gpt))
    assert swapped.code == 2 and "give the" in swapped.err
