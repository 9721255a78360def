"""Synthesis events do not wait for the audit chain's global lock (PostgreSQL).

``AuditLog.record`` writes a high-volume event in its own transaction without the chain's
advisory lock; ``chain_pending`` later chains every committed one, in order, under one lock.
Before this, every synthesis took the lock (``append``) and all replicas queued behind it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text

from server.db.migrate import upgrade
from server.db.models import AuditEventRow, AuditPendingRow
from server.db.session import Database
from tenants.audit import _POSTGRES_AUDIT_LOCK, AuditLog

pytestmark = pytest.mark.postgres


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url)
    upgrade(db.engine)
    yield db
    db.dispose()


@pytest.fixture
def audit() -> AuditLog:
    return AuditLog(lambda: datetime(2026, 12, 3, 12, 0, tzinfo=UTC))


class HeldChainLock:
    """Another server holding the chain's lock in an open transaction."""

    def __init__(self, url: str) -> None:
        self._engine = create_engine(url)
        self._connection = self._engine.connect()
        self._transaction = self._connection.begin()
        self._connection.execute(text("SELECT pg_advisory_xact_lock(:id)"),
                                 {"id": _POSTGRES_AUDIT_LOCK})

    def release(self) -> None:
        self._transaction.rollback()
        self._connection.close()
        self._engine.dispose()


def _in_thread(target: object) -> threading.Thread:
    thread = threading.Thread(target=target)  # type: ignore[arg-type]
    thread.start()
    return thread


def test_recording_does_not_wait_for_the_chain_lock(database: Database, audit: AuditLog,
                                                    postgres_url: str) -> None:
    held = HeldChainLock(postgres_url)
    try:
        started = time.monotonic()
        with database.transaction() as session:
            audit.record(session, "synthesis", "tenant_a", generation_id="g1")
        assert time.monotonic() - started < 2.0  # committed while the lock is held

        appended = threading.Event()

        def append() -> None:
            with database.transaction() as session:
                audit.append(session, "consent.started", "tenant_a", consent_id="c1")
            appended.set()

        thread = _in_thread(append)
        assert not appended.wait(1.0)  # a direct append does wait for the lock
    finally:
        held.release()
    thread.join(10)
    assert appended.is_set()
    with database.transaction(write=False) as session:
        kinds = [row.kind for row in session.execute(
            select(AuditEventRow).order_by(AuditEventRow.seq)).scalars()]
    # the append chained the pending event first, keeping commit order
    assert kinds == ["synthesis", "consent.started"]


def test_pending_events_from_many_writers_are_all_chained_in_order(
        database: Database, audit: AuditLog) -> None:
    def writer(index: int) -> None:
        for n in range(25):
            with database.transaction() as session:
                audit.record(session, "synthesis", f"tenant_{index}", generation_id=f"g{index}-{n}")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with database.transaction(write=False) as session:
        assert session.execute(select(AuditEventRow.seq).limit(1)).first() is None
        pending_ids = [row.id for row in session.execute(
            select(AuditPendingRow).order_by(AuditPendingRow.id)).scalars()]
    assert len(pending_ids) == 200
    assert AuditLog.chain_pending(database) == 200
    assert AuditLog.chain_pending(database) == 0
    report = AuditLog.verify(database)
    assert report.ok and report.events == 200
    events = list(AuditLog.events(database, "tenant_3"))
    assert [e["fields"]["generation_id"] for e in events] == [f"g3-{n}" for n in range(25)]
    assert all(e["at"] == "2026-12-03T12:00:00+00:00" for e in events)


def test_verify_and_listing_include_events_not_yet_chained(database: Database,
                                                           audit: AuditLog) -> None:
    with database.transaction() as session:
        audit.record(session, "synthesis.failed", "tenant_b", generation_id="g9", reason="cancelled")
    assert [e["kind"] for e in AuditLog.events(database, "tenant_b")] == ["synthesis.failed"]
    assert AuditLog.verify(database).events == 1
