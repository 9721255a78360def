"""Read-only records the domain services return (what servicers turn into protobufs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")


class Scope(Enum):
    """What an API key may do; one scope per tenant-facing service."""

    CONSENT = "consent"
    ENROLL = "enroll"
    SYNTHESIZE = "synthesize"
    DETECT = "detect"


class Purpose(Enum):
    """What a person consents to."""

    SYNTHESIS = "synthesis"
    EVALUATION = "evaluation"


class ConsentStatus(Enum):
    """Lifecycle of a consent."""

    PENDING_RECORDING = "pending_recording"
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


class VoiceStatus(Enum):
    """Lifecycle of a voice."""

    READY = "ready"
    DELETED = "deleted"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant API key, or the operator (``tenant_id`` None)."""

    tenant_id: str | None
    key_id: str | None
    scopes: frozenset[Scope] = field(default_factory=frozenset)

    @property
    def is_operator(self) -> bool:
        """True for the operator credential."""
        return self.tenant_id is None


@dataclass(frozen=True)
class Tenant:
    """A tenant."""

    tenant_id: str
    display_name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKey:
    """An API key's public description."""

    key_id: str
    tenant_id: str
    scopes: tuple[Scope, ...]
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedApiKey:
    """A new API key with its secret (shown once)."""

    info: ApiKey
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Consent:
    """A consent as the tenant sees it."""

    consent_id: str
    subject_name: str
    status: ConsentStatus
    statement_text: str
    one_time_phrase: str
    purposes: tuple[Purpose, ...]
    created_at: datetime
    recording_deadline: datetime
    expires_at: datetime | None
    activated_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str


@dataclass(frozen=True)
class Voice:
    """A voice as the tenant sees it."""

    voice_id: str
    consent_id: str
    display_name: str
    language: str
    status: VoiceStatus
    engine: str
    created_at: datetime
    deleted_at: datetime | None
    speech_seconds: float
    snr_db: float
    speaker_match: float


@dataclass(frozen=True)
class Generation:
    """The permanent record of one synthesis."""

    generation_id: str
    tenant_id: str
    voice_id: str
    created_at: datetime
    text_sha256: str
    duration_seconds: float
    sample_rate: int
    audio_format: str
    streamed: bool


@dataclass(frozen=True)
class GenerationRequest:
    """An authorised synthesis request with its recorded generation.

    ``voice_model`` is the decrypted voice model: it must only ever travel to a synthesis
    worker over a private pipe and never be written anywhere. ``voice_language`` is the
    language the voice was enrolled with (a request that names none is spoken in it).
    """

    tenant_id: str
    voice_id: str
    voice_model: bytes = field(repr=False)
    voice_language: str
    generation_id: str


@dataclass(frozen=True)
class Receipt:
    """A signed deletion receipt."""

    receipt_id: str
    payload_json: bytes
    signature: bytes
    signing_key_id: str


@dataclass(frozen=True)
class Deletion:
    """What a deletion destroyed, with its signed receipt."""

    voice_ids: tuple[str, ...]
    consent_ids: tuple[str, ...]
    receipt: Receipt


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing."""

    items: tuple[T, ...]
    next_page_token: str
