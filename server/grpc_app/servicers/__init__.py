"""Thin servicers: protobuf in, one domain call (off the event loop), protobuf out."""

from __future__ import annotations

from server.grpc_app.interceptors import CURRENT_PRINCIPAL


def caller_tenant() -> str:
    """The tenant of the authenticated caller (set by the interceptor)."""
    tenant_id = CURRENT_PRINCIPAL.get().tenant_id
    assert tenant_id is not None, "tenant APIs are reachable only with a tenant API key"
    return tenant_id
