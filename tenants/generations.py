"""Generations: the permanent record behind every watermark, and its look-ups.

A generation row is written (with its audit event) before the first sample of the
synthesis exists, so every watermark that ever leaves the platform names a generation
that the platform knows. Rows are kept when voices, consents or tenants are deleted.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.config import OUTPUT_SAMPLE_RATES
from server.db.models import GenerationRow
from server.db.session import Database
from server.engines.base import SynthesisParams, check_supported_options
from server.errors import InvalidArgument, NotFound
from server.text import resolve_language, validate_text
from tenants.audit import AuditLog
from tenants.ids import is_generation_id, new_generation_id
from tenants.records import Generation, GenerationRequest
from tenants.voices import VoiceService


@dataclass(frozen=True)
class SynthesisOptions:
    """What a caller asked for, before validation."""

    voice_id: str
    text: str
    language: str
    audio_format: str
    sample_rate: int
    speed: float
    streamed: bool
    #: Sampling options the caller set (see ``server.engines.base.SAMPLING_OPTIONS``).
    sampling: Mapping[str, Any] = field(default_factory=dict)


class GenerationService:
    """Turns authorised synthesis requests into jobs and keeps their records."""

    def __init__(self, db: Database, voices: VoiceService, audit: AuditLog, max_text_chars: int,
                 languages: frozenset[str], clock: Callable[[], datetime], *,
                 engine_name: str = "", engine_options: frozenset[str] = frozenset()) -> None:
        self._db = db
        self._voices = voices
        self._audit = audit
        self._max_text_chars = max_text_chars
        self._languages = languages
        self._clock = clock
        self._engine_name = engine_name
        self._engine_options = engine_options

    def begin(self, tenant_id: str, options: SynthesisOptions,
              deadline: float | None) -> GenerationRequest:
        """Validate, open the voice model, record the generation, and build the job."""
        text = validate_text(options.text, self._max_text_chars)
        speed = options.speed or 1.0
        if not math.isfinite(speed) or not 0.5 <= speed <= 2.0:
            raise InvalidArgument("speed must be between 0.5 and 2.0 (0 means 1.0)", field="speed")
        if options.sample_rate and options.sample_rate not in OUTPUT_SAMPLE_RATES:
            raise InvalidArgument(
                f"sample_rate_hz must be 0 or one of {', '.join(map(str, OUTPUT_SAMPLE_RATES))}",
                field="sample_rate_hz",
            )
        sampling = dict(options.sampling)
        params = SynthesisParams(speed=speed, **sampling)  # range checks, before any record
        check_supported_options(self._engine_name, self._engine_options, params.requested_options())
        with self._db.transaction() as session:
            voice, model = self._voices.open_model(session, tenant_id, options.voice_id)
            language = resolve_language(options.language or voice.language, self._languages)
            row = GenerationRow(
                id=new_generation_id(), tenant_id=tenant_id, voice_id=voice.id,
                created_at=self._clock(), text_sha256=hashlib.sha256(text.encode()).hexdigest(),
                duration_seconds=0.0, sample_rate=options.sample_rate, audio_format=options.audio_format,
                streamed=options.streamed,
            )
            session.add(row)
            self._audit.record(session, "synthesis", tenant_id, generation_id=row.id,
                               voice_id=voice.id, text_sha256=row.text_sha256,
                               streamed=options.streamed)
        return GenerationRequest(
            tenant_id=tenant_id, voice_id=voice.id, voice_model=model,
            text=text, language=language, speed=speed, sample_rate=options.sample_rate or None,
            generation_id=row.id, deadline=deadline, sampling=sampling,
        )

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
