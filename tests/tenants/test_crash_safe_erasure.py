"""Erasure survives crashes: kill the process at points inside an erasure, restart, and
nothing of the destroyed objects is readable (no blob, no wrapped key in any file).

Each case copies one prepared data directory, runs the erasure in a child process that
dies (``os._exit``, like SIGKILL) at the crash point, then opens the platform again, as a
restarted server does before serving.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.audio import decode_audio
from server.config import Settings
from server.db.models import ConsentRow, TenantRow, VoiceRow
from server.platform import Platform
from tenants.records import Purpose

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "speech"
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "vxa_crash-test-operator-token-000000"


@dataclass(frozen=True)
class Prepared:
    data_dir: Path
    tenant_id: str
    consent_id: str
    voice_id: str
    keys: dict[str, bytes]  # "tenant" / "consent" / "voice" -> wrapped key bytes


def _settings(data_dir: Path) -> Settings:
    return Settings.load(data_dir=data_dir, admin_token=TOKEN, consent_verify_statement=False)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    data_dir = tmp_path_factory.mktemp("template") / "data"
    platform = Platform.open(_settings(data_dir))
    try:
        tenant = platform.tenants.create("Crash test")
        consent = platform.consents.start(tenant.tenant_id, "Ada Example", [Purpose.SYNTHESIS], None)
        platform.consents.submit_recording(tenant.tenant_id, consent.consent_id,
                                           (FIXTURES / "consent_1998.flac").read_bytes())
        voice = platform.voices.enroll(tenant.tenant_id, consent.consent_id, "Ada", "en",
                                       decode_audio((FIXTURES / "enrollment_1998.flac").read_bytes()))
        with platform.db.transaction(write=False) as session:
            keys = {
                "tenant": session.get(TenantRow, tenant.tenant_id).wrapped_key,
                "consent": session.get(ConsentRow, consent.consent_id).wrapped_key,
                "voice": session.get(VoiceRow, voice.voice_id).wrapped_key,
            }
        platform.db.discard_freed_pages()
    finally:
        platform.db.dispose()
    assert all(keys.values())
    return Prepared(data_dir, tenant.tenant_id, consent.consent_id, voice.voice_id, keys)  # type: ignore[arg-type]


# operation -> which objects it destroys
DESTROYS = {
    "revoke": ("consent", "voice"),
    "delete-voice": ("voice",),
    "delete-tenant": ("tenant", "consent", "voice"),
    "expire": ("consent", "voice"),
}


# Crash points: right after the commit, and at each blob-erasure step the operation has
# (revocation and expiry erase the voice's and the consent's blobs in two steps).
CASES = [(op, point) for op in sorted(DESTROYS) for point in ("after-commit", "first-blob")]
CASES += [("revoke", "second-blob"), ("expire", "second-blob")]


@pytest.mark.parametrize(("operation", "point"), CASES)
def test_a_crash_inside_an_erasure_leaves_nothing_readable(prepared: Prepared, tmp_path: Path,
                                                           operation: str, point: str) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(prepared.data_dir, data_dir)
    child = subprocess.run(
        [sys.executable, "-m", "tests.tenants.crash_child", str(data_dir), operation, point,
         prepared.tenant_id, prepared.consent_id, prepared.voice_id],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert child.returncode == 137, child.stderr[-2000:]  # it died at the crash point

    restarted = Platform.open(_settings(data_dir))  # what a restarted server does first
    restarted.db.dispose()

    ids = {"tenant": prepared.tenant_id, "consent": prepared.consent_id, "voice": prepared.voice_id}
    destroyed = DESTROYS[operation]
    blobs = [p.relative_to(data_dir).as_posix() for p in (data_dir / "blobs").rglob("*") if p.is_file()]
    for kind in destroyed:
        assert not [b for b in blobs if f"/{ids[kind]}/" in b or b.endswith(ids[kind])], (kind, blobs)
    files = {p.name: p.read_bytes() for p in data_dir.iterdir()
             if p.is_file() and p.name.startswith("voxguard.db")}
    for kind in destroyed:
        for name, content in files.items():
            assert prepared.keys[kind] not in content, f"wrapped {kind} key still in {name}"
    if operation == "delete-voice":  # what was not destroyed is still there
        assert any(prepared.consent_id in b for b in blobs)
