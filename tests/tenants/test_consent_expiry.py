"""Deadlines and expiry: late recordings are refused, expired consents lose their voices."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.audio import decode_audio
from server.db.models import ConsentRow
from server.errors import FailedPrecondition
from server.platform import Platform
from tenants.records import ConsentStatus, Purpose, VoiceStatus
from tests.tenants.conftest import MovableClock

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "speech"


def test_recording_after_the_deadline_is_refused(platform: Platform, clock: MovableClock) -> None:
    tenant = platform.tenants.create("Deadlines")
    consent = platform.consents.start(tenant.tenant_id, "Late Larry", [Purpose.SYNTHESIS], None)
    clock.advance(minutes=31)
    assert platform.consents.get(tenant.tenant_id, consent.consent_id).status is ConsentStatus.EXPIRED
    with pytest.raises(FailedPrecondition, match="expired"):
        platform.consents.submit_recording(tenant.tenant_id, consent.consent_id,
                                           (FIXTURES / "consent_1998.flac").read_bytes())


def test_expired_consent_destroys_its_voices(platform: Platform, clock: MovableClock) -> None:
    tenant = platform.tenants.create("Expiry")
    consent = platform.consents.start(tenant.tenant_id, "Ada Example", [Purpose.SYNTHESIS],
                                      clock.now.replace(year=2027))
    platform.consents.submit_recording(tenant.tenant_id, consent.consent_id,
                                       (FIXTURES / "consent_1998.flac").read_bytes())
    audio = decode_audio((FIXTURES / "enrollment_1998.flac").read_bytes())
    voice = platform.voices.enroll(tenant.tenant_id, consent.consent_id, "Ada", "en", audio)
    assert platform.consents.expire_due() == 0
    clock.advance(days=366)
    assert platform.consents.expire_due() == 1
    assert platform.voices.get(tenant.tenant_id, voice.voice_id).status is VoiceStatus.DELETED
    assert platform.consents.get(tenant.tenant_id, consent.consent_id).status is ConsentStatus.EXPIRED
    assert not list(platform.vault.blobs.iter_keys(f"tenants/{tenant.tenant_id}/objects/{voice.voice_id}"))
    # The consent's own biometric data goes too: recording, embedding and their key.
    assert not list(platform.vault.blobs.iter_keys(f"tenants/{tenant.tenant_id}/objects/{consent.consent_id}"))
    with platform.db.transaction(write=False) as session:
        row = session.get(ConsentRow, consent.consent_id)
        assert row.wrapped_key is None and row.recording_blob is None and row.sealed_embedding is None
    kinds = [event["kind"] for event in platform.audit.events(platform.db, tenant.tenant_id)]
    assert "consent.expired" in kinds
