"""Master key rotation over a whole deployment: keyring file, tenant keys, server secrets.

Only the master key wraps what the database holds directly (tenant keys and server-wide
secrets such as the API-key hashing key), so a rotation rewraps one small token per row;
object keys and blobs are untouched. The order makes every crash recoverable:

1. the rotated keyring (new primary + old keys) is saved: everything still opens;
2. every row is rewrapped under the new primary in ONE transaction: all or nothing;
3. only when no row needs the old keys any more are they retired and the file saved.

A crash after 1 or 2 leaves a keyring that still holds the old keys; running the rotation
again finishes the job (it rewraps whatever is left and retires every non-primary key).
Run it while the server is stopped: a running server holds the old keyring in memory.
``voxguard admin rotate-master-key`` enforces that for servers on the same data directory
(``server.storage.lock``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from server.core import server_secret_aad
from server.crypto.envelope import KeyHierarchy
from server.crypto.master import MasterKeyring
from server.db.models import ServerSecretRow, TenantRow
from server.db.session import Database


@dataclass(frozen=True)
class RewrapCounts:
    """How many stored tokens were rewrapped under the primary master key."""

    tenant_keys: int
    server_secrets: int


@dataclass(frozen=True)
class RotationResult:
    """What a rotation did (key ids only; no secrets)."""

    new_primary: str
    retired: tuple[str, ...]
    rewrapped: RewrapCounts


class RotationIncomplete(RuntimeError):
    """Rows still need a retired-to-be key; the old keys were kept (run it again)."""


def rewrap_all(db: Database, master: MasterKeyring) -> RewrapCounts:
    """Rewrap every tenant key and server secret not under ``master``'s primary, atomically."""
    keys = KeyHierarchy(master)
    tenant_keys = secrets_ = 0
    with db.transaction() as session:
        for tenant in session.execute(select(TenantRow).where(TenantRow.wrapped_key.is_not(None))).scalars():
            assert tenant.wrapped_key is not None
            if keys.tenant_key_needs_rewrap(tenant.wrapped_key):
                tenant.wrapped_key = keys.rewrap_tenant_key(tenant.id, tenant.wrapped_key)
                tenant_keys += 1
        for secret in session.execute(select(ServerSecretRow)).scalars():
            if master.needs_rewrap(secret.wrapped_value):
                secret.wrapped_value = master.rewrap(secret.wrapped_value, server_secret_aad(secret.name))
                secrets_ += 1
    return RewrapCounts(tenant_keys=tenant_keys, server_secrets=secrets_)


def rows_needing_rewrap(db: Database, master: MasterKeyring) -> int:
    """How many stored tokens are still wrapped under a non-primary master key."""
    with db.transaction(write=False) as session:
        wrapped = [w for w, in session.execute(select(TenantRow.wrapped_key)) if w is not None]
        wrapped += [w for w, in session.execute(select(ServerSecretRow.wrapped_value))]
    return sum(1 for token in wrapped if master.needs_rewrap(token))


def rotate_key_file(path: Path, db: Database) -> RotationResult:
    """Rotate the keyring file at ``path``, rewrap the database, then retire the old keys."""
    rotated = MasterKeyring.load(path).rotate()
    rotated.save(path)
    counts = rewrap_all(db, rotated)
    if rows_needing_rewrap(db, rotated):
        raise RotationIncomplete(
            "some keys were wrapped under an old master key after the rewrap (is a server "
            "running?); the old keys were kept. Stop every server and run the rotation again"
        )
    retired = rotated.key_ids[1:]
    final = rotated
    for key_id in retired:
        final = final.retire(key_id)
    final.save(path)
    return RotationResult(new_primary=final.primary_key_id, retired=retired, rewrapped=counts)
