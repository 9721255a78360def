import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DetectWatermarkRequest(_message.Message):
    __slots__ = ("audio",)
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    audio: bytes
    def __init__(self, audio: _Optional[bytes] = ...) -> None: ...

class Attribution(_message.Message):
    __slots__ = ("voice_id", "created_at", "text_sha256", "duration_seconds")
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    TEXT_SHA256_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    voice_id: str
    created_at: _timestamp_pb2.Timestamp
    text_sha256: str
    duration_seconds: float
    def __init__(self, voice_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., text_sha256: _Optional[str] = ..., duration_seconds: _Optional[float] = ...) -> None: ...

class DetectWatermarkResponse(_message.Message):
    __slots__ = ("detected", "confidence", "generation_id", "attribution")
    DETECTED_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    detected: bool
    confidence: float
    generation_id: str
    attribution: Attribution
    def __init__(self, detected: _Optional[bool] = ..., confidence: _Optional[float] = ..., generation_id: _Optional[str] = ..., attribution: _Optional[_Union[Attribution, _Mapping]] = ...) -> None: ...

class GetGenerationRequest(_message.Message):
    __slots__ = ("generation_id",)
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    def __init__(self, generation_id: _Optional[str] = ...) -> None: ...

class Generation(_message.Message):
    __slots__ = ("generation_id", "voice_id", "created_at", "text_sha256", "duration_seconds", "sample_rate_hz", "streamed")
    GENERATION_ID_FIELD_NUMBER: _ClassVar[int]
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    TEXT_SHA256_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    STREAMED_FIELD_NUMBER: _ClassVar[int]
    generation_id: str
    voice_id: str
    created_at: _timestamp_pb2.Timestamp
    text_sha256: str
    duration_seconds: float
    sample_rate_hz: int
    streamed: bool
    def __init__(self, generation_id: _Optional[str] = ..., voice_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., text_sha256: _Optional[str] = ..., duration_seconds: _Optional[float] = ..., sample_rate_hz: _Optional[int] = ..., streamed: _Optional[bool] = ...) -> None: ...
