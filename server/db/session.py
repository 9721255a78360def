"""Database engine and transactional sessions for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Lock
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


class Database:
    """Owns the SQLAlchemy engine; hands out one session per unit of work.

    SQLite is opened in WAL mode with foreign keys on and a busy timeout, so the gRPC
    server's threads can read while one writes.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(parsed, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock: Lock | None = Lock() if self.dialect == "sqlite" else None

    @property
    def dialect(self) -> str:
        """Backend name: ``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error.

        SQLite allows one writer at a time and fails (rather than waits) when a
        transaction that has read tries to write after another writer committed, so
        write transactions of this process are serialised with a lock there.
        PostgreSQL needs no such lock.
        """
        if write and self._write_lock is not None:
            with self._write_lock, self._sessions() as session, session.begin():
                yield session
            return
        with self._sessions() as session, session.begin():
            yield session

    def discard_freed_pages(self) -> None:
        """Make deleted values unrecoverable from SQLite's files (after an erasure commits).

        ``secure_delete`` zeroes freed space in the database file, but the write-ahead
        log keeps the old page images until a checkpoint; a truncating checkpoint copies
        the log into the file and empties it. PostgreSQL keeps old row versions until
        VACUUM, which the operator schedules (docs/operations.md).
        """
        if self.dialect != "sqlite":
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
