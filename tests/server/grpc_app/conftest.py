"""A real voxguard server on 127.0.0.1 port 0, in a background event loop, with clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from server.api.v1 import (
    consents_pb2_grpc,
    provenance_pb2_grpc,
    synthesis_pb2_grpc,
    tenant_admin_pb2,
    tenant_admin_pb2_grpc,
    voices_pb2_grpc,
)
from server.config import Settings
from server.grpc_app.background import BackgroundServer

ADMIN_TOKEN = "vxa_test-operator-token-0123456789abcdef"
ALL_SCOPES = [
    tenant_admin_pb2.SCOPE_CONSENT,
    tenant_admin_pb2.SCOPE_ENROLL,
    tenant_admin_pb2.SCOPE_SYNTHESIZE,
    tenant_admin_pb2.SCOPE_DETECT,
]


ServerThread = BackgroundServer


@dataclass
class Clients:
    """Stubs for every service over one channel, with a bearer credential."""

    channel: grpc.Channel
    token: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)

    @property
    def admin(self) -> tenant_admin_pb2_grpc.TenantAdminStub:
        return tenant_admin_pb2_grpc.TenantAdminStub(self.channel)

    @property
    def consents(self) -> consents_pb2_grpc.ConsentsStub:
        return consents_pb2_grpc.ConsentsStub(self.channel)

    @property
    def voices(self) -> voices_pb2_grpc.VoicesStub:
        return voices_pb2_grpc.VoicesStub(self.channel)

    @property
    def synthesis(self) -> synthesis_pb2_grpc.SynthesisStub:
        return synthesis_pb2_grpc.SynthesisStub(self.channel)

    @property
    def provenance(self) -> provenance_pb2_grpc.ProvenanceStub:
        return provenance_pb2_grpc.ProvenanceStub(self.channel)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test server: port 0, one worker, known operator token."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "listen": "127.0.0.1:0",
        "admin_token": ADMIN_TOKEN,
        "cpu_workers": 1,
        "consent_verify_statement": False,
        "rate_limit_per_minute": 100_000,
        "rate_limit_burst": 10_000,
    }
    values.update(overrides)
    return Settings.load(**values)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One real server for the whole session (workers take seconds to load)."""
    thread = ServerThread(make_settings(tmp_path_factory.mktemp("voxguard-data")))
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def channel(server: ServerThread) -> Iterator[grpc.Channel]:
    """A channel to the session server."""
    with grpc.insecure_channel(f"127.0.0.1:{server.running.port}") as ch:
        yield ch


@pytest.fixture(scope="session")
def operator(channel: grpc.Channel) -> Clients:
    """Clients holding the operator credential."""
    return Clients(channel, ADMIN_TOKEN)


def new_tenant(operator: Clients, name: str, scopes: list[int] | None = None) -> tuple[str, Clients]:
    """Create a tenant with one API key; returns its id and clients using that key."""
    tenant = operator.admin.CreateTenant(
        tenant_admin_pb2.CreateTenantRequest(display_name=name), metadata=operator.metadata
    )
    key = operator.admin.CreateApiKey(
        tenant_admin_pb2.CreateApiKeyRequest(tenant_id=tenant.tenant_id, scopes=scopes or ALL_SCOPES),
        metadata=operator.metadata,
    )
    return tenant.tenant_id, Clients(operator.channel, key.api_key)


@pytest.fixture
def tenant(operator: Clients, request: pytest.FixtureRequest) -> tuple[str, Clients]:
    """A fresh tenant per test, named after the test."""
    return new_tenant(operator, f"Tenant {request.node.name}"[:100])


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "speech"


def fixture_audio(name: str) -> bytes:
    """Bytes of a LibriSpeech fixture (see tests/fixtures/speech/README.md)."""
    return (FIXTURES / name).read_bytes()


def enroll_messages(consent_id: str, audio: bytes, *, name: str = "Test voice",
                    language: str = "en", chunk: int = 64 * 1024,
                    transcript: str = "") -> Iterator[object]:
    """An Enroll request stream: metadata, then the audio in chunks."""
    from server.api.v1 import voices_pb2

    yield voices_pb2.EnrollRequest(
        metadata=voices_pb2.EnrollMetadata(consent_id=consent_id, display_name=name, language=language,
                                           transcript=transcript)
    )
    for start in range(0, len(audio), chunk):
        yield voices_pb2.EnrollRequest(audio_chunk=audio[start:start + chunk])


@dataclass
class EnrolledVoice:
    """A tenant with an active consent and a READY voice enrolled from real speech."""

    tenant_id: str
    clients: Clients
    consent_id: str
    voice_id: str


def enroll_voice(clients: Clients, subject: str = "Ada Example") -> tuple[str, str]:
    """Start + record a consent and enroll the fixture speaker; returns (consent, voice)."""
    from server.api.v1 import consents_pb2

    consent = clients.consents.StartConsent(
        consents_pb2.StartConsentRequest(subject_name=subject, purposes=[consents_pb2.PURPOSE_SYNTHESIS]),
        metadata=clients.metadata,
    )
    clients.consents.SubmitConsentRecording(
        consents_pb2.SubmitConsentRecordingRequest(consent_id=consent.consent_id,
                                                   audio=fixture_audio("consent_1998.flac")),
        metadata=clients.metadata,
    )
    voice = clients.voices.Enroll(
        enroll_messages(consent.consent_id, fixture_audio("enrollment_1998.flac")),
        metadata=clients.metadata,
    )
    return consent.consent_id, voice.voice_id


@contextmanager
def tenant_with_voice(server: ServerThread, name: str) -> Iterator[tuple[Clients, str]]:
    """A new tenant on ``server`` with one enrolled voice: (its clients, the voice id)."""
    with grpc.insecure_channel(f"127.0.0.1:{server.running.port}") as channel:
        _, clients = new_tenant(Clients(channel, ADMIN_TOKEN), name)
        _, voice_id = enroll_voice(clients)
        yield clients, voice_id


@pytest.fixture(scope="session")
def enrolled(operator: Clients) -> EnrolledVoice:
    """One enrolled voice shared by read-only tests (do not delete it)."""
    tenant_id, clients = new_tenant(operator, "Shared voice tenant")
    consent_id, voice_id = enroll_voice(clients)
    return EnrolledVoice(tenant_id, clients, consent_id, voice_id)
