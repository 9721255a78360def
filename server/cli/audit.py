"""``voxguard audit``: verify the audit hash chain and list events, read-only.

``verify`` exits 0 when the chain is intact and 1 when any event was altered, removed,
inserted or reordered (2 when it could not check at all), so it can run from cron or a
monitoring probe. Neither command writes to the database or creates anything.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from server.cli.local import add_data_dir_flag, local_settings, reports_errors
from server.cli.output import EXIT_CHECK_FAILED, add_json_flag, print_json, print_table
from server.config import Settings
from server.db.models import AuditEventRow
from server.db.session import Database
from server.errors import FailedPrecondition
from tenants.audit import AuditLog


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``audit`` command group."""
    audit = subparsers.add_parser("audit", help="verify and read the audit hash chain")
    commands = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    verify = commands.add_parser(
        "verify", help="recompute the hash chain; exit 1 if any event was altered or removed"
    )
    verify.add_argument(
        "--expect-head", metavar="HASH",
        help="a head hash printed by an earlier verify; fail if the chain no longer contains it",
    )
    listing = commands.add_parser("list", help="show the most recent audit events")
    listing.add_argument("--tenant", help="only this tenant's events")
    listing.add_argument("--limit", type=int, default=50, help="how many events (default 50)")
    for parser, handler in ((verify, _verify), (listing, _list)):
        add_json_flag(parser)
        add_data_dir_flag(parser)
        parser.set_defaults(handler=reports_errors(handler))


def open_existing_database(settings: Settings) -> Database:
    """The configured database, refusing to create an empty SQLite file by accident."""
    url = settings.resolved_database_url
    parsed = make_url(url)
    if (parsed.get_backend_name() == "sqlite" and parsed.database
            and not Path(parsed.database).exists()):
        raise FailedPrecondition(
            f"no voxguard database at {parsed.database}; set VOXGUARD_DATA_DIR (or "
            "--data-dir) to the server's data directory"
        )
    return Database(url)


def _verify(args: argparse.Namespace) -> int:
    expected = _head_hash(args.expect_head) if args.expect_head else None
    database = open_existing_database(local_settings(args))
    try:
        report = AuditLog.verify(database, expected)
    finally:
        database.dispose()
    if args.json:
        print_json({"ok": report.ok, "events_checked": report.events, "head_hash": report.head_hash,
                    "broken_seq": report.broken_seq, "reason": report.reason})
    elif report.ok:
        print(f"audit chain intact: {report.events} events checked, head hash {report.head_hash}")
    elif report.broken_seq is None:
        print(f"audit chain BROKEN: {report.reason}")
    else:
        print(f"audit chain BROKEN at event #{report.broken_seq}: {report.reason}")
        print(f"{report.events} events checked before the break; last good hash {report.head_hash}")
    return 0 if report.ok else EXIT_CHECK_FAILED


def _head_hash(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        value = b""
    if len(value) != 32:
        raise FailedPrecondition("--expect-head must be the 64 hex digits that verify printed")
    return value


def _list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise FailedPrecondition("--limit must be at least 1")
    database = open_existing_database(local_settings(args))
    query = select(AuditEventRow).order_by(AuditEventRow.seq.desc()).limit(args.limit)
    if args.tenant:
        query = query.where(AuditEventRow.tenant_id == args.tenant)
    try:
        AuditLog.chain_pending(database)  # committed synthesis events not yet chained
        with database.transaction(write=False) as session:
            rows = list(reversed(session.execute(query).scalars().all()))
            events = [_event(row) for row in rows]
    finally:
        database.dispose()
    if args.json:
        print_json(events)
    else:
        print_table(events, ["seq", "at", "kind", "tenant_id", "summary"])
    return 0


def _event(row: AuditEventRow) -> dict[str, object]:
    try:
        fields = json.loads(row.fields_json).get("fields", {})
    except (json.JSONDecodeError, AttributeError):
        fields = {"unreadable": row.fields_json}
    summary = " ".join(f"{k}={_short(v)}" for k, v in sorted(fields.items()))
    return {"seq": row.seq, "at": row.created_at, "kind": row.kind, "tenant_id": row.tenant_id,
            "fields": fields, "summary": summary, "hash": row.hash.hex()}


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."
