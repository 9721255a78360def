"""Child process of the crash-point tests: start an erasure and die at a chosen point.

``python -m tests.tenants.crash_child DATA_DIR OPERATION POINT TENANT CONSENT VOICE``
opens the platform on DATA_DIR, arranges for the process to be killed (``os._exit``, no
clean-up, like SIGKILL) at POINT, and runs OPERATION. Used by ``test_crash_safe_erasure``.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from server.config import Settings
from server.platform import Platform
from tenants.erasure import Eraser
from tenants.vault import Vault

KILLED = 137


def _die_at(point: str) -> None:
    """Patch the erasure path so the process dies at ``point``."""
    if point == "after-commit":  # committed, nothing of the after-commit work done
        Eraser.apply = lambda self, plan: os._exit(KILLED)  # type: ignore[method-assign]
        return
    calls = {"n": 0}
    limit = {"first-blob": 0, "second-blob": 1}[point]

    def erase(original: Any) -> Any:
        def wrapper(self: Vault, *args: Any) -> int:
            if calls["n"] >= limit:
                os._exit(KILLED)
            calls["n"] += 1
            return original(self, *args)
        return wrapper

    Vault.erase_object = erase(Vault.erase_object)  # type: ignore[method-assign]
    Vault.erase_tenant = erase(Vault.erase_tenant)  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    data_dir, operation, point, tenant_id, consent_id, voice_id = argv
    settings = Settings.load(data_dir=Path(data_dir), admin_token="vxa_crash-test-operator-token-000000",
                             consent_verify_statement=False)
    platform = Platform.open(settings)
    _die_at(point)
    if operation == "revoke":
        platform.consents.revoke(tenant_id, consent_id, "crash test")
    elif operation == "delete-voice":
        platform.voices.delete(tenant_id, voice_id)
    elif operation == "delete-tenant":
        platform.tenants.delete(tenant_id)
    elif operation == "expire":
        with platform.db.transaction() as session:
            from server.db.models import ConsentRow

            row = session.get(ConsentRow, consent_id)
            assert row is not None
            row.expires_at = row.created_at + timedelta(seconds=1)
        platform.consents.expire_due()
    return 0  # reached only when the crash point was never hit


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
