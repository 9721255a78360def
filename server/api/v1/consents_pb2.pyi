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

class Purpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PURPOSE_UNSPECIFIED: _ClassVar[Purpose]
    PURPOSE_SYNTHESIS: _ClassVar[Purpose]
    PURPOSE_EVALUATION: _ClassVar[Purpose]

class ConsentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_STATUS_UNSPECIFIED: _ClassVar[ConsentStatus]
    CONSENT_STATUS_PENDING_RECORDING: _ClassVar[ConsentStatus]
    CONSENT_STATUS_ACTIVE: _ClassVar[ConsentStatus]
    CONSENT_STATUS_REVOKED: _ClassVar[ConsentStatus]
    CONSENT_STATUS_EXPIRED: _ClassVar[ConsentStatus]
PURPOSE_UNSPECIFIED: Purpose
PURPOSE_SYNTHESIS: Purpose
PURPOSE_EVALUATION: Purpose
CONSENT_STATUS_UNSPECIFIED: ConsentStatus
CONSENT_STATUS_PENDING_RECORDING: ConsentStatus
CONSENT_STATUS_ACTIVE: ConsentStatus
CONSENT_STATUS_REVOKED: ConsentStatus
CONSENT_STATUS_EXPIRED: ConsentStatus

class Consent(_message.Message):
    __slots__ = ("consent_id", "subject_name", "status", "statement_text", "purposes", "created_at", "expires_at", "recording_deadline", "activated_at", "revoked_at", "revocation_reason", "one_time_phrase")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_TEXT_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDING_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_REASON_FIELD_NUMBER: _ClassVar[int]
    ONE_TIME_PHRASE_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    subject_name: str
    status: ConsentStatus
    statement_text: str
    purposes: _containers.RepeatedScalarFieldContainer[Purpose]
    created_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    recording_deadline: _timestamp_pb2.Timestamp
    activated_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    revocation_reason: str
    one_time_phrase: str
    def __init__(self, consent_id: _Optional[str] = ..., subject_name: _Optional[str] = ..., status: _Optional[_Union[ConsentStatus, str]] = ..., statement_text: _Optional[str] = ..., purposes: _Optional[_Iterable[_Union[Purpose, str]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recording_deadline: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revocation_reason: _Optional[str] = ..., one_time_phrase: _Optional[str] = ...) -> None: ...

class StartConsentRequest(_message.Message):
    __slots__ = ("subject_name", "purposes", "expires_at")
    SUBJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    PURPOSES_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    subject_name: str
    purposes: _containers.RepeatedScalarFieldContainer[Purpose]
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, subject_name: _Optional[str] = ..., purposes: _Optional[_Iterable[_Union[Purpose, str]]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitConsentRecordingRequest(_message.Message):
    __slots__ = ("consent_id", "audio")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    audio: bytes
    def __init__(self, consent_id: _Optional[str] = ..., audio: _Optional[bytes] = ...) -> None: ...

class GetConsentRequest(_message.Message):
    __slots__ = ("consent_id",)
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    def __init__(self, consent_id: _Optional[str] = ...) -> None: ...

class ListConsentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConsentsResponse(_message.Message):
    __slots__ = ("consents", "next_page_token")
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    consents: _containers.RepeatedCompositeFieldContainer[Consent]
    next_page_token: str
    def __init__(self, consents: _Optional[_Iterable[_Union[Consent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RevokeConsentRequest(_message.Message):
    __slots__ = ("consent_id", "reason")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    reason: str
    def __init__(self, consent_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeConsentResponse(_message.Message):
    __slots__ = ("consent", "deleted_voice_ids", "receipt")
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    DELETED_VOICE_IDS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    consent: Consent
    deleted_voice_ids: _containers.RepeatedScalarFieldContainer[str]
    receipt: _common_pb2.DeletionReceipt
    def __init__(self, consent: _Optional[_Union[Consent, _Mapping]] = ..., deleted_voice_ids: _Optional[_Iterable[str]] = ..., receipt: _Optional[_Union[_common_pb2.DeletionReceipt, _Mapping]] = ...) -> None: ...
