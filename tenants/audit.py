"""The append-only audit trail: every security-relevant event, in a hash chain.

Each event is written inside the same transaction as the change it records, so an
event exists exactly when its change committed. ``verify`` recomputes the chain and
names the first event that was altered, removed, inserted or reordered.

Chaining needs the previous event's hash, so appends are serialised (on PostgreSQL, across
every replica, by an advisory lock). That is fine for rare events (consents, revocations,
whose receipts quote the event's sequence number) but would make every synthesis wait for
one global lock. High-volume events therefore use :meth:`AuditLog.record`: on PostgreSQL it
writes the event to ``audit_pending`` without the lock, and :meth:`AuditLog.chain_pending`
(run by every server a few times a second, and before any direct append, verification or
listing) moves pending events into the chain in batches, one lock per batch. On SQLite,
where writers are serialised anyway, ``record`` appends directly.
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
from server.db.models import AuditEventRow, AuditPendingRow
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
        """Chain one event now, in ``session``'s transaction; returns its sequence number.

        Takes the chain's lock until commit (PostgreSQL): use it for rare events whose
        sequence number is needed at once, :meth:`record` for frequent ones.
        """
        if _is_postgres(session):
            _lock_chain(session)
            _chain_pending_rows(session)  # keep the chain in commit order
        return _chain(session, self._clock(), kind, tenant_id, fields)

    def record(self, session: Session, kind: str, tenant_id: str | None, **fields: Any) -> None:
        """Write one event in ``session``'s transaction without waiting for the chain's lock.

        On PostgreSQL the event is chained shortly after commit (:meth:`chain_pending`),
        with the time it was recorded; on SQLite it is chained at once.
        """
        if not _is_postgres(session):
            self.append(session, kind, tenant_id, **fields)
            return
        session.add(AuditPendingRow(
            created_at=self._clock(), kind=kind, tenant_id=tenant_id,
            fields_json=canonical_json({"fields": fields}).decode(),
        ))

    @staticmethod
    def chain_pending(database: Database) -> int:
        """Move every committed pending event into the chain (one lock); returns how many."""
        if database.dialect != "postgresql":
            return 0
        with database.transaction(write=False) as session:
            if session.execute(select(AuditPendingRow.id).limit(1)).first() is None:
                return 0
        with database.transaction() as session:
            _lock_chain(session)
            return _chain_pending_rows(session)

    @staticmethod
    def verify(database: Database, expected_head: bytes | None = None) -> AuditReport:
        """Recompute the chain from the first event and report the first break.

        ``expected_head`` is a head hash recorded earlier outside the database: the chain
        must still contain it, which catches the one edit the chain alone cannot (removing
        the newest events). Rows stream from the database in batches, so memory stays flat
        however long the chain is.
        """
        AuditLog.chain_pending(database)  # events already committed belong in the check
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
        AuditLog.chain_pending(database)
        with database.transaction(write=False) as session:
            query = select(AuditEventRow).order_by(AuditEventRow.seq)
            if tenant_id is not None:
                query = query.where(AuditEventRow.tenant_id == tenant_id)
            for row in session.execute(query).scalars():
                yield json.loads(row.fields_json)


_VERIFY_BATCH = 500
_CHAIN_BATCH = 1000


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lock_chain(session: Session) -> None:
    """Serialise chain appends across every server until this transaction ends."""
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _POSTGRES_AUDIT_LOCK})


def _chain(session: Session, created_at: datetime, kind: str, tenant_id: str | None,
           fields: dict[str, Any]) -> int:
    """Append one event after the chain's head (the caller holds the lock); its seq."""
    head = session.execute(
        select(AuditEventRow.seq, AuditEventRow.hash).order_by(AuditEventRow.seq.desc()).limit(1)
    ).first()
    previous_seq, previous_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
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


def _chain_pending_rows(session: Session) -> int:
    """Chain the committed pending events in the order they were written (lock held)."""
    moved = 0
    while True:
        rows = session.execute(
            select(AuditPendingRow).order_by(AuditPendingRow.id).limit(_CHAIN_BATCH)
        ).scalars().all()
        for row in rows:
            fields = json.loads(row.fields_json)["fields"]
            _chain(session, row.created_at, row.kind, row.tenant_id, fields)
            session.delete(row)
        session.flush()
        moved += len(rows)
        if len(rows) < _CHAIN_BATCH:
            return moved


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
