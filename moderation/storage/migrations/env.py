"""Alembic's environment: always handed an open connection by :func:`moderation.storage.migrations.upgrade`
(or by ``python -m moderation.storage.migrations``), never configured from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from moderation.storage.tables import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():  # a no-op inside the caller's transaction
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run them against a database")
run_migrations(context.config.attributes["connection"])
