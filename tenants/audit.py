"""The append-only audit trail: every security-relevant event, in a hash chain.

Each event is appended inside the same transaction as the change it records, so an
event exists exactly when its change committed. ``verify`` recomputes the chain and
names the first event that was altered, removed, inserted or reordered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.crypto.canonical import canonical_json
from server.crypto.chain import GENESIS_HASH, ChainEvent, chain_hash, verify_chain
from server.db.models import AuditEventRow
from server.db.session import Database

_POSTGRES_AUDIT_LOCK = 0x766F78  # advisory lock id serialising appends across servers


@dataclass(frozen=True)
class AuditReport:
    """Result of verifying the whole chain."""

    ok: bool
    events: int
    head_hash: str
    broken_seq: int | None
    reason: str | None


class AuditLog:
    """Appends events to, and verifies, the audit hash chain."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock

    def append(self, session: Session, kind: str, tenant_id: str | None, **fields: Any) -> int:
        """Append one event in ``session``'s transaction; returns its sequence number."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _POSTGRES_AUDIT_LOCK})
        head = session.execute(
            select(AuditEventRow.seq, AuditEventRow.hash).order_by(AuditEventRow.seq.desc()).limit(1)
        ).first()
        previous_seq, previous_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
        created_at = self._clock()
        event = {
            "seq": previous_seq + 1,
            "at": created_at.isoformat(),
            "kind": kind,
            "tenant_id": tenant_id,
            "fields": fields,
        }
        row = AuditEventRow(
            seq=previous_seq + 1,
            created_at=created_at,
            kind=kind,
            tenant_id=tenant_id,
            fields_json=canonical_json(event).decode(),
            prev_hash=previous_hash,
            hash=chain_hash(previous_hash, event),
        )
        session.add(row)
        session.flush()
        return row.seq

    @staticmethod
    def verify(database: Database, expected_head: bytes | None = None) -> AuditReport:
        """Recompute the chain from the first event and report the first break.

        ``expected_head`` is a head hash recorded earlier outside the database: the chain
        must still contain it, which catches the one edit the chain alone cannot (removing
        the newest events). Rows stream from the database in batches, so memory stays flat
        however long the chain is.
        """
        scan = _ChainScan(expected_head)
        with database.transaction(write=False) as session:
            rows = session.execute(
                select(AuditEventRow).order_by(AuditEventRow.seq)
                .execution_options(yield_per=_VERIFY_BATCH)
            ).scalars()
            result = verify_chain(scan.events(rows))
        if not result.ok:
            # verify_chain stops at the first event that does not fit: the last one read.
            return AuditReport(False, result.checked, result.head.hex(), scan.last_seq,
                               result.reason)
        if scan.gap is not None:
            return AuditReport(False, scan.count, result.head.hex(), scan.gap,
                               "sequence numbers are not contiguous: an event was removed")
        if expected_head is not None and not scan.head_found:
            return AuditReport(False, scan.count, result.head.hex(), None,
                               f"the recorded head {expected_head.hex()} is not in the chain: "
                               "events up to it were removed or rewritten")
        return AuditReport(True, result.checked, result.head.hex(), None, result.reason)

    @staticmethod
    def events(database: Database, tenant_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Every event (optionally one tenant's) as its decoded JSON fields, in order."""
        with database.transaction(write=False) as session:
            query = select(AuditEventRow).order_by(AuditEventRow.seq)
            if tenant_id is not None:
                query = query.where(AuditEventRow.tenant_id == tenant_id)
            for row in session.execute(query).scalars():
                yield json.loads(row.fields_json)


_VERIFY_BATCH = 500


class _ChainScan:
    """What ``verify`` learns while rows stream past: sequence gaps, the head, the last row."""

    def __init__(self, expected_head: bytes | None) -> None:
        self.expected_head = expected_head
        self.count = 0
        self.last_seq: int | None = None
        self.gap: int | None = None
        self.head_found = False

    def events(self, rows: Iterable[AuditEventRow]) -> Iterator[ChainEvent]:
        """The rows as chain events, noting what the chain check alone does not see."""
        for row in rows:
            self.count += 1
            self.last_seq = row.seq
            if self.gap is None and row.seq != self.count:
                self.gap = row.seq
            if self.expected_head is not None and bytes(row.hash) == self.expected_head:
                self.head_found = True
            try:
                fields = json.loads(row.fields_json)
            except json.JSONDecodeError:
                fields = {"unreadable": row.fields_json}
            if (fields.get("seq"), fields.get("kind"), fields.get("tenant_id")) != (
                    row.seq, row.kind, row.tenant_id):
                fields = {**fields, "row_mismatch": True}
            yield ChainEvent(fields=fields, hash=row.hash, previous_hash=row.prev_hash)
