"""SQLAlchemy 2 models: the single source of truth for the schema.

Biometric payloads never live in these tables in the clear: voice models and consent
recordings are sealed blobs in the blob store, and the rows hold only their blob keys and
their wrapped (encrypted) data keys. Deleting a wrapped key is what makes a blob
unreadable for good (crypto-shredding).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every voxguard table."""


class TenantRow(Base):
    """A tenant; kept as a tombstone after deletion so generation records stay valid."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class ApiKeyRow(Base):
    """A tenant API key; only a keyed hash of its secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConsentRow(Base):
    """A person's consent; the recording and speaker embedding are sealed with its key."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_tenant_created", "tenant_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    subject_name: Mapped[str] = mapped_column(String(200))
    purposes: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    statement_text: Mapped[str] = mapped_column(Text)
    one_time_phrase: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recording_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revocation_reason: Mapped[str] = mapped_column(Text, default="")
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    recording_blob: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sealed_embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class VoiceRow(Base):
    """An enrolled voice; its model is a sealed blob opened with ``wrapped_key``."""

    __tablename__ = "voices"
    __table_args__ = (Index("ix_voices_tenant_created", "tenant_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    engine: Mapped[str] = mapped_column(String(50))
    engine_version: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    speech_seconds: Mapped[float] = mapped_column(Float)
    snr_db: Mapped[float] = mapped_column(Float)
    speaker_match: Mapped[float] = mapped_column(Float)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    model_blob: Mapped[str | None] = mapped_column(String(200), nullable=True)


class GenerationRow(Base):
    """The permanent record of one synthesis; its id is the watermark payload."""

    __tablename__ = "generations"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    voice_id: Mapped[str] = mapped_column(ForeignKey("voices.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    text_sha256: Mapped[str] = mapped_column(String(64))
    duration_seconds: Mapped[float] = mapped_column(Float)
    sample_rate: Mapped[int] = mapped_column(Integer)
    audio_format: Mapped[str] = mapped_column(String(20))
    streamed: Mapped[bool] = mapped_column(Boolean)


class AuditEventRow(Base):
    """One append-only audit event; ``hash`` chains it to the event before."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(50))
    tenant_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    fields_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditPendingRow(Base):
    """A committed audit event waiting to be chained (high-volume kinds, PostgreSQL).

    Written in the transaction of the change it records, without the chain's lock; a
    background task moves pending rows into ``audit_events`` in batches, one lock per batch.
    """

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(50))
    tenant_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    fields_json: Mapped[str] = mapped_column(Text)


class ServerSecretRow(Base):
    """Server-wide secrets (e.g. the API-key hashing key), wrapped by the master key."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    wrapped_value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
