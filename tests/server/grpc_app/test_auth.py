"""Authentication, scopes and rate limits on every service."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.api.v1 import consents_pb2, provenance_pb2, synthesis_pb2, tenant_admin_pb2, voices_pb2
from tests.server.grpc_app.conftest import Clients, new_tenant


def _code(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


def test_health_and_reflection_need_no_credential(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    assert stub.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    reply = stub.Check(health_pb2.HealthCheckRequest(service="voxguard.v1.Synthesis"))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer nope"),),
                                      (("authorization", "vxg_missing_bearer_word"),),
                                      (("authorization", "Bearer vxg_key_aaaaaaaaaaaaaaaaaaaa_" + "x" * 43),)])
def test_missing_or_bad_credentials_are_unauthenticated(channel: grpc.Channel, metadata: tuple) -> None:
    stub = Clients(channel, "").consents
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListConsents(consents_pb2.ListConsentsRequest(), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in caught.value.details()


def test_missing_scope_is_permission_denied(operator: Clients) -> None:
    _, detect_only = new_tenant(operator, "Detect only", [tenant_admin_pb2.SCOPE_DETECT])
    md = detect_only.metadata
    calls = [
        lambda: detect_only.consents.ListConsents(consents_pb2.ListConsentsRequest(), metadata=md),
        lambda: detect_only.voices.ListVoices(voices_pb2.ListVoicesRequest(), metadata=md),
        lambda: detect_only.synthesis.Synthesize(synthesis_pb2.SynthesizeRequest(voice_id="v", text="hi"), metadata=md),
    ]
    for call in calls:
        assert _code(call) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as caught:
        detect_only.provenance.GetGeneration(provenance_pb2.GetGenerationRequest(generation_id="00" * 8), metadata=md)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_tenant_keys_cannot_administer_and_the_operator_cannot_act_as_a_tenant(
    operator: Clients, tenant: tuple[str, Clients]
) -> None:
    _, clients = tenant
    assert _code(lambda: clients.admin.ListTenants(tenant_admin_pb2.ListTenantsRequest(),
                                                    metadata=clients.metadata)) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: operator.consents.ListConsents(consents_pb2.ListConsentsRequest(),
                                                         metadata=operator.metadata)) == grpc.StatusCode.PERMISSION_DENIED


def test_revoked_key_stops_working_at_once(operator: Clients, tenant: tuple[str, Clients]) -> None:
    tenant_id, clients = tenant
    clients.consents.ListConsents(consents_pb2.ListConsentsRequest(), metadata=clients.metadata)
    keys = operator.admin.ListApiKeys(tenant_admin_pb2.ListApiKeysRequest(tenant_id=tenant_id),
                                      metadata=operator.metadata)
    for key in keys.api_keys:
        operator.admin.RevokeApiKey(tenant_admin_pb2.RevokeApiKeyRequest(key_id=key.key_id),
                                    metadata=operator.metadata)
    assert _code(lambda: clients.consents.ListConsents(consents_pb2.ListConsentsRequest(),
                                                        metadata=clients.metadata)) == grpc.StatusCode.UNAUTHENTICATED


def test_api_keys_have_a_prefix_and_are_stored_only_as_hashes(operator: Clients, server) -> None:  # type: ignore[no-untyped-def]
    tenant_id, clients = new_tenant(operator, "Hash check")
    assert clients.token.startswith("vxg_") and len(clients.token) > 60
    from server.db.models import ApiKeyRow

    with server.running.platform.db.transaction(write=False) as session:
        rows = session.query(ApiKeyRow).filter_by(tenant_id=tenant_id).all()
        assert rows and all(clients.token.split("_")[-1].encode() not in row.secret_hash for row in rows)
        assert all(len(row.secret_hash) == 32 for row in rows)
