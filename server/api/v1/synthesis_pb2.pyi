from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_FORMAT_UNSPECIFIED: _ClassVar[AudioFormat]
    AUDIO_FORMAT_WAV: _ClassVar[AudioFormat]
    AUDIO_FORMAT_PCM16: _ClassVar[AudioFormat]
    AUDIO_FORMAT_FLAC: _ClassVar[AudioFormat]
    AUDIO_FORMAT_OGG_OPUS: _ClassVar[AudioFormat]
    AUDIO_FORMAT_MP3: _ClassVar[AudioFormat]
AUDIO_FORMAT_UNSPECIFIED: AudioFormat
AUDIO_FORMAT_WAV: AudioFormat
AUDIO_FORMAT_PCM16: AudioFormat
AUDIO_FORMAT_FLAC: AudioFormat
AUDIO_FORMAT_OGG_OPUS: AudioFormat
AUDIO_FORMAT_MP3: AudioFormat

class SynthesizeRequest(_message.Message):
    __slots__ = ("voice_id", "text", "language", "audio_format", "sample_rate_hz", "speed", "top_k", "top_p", "temperature", "repetition_penalty", "seed", "text_split")
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    REPETITION_PENALTY_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    TEXT_SPLIT_FIELD_NUMBER: _ClassVar[int]
    voice_id: str
    text: str
    language: str
    audio_format: AudioFormat
    sample_rate_hz: int
    speed: float
    top_k: int
    top_p: float
    temperature: float
    repetition_penalty: float
    seed: int
    text_split: str
    def __init__(self, voice_id: _Optional[str] = ..., text: _Optional[str] = ..., language: _Optional[str] = ..., audio_format: _Optional[_Union[AudioFormat, str]] = ..., sample_rate_hz: _Optional[int] = ..., speed: _Optional[float] = ..., top_k: _Optional[int] = ..., top_p: _Optional[float] = ..., temperature: _Optional[float] = ..., repetition_penalty: _Optional[float] = ..., seed: _Optional[int] = ..., text_split: _Optional[str] = ...) -> None: ...

class SynthesizeResponse(_message.Message):
    __slots__ = ("audio", "audio_format", "sample_rate_hz", "generation_id", "duration_seconds")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    audio: bytes
    audio_format: AudioFormat
    sample_rate_hz: int
    generation_id: str
    duration_seconds: float
    def __init__(self, audio: _Optional[bytes] = ..., audio_format: _Optional[_Union[AudioFormat, str]] = ..., sample_rate_hz: _Optional[int] = ..., generation_id: _Optional[str] = ..., duration_seconds: _Optional[float] = ...) -> None: ...

class SynthesizeChunk(_message.Message):
    __slots__ = ("audio", "sequence", "generation_id", "final", "sample_rate_hz")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    audio: bytes
    sequence: int
    generation_id: str
    final: bool
    sample_rate_hz: int
    def __init__(self, audio: _Optional[bytes] = ..., sequence: _Optional[int] = ..., generation_id: _Optional[str] = ..., final: _Optional[bool] = ..., sample_rate_hz: _Optional[int] = ...) -> None: ...
