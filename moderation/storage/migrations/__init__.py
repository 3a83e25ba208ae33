"""The schema's history: Alembic revisions in ``versions/``, run from code (no ``alembic.ini``).

:func:`upgrade` is what :func:`moderation.storage.make_engine` calls. By the database's state:

- **at head**: one query to ``alembic_version``, nothing else;
- **empty** (none of our tables, no ``alembic_version``): ``create_all`` from ``tables.py``, stamped at
  head. This is the fast path tests and new installs take; ``tests/test_migrations.py`` checks that
  running every revision builds exactly the same schema, on SQLite and PostgreSQL;
- **behind**: the missing revisions run, in one transaction;
- **made by** ``create_all`` **before migrations existed** (our tables, no ``alembic_version``): when
  the tables and their columns are exactly those of the baseline revision ``v0001`` (the builds since
  parent and parent_source_id were named so), the database is stamped at the baseline and upgraded,
  keeping its rows (on SQLite its three tables are first copied into the baseline's definition, whose
  constraints have names). Anything else (an older build's columns, half a schema) raises
  :class:`SchemaError` naming the difference, and nothing is changed: guessing could lose rows;
- **at a revision this build does not know** (a newer build migrated it): :class:`SchemaError`.

One process migrates at a time: PostgreSQL takes a transaction-level advisory lock, SQLite its
write lock (``BEGIN IMMEDIATE``); the state is read again under the lock, and DDL is transactional
on both, so a failed migration leaves the database as it was. SQLite migrates with foreign keys off
(copying a table must not cascade) and checks them all before committing.

A new revision, after changing ``tables.py``::

    .venv/bin/python -m moderation.storage.migrations revision -m "what changed"

writes ``versions/v000N_what_changed.py`` from the difference (review it before committing).
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, create_engine, inspect, text

from moderation.errors import SchemaError
from moderation.storage.tables import Base

__all__ = ["BASELINE", "SchemaError", "alembic_config", "head", "revision_of", "script_directory", "upgrade"]

HERE = Path(__file__).resolve().parent
#: The revision matching what ``create_all`` made before migrations existed.
BASELINE = "v0001"
_PG_LOCK = 0x6D6F6465726174  # any constant bigint: the advisory lock taken while migrating


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code; env.py migrates ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


@functools.cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision this build knows."""
    revision = script_directory().get_current_head()
    assert revision is not None
    return revision


def revision_of(connection: Connection) -> str | None:
    """The database's revision: None when it has no ``alembic_version``."""
    heads = MigrationContext.configure(connection).get_current_heads()
    if len(heads) > 1:
        raise SchemaError(f"the database is at several revisions at once ({', '.join(heads)})")
    return heads[0] if heads else None


def upgrade(engine: Engine) -> None:
    """Bring the database at ``engine`` to :func:`head` (see the module docstring for each case)."""
    with engine.connect() as connection:
        if revision_of(connection) == head():
            return
        connection.rollback()
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # SQLite alters a table by copying it; dropping the old copy must not cascade
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            _lock(connection)
            _upgrade_locked(connection, engine.url.render_as_string(hide_password=True))
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                raise SchemaError("the migration left rows whose foreign keys point nowhere; nothing was changed")
            connection.commit()
        finally:
            connection.rollback()
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    elif connection.dialect.name == "sqlite":
        # pysqlite begins transactions only before DML; this makes the DDL below one transaction too.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade_locked(connection: Connection, where: str) -> None:
    current = revision_of(connection)
    if current == head():
        return
    if current is not None and current not in {script.revision for script in script_directory().walk_revisions()}:
        raise SchemaError(f"{where} is at revision {current}, which this build does not know (a newer build's?)")
    if current is None:
        ours = set(Base.metadata.tables) & set(inspect(connection).get_table_names())
        if not ours:
            Base.metadata.create_all(connection)
            MigrationContext.configure(connection).stamp(script_directory(), "head")
            return
        _adopt_baseline(connection, ours, where)
    command.upgrade(alembic_config(connection), "head")


def _adopt_baseline(connection: Connection, ours: set[str], where: str) -> None:
    """Stamp a database made by ``create_all`` at the baseline, if it is exactly the baseline."""
    expected = _baseline_columns()
    inspector = inspect(connection)
    found = {table: {column["name"] for column in inspector.get_columns(table)} for table in ours}
    problems = [f"no table {table}" for table in sorted(expected.keys() - found.keys())]
    problems += [f"table {table} is not in the baseline" for table in sorted(found.keys() - expected.keys())]
    for table in sorted(expected.keys() & found.keys()):
        missing, extra = expected[table] - found[table], found[table] - expected[table]
        problems += [f"{table}.{column} missing" for column in sorted(missing)]
        problems += [f"{table}.{column} unknown" for column in sorted(extra)]
    if problems:
        raise SchemaError(
            f"{where} has tables but no migration history, and they are not the baseline schema "
            f"({'; '.join(problems)}): another build (or a person) made it. Nothing was changed; move it "
            "aside (or delete it) and this build creates a new one."
        )
    context = MigrationContext.configure(connection)
    context.stamp(script_directory(), BASELINE)
    if connection.dialect.name == "sqlite":
        # create_all left SQLite's constraints unnamed; copy each table into the baseline's own
        # definition so later migrations find the names they expect (PostgreSQL named them alike).
        operations = Operations(context)
        for definition in _baseline_tables().sorted_tables:
            with operations.batch_alter_table(definition.name, recreate="always", copy_from=definition):
                pass


def _baseline_columns() -> dict[str, frozenset[str]]:
    tables = _baseline_tables().tables
    return {name: frozenset(column.name for column in table.columns) for name, table in tables.items()}


@functools.cache
def _baseline_tables() -> MetaData:
    """The baseline revision's tables, reflected from a scratch SQLite database migrated to it."""
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as connection:
            command.upgrade(alembic_config(connection), BASELINE)
            metadata = MetaData()
            metadata.reflect(connection)
            metadata.remove(metadata.tables["alembic_version"])
            return metadata
    finally:
        scratch.dispose()
