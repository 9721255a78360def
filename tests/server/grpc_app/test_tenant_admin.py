"""TenantAdmin RPCs: success and failure paths."""

from __future__ import annotations

import grpc
import pytest

from server.api.v1 import consents_pb2, tenant_admin_pb2
from tests.server.grpc_app.conftest import Clients, new_tenant


def test_create_get_and_list_tenants_with_pagination(operator: Clients) -> None:
    md = operator.metadata
    created = [operator.admin.CreateTenant(tenant_admin_pb2.CreateTenantRequest(display_name=f"Page {i}"),
                                           metadata=md) for i in range(3)]
    got = operator.admin.GetTenant(tenant_admin_pb2.GetTenantRequest(tenant_id=created[0].tenant_id), metadata=md)
    assert got.display_name == "Page 0" and got.created_at.seconds > 0
    seen: list[str] = []
    token = ""
    while True:
        page = operator.admin.ListTenants(tenant_admin_pb2.ListTenantsRequest(page_size=2, page_token=token),
                                          metadata=md)
        assert len(page.tenants) <= 2
        seen.extend(t.tenant_id for t in page.tenants)
        token = page.next_page_token
        if not token:
            break
    assert {t.tenant_id for t in created} <= set(seen)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_bad_tenant_names_are_invalid(operator: Clients, name: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        operator.admin.CreateTenant(tenant_admin_pb2.CreateTenantRequest(display_name=name), metadata=operator.metadata)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "display_name" in caught.value.details()


def test_unknown_ids_and_bad_page_tokens(operator: Clients) -> None:
    md = operator.metadata
    for call in (
        lambda: operator.admin.GetTenant(tenant_admin_pb2.GetTenantRequest(tenant_id="tenant_nope"), metadata=md),
        lambda: operator.admin.DeleteTenant(tenant_admin_pb2.DeleteTenantRequest(tenant_id="tenant_nope"), metadata=md),
        lambda: operator.admin.CreateApiKey(tenant_admin_pb2.CreateApiKeyRequest(
            tenant_id="tenant_nope", scopes=[tenant_admin_pb2.SCOPE_DETECT]), metadata=md),
        lambda: operator.admin.RevokeApiKey(tenant_admin_pb2.RevokeApiKeyRequest(key_id="key_nope"), metadata=md),
        lambda: operator.admin.ListApiKeys(tenant_admin_pb2.ListApiKeysRequest(tenant_id="tenant_nope"), metadata=md),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        operator.admin.ListTenants(tenant_admin_pb2.ListTenantsRequest(page_token="%%%"), metadata=md)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as caught:
        operator.admin.ListTenants(tenant_admin_pb2.ListTenantsRequest(page_size=5000), metadata=md)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_api_key_needs_a_valid_scope(operator: Clients, tenant: tuple[str, Clients]) -> None:
    tenant_id, _ = tenant
    for scopes in ([], [tenant_admin_pb2.SCOPE_UNSPECIFIED], [99]):
        with pytest.raises(grpc.RpcError) as caught:
            operator.admin.CreateApiKey(tenant_admin_pb2.CreateApiKeyRequest(tenant_id=tenant_id, scopes=scopes),
                                        metadata=operator.metadata)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_key_listing_shows_scopes_never_secrets(operator: Clients) -> None:
    tenant_id, clients = new_tenant(operator, "Listing", [tenant_admin_pb2.SCOPE_DETECT, tenant_admin_pb2.SCOPE_CONSENT])
    listed = operator.admin.ListApiKeys(tenant_admin_pb2.ListApiKeysRequest(tenant_id=tenant_id),
                                        metadata=operator.metadata)
    assert len(listed.api_keys) == 1
    key = listed.api_keys[0]
    assert set(key.scopes) == {tenant_admin_pb2.SCOPE_DETECT, tenant_admin_pb2.SCOPE_CONSENT}
    assert clients.token not in str(listed)


def test_deleting_a_tenant_hides_it_and_disables_its_keys(operator: Clients) -> None:
    tenant_id, clients = new_tenant(operator, "Short lived")
    clients.consents.StartConsent(consents_pb2.StartConsentRequest(
        subject_name="Someone", purposes=[consents_pb2.PURPOSE_SYNTHESIS]), metadata=clients.metadata)
    reply = operator.admin.DeleteTenant(tenant_admin_pb2.DeleteTenantRequest(tenant_id=tenant_id),
                                        metadata=operator.metadata)
    assert reply.tenant_id == tenant_id and reply.receipt.signature
    with pytest.raises(grpc.RpcError) as caught:
        operator.admin.GetTenant(tenant_admin_pb2.GetTenantRequest(tenant_id=tenant_id), metadata=operator.metadata)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        clients.consents.ListConsents(consents_pb2.ListConsentsRequest(), metadata=clients.metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_key_listing_is_paginated(operator: Clients) -> None:
    tenant_id, _ = new_tenant(operator, "Many keys", [tenant_admin_pb2.SCOPE_DETECT])
    for n in range(4):
        operator.admin.CreateApiKey(tenant_admin_pb2.CreateApiKeyRequest(
            tenant_id=tenant_id, scopes=[tenant_admin_pb2.SCOPE_DETECT], label=f"k{n}"),
            metadata=operator.metadata)
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = operator.admin.ListApiKeys(tenant_admin_pb2.ListApiKeysRequest(
            tenant_id=tenant_id, page_size=2, page_token=token), metadata=operator.metadata)
        assert len(page.api_keys) <= 2
        seen += [k.key_id for k in page.api_keys]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 5
