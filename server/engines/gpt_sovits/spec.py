"""The gpt-sovits engine's declaration (:class:`~server.engines.spec.EngineSpec`).

Light to import and cheap to build: it finds the operator's model files (so a wrong folder is
one clear error at start-up) but reads none of the checkpoints; the workers load them.
"""

from __future__ import annotations

from pathlib import Path

from server.engines.gpt_sovits.layout import resolve_model_files
from server.engines.request import SAMPLING_OPTIONS
from server.engines.spec import EngineSpec, refuse_unknown_options
from server.errors import ModelFilesError
from server.text import DEFAULT_MAX_TEXT_CHARS

ENGINE_NAME = "gpt-sovits"
ENGINE_VERSION = "1.0.0"
#: The SoVITS decoder's output rate.
OUTPUT_RATE = 32_000
#: Platform language codes -> the official front end's.
FRONT_END_LANGUAGES = {"en": "en", "cmn": "zh"}
#: The engine's constructor options (``VOXGUARD_ENGINE_OPTIONS`` and the GPT-SoVITS settings).
OPTIONS = (
    "models_dir", "variant", "device", "dtype", "gpt_weights", "sovits_weights", "sv_weights",
    "hubert_dir", "bert_dir", "g2pw_dir", "zh_g2p", "max_text_chars", "asr_model_path",
    "max_new_tokens", "max_batch", "backend", "onnx_dir", "stream_chunk_tokens",
)
_FILE_OVERRIDES = ("sv_weights", "hubert_dir", "bert_dir", "g2pw_dir")


def spec(**options: object) -> EngineSpec:
    """English and Mandarin, every sampling option; checks that the model files are there."""
    refuse_unknown_options(ENGINE_NAME, options, OPTIONS)
    models_dir = options.get("models_dir")
    if not models_dir:
        raise ModelFilesError(
            "the gpt-sovits engine needs the official pretrained models: set "
            "VOXGUARD_GPT_SOVITS_MODELS to the folder laid out like GPT_SoVITS/pretrained_models"
        )
    resolve_model_files(
        Path(str(models_dir)), variant=_text(options.get("variant")),
        gpt_weights=_path(options.get("gpt_weights")),
        sovits_weights=_path(options.get("sovits_weights")),
        overrides={key: str(options[key]) for key in _FILE_OVERRIDES if options.get(key)},
    )
    return EngineSpec(
        name=ENGINE_NAME, version=ENGINE_VERSION, native_sample_rate=OUTPUT_RATE,
        languages=frozenset(FRONT_END_LANGUAGES), options=frozenset(SAMPLING_OPTIONS),
        max_text_chars=int(str(options.get("max_text_chars", DEFAULT_MAX_TEXT_CHARS))),
        uses_gpu=str(options.get("device", "cpu")).startswith("cuda"), batches_requests=True)  # as GptSovitsEngine


def _text(value: object) -> str | None:
    return str(value) if value else None


def _path(value: object) -> Path | None:
    return Path(str(value)) if value else None
