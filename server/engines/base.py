"""The interface every synthesis engine implements, and the records it exchanges.

The platform's worker pool enrolls a voice once (``enroll`` -> :class:`VoiceModel`, which
the platform encrypts and stores) and later streams speech (``synthesize`` -> iterator of
:class:`AudioChunk`, one sentence or phrase at a time). Engines are selected by name
(see :mod:`server.engines.registry`); a voice model carries the name and version of the
engine that made it, so another engine can refuse it clearly.
"""

from __future__ import annotations

import json
import math
import struct
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from server.errors import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from server.engines.batching import BatchRunner

MIN_SPEED = 0.5
MAX_SPEED = 2.0
MIN_OUTPUT_RATE = 8_000
MAX_OUTPUT_RATE = 48_000

_MAGIC = b"VXVM"
_ENVELOPE_VERSION = 1
_HEADER = struct.Struct(">4sBI")  # magic, envelope version, JSON header length


@dataclass(frozen=True)
class VoiceModel:
    """An enrolled voice: opaque engine-specific bytes tagged with the engine that made them."""

    engine: str
    engine_version: str
    data: bytes = field(repr=False)

    def to_bytes(self) -> bytes:
        """Serialise into a self-describing envelope (magic, version, JSON header, payload)."""
        header = json.dumps(
            {"engine": self.engine, "engine_version": self.engine_version, "size": len(self.data)},
            separators=(",", ":"),
        ).encode()
        return _HEADER.pack(_MAGIC, _ENVELOPE_VERSION, len(header)) + header + self.data

    @classmethod
    def from_bytes(cls, blob: bytes) -> VoiceModel:
        """Parse :meth:`to_bytes` output; raises :class:`FailedPrecondition` if it is not one."""
        if len(blob) < _HEADER.size:
            raise FailedPrecondition("stored voice model is truncated; enroll the voice again")
        magic, version, header_len = _HEADER.unpack_from(blob)
        if magic != _MAGIC:
            raise FailedPrecondition("stored data is not a voxguard voice model")
        if version != _ENVELOPE_VERSION:
            raise FailedPrecondition(
                f"voice model envelope version {version} is not supported "
                f"(this build reads version {_ENVELOPE_VERSION}); enroll the voice again"
            )
        start = _HEADER.size + header_len
        try:
            header = json.loads(blob[_HEADER.size : start])
            engine, engine_version, size = header["engine"], header["engine_version"], header["size"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FailedPrecondition("stored voice model header is corrupt") from exc
        data = blob[start:]
        if len(data) != size:
            raise FailedPrecondition("stored voice model is truncated; enroll the voice again")
        return cls(engine=str(engine), engine_version=str(engine_version), data=bytes(data))


@dataclass(frozen=True)
class EnrollmentHints:
    """What the caller said about enrollment audio, beyond the samples.

    ``language`` is the voice's resolved language code; ``transcript`` is what the audio
    says, when the caller sent it (engines that prompt with a transcribed reference clip use
    it instead of speech recognition). Engines that need neither ignore them.
    """

    language: str = "en"
    transcript: str | None = None


@dataclass(frozen=True)
class AudioChunk:
    """One synthesised piece of speech: mono float32 samples and the text they speak."""

    samples: np.ndarray
    sample_rate: int
    text: str

    @property
    def duration_seconds(self) -> float:
        """Length of the chunk in seconds."""
        return len(self.samples) / float(self.sample_rate)


#: Sampling options a token-generating engine may honour; None means "the engine's default".
SAMPLING_OPTIONS = ("top_k", "top_p", "temperature", "repetition_penalty", "seed", "text_split")
TEXT_SPLIT_METHODS = ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5")


@dataclass(frozen=True)
class SynthesisParams:
    """Per-request synthesis options.

    ``speed`` scales the speaking rate (1.0 = the voice's own rate, range 0.5-2.0);
    ``sample_rate`` is the output rate in Hz, or None for the engine's native rate.
    The sampling options (:data:`SAMPLING_OPTIONS`) are None unless the caller set them;
    an engine that cannot honour a set one refuses it (:meth:`SynthesisEngine.check_params`).
    """

    speed: float = 1.0
    sample_rate: int | None = None
    top_k: int | None = None
    top_p: float | None = None
    temperature: float | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    text_split: str | None = None

    def requested_options(self) -> tuple[str, ...]:
        """Names of the sampling options the caller set."""
        return tuple(name for name in SAMPLING_OPTIONS if getattr(self, name) is not None)

    def __post_init__(self) -> None:
        _check_sampling(self)
        if not (MIN_SPEED <= float(self.speed) <= MAX_SPEED):
            raise InvalidArgument(
                f"speed {self.speed} is out of range; use a value from {MIN_SPEED} to {MAX_SPEED}",
                field="speed",
            )
        if self.sample_rate is not None and not (
            MIN_OUTPUT_RATE <= int(self.sample_rate) <= MAX_OUTPUT_RATE
        ):
            raise InvalidArgument(
                f"output sample rate {self.sample_rate} Hz is out of range; use "
                f"{MIN_OUTPUT_RATE}-{MAX_OUTPUT_RATE} Hz or leave it unset for the native rate",
                field="sample_rate_hz",
            )


def _check_sampling(params: SynthesisParams) -> None:
    """Range checks of the sampling options, with messages that say what to send."""
    if params.top_k is not None and not 1 <= int(params.top_k) <= 100:
        raise InvalidArgument(f"top_k {params.top_k} is out of range; use 1-100 (1 = greedy)",
                              field="top_k")
    if params.top_p is not None and not (math.isfinite(params.top_p) and 0 < params.top_p <= 1):
        raise InvalidArgument(f"top_p {params.top_p} is out of range; use a value in (0, 1]",
                              field="top_p")
    if params.temperature is not None and not (
        math.isfinite(params.temperature) and 0 < params.temperature <= 2
    ):
        raise InvalidArgument(
            f"temperature {params.temperature} is out of range; use a value in (0, 2]",
            field="temperature",
        )
    if params.repetition_penalty is not None and not (
        math.isfinite(params.repetition_penalty) and 1 <= params.repetition_penalty <= 2
    ):
        raise InvalidArgument(
            f"repetition_penalty {params.repetition_penalty} is out of range; use 1.0-2.0",
            field="repetition_penalty",
        )
    if params.seed is not None and not 0 <= int(params.seed) < 2**63:
        raise InvalidArgument(f"seed {params.seed} is out of range; use 0 to 2^63-1", field="seed")
    if params.text_split is not None and params.text_split not in TEXT_SPLIT_METHODS:
        raise InvalidArgument(
            f"text_split {params.text_split!r} is unknown; use one of "
            + ", ".join(TEXT_SPLIT_METHODS),
            field="text_split",
        )


class SynthesisEngine(ABC):
    """A voice-cloning engine. Implementations must be safe to call repeatedly in one process.

    Heavy resources (libraries, models) are loaded once per process and reused.
    """

    name: str
    version: str
    native_sample_rate: int
    #: True for engines that run on a GPU; they take a ``device`` option ("cuda:0", ...)
    #: and the platform starts one worker per GPU for them.
    uses_gpu: bool = False
    #: The :data:`SAMPLING_OPTIONS` this engine honours; others are refused, never ignored.
    supported_options: frozenset[str] = frozenset()

    @property
    @abstractmethod
    def supported_languages(self) -> tuple[str, ...]:
        """Base language codes this engine can speak (e.g. ``("en", "cmn", ...)``)."""

    @abstractmethod
    def enroll(
        self, samples: np.ndarray, sample_rate: int, hints: EnrollmentHints | None = None
    ) -> VoiceModel:
        """Build a voice model from enrollment audio (mono float32 samples at ``sample_rate``).

        Raises :class:`server.errors.InvalidAudio` for audio that cannot be used.
        """

    @abstractmethod
    def synthesize(
        self,
        voice_model: VoiceModel,
        text: str,
        language: str,
        params: SynthesisParams | None = None,
    ) -> Iterator[AudioChunk]:
        """Speak ``text`` in the enrolled voice, yielding one chunk per sentence or phrase.

        Raises :class:`server.errors.InvalidArgument` for empty/unspeakable text or an
        unsupported language and :class:`server.errors.FailedPrecondition` for a voice
        model made by another engine or an incompatible version.
        """

    def prepare(self) -> None:
        """Load everything a first request would otherwise wait for (workers call this once)."""

    def batch_runner(self) -> BatchRunner:
        """What a worker runs requests with: one at a time unless the engine batches them."""
        from server.engines.batching import IteratorRunner

        return IteratorRunner(self)

    def check_params(self, params: SynthesisParams) -> None:
        """Refuse sampling options this engine cannot honour (rather than ignore them)."""
        check_supported_options(self.name, self.supported_options, params.requested_options())

    def check_voice_model(self, voice_model: VoiceModel) -> None:
        """Refuse a voice model made by another engine or an incompatible engine version."""
        if voice_model.engine != self.name:
            raise FailedPrecondition(
                f"voice model was made by engine {voice_model.engine!r} but this server runs "
                f"engine {self.name!r}; enroll the voice again with {self.name!r} or switch "
                f"the engine setting to {voice_model.engine!r}",
                details={"model_engine": voice_model.engine, "server_engine": self.name},
            )
        if voice_model.engine_version.split(".")[0] != self.version.split(".")[0]:
            raise FailedPrecondition(
                f"voice model was made by engine {voice_model.engine!r} version "
                f"{voice_model.engine_version}, which engine {self.name!r} version "
                f"{self.version} cannot read; enroll the voice again",
                details={
                    "model_engine": voice_model.engine,
                    "model_engine_version": voice_model.engine_version,
                    "server_engine": self.name,
                    "server_engine_version": self.version,
                },
            )


def check_supported_options(
    engine: str, supported: frozenset[str], requested: tuple[str, ...]
) -> None:
    """Raise :class:`InvalidArgument` naming the options ``engine`` cannot honour."""
    refused = [name for name in requested if name not in supported]
    if refused:
        honoured = ", ".join(sorted(supported)) or "none of them"
        raise InvalidArgument(
            f"engine {engine!r} cannot honour {', '.join(refused)}; leave "
            f"{'it' if len(refused) == 1 else 'them'} unset (it honours: {honoured})",
            field=refused[0],
            details={"engine": engine, "unsupported_options": ",".join(refused)},
        )
