"""The embedded-neural engine (Piper base voice + conversion + HiFi-GAN), pip packages only."""

from server.engines.neural.engine import ENGINE_NAME, ENGINE_VERSION, EmbeddedNeuralEngine

__all__ = ["ENGINE_NAME", "ENGINE_VERSION", "EmbeddedNeuralEngine"]
