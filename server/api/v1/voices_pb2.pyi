import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VoiceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOICE_STATUS_UNSPECIFIED: _ClassVar[VoiceStatus]
    VOICE_STATUS_READY: _ClassVar[VoiceStatus]
    VOICE_STATUS_DELETED: _ClassVar[VoiceStatus]
VOICE_STATUS_UNSPECIFIED: VoiceStatus
VOICE_STATUS_READY: VoiceStatus
VOICE_STATUS_DELETED: VoiceStatus

class EnrollmentQuality(_message.Message):
    __slots__ = ("speech_seconds", "snr_db", "speaker_match")
    SPEECH_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SNR_DB_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_MATCH_FIELD_NUMBER: _ClassVar[int]
    speech_seconds: float
    snr_db: float
    speaker_match: float
    def __init__(self, speech_seconds: _Optional[float] = ..., snr_db: _Optional[float] = ..., speaker_match: _Optional[float] = ...) -> None: ...

class Voice(_message.Message):
    __slots__ = ("voice_id", "consent_id", "display_name", "status", "created_at", "quality", "language", "engine", "deleted_at")
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    DELETED_AT_FIELD_NUMBER: _ClassVar[int]
    voice_id: str
    consent_id: str
    display_name: str
    status: VoiceStatus
    created_at: _timestamp_pb2.Timestamp
    quality: EnrollmentQuality
    language: str
    engine: str
    deleted_at: _timestamp_pb2.Timestamp
    def __init__(self, voice_id: _Optional[str] = ..., consent_id: _Optional[str] = ..., display_name: _Optional[str] = ..., status: _Optional[_Union[VoiceStatus, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quality: _Optional[_Union[EnrollmentQuality, _Mapping]] = ..., language: _Optional[str] = ..., engine: _Optional[str] = ..., deleted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EnrollMetadata(_message.Message):
    __slots__ = ("consent_id", "display_name", "language", "transcript")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    display_name: str
    language: str
    transcript: str
    def __init__(self, consent_id: _Optional[str] = ..., display_name: _Optional[str] = ..., language: _Optional[str] = ..., transcript: _Optional[str] = ...) -> None: ...

class EnrollRequest(_message.Message):
    __slots__ = ("metadata", "audio_chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: EnrollMetadata
    audio_chunk: bytes
    def __init__(self, metadata: _Optional[_Union[EnrollMetadata, _Mapping]] = ..., audio_chunk: _Optional[bytes] = ...) -> None: ...

class GetVoiceRequest(_message.Message):
    __slots__ = ("voice_id",)
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    voice_id: str
    def __init__(self, voice_id: _Optional[str] = ...) -> None: ...

class ListVoicesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "include_deleted")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DELETED_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    include_deleted: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_deleted: _Optional[bool] = ...) -> None: ...

class ListVoicesResponse(_message.Message):
    __slots__ = ("voices", "next_page_token")
    VOICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    voices: _containers.RepeatedCompositeFieldContainer[Voice]
    next_page_token: str
    def __init__(self, voices: _Optional[_Iterable[_Union[Voice, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteVoiceRequest(_message.Message):
    __slots__ = ("voice_id",)
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    voice_id: str
    def __init__(self, voice_id: _Optional[str] = ...) -> None: ...

class DeleteVoiceResponse(_message.Message):
    __slots__ = ("voice", "receipt")
    VOICE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    voice: Voice
    receipt: _common_pb2.DeletionReceipt
    def __init__(self, voice: _Optional[_Union[Voice, _Mapping]] = ..., receipt: _Optional[_Union[_common_pb2.DeletionReceipt, _Mapping]] = ...) -> None: ...
