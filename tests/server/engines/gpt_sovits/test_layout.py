"""Resolving the files of a GPT-SoVITS model folder laid out like pretrained_models/."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.engines.gpt_sovits.layout import resolve_model_files
from server.errors import ModelFilesError
from tests.server.engines.gpt_sovits.official_files import (
    SOVITS_FILES,
    SV_FILE,
    T2S_FILES,
    write_placeholder_folder,
    write_sovits,
)


@pytest.mark.parametrize(("present", "expected"), [
    (("v2",), "v2"),
    (("v2", "v2Pro"), "v2Pro"),
    (("v2", "v2Pro", "v2ProPlus"), "v2ProPlus"),
    (("v2ProPlus",), "v2ProPlus"),
])
def test_default_is_the_newest_complete_variant(tmp_path: Path, present: tuple[str, ...],
                                                expected: str) -> None:
    folder = write_placeholder_folder(tmp_path, present)
    files = resolve_model_files(folder)
    assert files.variant == expected
    assert files.t2s == folder / T2S_FILES[expected]
    assert files.sovits == folder / SOVITS_FILES[expected]
    assert files.hubert_dir == folder / "chinese-hubert-base"
    assert files.bert_dir == folder / "chinese-roberta-wwm-ext-large"
    assert files.sv == (folder / SV_FILE if "Pro" in expected else None)
    assert files.g2pw_dir is None


def test_an_incomplete_pro_generation_is_skipped(tmp_path: Path) -> None:
    folder = write_placeholder_folder(tmp_path, ("v2", "v2ProPlus"))
    (folder / SV_FILE).unlink()
    assert resolve_model_files(folder).variant == "v2"


def test_named_variant_with_a_missing_file_says_which_and_what_to_do(tmp_path: Path) -> None:
    folder = write_placeholder_folder(tmp_path, ("v2",))
    (folder / "s1v3.ckpt").touch()
    with pytest.raises(ModelFilesError) as caught:
        resolve_model_files(folder, variant="v2Pro")
    message = caught.value.message
    assert message == (
        f"GPT-SoVITS model folder {folder}: missing v2Pro/s2Gv2Pro.pth (SoVITS weights for "
        "v2Pro); download the official v2Pro weights into it or set "
        "VOXGUARD_GPT_SOVITS_VARIANT=v2"
    )
    assert "\n" not in message


def test_variant_names(tmp_path: Path) -> None:
    folder = write_placeholder_folder(tmp_path, ("v2", "v2Pro"))
    assert resolve_model_files(folder, variant="v2pro").variant == "v2Pro"
    assert resolve_model_files(folder, variant="v2").sv is None
    with pytest.raises(ModelFilesError, match="variant 'v3' is unknown; .*v2, v2Pro, v2ProPlus"):
        resolve_model_files(folder, variant="v3")


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match="does not exist; set VOXGUARD_GPT_SOVITS_MODELS"):
        resolve_model_files(tmp_path / "nowhere")
    with pytest.raises(ModelFilesError, match="holds no complete v2, v2Pro or v2ProPlus model"):
        resolve_model_files(tmp_path)
    write_placeholder_folder(tmp_path / "GPT_SoVITS" / "pretrained_models")
    with pytest.raises(ModelFilesError, match="set VOXGUARD_GPT_SOVITS_MODELS to .*/GPT_SoVITS/pre"):
        resolve_model_files(tmp_path)


def test_own_weights_relative_or_absolute(tmp_path: Path) -> None:
    folder = write_placeholder_folder(tmp_path / "models", ("v2",))
    own = tmp_path / "elsewhere" / "me-e15.ckpt"
    own.parent.mkdir()
    own.touch()
    (folder / "GPT_weights_v2").mkdir()
    (folder / "GPT_weights_v2" / "me.ckpt").touch()
    assert resolve_model_files(folder, gpt_weights=own).t2s == own
    relative = resolve_model_files(folder, gpt_weights=Path("GPT_weights_v2/me.ckpt"))
    assert relative.t2s == folder / "GPT_weights_v2" / "me.ckpt"
    with pytest.raises(ModelFilesError, match="gpt_weights .*absent.ckpt does not exist .*fix the"):
        resolve_model_files(folder, gpt_weights=Path("absent.ckpt"))


def test_own_sovits_file_decides_the_variant(tmp_path: Path) -> None:
    folder = write_placeholder_folder(tmp_path / "models", ("v2", "v2Pro"))
    own = write_sovits(tmp_path / "SoVITS_weights_v2Pro" / "me_e8_s200.pth", "v2Pro")
    files = resolve_model_files(folder, sovits_weights=own)
    assert (files.variant, files.sovits, files.sv) == ("v2Pro", own, folder / SV_FILE)
    assert files.t2s == folder / "s1v3.ckpt"

    v2 = write_sovits(tmp_path / "v2.pth", "v2")
    assert resolve_model_files(folder, sovits_weights=v2).variant == "v2"
    with pytest.raises(ModelFilesError, match="is a v2 model but the variant is set to v2Pro"):
        resolve_model_files(folder, variant="v2Pro", sovits_weights=v2)
    with pytest.raises(ModelFilesError, match="sovits_weights .* does not exist"):
        resolve_model_files(folder, sovits_weights=tmp_path / "absent.pth")


def test_own_sovits_of_a_generation_whose_t2s_is_absent(tmp_path: Path) -> None:
    folder = write_placeholder_folder(tmp_path / "models", ("v2",))
    own = write_sovits(tmp_path / "plus.pth", "v2ProPlus")
    with pytest.raises(ModelFilesError, match="missing s1v3.ckpt .*set gpt_weights to the file"):
        resolve_model_files(folder, sovits_weights=own)


def test_overrides_rename_files(tmp_path: Path) -> None:
    folder = write_placeholder_folder(tmp_path, ("v2Pro",))
    (folder / "hub").mkdir()
    for name in ("config.json", "model.safetensors"):
        (folder / "hub" / name).touch()
    (folder / "my-sv.ckpt").touch()
    (folder / "g2pw").mkdir()
    files = resolve_model_files(folder, overrides={
        "hubert_dir": "hub", "sv_weights": "my-sv.ckpt", "g2pw_dir": "g2pw",
        "gpt_weights": "s1v3.ckpt", "bert_dir": "",  # empty values mean "not set"
    })
    assert files.hubert_dir == folder / "hub"
    assert files.sv == folder / "my-sv.ckpt"
    assert files.g2pw_dir == folder / "g2pw"
    assert files.bert_dir == folder / "chinese-roberta-wwm-ext-large"

    with pytest.raises(ModelFilesError, match="unknown GPT-SoVITS file option\\(s\\) weights"):
        resolve_model_files(folder, overrides={"weights": "x"})
    with pytest.raises(ModelFilesError, match="g2pw_dir .*nope is not a folder"):
        resolve_model_files(folder, overrides={"g2pw_dir": "nope"})
    with pytest.raises(ModelFilesError, match="sv_weights .*gone.ckpt does not exist"):
        resolve_model_files(folder, overrides={"sv_weights": "gone.ckpt"})


def test_g2pw_folder_is_found_when_present(tmp_path: Path) -> None:
    folder = write_placeholder_folder(tmp_path, ("v2",))
    (folder / "G2PWModel").mkdir()
    assert resolve_model_files(folder).g2pw_dir == folder / "G2PWModel"


def test_hugging_face_folders_need_config_weights_and_vocabulary(tmp_path: Path) -> None:
    folder = write_placeholder_folder(tmp_path, ("v2",))
    bert = folder / "chinese-roberta-wwm-ext-large"
    (bert / "vocab.txt").unlink()
    with pytest.raises(ModelFilesError, match="lacks vocab.txt or tokenizer.json \\(BERT"):
        resolve_model_files(folder)
    (bert / "tokenizer.json").touch()  # the distributed folder has only tokenizer.json
    resolve_model_files(folder)

    hubert = folder / "chinese-hubert-base"
    (hubert / "pytorch_model.bin").unlink()
    (hubert / "config.json").unlink()
    with pytest.raises(ModelFilesError) as caught:
        resolve_model_files(folder)
    assert caught.value.message == (
        f"GPT-SoVITS model folder {folder}: chinese-hubert-base/ lacks config.json, "
        "model.safetensors or pytorch_model.bin (HuBERT (chinese-hubert-base) in Hugging Face "
        "format); download it again"
    )
    for name in ("config.json", "pytorch_model.bin"):
        (hubert / name).unlink(missing_ok=True)
    hubert.rmdir()
    with pytest.raises(ModelFilesError, match="missing chinese-hubert-base/ \\(HuBERT"):
        resolve_model_files(folder)
