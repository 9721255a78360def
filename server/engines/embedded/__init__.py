"""The embedded engine (eSpeak NG + WORLD), runnable on any CPU from pip packages alone."""

from server.engines.embedded.engine import ENGINE_NAME, ENGINE_VERSION, EmbeddedEngine

__all__ = ["ENGINE_NAME", "ENGINE_VERSION", "EmbeddedEngine"]
