"""Audio in and out: decoding client uploads, encoding outputs, resampling.

All internal audio is mono float32 in [-1, 1] with an explicit sample rate, carried as
:class:`Audio`.
"""

from server.audio.codecs import AudioFormat, decode_audio, encode_audio
from server.audio.signal import Audio, ensure_finite, resample, to_mono_float32

__all__ = [
    "Audio",
    "AudioFormat",
    "decode_audio",
    "encode_audio",
    "ensure_finite",
    "resample",
    "to_mono_float32",
]
