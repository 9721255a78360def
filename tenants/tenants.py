"""Tenants: creation with their own key, listing, and deletion of everything they hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import TenantRow
from server.db.session import Database
from server.errors import InvalidArgument, NotFound
from tenants.audit import AuditLog
from tenants.erasure import Eraser, ErasurePlan
from tenants.ids import new_id
from tenants.pagination import PageTokens, paginate
from tenants.records import Deletion, Page, Tenant
from tenants.vault import Vault


class TenantService:
    """Operator-side management of tenants."""

    def __init__(self, db: Database, vault: Vault, audit: AuditLog, eraser: Eraser,
                 clock: Callable[[], datetime], *, page_tokens: PageTokens | None = None) -> None:
        self._db = db
        self._page_tokens = page_tokens or PageTokens.ephemeral()
        self._vault = vault
        self._audit = audit
        self._eraser = eraser
        self._clock = clock

    def create(self, display_name: str) -> Tenant:
        """Create a tenant and its wrapped tenant key."""
        name = display_name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidArgument("display_name must be 1-100 characters", field="display_name")
        tenant_id = new_id("tenant")
        row = TenantRow(id=tenant_id, display_name=name, created_at=self._clock(),
                        wrapped_key=self._vault.new_tenant_key(tenant_id))
        with self._db.transaction() as session:
            session.add(row)
            self._audit.append(session, "tenant.created", tenant_id, display_name=name)
        return to_tenant(row)

    def get(self, tenant_id: str) -> Tenant:
        """One live tenant; NOT_FOUND for unknown or deleted ones."""
        with self._db.transaction(write=False) as session:
            return to_tenant(live_tenant(session, tenant_id))

    def list(self, page_size: int, page_token: str) -> Page[Tenant]:
        """Live tenants, oldest first."""
        query = select(TenantRow).where(TenantRow.deleted_at.is_(None))
        return paginate(self._db, self._page_tokens, query, TenantRow, page_size, page_token, to_tenant,
                        newest_first=False)

    def delete(self, tenant_id: str) -> Deletion:
        """Destroy every key and blob of the tenant and revoke its API keys."""
        with self._db.transaction() as session:
            tenant = live_tenant(session, tenant_id)
            plan = ErasurePlan(tenant_id=tenant_id)
            self._eraser.destroy_tenant(session, plan, tenant)
            receipt = self._eraser.seal(session, plan, "tenant.deleted")
        self._eraser.apply(plan)
        return Deletion(voice_ids=tuple(plan.voice_ids), consent_ids=tuple(plan.consent_ids),
                        receipt=receipt)


def live_tenant(session: Session, tenant_id: str) -> TenantRow:
    """The live tenant row, or NOT_FOUND."""
    row = session.get(TenantRow, tenant_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"tenant {tenant_id!r} not found")
    return row


def to_tenant(row: TenantRow) -> Tenant:
    """The public record of a tenant row."""
    return Tenant(tenant_id=row.id, display_name=row.display_name, created_at=row.created_at)
