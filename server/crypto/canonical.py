"""Canonical JSON: one byte encoding per value, for signatures and hash chains.

Rules: object keys sorted, no insignificant whitespace, UTF-8 (non-ASCII kept as is),
no NaN or infinity. Timezone-aware ``datetime`` values become ISO 8601 UTC strings ending
in ``Z`` (microseconds kept when present); naive datetimes, bytes, sets and non-string keys
are refused, because guessing their encoding would make the same event hash differently
on two code paths (encode bytes as hex, store times timezone-aware).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any


def format_utc(moment: datetime) -> str:
    """ISO 8601 UTC text of an aware datetime, e.g. ``2024-05-01T12:00:00Z``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"datetime {moment.isoformat()} has no timezone; pass timezone-aware (UTC) times"
        )
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    """Inverse of :func:`format_utc` (an aware UTC datetime, microseconds kept)."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _normalise(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: NaN and infinity have no canonical JSON form")
        return value
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: object keys must be strings, got {type(key).__name__}")
            out[key] = _normalise(item, f"{where}.{key}")
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_normalise(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"{where}: {type(value).__name__} has no canonical JSON form "
        "(use str, int, float, bool, None, list, dict or an aware datetime; hex-encode bytes)"
    )


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 JSON encoding of ``value`` (see module docstring for the rules)."""
    return json.dumps(
        _normalise(value, "value"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")
