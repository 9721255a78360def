"""HuBERT content features: the distributed weight-norm names load, nothing is left random."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from server.engines.gpt_sovits.hubert import HubertFeatures
from server.errors import ModelFilesError
from tests.server.engines.gpt_sovits.official_files import write_hubert

_RENAMED = {"weight_g": "parametrizations.weight.original0",
            "weight_v": "parametrizations.weight.original1"}


def _model_key(file_key: str) -> str:
    for old, new in _RENAMED.items():
        if file_key.endswith(old):
            return file_key[: -len(old)] + new
    return file_key


def test_every_weight_comes_from_the_file_including_weight_norm(tmp_path: Path) -> None:
    saved = write_hubert(tmp_path)
    assert "encoder.pos_conv_embed.conv.weight_g" in saved  # the distributed names

    features = HubertFeatures.load(tmp_path)

    loaded = features.model.state_dict()
    assert set(loaded) == {_model_key(k) for k in saved}
    for key, value in saved.items():
        assert loaded[_model_key(key)].dtype == torch.float32
        assert torch.equal(loaded[_model_key(key)], value.float()), key
    assert not features.model.training


def test_raw_waveform_in_transposed_last_hidden_state_out(tmp_path: Path) -> None:
    write_hubert(tmp_path)
    features = HubertFeatures.load(tmp_path)
    wav = torch.randn(16_000) * 0.1

    out = features(wav)

    assert out.shape == (1, 768, 49) and out.dtype == torch.float32
    with torch.no_grad():  # no feature-extractor normalisation in between
        direct = features.model(wav[None, :])["last_hidden_state"].transpose(1, 2)
    assert torch.equal(out, direct)
    assert torch.equal(features(wav[None, :]), out)


def test_new_weight_norm_names_load_too(tmp_path: Path) -> None:
    saved = write_hubert(tmp_path, old_weight_norm_names=False)
    features = HubertFeatures.load(tmp_path)
    key = "encoder.pos_conv_embed.conv.parametrizations.weight.original1"
    assert torch.equal(features.model.state_dict()[key], saved[key].float())


@pytest.mark.parametrize(("dropped", "message"), [
    ("encoder.layers.0.attention.k_proj.weight", "lacks 1 weight\\(s\\) .*left random"),
    ("encoder.pos_conv_embed.conv.weight_g", "could not be loaded"),  # transformers fails
])
def test_a_missing_weight_is_refused_not_initialised(tmp_path: Path, dropped: str,
                                                     message: str) -> None:
    write_hubert(tmp_path, drop=(dropped,))
    with pytest.raises(ModelFilesError, match=message):
        HubertFeatures.load(tmp_path)


def test_the_training_mask_may_be_absent(tmp_path: Path) -> None:
    write_hubert(tmp_path, drop=("masked_spec_embed",))
    HubertFeatures.load(tmp_path)


def test_wrong_width_or_unreadable_folder(tmp_path: Path) -> None:
    write_hubert(tmp_path / "narrow", hidden=64)
    with pytest.raises(ModelFilesError, match="hidden size 64, not 768"):
        HubertFeatures.load(tmp_path / "narrow")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFilesError, match="could not be loaded"):
        HubertFeatures.load(tmp_path / "empty")
