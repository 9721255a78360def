"""Voices: enrollment under a verified consent, reading, listing, deletion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audio import Audio
from server.db.models import ConsentRow, VoiceRow
from server.db.session import Database
from server.errors import FailedPrecondition, InvalidArgument, NotFound
from server.speech.checks import EnrollmentLimits, check_enrollment_audio
from server.speech.quality import analyze_speech
from server.text import resolve_language
from tenants.audit import AuditLog
from tenants.consents import ConsentService
from tenants.erasure import Eraser, ErasurePlan
from tenants.ids import new_id
from tenants.pagination import PageTokens, paginate
from tenants.ports import SpeakerCheck, VoiceBuilder
from tenants.records import ConsentStatus, Deletion, Page, Purpose, Voice, VoiceStatus
from tenants.tenants import live_tenant
from tenants.vault import Vault

PURPOSE_MODEL = "voice-model"


#: Longest enrollment transcript accepted (about five minutes of speech).
MAX_TRANSCRIPT_CHARS = 5_000


class VoiceService:
    """Tenant-scoped voice operations."""

    def __init__(self, db: Database, vault: Vault, audit: AuditLog, eraser: Eraser,
                 consents: ConsentService, verifier: SpeakerCheck,
                 enroll_engine: VoiceBuilder,
                 languages: frozenset[str],
                 limits: EnrollmentLimits, clock: Callable[[], datetime], *,
                 page_tokens: PageTokens | None = None) -> None:
        self._db = db
        self._page_tokens = page_tokens or PageTokens.ephemeral()
        self._vault = vault
        self._audit = audit
        self._eraser = eraser
        self._consents = consents
        self._verifier = verifier
        self._enroll_engine = enroll_engine
        self._languages = languages
        self.limits = limits
        self._clock = clock

    def check_request(self, tenant_id: str, consent_id: str, display_name: str,
                      language: str, transcript: str = "") -> tuple[str, str]:
        """Validate the metadata and consent before any audio is read.

        Returns the cleaned display name and language.
        """
        name = display_name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidArgument("display_name must be 1-100 characters",
                                  field="metadata.display_name")
        if len(transcript.strip()) > MAX_TRANSCRIPT_CHARS:
            raise InvalidArgument(
                f"transcript is longer than {MAX_TRANSCRIPT_CHARS:,} characters; send what the "
                "enrollment audio says, or leave it empty",
                field="metadata.transcript",
            )
        language = resolve_language(language or "en", self._languages, field="metadata.language")
        with self._db.transaction(write=False) as session:
            self._usable_consent(session, tenant_id, consent_id)
        return name, language

    def enroll(self, tenant_id: str, consent_id: str, display_name: str, language: str,
               audio: Audio, transcript: str = "") -> Voice:
        """Check audio and speaker against the consent, build the model, seal and store it.

        ``transcript`` (optional) is what the audio says; engines that need one get it.
        """
        name, language = self.check_request(tenant_id, consent_id, display_name, language,
                                            transcript)
        transcript = transcript.strip()
        quality = analyze_speech(audio)
        check_enrollment_audio(quality, self.limits)
        with self._db.transaction(write=False) as session:
            consent = self._usable_consent(session, tenant_id, consent_id)
            reference = self._consents.speaker_embedding(session, consent)
        match = self._verifier.verify(reference, audio)
        if not match.accepted:
            with self._db.transaction() as session:
                self._audit.append(session, "voice.enroll_rejected", tenant_id, consent_id=consent_id,
                                   speaker_match=round(match.score, 4), threshold=match.threshold)
            raise FailedPrecondition(
                f"the enrollment speaker does not match the consent recording (similarity "
                f"{match.score:.3f}; at least {match.threshold:.3f} is needed); enroll with the "
                "voice of the person who recorded the consent",
                details={"speaker_match": round(match.score, 4), "threshold": match.threshold},
            )
        model = self._enroll_engine(
            audio, language, transcript or None
        )
        voice_id = new_id("voice")
        with self._db.transaction() as session:
            # Locked until commit, so a concurrent revocation either sees this voice or
            # makes this check fail (PostgreSQL; SQLite serialises writers anyway).
            self._usable_consent(session, tenant_id, consent_id, lock=True)
            tenant = live_tenant(session, tenant_id)
            assert tenant.wrapped_key is not None
            key, wrapped = self._vault.new_object(tenant_id, tenant.wrapped_key, voice_id)
            row = VoiceRow(
                id=voice_id, tenant_id=tenant_id, consent_id=consent_id, display_name=name,
                language=language, status=VoiceStatus.READY.value, engine=model.engine,
                engine_version=model.engine_version, created_at=self._clock(),
                speech_seconds=round(quality.speech_seconds, 2), snr_db=round(quality.snr_db, 2),
                speaker_match=round(match.score, 4), wrapped_key=wrapped,
                model_blob=self._vault.put(key, PURPOSE_MODEL, model.to_bytes()),
            )
            session.add(row)
            self._audit.append(session, "voice.enrolled", tenant_id, voice_id=voice_id,
                               consent_id=consent_id, engine=model.engine,
                               speech_seconds=row.speech_seconds, speaker_match=row.speaker_match)
        return to_voice(row)

    def get(self, tenant_id: str, voice_id: str) -> Voice:
        """One voice of the tenant."""
        with self._db.transaction(write=False) as session:
            return to_voice(self._owned(session, tenant_id, voice_id))

    def list(self, tenant_id: str, page_size: int, page_token: str, include_deleted: bool) -> Page[Voice]:
        """The tenant's voices, newest first."""
        query = select(VoiceRow).where(VoiceRow.tenant_id == tenant_id)
        if not include_deleted:
            query = query.where(VoiceRow.status == VoiceStatus.READY.value)
        return paginate(self._db, self._page_tokens, query, VoiceRow, page_size, page_token, to_voice)

    def delete(self, tenant_id: str, voice_id: str) -> tuple[Voice, Deletion]:
        """Destroy the voice's key and model for good (idempotent)."""
        with self._db.transaction() as session:
            row = self._owned(session, tenant_id, voice_id)
            plan = ErasurePlan(tenant_id=tenant_id)
            self._eraser.destroy_voices(session, plan, [row])
            receipt = self._eraser.seal(session, plan, "voice.deleted")
        self._eraser.apply(plan)
        return to_voice(row), Deletion(voice_ids=(voice_id,), consent_ids=(), receipt=receipt)

    def open_model(self, session: Session, tenant_id: str, voice_id: str) -> tuple[VoiceRow, bytes]:
        """The decrypted model of a usable voice (READY, consent ACTIVE with synthesis)."""
        row = self._owned(session, tenant_id, voice_id)
        if row.status != VoiceStatus.READY.value or row.wrapped_key is None or row.model_blob is None:
            raise FailedPrecondition(f"voice {voice_id!r} was deleted; enroll it again under a new consent")
        self._usable_consent(session, tenant_id, row.consent_id)
        tenant = live_tenant(session, tenant_id)
        assert tenant.wrapped_key is not None
        key = self._vault.object_key(tenant_id, tenant.wrapped_key, voice_id, row.wrapped_key)
        return row, self._vault.get(key, PURPOSE_MODEL, row.model_blob)

    def _owned(self, session: Session, tenant_id: str, voice_id: str) -> VoiceRow:
        row = session.get(VoiceRow, voice_id) if voice_id else None
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(f"voice {voice_id!r} not found")
        return row

    def _usable_consent(self, session: Session, tenant_id: str, consent_id: str,
                        *, lock: bool = False) -> ConsentRow:
        row = session.get(ConsentRow, consent_id, with_for_update=lock) if consent_id else None
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(f"consent {consent_id!r} not found")
        status = self._consents.status_of(row)
        if status is not ConsentStatus.ACTIVE:
            raise FailedPrecondition(
                f"consent {consent_id!r} is {status.value}; an active consent is required"
            )
        if Purpose.SYNTHESIS.value not in row.purposes.split(","):
            raise FailedPrecondition(
                f"consent {consent_id!r} does not include PURPOSE_SYNTHESIS; start a consent that does"
            )
        return row


def to_voice(row: VoiceRow) -> Voice:
    """The public record of a voice row."""
    return Voice(
        voice_id=row.id, consent_id=row.consent_id, display_name=row.display_name,
        language=row.language, status=VoiceStatus(row.status), engine=row.engine,
        created_at=row.created_at, deleted_at=row.deleted_at, speech_seconds=row.speech_seconds,
        snr_db=row.snr_db, speaker_match=row.speaker_match,
    )
