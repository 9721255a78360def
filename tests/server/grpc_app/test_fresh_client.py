"""A client generated from protos/ alone, in a fresh directory, runs the whole story."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import pytest

from tests.server.grpc_app.conftest import ADMIN_TOKEN, ServerThread, fixture_audio

PROTOS = Path(__file__).resolve().parents[3] / "protos"


@pytest.fixture
def fresh_stubs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Generate Python stubs from a copy of protos/ into an empty folder and import them."""
    from importlib import resources

    from grpc_tools import protoc

    shutil.copytree(PROTOS, tmp_path / "protos")
    out = tmp_path / "gen"
    out.mkdir()
    files = [str(p.relative_to(tmp_path / "protos")) for p in (tmp_path / "protos").rglob("*.proto")]
    status = protoc.main(["protoc", f"-I{tmp_path / 'protos'}",
                          f"-I{resources.files('grpc_tools') / '_proto'}",
                          f"--python_out={out}", f"--grpc_python_out={out}", *files])
    assert status == 0
    sys.path.insert(0, str(out))
    try:
        yield lambda name: importlib.import_module(f"voxguard.v1.{name}")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "voxguard" or m.startswith("voxguard.")]:
            del sys.modules[name]


def test_story_with_stubs_generated_from_the_protos(server: ServerThread, fresh_stubs) -> None:  # type: ignore[no-untyped-def]
    import grpc

    admin_pb, admin_grpc = fresh_stubs("tenant_admin_pb2"), fresh_stubs("tenant_admin_pb2_grpc")
    consents_pb, consents_grpc = fresh_stubs("consents_pb2"), fresh_stubs("consents_pb2_grpc")
    voices_pb, voices_grpc = fresh_stubs("voices_pb2"), fresh_stubs("voices_pb2_grpc")
    synth_pb, synth_grpc = fresh_stubs("synthesis_pb2"), fresh_stubs("synthesis_pb2_grpc")
    prov_pb, prov_grpc = fresh_stubs("provenance_pb2"), fresh_stubs("provenance_pb2_grpc")
    with grpc.insecure_channel(f"127.0.0.1:{server.running.port}") as channel:
        op = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
        admin = admin_grpc.TenantAdminStub(channel)
        tenant = admin.CreateTenant(admin_pb.CreateTenantRequest(display_name="Fresh Client Inc"), metadata=op)
        key = admin.CreateApiKey(admin_pb.CreateApiKeyRequest(
            tenant_id=tenant.tenant_id,
            scopes=[admin_pb.SCOPE_CONSENT, admin_pb.SCOPE_ENROLL, admin_pb.SCOPE_SYNTHESIZE, admin_pb.SCOPE_DETECT],
        ), metadata=op)
        md = (("authorization", f"Bearer {key.api_key}"),)
        consents = consents_grpc.ConsentsStub(channel)
        consent = consents.StartConsent(consents_pb.StartConsentRequest(
            subject_name="Fresh Speaker", purposes=[consents_pb.PURPOSE_SYNTHESIS]), metadata=md)
        consents.SubmitConsentRecording(consents_pb.SubmitConsentRecordingRequest(
            consent_id=consent.consent_id, audio=fixture_audio("consent_1998.flac")), metadata=md)
        audio = fixture_audio("enrollment_1998.flac")

        def enroll_stream():  # type: ignore[no-untyped-def]
            yield voices_pb.EnrollRequest(metadata=voices_pb.EnrollMetadata(
                consent_id=consent.consent_id, display_name="Fresh voice", language="en"))
            for start in range(0, len(audio), 100_000):
                yield voices_pb.EnrollRequest(audio_chunk=audio[start:start + 100_000])

        voice = voices_grpc.VoicesStub(channel).Enroll(enroll_stream(), metadata=md)
        spoken = synth_grpc.SynthesisStub(channel).Synthesize(synth_pb.SynthesizeRequest(
            voice_id=voice.voice_id, text="A client made from the protos alone can run the whole story. It enrolls, speaks, detects and revokes.",
            audio_format=synth_pb.AUDIO_FORMAT_OGG_OPUS), metadata=md)
        found = prov_grpc.ProvenanceStub(channel).DetectWatermark(
            prov_pb.DetectWatermarkRequest(audio=spoken.audio), metadata=md)
        assert found.detected and found.generation_id == spoken.generation_id
        revoked = consents.RevokeConsent(consents_pb.RevokeConsentRequest(consent_id=consent.consent_id), metadata=md)
        assert list(revoked.deleted_voice_ids) == [voice.voice_id]
        with pytest.raises(grpc.RpcError) as caught:
            synth_grpc.SynthesisStub(channel).Synthesize(synth_pb.SynthesizeRequest(
                voice_id=voice.voice_id, text="Gone."), metadata=md)
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
