"""API keys: issuing, authenticating and revoking tenant credentials.

A key looks like ``vxg_<key id>_<secret>``: the recognizable prefix lets secret scanners
find leaked keys, the key id finds the row without scanning, and the 256-bit secret is
stored only as HMAC-SHA256 under a server-wide hashing key (itself wrapped by the master
key), so a copy of the database alone cannot be used to test guesses. Comparison is
constant-time, and an unknown key id costs the same work as a known one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import ApiKeyRow, TenantRow
from server.db.session import Database
from server.errors import InvalidArgument, NotFound, Unauthenticated
from tenants.audit import AuditLog
from tenants.ids import new_id
from tenants.pagination import PageTokens, paginate
from tenants.records import ApiKey, IssuedApiKey, Page, Principal, Scope

KEY_PREFIX = "vxg_"
_KEY_ID_PREFIX = "key"
_KEY_ID_LENGTH = len(_KEY_ID_PREFIX) + 1 + 20
_BAD_KEY = "the API key is not valid; send `authorization: Bearer vxg_...` with an active key"


class ApiKeyService:
    """Issues and checks tenant API keys."""

    def __init__(self, db: Database, hashing_key: bytes, audit: AuditLog,
                 clock: Callable[[], datetime], *, page_tokens: PageTokens | None = None) -> None:
        if len(hashing_key) < 32:
            raise ValueError("the API-key hashing key must be at least 32 bytes")
        self._db = db
        self._hashing_key = hashing_key
        self._audit = audit
        self._clock = clock
        self._page_tokens = page_tokens or PageTokens.ephemeral()

    def create(self, tenant_id: str, scopes: Iterable[Scope], label: str = "") -> IssuedApiKey:
        """Create a key for a live tenant; the secret is in the result and nowhere else."""
        scope_set = tuple(sorted(set(scopes), key=lambda s: s.value))
        if not scope_set:
            raise InvalidArgument("give at least one scope (consent, enroll, synthesize, detect)",
                                  field="scopes")
        if len(label) > 100:
            raise InvalidArgument("label must be at most 100 characters", field="label")
        with self._db.transaction() as session:
            return self._create(session, tenant_id, scope_set, label)

    def _create(self, session: Session, tenant_id: str, scope_set: tuple[Scope, ...],
                label: str) -> IssuedApiKey:
        _live_tenant(session, tenant_id)
        key_id = new_id(_KEY_ID_PREFIX)
        secret = secrets.token_urlsafe(32)
        row = ApiKeyRow(
            id=key_id,
            tenant_id=tenant_id,
            secret_hash=self._hash(key_id, secret),
            scopes=",".join(s.value for s in scope_set),
            label=label,
            created_at=self._clock(),
        )
        session.add(row)
        self._audit.append(session, "api_key.created", tenant_id, key_id=key_id,
                           scopes=[s.value for s in scope_set])
        return IssuedApiKey(info=to_api_key(row), secret=f"{KEY_PREFIX}{key_id}_{secret}")

    def authenticate(self, presented: str) -> Principal:
        """Resolve a presented key to its principal, or raise UNAUTHENTICATED."""
        with self._db.transaction(write=False) as session:
            return self._authenticate(session, presented)

    def _authenticate(self, session: Session, presented: str) -> Principal:
        key_id, secret = _split(presented)
        row = session.get(ApiKeyRow, key_id) if key_id else None
        expected = row.secret_hash if row is not None else b"\0" * 32
        valid = hmac.compare_digest(self._hash(key_id or "", secret or ""), expected)
        if row is None or not valid or row.revoked_at is not None:
            raise Unauthenticated(_BAD_KEY)
        tenant = session.get(TenantRow, row.tenant_id)
        if tenant is None or tenant.deleted_at is not None:
            raise Unauthenticated(_BAD_KEY)
        scopes = frozenset(Scope(value) for value in row.scopes.split(",") if value)
        return Principal(tenant_id=row.tenant_id, key_id=row.id, scopes=scopes)

    def list(self, tenant_id: str, page_size: int = 0, page_token: str = "") -> Page[ApiKey]:
        """One page of a tenant's keys, newest first (revoked ones included)."""
        with self._db.transaction(write=False) as session:
            _live_tenant(session, tenant_id)
        query = select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant_id)
        return paginate(self._db, self._page_tokens, query, ApiKeyRow, page_size, page_token,
                        to_api_key)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (idempotent); NOT_FOUND for unknown ids."""
        with self._db.transaction() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound(f"API key {key_id!r} not found")
            if row.revoked_at is None:
                row.revoked_at = self._clock()
                self._audit.append(session, "api_key.revoked", row.tenant_id, key_id=key_id)
            return to_api_key(row)

    def _hash(self, key_id: str, secret: str) -> bytes:
        message = key_id.encode() + b"\0" + secret.encode()
        return hmac.new(self._hashing_key, message, hashlib.sha256).digest()


def _split(presented: str) -> tuple[str | None, str | None]:
    """``vxg_<key id>_<secret>`` into its parts; the key id has a fixed length."""
    body = presented[len(KEY_PREFIX):] if presented.startswith(KEY_PREFIX) else ""
    key_id, separator, secret = body[:_KEY_ID_LENGTH], body[_KEY_ID_LENGTH:_KEY_ID_LENGTH + 1], body[_KEY_ID_LENGTH + 1:]
    if separator != "_" or not key_id.startswith(_KEY_ID_PREFIX + "_") or len(secret) < 20:
        return None, None
    return key_id, secret


def _live_tenant(session: Session, tenant_id: str) -> TenantRow:
    tenant = session.get(TenantRow, tenant_id)
    if tenant is None or tenant.deleted_at is not None:
        raise NotFound(f"tenant {tenant_id!r} not found")
    return tenant


def to_api_key(row: ApiKeyRow) -> ApiKey:
    """The public record of a key row."""
    return ApiKey(
        key_id=row.id,
        tenant_id=row.tenant_id,
        scopes=tuple(Scope(value) for value in row.scopes.split(",") if value),
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
