"""The embedded-neural engine's declaration (:class:`~server.engines.spec.EngineSpec`),
light to import: no ONNX Runtime, torch or model file."""

from __future__ import annotations

from server.engines.spec import EngineSpec, refuse_unknown_options
from server.speech.espeak import espeak_languages
from server.text import DEFAULT_MAX_TEXT_CHARS

ENGINE_NAME = "embedded-neural"
ENGINE_VERSION = "1.0.0"
#: The Piper voice and the HiFi-GAN vocoder both run at 22,050 Hz.
NATIVE_RATE = 22_050
#: The engine's constructor options (``VOXGUARD_ENGINE_OPTIONS``).
OPTIONS = ("max_text_chars", "vocoder", "piper", "cache_dir", "threads")


def spec(**options: object) -> EngineSpec:
    """English through Piper and every eSpeak NG language; no sampling options."""
    refuse_unknown_options(ENGINE_NAME, options, OPTIONS)
    return EngineSpec(name=ENGINE_NAME, version=ENGINE_VERSION, native_sample_rate=NATIVE_RATE,
                      languages=espeak_languages(), options=frozenset(),
                      max_text_chars=int(str(options.get("max_text_chars", DEFAULT_MAX_TEXT_CHARS))))
