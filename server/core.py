"""The engine-free core of the platform: database, keys, vault, audit, tenants, API keys.

Operator commands (``voxguard admin``) need exactly this and nothing that loads speech
models or the synthesis engine, so it is opened on its own in well under a second.
:class:`~server.platform.Platform` builds the speech and synthesis services on top of it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from server.config import Settings
from server.crypto.aead import AssociatedData, associated_data
from server.crypto.envelope import KeyHierarchy
from server.crypto.master import MasterKeyring
from server.crypto.receipts import ReceiptSigner
from server.db.migrate import upgrade
from server.db.models import ServerSecretRow
from server.db.session import Database
from server.storage.blobs import LocalBlobStore
from server.storage.files import make_private_dirs
from tenants.api_keys import ApiKeyService
from tenants.audit import AuditLog
from tenants.erasure import Eraser
from tenants.pagination import PageTokens
from tenants.tenants import TenantService
from tenants.vault import Vault

API_KEY_HASHING_SECRET = "api-key-hashing"
PAGE_TOKEN_SECRET = "page-tokens"
RECEIPT_KEY_FILE = "receipts.key"


def utc_now() -> datetime:
    """The platform clock."""
    return datetime.now(UTC)


@dataclass
class Core:
    """Storage, keys and the tenant/API-key services of one data directory."""

    settings: Settings
    db: Database
    master: MasterKeyring
    keys: KeyHierarchy
    vault: Vault
    audit: AuditLog
    signer: ReceiptSigner
    eraser: Eraser
    tenants: TenantService
    api_keys: ApiKeyService
    page_tokens: PageTokens

    @classmethod
    def open(cls, settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Core:
        """Create the data directory, upgrade the schema, load (or create) the key files."""
        make_private_dirs(settings.data_dir)
        db = Database(settings.resolved_database_url)
        upgrade(db.engine)
        master = load_master_keyring(settings)
        keys = KeyHierarchy(master)
        vault = Vault(keys, LocalBlobStore(settings.blob_dir))
        audit = AuditLog(clock)
        signer = ReceiptSigner.load_or_create(settings.data_dir / RECEIPT_KEY_FILE, clock=clock)
        eraser = Eraser(vault, audit, signer, clock, db.discard_freed_pages)
        page_tokens = PageTokens(server_secret(db, master, PAGE_TOKEN_SECRET, clock))
        return cls(
            settings=settings, db=db, master=master, keys=keys, vault=vault, audit=audit,
            signer=signer, eraser=eraser,
            tenants=TenantService(db, vault, audit, eraser, clock, page_tokens=page_tokens),
            page_tokens=page_tokens,
            api_keys=ApiKeyService(db, server_secret(db, master, API_KEY_HASHING_SECRET, clock),
                                   audit, clock, page_tokens=page_tokens),
        )

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()


def load_master_keyring(settings: Settings) -> MasterKeyring:
    """The operator's master keys if given, else the key file (created on first start)."""
    if settings.master_key is not None:
        return MasterKeyring.from_operator_key(settings.master_key.get_secret_value())
    return MasterKeyring.load_or_create(settings.resolved_master_key_file)


def server_secret(db: Database, master: MasterKeyring, name: str,
                  clock: Callable[[], datetime]) -> bytes:
    """A 32-byte server-wide secret kept in the database, wrapped by the master key."""
    aad = server_secret_aad(name)
    with db.transaction() as session:
        row = session.get(ServerSecretRow, name)
        if row is None:
            value = secrets.token_bytes(32)
            session.add(ServerSecretRow(name=name, wrapped_value=master.wrap(value, aad),
                                        created_at=clock()))
            return value
        return master.unwrap(row.wrapped_value, aad)


def server_secret_aad(name: str) -> AssociatedData:
    """The associated data binding a wrapped server secret to its name (for rewrapping)."""
    return associated_data("voxguard/server-secret", name=name)
