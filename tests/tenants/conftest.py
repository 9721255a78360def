"""A platform (no gRPC, no workers) on a temp data dir with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.config import Settings
from server.platform import Platform


class MovableClock:
    """UTC clock that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def platform(tmp_path: Path, clock: MovableClock, database_url: str) -> Iterator[Platform]:
    settings = Settings.load(data_dir=tmp_path / "data", database_url=database_url,
                             admin_token="vxa_unit-test-operator-token-0000000000",
                             consent_verify_statement=False)
    opened = Platform.open(settings, clock=clock)
    yield opened
    opened.db.dispose()
