"""Settings: engine options arrive as a JSON object from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from server.config import Settings


def test_engine_options_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXGUARD_ENGINE_OPTIONS", '{"weights_path": "/models/v2", "half": true}')
    assert Settings.load().engine_options == {"weights_path": "/models/v2", "half": True}


def test_engine_options_default_to_none_and_refuse_non_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOXGUARD_ENGINE_OPTIONS", raising=False)
    assert Settings.load().engine_options == {}
    monkeypatch.setenv("VOXGUARD_ENGINE_OPTIONS", '["not", "an", "object"]')
    with pytest.raises(ValidationError, match="engine_options"):
        Settings.load()
