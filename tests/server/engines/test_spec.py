"""Each engine's light declaration matches the engine it declares, without building it."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest

from server.engines import create_engine, engine_spec
from server.engines.embedded import spec as embedded_spec
from server.engines.embedded.engine import EmbeddedEngine
from server.engines.gpt_sovits import spec as gpt_sovits_spec
from server.engines.gpt_sovits.engine import GptSovitsEngine
from server.engines.neural import spec as neural_spec
from server.engines.neural.engine import EmbeddedNeuralEngine
from server.errors import InvalidArgument, ModelFilesError

DECLARED = [
    (embedded_spec, EmbeddedEngine),
    (neural_spec, EmbeddedNeuralEngine),
    (gpt_sovits_spec, GptSovitsEngine),
]


@pytest.mark.parametrize(("module", "engine_class"), DECLARED,
                         ids=[module.ENGINE_NAME for module, _ in DECLARED])
def test_the_declared_options_are_the_constructor_parameters(module: object,
                                                              engine_class: type) -> None:
    parameters = [name for name in inspect.signature(engine_class.__init__).parameters
                  if name != "self"]
    assert list(module.OPTIONS) == parameters  # type: ignore[attr-defined]
    assert engine_class.name == module.ENGINE_NAME  # type: ignore[attr-defined]
    assert engine_class.version == module.ENGINE_VERSION  # type: ignore[attr-defined]


def test_the_embedded_declaration_equals_the_built_engine() -> None:
    assert engine_spec("embedded", {"max_text_chars": 3000}) == create_engine(
        "embedded", {"max_text_chars": 3000}).spec()


def test_the_neural_declaration_matches_the_class() -> None:
    declared = engine_spec("embedded-neural")
    assert declared.native_sample_rate == EmbeddedNeuralEngine.native_sample_rate
    assert declared.options == EmbeddedNeuralEngine.supported_options
    assert {"en", "cmn", "fr", "de"} <= declared.languages


def test_the_gpt_sovits_declaration_needs_the_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match="VOXGUARD_GPT_SOVITS_MODELS"):
        engine_spec("gpt-sovits")
    with pytest.raises(ModelFilesError, match="does not exist"):
        engine_spec("gpt-sovits", {"models_dir": str(tmp_path / "absent")})


def test_unknown_options_are_refused_by_name() -> None:
    with pytest.raises(InvalidArgument, match="invalid options for engine 'embedded': colour"):
        engine_spec("embedded", {"colour": "blue"})


def test_reading_a_declaration_builds_nothing_and_loads_no_onnx_runtime() -> None:
    import subprocess

    script = ("import sys; from server.engines import engine_spec; engine_spec('embedded-neural');"
              "print(sorted(m for m in ('onnxruntime', 'server.engines.neural.engine',"
              " 'server.engines.neural.vocoder') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "[]"


def test_only_gpt_sovits_declares_that_it_batches_requests(tmp_path: Path) -> None:
    from tests.server.engines.gpt_sovits.model_factory import generate_models

    generate_models("v2", "micro", 7, tmp_path)
    assert engine_spec("gpt-sovits", {"models_dir": str(tmp_path)}).batches_requests
    assert GptSovitsEngine.batches_requests
    assert not engine_spec("embedded").batches_requests
    assert not engine_spec("embedded-neural").batches_requests
