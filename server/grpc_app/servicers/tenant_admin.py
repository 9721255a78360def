"""TenantAdmin: operator-only tenant and API-key management."""

from __future__ import annotations

from asyncio import to_thread

import grpc

from server.api.v1 import tenant_admin_pb2 as pb
from server.api.v1 import tenant_admin_pb2_grpc
from server.grpc_app import convert
from server.platform import Platform


class TenantAdminServicer(tenant_admin_pb2_grpc.TenantAdminServicer):
    """Maps TenantAdmin RPCs onto the tenant and API-key services."""

    def __init__(self, platform: Platform) -> None:
        self._p = platform

    async def CreateTenant(self, request: pb.CreateTenantRequest, context: grpc.aio.ServicerContext) -> pb.Tenant:
        return convert.tenant_to_proto(await to_thread(self._p.tenants.create, request.display_name))

    async def GetTenant(self, request: pb.GetTenantRequest, context: grpc.aio.ServicerContext) -> pb.Tenant:
        return convert.tenant_to_proto(await to_thread(self._p.tenants.get, request.tenant_id))

    async def ListTenants(self, request: pb.ListTenantsRequest,
                          context: grpc.aio.ServicerContext) -> pb.ListTenantsResponse:
        page = await to_thread(self._p.tenants.list, request.page_size, request.page_token)
        return pb.ListTenantsResponse(tenants=[convert.tenant_to_proto(t) for t in page.items],
                                      next_page_token=page.next_page_token)

    async def DeleteTenant(self, request: pb.DeleteTenantRequest,
                           context: grpc.aio.ServicerContext) -> pb.DeleteTenantResponse:
        deletion = await to_thread(self._p.tenants.delete, request.tenant_id)
        return pb.DeleteTenantResponse(tenant_id=request.tenant_id,
                                       deleted_voice_ids=list(deletion.voice_ids),
                                       receipt=convert.receipt_to_proto(deletion.receipt))

    async def CreateApiKey(self, request: pb.CreateApiKeyRequest,
                           context: grpc.aio.ServicerContext) -> pb.CreateApiKeyResponse:
        scopes = convert.scopes_from_proto(list(request.scopes))
        issued = await to_thread(self._p.api_keys.create, request.tenant_id, scopes, request.label)
        info = convert.api_key_to_proto(issued.info)
        return pb.CreateApiKeyResponse(key_id=info.key_id, api_key=issued.secret,
                                       scopes=info.scopes, created_at=info.created_at)

    async def ListApiKeys(self, request: pb.ListApiKeysRequest,
                          context: grpc.aio.ServicerContext) -> pb.ListApiKeysResponse:
        page = await to_thread(self._p.api_keys.list, request.tenant_id, request.page_size,
                               request.page_token)
        return pb.ListApiKeysResponse(api_keys=[convert.api_key_to_proto(k) for k in page.items],
                                      next_page_token=page.next_page_token)

    async def RevokeApiKey(self, request: pb.RevokeApiKeyRequest,
                           context: grpc.aio.ServicerContext) -> pb.RevokeApiKeyResponse:
        key = await to_thread(self._p.api_keys.revoke, request.key_id)
        return pb.RevokeApiKeyResponse(api_key=convert.api_key_to_proto(key))
