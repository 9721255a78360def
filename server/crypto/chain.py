"""The audit hash chain: each event's hash commits to the previous hash and its fields.

``hash_n = SHA-256("voxguard-audit-chain-v1\\0" || hash_{n-1} || canonical_json(fields_n))``
with ``hash_{-1} = GENESIS_HASH`` (32 zero bytes). Changing any stored field changes that
event's hash; removing, inserting or reordering events breaks the link of the next one.
The database stores, per event, its fields, its hash and (recommended) the previous hash;
:func:`verify_chain` recomputes everything and names the first event that does not fit.

A chain alone cannot reveal that its newest events were cut off: keep the head hash and
count somewhere else as well (for example a receipt signed periodically with
:class:`~server.crypto.receipts.ReceiptSigner`) and pass them as ``expected_head`` /
``expected_count``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from server.crypto.canonical import canonical_json

GENESIS_HASH = bytes(32)
_DOMAIN = b"voxguard-audit-chain-v1\x00"


def chain_hash(previous_hash: bytes, event_fields: Mapping[str, Any]) -> bytes:
    """The 32-byte hash of an event appended after the event hashed ``previous_hash``."""
    if not isinstance(previous_hash, bytes) or len(previous_hash) != 32:
        raise ValueError("previous_hash must be 32 bytes (GENESIS_HASH for the first event)")
    return hashlib.sha256(_DOMAIN + previous_hash + canonical_json(dict(event_fields))).digest()


@dataclass(frozen=True)
class ChainEvent:
    """One stored event: its fields, its stored hash and, if stored, its previous hash."""

    fields: Mapping[str, Any]
    hash: bytes
    previous_hash: bytes | None = None


@dataclass(frozen=True)
class ChainVerification:
    """Outcome of :func:`verify_chain`.

    ``checked`` events verified before the first break; ``head`` is the hash of the last
    good event; ``broken_index`` (0-based position in the input) and ``reason`` are
    ``None`` when the whole chain is intact.
    """

    ok: bool
    checked: int
    head: bytes
    broken_index: int | None = None
    reason: str | None = None


def verify_chain(
    events: Iterable[ChainEvent],
    *,
    start_hash: bytes = GENESIS_HASH,
    expected_head: bytes | None = None,
    expected_count: int | None = None,
) -> ChainVerification:
    """Recompute the chain in order and report the first event that does not fit."""
    running = start_hash
    count = 0
    for index, event in enumerate(events):
        if event.previous_hash is not None and not hmac.compare_digest(
            event.previous_hash, running
        ):
            return ChainVerification(
                False, count, running, index,
                "previous_hash does not match the preceding event: an event before it was "
                "removed, inserted or reordered",
            )
        try:
            recomputed = chain_hash(running, event.fields)
        except (TypeError, ValueError) as exc:
            return ChainVerification(False, count, running, index, f"fields have no canonical encoding: {exc}")
        if not hmac.compare_digest(recomputed, event.hash):
            reason = (
                "stored hash does not match the event's fields: the event was altered"
                if event.previous_hash is not None
                else "hash does not match: the event was altered, or an event before it was "
                "removed, inserted or reordered"
            )
            return ChainVerification(False, count, running, index, reason)
        running = recomputed
        count += 1
    if expected_count is not None and count != expected_count:
        return ChainVerification(
            False, count, running, count,
            f"chain has {count} events but {expected_count} were expected: events are missing",
        )
    if expected_head is not None and not hmac.compare_digest(expected_head, running):
        return ChainVerification(
            False, count, running, count,
            "chain ends at a different head than expected: newest events removed or replaced",
        )
    return ChainVerification(True, count, running)
