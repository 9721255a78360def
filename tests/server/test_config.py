"""Settings: engine options from the environment, and the operator credential's strength."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from server.config import Settings
from server.errors import InvalidArgument
from server.platform import load_admin_token


def test_engine_options_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_ENGINE_OPTIONS", '{"weights_path": "/models/v2", "half": true}')
    assert Settings.load().engine_options == {"weights_path": "/models/v2", "half": True}


def test_engine_options_default_to_none_and_refuse_non_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOXGUARD_ENGINE_OPTIONS", raising=False)
    assert Settings.load().engine_options == {}
    monkeypatch.setenv("VOXGUARD_ENGINE_OPTIONS", '["not", "an", "object"]')
    with pytest.raises(ValidationError, match="engine_options"):
        Settings.load()


@pytest.mark.parametrize("token", ["", "   ", "short-token"])
def test_a_short_operator_credential_is_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="at least 24 characters"):
        Settings.load(admin_token=token)


def test_a_short_operator_credential_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "admin.token").write_text("tiny\n")
    (tmp_path / "admin.token").chmod(0o600)
    with pytest.raises(InvalidArgument, match="shorter than 24 characters"):
        load_admin_token(Settings.load(data_dir=tmp_path))


def test_the_generated_operator_credential_is_long_and_kept(tmp_path: Path) -> None:
    token = load_admin_token(Settings.load(data_dir=tmp_path))
    assert token.startswith("vxa_") and len(token) >= 24
    assert load_admin_token(Settings.load(data_dir=tmp_path)) == token


def test_gpt_sovits_settings_become_engine_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_ENGINE", "gpt-sovits")
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_MODELS", "/srv/pretrained_models")
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_DEVICE", "CUDA:1")
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_VARIANT", "v2Pro")
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_BACKEND", "onnx")
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_ONNX_DIR", "/srv/onnx")
    monkeypatch.setenv("VOXGUARD_ENGINE_OPTIONS", '{"sovits_weights": "mine.pth", "dtype": "float16"}')
    options = Settings.load().resolved_engine_options
    assert options == {"device": "cuda:1", "dtype": "float16", "models_dir": "/srv/pretrained_models",
                       "variant": "v2Pro", "sovits_weights": "mine.pth", "backend": "onnx",
                       "onnx_dir": "/srv/onnx"}


def test_gpt_sovits_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_DEVICE", "gpu0")
    with pytest.raises(ValidationError, match="cuda:N"):
        Settings.load()
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_DEVICE", "cpu")
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_DTYPE", "float64")
    with pytest.raises(ValidationError, match="gpt_sovits_dtype"):
        Settings.load()
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_DTYPE", "float32")
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_BACKEND", "tensorrt")
    with pytest.raises(ValidationError, match="gpt_sovits_backend"):
        Settings.load()


def test_embedded_engine_ignores_gpt_sovits_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_GPT_SOVITS_DEVICE", "cuda")
    assert Settings.load().resolved_engine_options == {}
