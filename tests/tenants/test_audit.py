"""The audit hash chain detects altered, removed and reordered events."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from server.db.models import AuditEventRow
from server.platform import Platform


def _events(platform: Platform, count: int) -> None:
    for index in range(count):
        platform.tenants.create(f"Tenant {index}")


def test_intact_chain_verifies(platform: Platform) -> None:
    _events(platform, 3)
    report = platform.audit.verify(platform.db)
    assert report.ok and report.events >= 3 and len(report.head_hash) == 64


def test_altered_event_is_named(platform: Platform) -> None:
    _events(platform, 4)
    with platform.db.transaction() as session:
        row = session.execute(select(AuditEventRow).order_by(AuditEventRow.seq).offset(1).limit(1)).scalar_one()
        row.fields_json = row.fields_json.replace("Tenant 1", "Tenant X")
        target = row.seq
    report = platform.audit.verify(platform.db)
    assert not report.ok and report.broken_seq == target and "altered" in (report.reason or "")


def test_changed_column_outside_the_json_is_detected(platform: Platform) -> None:
    _events(platform, 2)
    with platform.db.transaction() as session:
        session.execute(update(AuditEventRow).where(AuditEventRow.seq == 1).values(kind="tenant.deleted"))
    assert not platform.audit.verify(platform.db).ok


def test_removed_event_is_detected(platform: Platform) -> None:
    _events(platform, 4)
    with platform.db.transaction() as session:
        session.execute(delete(AuditEventRow).where(AuditEventRow.seq == 2))
    report = platform.audit.verify(platform.db)
    assert not report.ok and report.broken_seq == 3



def test_verify_streams_the_chain_instead_of_loading_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """10 MB of events are verified with a few MB of memory (rows stream in batches)."""
    import tracemalloc
    from datetime import UTC, datetime

    from server.db.migrate import upgrade
    from server.db.session import Database
    from tenants.audit import AuditLog

    database = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(database.engine)
    log = AuditLog(lambda: datetime(2026, 1, 1, tzinfo=UTC))
    padding = "x" * 2_000
    with database.transaction() as session:
        for n in range(5_000):
            log.append(session, "synthesis", "tenant_a", n=n, padding=padding)
    tracemalloc.start()
    report = AuditLog.verify(database)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    database.dispose()
    assert report.ok and report.events == 5_000
    assert peak < 9_000_000, f"verify peaked at {peak / 1e6:.1f} MB for 10 MB of events"
