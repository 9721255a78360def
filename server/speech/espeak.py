"""A minimal eSpeak NG reader, used to produce known-text speech for self-tests.

The ``espeakng-loader`` package ships ``libespeak-ng`` and its data, so this needs no
system package. eSpeak's formant voice is robotic but fully intelligible; the statement
checker's tests and benchmark use it to read consent statements aloud with exactly known
words. The library keeps global state, so calls are serialised by a module lock.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from server.audio import Audio

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_lock = threading.Lock()
_state: dict[str, object] = {}


def synthesize_espeak(text: str, *, voice: str = "en-us", words_per_minute: int = 150) -> Audio:
    """Speak ``text`` with eSpeak NG; returns mono float32 audio at eSpeak's native rate."""
    if not text.strip():
        raise ValueError("text to speak is empty")
    with _lock:
        lib, rate = _library()
        chunks: list[np.ndarray] = []

        def collect(wav: ctypes.POINTER(ctypes.c_short), count: int, _events: int) -> int:
            if wav and count > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            return 0

        callback = _CALLBACK(collect)
        lib.espeak_SetSynthCallback(callback)
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak has no voice named {voice!r}")
        lib.espeak_SetParameter(_PARAM_RATE, int(words_per_minute), 0)
        data = text.encode("utf-8") + b"\0"
        status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise RuntimeError(f"eSpeak synthesis failed with status {status}")
        lib.espeak_Synchronize()
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    return Audio(samples=(samples.astype(np.float32) / 32768.0), sample_rate=rate)


def _library() -> tuple[ctypes.CDLL, int]:
    """Load and initialise libespeak-ng once (caller holds the lock)."""
    if "lib" not in _state:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
        )
        if rate <= 0:
            raise RuntimeError("eSpeak NG could not be initialised")
        _state["lib"] = lib
        _state["rate"] = rate
    return _state["lib"], int(_state["rate"])  # type: ignore[return-value]
