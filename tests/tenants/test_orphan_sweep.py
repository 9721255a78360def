"""Blobs left by interrupted deletions are swept, but only once they are old enough."""

from __future__ import annotations

import time
from pathlib import Path

from server.audio import decode_audio
from server.platform import Platform
from tenants.records import Purpose

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "speech"


def test_old_orphans_go_young_ones_and_live_blobs_stay(platform: Platform) -> None:
    tenant = platform.tenants.create("Sweeper")
    consent = platform.consents.start(tenant.tenant_id, "Ada Example", [Purpose.SYNTHESIS], None)
    platform.consents.submit_recording(tenant.tenant_id, consent.consent_id,
                                       (FIXTURES / "consent_1998.flac").read_bytes())
    voice = platform.voices.enroll(tenant.tenant_id, consent.consent_id, "Ada", "en",
                                   decode_audio((FIXTURES / "enrollment_1998.flac").read_bytes()))
    orphan = f"tenants/{tenant.tenant_id}/objects/voice_interrupted/model"
    platform.vault.blobs.put(orphan, b"ciphertext nobody can open")
    live = set(platform.vault.blobs.iter_keys(f"tenants/{tenant.tenant_id}"))

    with platform.db.transaction() as session:
        # Young: it may belong to an enrollment still committing on another server.
        assert platform.eraser.sweep_orphans(session) == 0
    assert platform.vault.blobs.exists(orphan)
    with platform.db.transaction() as session:
        assert platform.eraser.sweep_orphans(session, now=lambda: time.time() + 3601) == 1
    assert not platform.vault.blobs.exists(orphan)
    remaining = set(platform.vault.blobs.iter_keys(f"tenants/{tenant.tenant_id}"))
    assert remaining == live - {orphan}
    assert any(voice.voice_id in key for key in remaining)
