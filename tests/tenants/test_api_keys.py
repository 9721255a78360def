"""API keys: issue, authenticate, refuse tampered, unknown and revoked keys."""

from __future__ import annotations

import pytest

from server.errors import InvalidArgument, NotFound, Unauthenticated
from server.platform import Platform
from tenants.records import Scope


def test_issued_key_authenticates_with_its_scopes(platform: Platform) -> None:
    tenant = platform.tenants.create("Keys")
    issued = platform.api_keys.create(tenant.tenant_id, [Scope.DETECT, Scope.CONSENT], "ci")
    principal = platform.api_keys.authenticate(issued.secret)
    assert principal.tenant_id == tenant.tenant_id and principal.scopes == {Scope.DETECT, Scope.CONSENT}
    assert issued.info.label == "ci" and issued.secret.startswith("vxg_")


def test_tampered_unknown_and_revoked_keys_are_refused(platform: Platform) -> None:
    tenant = platform.tenants.create("Keys")
    issued = platform.api_keys.create(tenant.tenant_id, [Scope.DETECT])
    tampered = issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B")
    for presented in (tampered, "vxg_", "", issued.secret.replace(issued.info.key_id, "key_" + "a" * 20)):
        with pytest.raises(Unauthenticated):
            platform.api_keys.authenticate(presented)
    platform.api_keys.revoke(issued.info.key_id)
    with pytest.raises(Unauthenticated):
        platform.api_keys.authenticate(issued.secret)


def test_key_creation_checks_tenant_and_scopes(platform: Platform) -> None:
    with pytest.raises(NotFound):
        platform.api_keys.create("tenant_missing", [Scope.DETECT])
    tenant = platform.tenants.create("Keys")
    with pytest.raises(InvalidArgument):
        platform.api_keys.create(tenant.tenant_id, [])
