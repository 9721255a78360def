"""The interface every synthesis engine implements, and the records it exchanges.

The platform's worker pool enrolls a voice once (``enroll`` -> :class:`VoiceModel`, which
the platform encrypts and stores) and later streams speech (``stream`` of a request checked
by :mod:`server.engines.request` -> iterator of :class:`AudioChunk`, one sentence or phrase
at a time). Engines are selected by name
(see :mod:`server.engines.registry`); a voice model carries the name and version of the
engine that made it, so another engine can refuse it clearly.
"""

from __future__ import annotations

import json
import struct
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from server.engines.request import (
    SAMPLING_OPTIONS,
    TEXT_SPLIT_METHODS,
    RequestRules,
    SynthesisParams,
    SynthesisRequest,
)
from server.engines.spec import EngineSpec
from server.errors import FailedPrecondition, InvalidArgument
from server.text import DEFAULT_MAX_TEXT_CHARS

__all__ = [
    "SAMPLING_OPTIONS", "TEXT_SPLIT_METHODS", "AudioChunk", "EnrollmentHints", "RequestRules",
    "SynthesisEngine", "SynthesisParams", "SynthesisRequest", "VoiceModel",
]


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
    #: True when one worker advances many requests in one batched step (see EngineSpec).
    batches_requests: bool = False
    #: The :data:`SAMPLING_OPTIONS` this engine honours; others are refused, never ignored.
    supported_options: frozenset[str] = frozenset()
    #: The longest text one request may carry (the operator's cap may be lower).
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS

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
    def stream(self, voice_model: VoiceModel, request: SynthesisRequest) -> Iterator[AudioChunk]:
        """Speak a checked request in the enrolled voice, one chunk per sentence or phrase.

        ``request`` passed :meth:`RequestRules.check` for this engine, so its text, language
        and options need no further checks. Raises :class:`server.errors.FailedPrecondition`
        for a voice model made by another engine or an incompatible version, and
        :class:`server.errors.InvalidArgument` for text with nothing this engine can speak.
        """

    def synthesize(self, voice_model: VoiceModel, text: str, language: str,
                   params: SynthesisParams | None = None) -> Iterator[AudioChunk]:
        """:meth:`stream` for direct callers (the CLI, benchmarks): checks the request first
        with this engine's own rules, exactly as the server does with its own."""
        if not language.strip():
            raise InvalidArgument("language is empty; name the language of the text",
                                  field="language")
        return self.stream(voice_model, self.request_rules().check(text, language, params))

    def spec(self) -> EngineSpec:
        """This engine's declaration (what its ``spec`` module builds without loading it)."""
        return EngineSpec(name=self.name, version=self.version,
                          native_sample_rate=self.native_sample_rate,
                          languages=frozenset(self.supported_languages),
                          options=self.supported_options, max_text_chars=self.max_text_chars,
                          uses_gpu=self.uses_gpu, batches_requests=self.batches_requests)

    def request_rules(self, max_text_chars: int | None = None) -> RequestRules:
        """The limits a request to this engine must meet (see :meth:`EngineSpec.request_rules`)."""
        return self.spec().request_rules(max_text_chars)

    def prepare(self) -> None:
        """Load everything a first request would otherwise wait for (workers call this once)."""

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
