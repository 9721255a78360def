"""Alembic migrations produce exactly the schema the SQLAlchemy models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server.db.migrate import current_revision, upgrade
from server.db.models import Base
from server.db.session import Database


def test_migrations_match_the_models(database_url: str) -> None:
    database = Database(database_url)
    try:
        upgrade(database.engine)
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
        tables = set(inspect(database.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert current_revision(database.engine) is not None
    finally:
        database.dispose()


def test_upgrade_is_idempotent(database_url: str) -> None:
    database = Database(database_url)
    try:
        upgrade(database.engine)
        first = current_revision(database.engine)
        upgrade(database.engine)
        assert current_revision(database.engine) == first
    finally:
        database.dispose()
