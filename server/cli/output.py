"""Printing for the CLI: human-readable lines by default, JSON for scripts, one error format.

Every command prints its result to stdout and problems to stderr as ``error: ...``; a
command that fails returns exit code 2 (1 is reserved for "checked, and the answer is
no", e.g. a broken audit chain or a receipt that does not verify).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_ERROR = 2


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Give a command the ``--json`` switch."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON (datetimes as ISO 8601 UTC)."""
    print(json.dumps(value, indent=2, sort_keys=True, default=_json_default))


def print_table(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> None:
    """Print rows as aligned columns with a header; ``(none)`` for no rows."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    if not cells:
        print("(none)")
        return
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def fail(message: str) -> int:
    """Print ``error: message`` on stderr and return the error exit code."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def format_time(moment: datetime | None) -> str:
    """A compact UTC timestamp, or ``-`` when unset."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def receipt_lines(payload_json: bytes | str) -> list[str]:
    """A human summary of a signed deletion receipt's payload (what was destroyed, when)."""
    contents = json.loads(payload_json)
    fields = contents.get("fields", {})
    lines = [
        (f"receipt {fields.get('receipt_id', '?')} ({fields.get('action', '?')}), "
        f"issued {contents.get('issued_at', '?')} by signing key {contents.get('key_id', '?')}"),
        f"  tenant:          {fields.get('tenant_id', '?')}",
        f"  voices deleted:  {', '.join(fields.get('voice_ids', [])) or '(none)'}",
        f"  consents:        {', '.join(fields.get('consent_ids', [])) or '(none)'}",
        f"  keys destroyed:  {', '.join(fields.get('destroyed_keys', [])) or '(none)'}",
        *([f"  already gone:    {', '.join(fields['already_destroyed_keys'])}"]
          if fields.get("already_destroyed_keys") else []),
        f"  blobs erased:    {', '.join(fields.get('erased_blob_prefixes', [])) or '(none)'}",
    ]
    if "audit_seq" in fields:
        lines.append(f"  audit event:     #{fields['audit_seq']}")
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
