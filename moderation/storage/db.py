"""Engines and transactions: SQLite file by default (WAL), PostgreSQL (``postgresql+psycopg://``) by choice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///moderation.db"


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # First: switching to WAL may wait for another connection. SQLite has one writer at a time, and a busy
    # server's store of a few hundred comments can hold it for seconds: writers queue for up to 30 s
    # rather than fail ("database is locked") behind two or three others.
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.close()


def make_engine(url: str = DEFAULT_DATABASE_URL, *, migrate: bool = True) -> Engine:
    """An engine for ``url`` whose schema is brought to the newest migration unless ``migrate`` is False.

    A new database is created at head; an older one is migrated; one this build cannot migrate
    safely raises :class:`SchemaError`, changing nothing (``storage/migrations`` says which are which).
    """
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        from moderation.storage.migrations import upgrade  # Alembic loads only when a schema is checked

        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        yield session
