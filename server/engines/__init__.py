"""Synthesis engines: the shared interface, the registry and the built-in engines."""

from server.engines.base import AudioChunk, SynthesisEngine, SynthesisParams, VoiceModel
from server.engines.registry import (
    available_engines,
    create_engine,
    engine_spec,
    register_engine,
)

__all__ = [
    "AudioChunk",
    "SynthesisEngine",
    "SynthesisParams",
    "VoiceModel",
    "available_engines",
    "create_engine",
    "engine_spec",
    "register_engine",
]
