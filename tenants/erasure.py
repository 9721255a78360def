"""Permanent deletion of biometric data: voices, consents, whole tenants.

Deletion happens in two steps. Inside the database transaction the wrapped data keys
are destroyed, rows become tombstones, the audit event is appended and the receipt is
signed; once that commits, nothing can open the object's blobs any more (crypto-
shredding). After the commit the blobs are erased and every worker drops the voices
from its cache and stops their jobs. A crash between the two steps leaves only
ciphertext nobody can open; ``Eraser.sweep_orphans`` removes it once it is an hour old
(the server sweeps at start and then periodically).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.crypto.canonical import format_utc, parse_utc
from server.crypto.receipts import ReceiptSigner
from server.db.erasure_channel import announce_erasure
from server.db.models import AuditEventRow, ConsentRow, TenantRow, VoiceRow
from tenants.audit import AuditLog
from tenants.ids import new_id
from tenants.records import ConsentStatus, Receipt, VoiceStatus
from tenants.vault import Vault

log = logging.getLogger(__name__)

VoicesErasedHook = Callable[[list[str]], None]
#: Orphaned blobs younger than this are left alone (see :meth:`Eraser.sweep_orphans`).
ORPHAN_MIN_AGE_SECONDS = 3600.0


@dataclass
class ErasurePlan:
    """What one deletion destroys; filled inside the transaction, applied after commit."""

    tenant_id: str
    voice_ids: list[str] = field(default_factory=list)
    consent_ids: list[str] = field(default_factory=list)
    erase_whole_tenant: bool = False
    #: Keys (``voice:ID``, ``consent:ID``) that an earlier deletion had already destroyed.
    already_destroyed: list[str] = field(default_factory=list)

    def key_destroyed(self, name: str, wrapped_key: bytes | None) -> None:
        """Note whether this deletion destroys ``name``'s key or found it gone already."""
        if wrapped_key is None:
            self.already_destroyed.append(name)


