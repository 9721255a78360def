"""Shared fixtures: databases (a real SQLite file and, when configured, real PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_URL_ENV = "VOXGUARD_TEST_POSTGRES_URL"

# Platform tests (servers, workers, CLI) run on the first-generation `embedded` engine: it
# enrolls in 2 s and speaks at 0.03x real time, against 6 s and 0.28x for the default
# `embedded-neural`, which has its own engine tests and end-to-end server tests
# (tests/server/engines/neural, tests/server/grpc_app/test_neural_server.py). Set before
# any server or worker starts, so child processes inherit it; a test may still override it.
os.environ.setdefault("VOXGUARD_ENGINE", "embedded")


def _postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_URL_ENV) or None


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of a PostgreSQL server for tests; CI sets it, locally the tests are skipped."""
    url = _postgres_admin_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_URL_ENV} must be set in CI so the PostgreSQL tests run")
        pytest.skip(f"set {POSTGRES_URL_ENV} to run the PostgreSQL tests")
    return url


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards."""
    name = f"voxguard_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_postgres_database(postgres_server_url) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A real SQLite file in the test's temporary directory."""
    return f"sqlite:///{tmp_path / 'voxguard.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")
