"""The embedded engine's declaration (:class:`~server.engines.spec.EngineSpec`), light to import."""

from __future__ import annotations

from server.engines.spec import EngineSpec, refuse_unknown_options
from server.speech.espeak import espeak_languages
from server.text import DEFAULT_MAX_TEXT_CHARS

ENGINE_NAME = "embedded"
ENGINE_VERSION = "1.0.0"
#: WORLD runs at 16 kHz, which is the engine's output rate.
NATIVE_RATE = 16_000
#: The engine's constructor options (``VOXGUARD_ENGINE_OPTIONS``).
OPTIONS = ("max_text_chars", "conversion")


def spec(**options: object) -> EngineSpec:
    """eSpeak NG's languages, no sampling options."""
    refuse_unknown_options(ENGINE_NAME, options, OPTIONS)
    return EngineSpec(name=ENGINE_NAME, version=ENGINE_VERSION, native_sample_rate=NATIVE_RATE,
                      languages=espeak_languages(), options=frozenset(),
                      max_text_chars=int(str(options.get("max_text_chars", DEFAULT_MAX_TEXT_CHARS))))
