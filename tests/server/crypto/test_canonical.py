"""Canonical JSON: stable bytes, explicit refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from server.crypto.canonical import canonical_json


def test_key_order_and_whitespace_do_not_matter() -> None:
    assert canonical_json({"b": 1, "a": [1, 2, {"d": None, "c": True}]}) == (
        b'{"a":[1,2,{"c":true,"d":null}],"b":1}'
    )
    assert canonical_json({"name": "Zoë"}) == '{"name":"Zoë"}'.encode()


def test_aware_datetimes_become_the_same_utc_text() -> None:
    utc = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    plus_two = utc.astimezone(timezone(timedelta(hours=2)))
    assert canonical_json({"t": utc}) == canonical_json({"t": plus_two}) == (
        b'{"t":"2024-05-01T12:00:00Z"}'
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"t": datetime(2024, 5, 1)}, ValueError),
        ({"x": float("nan")}, ValueError),
        ({"x": b"raw"}, TypeError),
        ({"x": {1, 2}}, TypeError),
        ({1: "non-string key"}, TypeError),
    ],
)
def test_values_without_one_encoding_are_refused(value: object, error: type) -> None:
    with pytest.raises(error):
        canonical_json(value)
