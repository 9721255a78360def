"""Audit hash chain: altered, removed, inserted, reordered and truncated events are found."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from server.crypto.chain import GENESIS_HASH, ChainEvent, chain_hash, verify_chain

START = datetime(2024, 1, 1, tzinfo=UTC)


def _build(n: int = 6, *, with_previous: bool = True) -> list[ChainEvent]:
    events, previous = [], GENESIS_HASH
    for i in range(n):
        fields = {"seq": i, "type": "synthesis", "tenant_id": "t1", "voice_id": f"v{i % 2}",
                  "text_sha256": f"{i:064x}", "at": START + timedelta(seconds=i)}
        digest = chain_hash(previous, fields)
        events.append(ChainEvent(fields, digest, previous if with_previous else None))
        previous = digest
    return events


@pytest.mark.parametrize("with_previous", [True, False])
def test_an_intact_chain_verifies(with_previous: bool) -> None:
    events = _build(with_previous=with_previous)
    result = verify_chain(events, expected_head=events[-1].hash, expected_count=len(events))
    assert result.ok and result.checked == 6 and result.head == events[-1].hash
    assert result.broken_index is None and result.reason is None
    assert verify_chain([]).ok


def test_chain_hash_is_deterministic_and_domain_separated() -> None:
    fields = {"a": 1}
    assert chain_hash(GENESIS_HASH, fields) == chain_hash(bytes(32), {"a": 1})
    assert chain_hash(GENESIS_HASH, fields) != chain_hash(b"\x01" * 32, fields)
    with pytest.raises(ValueError):
        chain_hash(b"short", fields)


@pytest.mark.parametrize("with_previous", [True, False])
def test_an_altered_event_is_found(with_previous: bool) -> None:
    events = _build(with_previous=with_previous)
    events[3] = replace(events[3], fields={**events[3].fields, "voice_id": "other"})
    result = verify_chain(events)
    assert (result.ok, result.broken_index, result.checked) == (False, 3, 3)
    assert "altered" in (result.reason or "")


@pytest.mark.parametrize("with_previous", [True, False])
def test_removed_inserted_and_reordered_events_are_found(with_previous: bool) -> None:
    events = _build(with_previous=with_previous)
    removed = events[:2] + events[3:]
    assert verify_chain(removed).broken_index == 2
    reordered = events[:1] + [events[2], events[1]] + events[3:]
    assert verify_chain(reordered).broken_index == 1
    inserted = events[:4] + [events[1]] + events[4:]
    assert verify_chain(inserted).broken_index == 4
    if with_previous:
        assert "removed, inserted or reordered" in (verify_chain(removed).reason or "")


def test_recomputed_forgery_after_edit_is_caught_by_the_next_link_or_the_head() -> None:
    events = _build()
    forged_fields = {**events[2].fields, "voice_id": "forged"}
    forged = replace(events[2], fields=forged_fields,
                     hash=chain_hash(events[1].hash, forged_fields))
    assert verify_chain([*events[:2], forged, *events[3:]]).broken_index == 3
    last = events[-1]
    tail_forged = replace(last, fields={**last.fields, "seq": 99},
                          hash=chain_hash(events[-2].hash, {**last.fields, "seq": 99}))
    result = verify_chain([*events[:-1], tail_forged], expected_head=last.hash)
    assert (result.ok, result.broken_index) == (False, len(events))


def test_truncated_tail_needs_the_expected_head_or_count() -> None:
    events = _build()
    assert verify_chain(events[:-2]).ok
    by_count = verify_chain(events[:-2], expected_count=len(events))
    by_head = verify_chain(events[:-2], expected_head=events[-1].hash)
    assert not by_count.ok and not by_head.ok
    assert by_count.broken_index == by_head.broken_index == len(events) - 2


def test_a_segment_verifies_from_its_start_hash() -> None:
    events = _build()
    assert verify_chain(events[3:], start_hash=events[2].hash).ok
    assert not verify_chain(events[3:]).ok
