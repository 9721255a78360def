"""Generations: the permanent record behind every watermark, and its look-ups.

A generation row is written (with its audit event) before the first sample of the
synthesis exists, so every watermark that ever leaves the platform names a generation
that the platform knows. Rows are kept when voices, consents or tenants are deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from server.db.models import GenerationRow
from server.db.session import Database
from server.errors import InvalidArgument, NotFound
from tenants.audit import AuditLog
from tenants.ids import is_generation_id, new_generation_id
from tenants.records import Generation, GenerationRequest
from tenants.voices import VoiceService


@dataclass(frozen=True)
class GenerationFacts:
    """What the generation record keeps of a request whose fields were already checked
    (the text itself is never stored, only its SHA-256)."""

    voice_id: str
    text: str = field(repr=False)
    audio_format: str
    sample_rate: int
    streamed: bool


class GenerationService:
    """Records the generation behind every synthesis, and looks generations up."""

    def __init__(self, db: Database, voices: VoiceService, audit: AuditLog,
                 clock: Callable[[], datetime]) -> None:
        self._db = db
        self._voices = voices
        self._audit = audit
        self._clock = clock

    def begin(self, tenant_id: str, facts: GenerationFacts) -> GenerationRequest:
        """Open the voice model (the voice and its consent must be usable) and record the
        generation with its audit event, in one transaction, before any audio exists."""
        with self._db.transaction() as session:
            voice, model = self._voices.open_model(session, tenant_id, facts.voice_id)
            row = GenerationRow(
                id=new_generation_id(), tenant_id=tenant_id, voice_id=voice.id,
                created_at=self._clock(),
                text_sha256=hashlib.sha256(facts.text.encode()).hexdigest(),
                duration_seconds=0.0, sample_rate=facts.sample_rate,
                audio_format=facts.audio_format, streamed=facts.streamed,
            )
            session.add(row)
            self._audit.record(session, "synthesis", tenant_id, generation_id=row.id,
                               voice_id=voice.id, text_sha256=row.text_sha256,
                               streamed=facts.streamed)
        return GenerationRequest(tenant_id=tenant_id, voice_id=voice.id, voice_model=model,
                                 voice_language=voice.language, generation_id=row.id)

    def fail(self, generation_id: str, reason: str, delivered_seconds: float) -> None:
        """Record that a generation ended without its full audio (refused, failed, cancelled).

        The ``synthesis`` event written by :meth:`begin` stays (the trail is append-only);
        a ``synthesis.failed`` event says why it ended and how much audio had been sent.
        """
        with self._db.transaction() as session:
            row = session.get(GenerationRow, generation_id)
            if row is None:
                return
            row.duration_seconds = round(delivered_seconds, 3)
            self._audit.record(session, "synthesis.failed", row.tenant_id, generation_id=row.id,
                               reason=reason, delivered_seconds=row.duration_seconds)

    def complete(self, generation_id: str, duration_seconds: float, sample_rate: int) -> None:
        """Record the length and rate of the audio that was delivered."""
        with self._db.transaction() as session:
            row = session.get(GenerationRow, generation_id)
            if row is not None:
                row.duration_seconds = round(duration_seconds, 3)
                row.sample_rate = sample_rate

    def get(self, tenant_id: str, generation_id: str) -> Generation:
        """A generation of this tenant; NOT_FOUND for others' and unknown ids alike."""
        found = self.find(tenant_id, generation_id)
        if found is None:
            raise NotFound(f"generation {generation_id!r} not found")
        return found

    def find(self, tenant_id: str, generation_id: str) -> Generation | None:
        """Like :meth:`get` but None instead of NOT_FOUND."""
        if not is_generation_id(generation_id):
            raise InvalidArgument("generation_id must be 16 hex digits", field="generation_id")
        with self._db.transaction(write=False) as session:
            row = session.get(GenerationRow, generation_id.lower())
            if row is None or row.tenant_id != tenant_id:
                return None
            return to_generation(row)


def to_generation(row: GenerationRow) -> Generation:
    """The public record of a generation row."""
    return Generation(
        generation_id=row.id, tenant_id=row.tenant_id, voice_id=row.voice_id,
        created_at=row.created_at, text_sha256=row.text_sha256,
        duration_seconds=row.duration_seconds, sample_rate=row.sample_rate,
        audio_format=row.audio_format, streamed=row.streamed,
    )
