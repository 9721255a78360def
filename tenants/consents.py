"""The consent lifecycle: start, record (verified), read, revoke, expire.

A consent is the gate to every voice: only an ACTIVE, unexpired consent with the
synthesis purpose lets a voice be enrolled or used, and revoking it destroys every voice
enrolled under it. The person's recording of the statement and their speaker
embedding are biometric data, sealed with the consent's own key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audio import Audio, AudioFormat, decode_audio, encode_audio
from server.db.models import ConsentRow
from server.db.session import Database
from server.errors import FailedPrecondition, InvalidArgument, NotFound
from server.speech.checks import ConsentLimits, check_consent_audio
from server.speech.quality import analyze_speech
from server.speech.statement import build_statement, check_statement, make_one_time_phrase
from tenants.audit import AuditLog
from tenants.erasure import Eraser, ErasurePlan
from tenants.ids import new_id
from tenants.pagination import PageTokens, paginate
from tenants.ports import SpeakerEmbedder
from tenants.records import Consent, ConsentStatus, Deletion, Page, Purpose
from tenants.tenants import live_tenant
from tenants.vault import Vault

log = logging.getLogger(__name__)

PURPOSE_RECORDING = "consent-recording"
PURPOSE_EMBEDDING = "speaker-embedding"


@dataclass(frozen=True)
class ConsentPolicy:
    """Deployment settings of the consent checks."""

    recording_window: timedelta
    verify_statement: bool
    limits: ConsentLimits


class ConsentService:
    """Tenant-scoped consent operations."""

    def __init__(self, db: Database, vault: Vault, audit: AuditLog, eraser: Eraser,
                 encoder: SpeakerEmbedder, transcribe: Callable[[Audio], str] | None,
                 policy: ConsentPolicy, clock: Callable[[], datetime], *,
                 page_tokens: PageTokens | None = None) -> None:
        self._db = db
        self._page_tokens = page_tokens or PageTokens.ephemeral()
        self._vault = vault
        self._audit = audit
        self._eraser = eraser
        self._encoder = encoder
        self._transcribe = transcribe
        self._policy = policy
        self._clock = clock

    def start(self, tenant_id: str, subject_name: str, purposes: Iterable[Purpose],
              expires_at: datetime | None) -> Consent:
        """Create a pending consent with a fresh statement to read aloud."""
        name = " ".join(subject_name.split())
        if not 1 <= len(name) <= 200:
            raise InvalidArgument("subject_name must be 1-200 characters", field="subject_name")
        purpose_list = sorted(set(purposes), key=lambda p: p.value)
        if not purpose_list:
            raise InvalidArgument("give at least one purpose (for example PURPOSE_SYNTHESIS)",
                                  field="purposes")
        now = self._clock()
        if expires_at is not None and expires_at <= now:
            raise InvalidArgument("expires_at must be in the future", field="expires_at")
        with self._db.transaction() as session:
            tenant = live_tenant(session, tenant_id)
            phrase = make_one_time_phrase()
            row = ConsentRow(
                id=new_id("consent"),
                tenant_id=tenant_id,
                subject_name=name,
                purposes=",".join(p.value for p in purpose_list),
                status=ConsentStatus.PENDING_RECORDING.value,
                statement_text=build_statement(name, tenant.display_name, phrase,
                                               [p.value for p in purpose_list]),
                one_time_phrase=phrase,
                created_at=now,
                recording_deadline=now + self._policy.recording_window,
                expires_at=expires_at,
                revocation_reason="",
            )
            session.add(row)
            self._audit.append(session, "consent.started", tenant_id, consent_id=row.id,
                               purposes=[p.value for p in purpose_list])
        return self._record(row)

    def submit_recording(self, tenant_id: str, consent_id: str, data: bytes) -> Consent:
        """Verify the recording of the statement and activate the consent."""
        with self._db.transaction(write=False) as session:
            row = self._pending(session, tenant_id, consent_id)
            statement, phrase = row.statement_text, row.one_time_phrase
        audio = decode_audio(data, max_seconds=self._policy.limits.max_duration_seconds)
        check_consent_audio(analyze_speech(audio), self._policy.limits)
        if self._policy.verify_statement and self._transcribe is not None:
            transcript = self._transcribe(audio)
            result = check_statement(transcript, statement, phrase)
            if not result.matched:
                self._reject(tenant_id, consent_id, result.word_recall, result.phrase_found)
                raise FailedPrecondition(
                    "the recording does not say the consent statement"
                    + ("" if result.phrase_found else " (the one-time phrase was not heard)")
                    + f"; {result.word_recall:.0%} of the statement's words were recognised. "
                    "Record the person reading statement_text aloud, clearly and in full",
                    details={"word_recall": round(result.word_recall, 3),
                             "phrase_found": result.phrase_found},
                )
        embedding = self._encoder.embed(audio)
        with self._db.transaction() as session:
            row = self._pending(session, tenant_id, consent_id)
            tenant = live_tenant(session, tenant_id)
            assert tenant.wrapped_key is not None
            key, wrapped = self._vault.new_object(tenant_id, tenant.wrapped_key, consent_id)
            row.recording_blob = self._vault.put(key, PURPOSE_RECORDING, _flac(audio))
            row.sealed_embedding = self._vault.seal(key, PURPOSE_EMBEDDING,
                                                    embedding.astype("<f4").tobytes())
            row.wrapped_key = wrapped
            row.status = ConsentStatus.ACTIVE.value
            row.activated_at = self._clock()
            self._audit.append(session, "consent.recorded", tenant_id, consent_id=consent_id,
                               recording_seconds=round(audio.duration_seconds, 2),
                               statement_verified=self._policy.verify_statement)
        return self._record(row)

    def get(self, tenant_id: str, consent_id: str) -> Consent:
        """One consent of the tenant."""
        with self._db.transaction(write=False) as session:
            return self._record(self._owned(session, tenant_id, consent_id))

    def list(self, tenant_id: str, page_size: int, page_token: str) -> Page[Consent]:
        """The tenant's consents, newest first."""
        query = select(ConsentRow).where(ConsentRow.tenant_id == tenant_id)
        return paginate(self._db, self._page_tokens, query, ConsentRow, page_size, page_token, self._record)

    def revoke(self, tenant_id: str, consent_id: str, reason: str) -> tuple[Consent, Deletion]:
        """Revoke the consent and destroy every voice under it (idempotent)."""
        if len(reason) > 500:
            raise InvalidArgument("reason must be at most 500 characters", field="reason")
        with self._db.transaction() as session:
            row = self._owned(session, tenant_id, consent_id, lock=True)
            repeated = row.status == ConsentStatus.REVOKED.value
            plan = ErasurePlan(tenant_id=tenant_id)
            self._eraser.destroy_consent(session, plan, row, reason)
            # A repeated revocation finishes any erasure left over and answers with the
            # receipt of the first one: the same id, payload and signature.
            original = (self._eraser.original_receipt(session, "consent.revoked", tenant_id,
                                                      consent_id) if repeated else None)
            receipt = original or self._eraser.seal(session, plan, "consent.revoked")
        self._eraser.apply(plan)
        deletion = Deletion(voice_ids=tuple(plan.voice_ids), consent_ids=tuple(plan.consent_ids),
                            receipt=receipt)
        return self._record(row), deletion

    def expire_due(self) -> int:
        """Expire consents whose ``expires_at`` has passed; returns how many.

        Expiry destroys what revocation destroys: every voice under the consent and the
        consent's own key, recording and speaker embedding.
        """
        now = self._clock()
        with self._db.transaction() as session:
            due = session.execute(
                select(ConsentRow).where(
                    ConsentRow.expires_at.is_not(None), ConsentRow.expires_at <= now,
                    ConsentRow.status == ConsentStatus.ACTIVE.value,
                ).with_for_update()
            ).scalars().all()
            plans = []
            for row in due:
                plan = ErasurePlan(tenant_id=row.tenant_id)
                self._eraser.destroy_consent(session, plan, row, "expired", expired=True)
                self._eraser.seal(session, plan, "consent.expired")
                plans.append(plan)
        for plan in plans:
            self._eraser.apply(plan)
        return len(plans)

    def speaker_embedding(self, session: Session, row: ConsentRow) -> np.ndarray:
        """Open the consent speaker's sealed embedding (for enrollment checks)."""
        tenant = live_tenant(session, row.tenant_id)
        if tenant.wrapped_key is None or row.wrapped_key is None or row.sealed_embedding is None:
            raise FailedPrecondition("the consent has no verified recording")
        key = self._vault.object_key(row.tenant_id, tenant.wrapped_key, row.id, row.wrapped_key)
        return np.frombuffer(self._vault.open(key, PURPOSE_EMBEDDING, row.sealed_embedding), "<f4")

    def status_of(self, row: ConsentRow) -> ConsentStatus:
        """The effective status, counting deadlines that passed since the row was written."""
        status = ConsentStatus(row.status)
        now = self._clock()
        if status is ConsentStatus.PENDING_RECORDING and row.recording_deadline <= now:
            return ConsentStatus.EXPIRED
        if status is ConsentStatus.ACTIVE and row.expires_at is not None and row.expires_at <= now:
            return ConsentStatus.EXPIRED
        return status

    def _owned(self, session: Session, tenant_id: str, consent_id: str,
               *, lock: bool = False) -> ConsentRow:
        """The tenant's consent (NOT_FOUND otherwise); ``lock`` holds its row until commit."""
        row = session.get(ConsentRow, consent_id, with_for_update=lock) if consent_id else None
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(f"consent {consent_id!r} not found")
        return row

    def _pending(self, session: Session, tenant_id: str, consent_id: str) -> ConsentRow:
        row = self._owned(session, tenant_id, consent_id)
        status = self.status_of(row)
        if status is ConsentStatus.EXPIRED:
            raise FailedPrecondition(
                f"consent {consent_id!r} expired before a recording arrived; start a new consent"
            )
        if status is not ConsentStatus.PENDING_RECORDING:
            raise FailedPrecondition(
                f"consent {consent_id!r} is {status.value}; only a pending consent takes a recording"
            )
        return row

    def _reject(self, tenant_id: str, consent_id: str, recall: float, phrase_found: bool) -> None:
        with self._db.transaction() as session:
            self._audit.append(session, "consent.recording_rejected", tenant_id,
                               consent_id=consent_id, word_recall=round(recall, 3),
                               phrase_found=phrase_found)

    def _record(self, row: ConsentRow) -> Consent:
        return Consent(
            consent_id=row.id,
            subject_name=row.subject_name,
            status=self.status_of(row),
            statement_text=row.statement_text,
            one_time_phrase=row.one_time_phrase,
            purposes=tuple(Purpose(p) for p in row.purposes.split(",") if p),
            created_at=row.created_at,
            recording_deadline=row.recording_deadline,
            expires_at=row.expires_at,
            activated_at=row.activated_at,
            revoked_at=row.revoked_at,
            revocation_reason=row.revocation_reason,
        )


def _flac(audio: Audio) -> bytes:
    return encode_audio(audio.samples, audio.sample_rate, AudioFormat.FLAC)[0]
