"""eSpeak NG driven through ctypes, from the library and data inside ``espeakng-loader``.

The one binding of the process: the embedded engine renders its base voice with it, and
self-tests and benchmarks speak known text with :func:`synthesize_espeak`. eSpeak NG keeps
global state (one callback, one voice), so one :class:`ESpeak` per process is shared (see
:func:`get_espeak`) and every call holds a lock. Output is 16-bit PCM at 22 050 Hz,
returned as float32.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import espeakng_loader
import numpy as np

from server.audio import Audio
from server.errors import InvalidArgument, Unavailable

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_INITIALIZE_PHONEME_EVENTS = 0x0001
# espeak_TextToPhonemes phoneme mode: bit 1 asks for IPA (UTF-8) instead of eSpeak's ASCII names.
_PHONEMES_IPA = 0x02
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_PARAM_RATE = 1
_PARAM_PITCH = 3
_PARAM_RANGE = 4

_RANDOM_SEED = 1

DEFAULT_RATE_WPM = 175
MIN_RATE_WPM = 80
MAX_RATE_WPM = 450


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class PhonemeMark:
    """A phoneme eSpeak started at ``sample`` (index into the returned audio)."""

    sample: int
    phoneme: str


@dataclass(frozen=True)
class ESpeakOutput:
    """Synthesised samples (float32, ``sample_rate`` Hz) and the phonemes they contain."""

    samples: np.ndarray
    sample_rate: int
    phonemes: tuple[PhonemeMark, ...]


def _voice_files(data_path: Path) -> dict[str, str]:
    """Map lower-case voice names (``en-us``, ``cmn``) found in the data folder to themselves."""
    names: dict[str, str] = {}
    for file in (data_path / "lang").rglob("*"):
        if file.is_file():
            names[file.name.lower()] = file.name
    return names


class ESpeak:
    """One initialised eSpeak NG library; use :func:`get_espeak` rather than building one."""

    def __init__(self) -> None:
        data_path = Path(espeakng_loader.get_data_path())
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        # Parts of eSpeak NG call the C library's rand(), so that is seeded as well.
        self._libc = ctypes.CDLL(None)
        self._libc.srand.argtypes = [ctypes.c_uint]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), _INITIALIZE_PHONEME_EVENTS
        )
        if rate <= 0:
            raise Unavailable("the eSpeak NG library failed to initialise")
        self.sample_rate = int(rate)
        self.voices = _voice_files(data_path)
        self._lock = threading.Lock()
        self._buffers: list[np.ndarray] = []
        self._marks: list[PhonemeMark] = []
        self._received = 0
        # Keep a reference: the C library calls it for the life of the process.
        self._callback = _Callback(self._on_audio)
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self._lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_int,
            ctypes.c_int,
        ]

    def _on_audio(self, wav: ctypes.Array, count: int, events: ctypes.Array) -> int:
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_PHONEME:
                self._marks.append(
                    PhonemeMark(sample=int(event.sample), phoneme=event.id.decode("utf-8", "replace"))
                )
            index += 1
        if count > 0:
            self._buffers.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            self._received += count
        return 0

    def has_voice(self, voice: str) -> bool:
        """True if ``voice`` (e.g. ``en-us``) exists in the bundled data."""
        return voice.split("+")[0].lower() in self.voices

    def phonemes(self, text: str, voice: str) -> str:
        """IPA phonemes of ``text`` as eSpeak NG ``voice`` would speak it (words space-separated).

        eSpeak converts one clause per call and drops the clause's punctuation, so callers
        that need pauses (a neural voice trained on eSpeak phonemes) split clauses first.
        """
        payload = ctypes.create_string_buffer(text.encode("utf-8"))
        pointer = ctypes.c_void_p(ctypes.addressof(payload))
        pieces: list[str] = []
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise InvalidArgument(f"eSpeak NG has no voice {voice!r}")
            while pointer.value:
                chunk = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _PHONEMES_IPA)
                if chunk:
                    pieces.append(chunk.decode("utf-8", "replace").strip())
        return " ".join(piece for piece in pieces if piece)

    def synthesize(
        self, text: str, voice: str, rate_wpm: int = DEFAULT_RATE_WPM, pitch: int = 50
    ) -> ESpeakOutput:
        """Speak ``text`` with eSpeak ``voice`` (``name`` or ``name+variant``) at ``rate_wpm``."""
        rate = int(np.clip(rate_wpm, MIN_RATE_WPM, MAX_RATE_WPM))
        payload = text.encode("utf-8")
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise InvalidArgument(f"eSpeak NG has no voice {voice!r}")
            self._lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
            self._lib.espeak_SetParameter(_PARAM_RANGE, 50, 0)
            # eSpeak NG draws random numbers (noise sources); a fixed seed per call removes
            # that variation. Its pitch flutter keeps a phase across calls that no API
            # resets, so two renderings of a sentence still differ slightly (docs/engines.md).
            self._lib.espeak_ng_SetRandSeed(_RANDOM_SEED)
            self._libc.srand(_RANDOM_SEED)
            self._buffers, self._marks, self._received = [], [], 0
            status = self._lib.espeak_Synth(payload, len(payload) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
            buffers, marks = self._buffers, tuple(self._marks)
            self._buffers, self._marks = [], []
        if status != 0:
            raise Unavailable(f"eSpeak NG failed to synthesise (status {status})")
        pcm = np.concatenate(buffers) if buffers else np.zeros(0, dtype=np.int16)
        samples = pcm.astype(np.float32) / 32768.0
        return ESpeakOutput(samples=samples, sample_rate=self.sample_rate, phonemes=marks)


@lru_cache(maxsize=1)
def espeak_languages() -> frozenset[str]:
    """Voice names eSpeak NG can speak (its voice files), plus the ``en`` and ``cmn`` base
    codes; read from the data folder without loading the library."""
    names = set(_voice_files(Path(espeakng_loader.get_data_path())))
    names.update({"en", "cmn"})
    return frozenset(names)


@lru_cache(maxsize=1)
def get_espeak() -> ESpeak:
    """The process-wide eSpeak NG instance (initialised on first use)."""
    return ESpeak()


def synthesize_espeak(text: str, *, voice: str = "en-us", words_per_minute: int = 150) -> Audio:
    """Speak ``text`` with eSpeak NG; mono float32 audio at eSpeak's native rate."""
    if not text.strip():
        raise ValueError("text to speak is empty")
    output = get_espeak().synthesize(text, voice, rate_wpm=words_per_minute)
    return Audio(samples=output.samples, sample_rate=output.sample_rate)
