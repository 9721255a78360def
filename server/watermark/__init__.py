"""Provenance watermark: a keyed, payload-carrying, streaming-ready mark for every output.

``embed`` marks a clip with a 64-bit payload (the generation id) under the keyring's
primary key; ``StreamingEmbedder`` does the same chunk by chunk; ``detect`` finds and
decodes the mark with any key of the keyring (``detect_any_speed`` also undoes a changed
replay speed when the plain pass finds nothing). See docs/watermark.md for the algorithm,
its security argument and measured robustness.
"""

from server.watermark.detector import MIN_DETECT_SECONDS, Detection, detect, detect_any_speed
from server.watermark.embedder import MIN_EMBED_SECONDS, StreamingEmbedder, embed
from server.watermark.keys import Keyring, WatermarkKey

__all__ = [
    "MIN_DETECT_SECONDS",
    "MIN_EMBED_SECONDS",
    "Detection",
    "Keyring",
    "StreamingEmbedder",
    "WatermarkKey",
    "detect",
    "detect_any_speed",
    "embed",
]