class Eraser:
    """Destroys keys and blobs of voices, consents and tenants, with signed receipts."""

    def __init__(self, vault: Vault, audit: AuditLog, signer: ReceiptSigner,
                 clock: Callable[[], datetime],
                 discard_freed_pages: Callable[[], None] = lambda: None) -> None:
        self._vault = vault
        self._discard_freed_pages = discard_freed_pages
        self._audit = audit
        self._signer = signer
        self._clock = clock
        self._hooks: list[VoicesErasedHook] = []

    def on_voices_erased(self, hook: VoicesErasedHook) -> None:
        """Register a callback run after commit with the erased voice ids (worker eviction)."""
        self._hooks.append(hook)

    def destroy_voices(self, session: Session, plan: ErasurePlan, voices: Iterable[VoiceRow]) -> None:
        """Destroy the keys of these voices and make their rows tombstones."""
        now = self._clock()
        for voice in voices:
            if voice.status != VoiceStatus.DELETED.value:
                voice.status = VoiceStatus.DELETED.value
                voice.deleted_at = now
            plan.key_destroyed(f"voice:{voice.id}", voice.wrapped_key)
            voice.wrapped_key = None
            voice.model_blob = None
            plan.voice_ids.append(voice.id)

    def destroy_consent(self, session: Session, plan: ErasurePlan, consent: ConsentRow,
                        reason: str, *, expired: bool = False) -> None:
        """Destroy a consent's key, recording and embedding, and every voice under it.

        The consent ends ``REVOKED`` with ``reason``, or ``EXPIRED`` when its term ran out.
        """
        voices = session.execute(select(VoiceRow).where(VoiceRow.consent_id == consent.id)).scalars()
        self.destroy_voices(session, plan, voices)
        if expired:
            consent.status = ConsentStatus.EXPIRED.value
        elif consent.status != ConsentStatus.REVOKED.value:
            consent.status = ConsentStatus.REVOKED.value
            consent.revoked_at = self._clock()
            consent.revocation_reason = reason
        plan.key_destroyed(f"consent:{consent.id}", consent.wrapped_key)
        consent.wrapped_key = None
        consent.recording_blob = None
        consent.sealed_embedding = None
        plan.consent_ids.append(consent.id)

    def destroy_tenant(self, session: Session, plan: ErasurePlan, tenant: TenantRow) -> None:
        """Destroy every consent and voice of a tenant, then the tenant key itself."""
        consents = session.execute(select(ConsentRow).where(ConsentRow.tenant_id == tenant.id)).scalars()
        for consent in consents:
            self.destroy_consent(session, plan, consent, "tenant deleted")
        tenant.wrapped_key = None
        tenant.deleted_at = self._clock()
        plan.erase_whole_tenant = True

    def seal(self, session: Session, plan: ErasurePlan, action: str) -> Receipt:
        """Append the audit event and sign the receipt (still inside the transaction)."""
        receipt_id = new_id("rcpt")
        issued_at = self._clock()
        fields = {
            "receipt_id": receipt_id,
            "action": action,
            "issued_at": format_utc(issued_at),
            "voice_ids": sorted(plan.voice_ids),
            "consent_ids": sorted(plan.consent_ids),
            "destroyed_keys": sorted(
                ({f"voice:{v}" for v in plan.voice_ids} | {f"consent:{c}" for c in plan.consent_ids}
                 | ({"tenant"} if plan.erase_whole_tenant else set()))
                - set(plan.already_destroyed)
            ),
            "already_destroyed_keys": sorted(plan.already_destroyed),
            "erased_blob_prefixes": (
                [f"tenants/{plan.tenant_id}/"] if plan.erase_whole_tenant
                else sorted(f"tenants/{plan.tenant_id}/objects/{o}/" for o in [*plan.voice_ids, *plan.consent_ids])
            ),
        }
        audit_seq = self._audit.append(session, action, plan.tenant_id, **fields)
        # Other replicas on the same PostgreSQL stop the voices' jobs when this commits.
        announce_erasure(session, plan.voice_ids)
        signed = self._signer.sign({**fields, "tenant_id": plan.tenant_id, "audit_seq": audit_seq},
                                   issued_at=issued_at)
        return Receipt(receipt_id=receipt_id, payload_json=signed.payload,
                       signature=signed.signature, signing_key_id=signed.key_id)

    def original_receipt(self, session: Session, action: str, tenant_id: str,
                         consent_id: str) -> Receipt | None:
        """The receipt first issued for ``action`` on this consent, signed again unchanged.

        Deterministic signing over the recorded fields and time reproduces it byte for byte
        (while the signing key is the same). None for events recorded before receipts
        carried their time, and after a signing-key rotation.
        """
        rows = session.execute(
            select(AuditEventRow).where(AuditEventRow.kind == action,
                                        AuditEventRow.tenant_id == tenant_id)
            .order_by(AuditEventRow.seq)
        ).scalars()
        for row in rows:
            fields = json.loads(row.fields_json).get("fields", {})
            if consent_id not in fields.get("consent_ids", ()) or "issued_at" not in fields:
                continue
            signed = self._signer.sign({**fields, "tenant_id": tenant_id, "audit_seq": row.seq},
                                       issued_at=parse_utc(fields["issued_at"]))
            return Receipt(receipt_id=fields["receipt_id"], payload_json=signed.payload,
                           signature=signed.signature, signing_key_id=signed.key_id)
        return None

    def apply(self, plan: ErasurePlan) -> None:
        """After commit: purge the database's freed pages, erase the blobs, evict the voices."""
        try:
            self._discard_freed_pages()
        except Exception:
            log.exception("could not purge freed database pages after an erasure in tenant %s",
                          plan.tenant_id)
        try:
            if plan.erase_whole_tenant:
                self._vault.erase_tenant(plan.tenant_id)
            else:
                for object_id in [*plan.voice_ids, *plan.consent_ids]:
                    self._vault.erase_object(plan.tenant_id, object_id)
        except OSError:
            log.exception("blob erasure failed for tenant %s; keys are already destroyed", plan.tenant_id)
        if plan.voice_ids:
            for hook in self._hooks:
                hook(list(plan.voice_ids))

    def sweep_orphans(self, session: Session, *, min_age_seconds: float = ORPHAN_MIN_AGE_SECONDS,
                      now: Callable[[], float] = time.time) -> int:
        """Erase blobs whose object no longer has a key (interrupted deletions).

        Blobs of objects (and tenants) whose destruction is recorded go at once, whatever
        their age: they are what a crash between an erasure's commit and its blob step
        leaves behind. Blobs of objects the database does not know go only when older than
        ``min_age_seconds``: a blob is written just before the transaction that records
        its key commits, so a younger one may belong to an enrollment still running in
        another server on the same database.
        """
        cutoff = now() - min_age_seconds
        live: set[str] = set()
        destroyed: set[str] = set()
        for model in (VoiceRow, ConsentRow):
            for object_id, key in session.execute(select(model.id, model.wrapped_key)):
                (live if key is not None else destroyed).add(object_id)
        deleted_tenants = {
            tenant_id for tenant_id, in session.execute(
                select(TenantRow.id).where(TenantRow.wrapped_key.is_(None)))
        }
        removed = 0
        for name in list(self._vault.blobs.iter_keys("tenants")):
            parts = name.split("/")
            if len(parts) < 2:
                continue
            pending = parts[1] in deleted_tenants or (
                len(parts) >= 4 and parts[2] == "objects" and parts[3] in destroyed)
            unknown = (len(parts) >= 4 and parts[2] == "objects" and parts[3] not in live
                       and parts[3] not in destroyed)
            if pending or (unknown and self._vault.blobs.modified_at(name) < cutoff):
                removed += int(self._vault.blobs.delete(name))
        return removed
