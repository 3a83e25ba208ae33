"""Engines and transactions: SQLite file by default (WAL), PostgreSQL (``postgresql+psycopg://``) by choice."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///moderation.db"


#: Longer than SQLite's busy handler ever sleeps between two tries (100 ms, sqliteDefaultBusyCallback).
_SQLITE_TURN_S = 0.12

#: How long a writer waits for SQLite's one write lock. An import holds it for one part at a time
#: (limits.PART_COMMENTS comments, about a second): writers queue behind a few others rather than fail.
_SQLITE_BUSY_TIMEOUT_S = 30.0


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(_SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    _use_wal(cursor)
    cursor.close()


def _use_wal(cursor: Any) -> None:
    """Put the file in WAL mode (readers never block the writer; the mode stays with the file). Switching
    answers "database is locked" at once, without the busy handler, while another connection has the new
    file open (four engines starting at once on one new database failed in 18 runs of 200), so the
    switch is retried as long as a write would wait."""
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(_SQLITE_TURN_S)


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


def lock_for_writing(session: Session) -> None:
    """Take SQLite's write lock now, unless the transaction holds it already: SQLite otherwise begins a
    transaction at its first write, and what was read before it may have changed by then (a moderator's
    decision committed between an import's read and its write). Waits up to the busy timeout like any write.
    PostgreSQL needs nothing here: there the rows read for writing are locked (``SELECT ... FOR UPDATE``,
    which SQLite ignores)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver: Any = connection.connection.dbapi_connection  # sqlite3.Connection
    if not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def give_way(engine: Engine) -> None:
    """Between two write transactions of one long job: on SQLite, pause just longer than a waiting writer
    sleeps between tries, so it gets the write lock. SQLite queues no one: a writer that commits and begins
    again at once keeps the lock from a waiting one until that one's busy timeout (30 s) runs out, and it
    fails with "database is locked" (measured: a 1 ms gap between 200 ms transactions locks others out,
    a 120 ms one lets them in at the next gap). PostgreSQL locks rows and needs no pause."""
    if engine.dialect.name == "sqlite":
        time.sleep(_SQLITE_TURN_S)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        yield session
