"""Migrations, on SQLite and PostgreSQL: they build exactly ``tables.py``, and ``make_engine`` brings any
database it can use to head (new, behind, or made by ``create_all`` before migrations) and refuses the rest."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, create_engine, func, insert, inspect, select, text

from moderation.storage import make_engine, transaction
from moderation.storage.migrations import BASELINE, SchemaError, _baseline_columns, alembic_config, head, revision_of
from moderation.storage.tables import AttributeScoreRow, Base, CommentRow, ScoreRow


@pytest.fixture
def bare(database_url: str) -> Iterator[Engine]:
    """An engine on the empty database that touches no schema by itself."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def test_the_migrations_build_exactly_the_tables_module(bare: Engine) -> None:
    with bare.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
        assert revision_of(connection) == head()
        assert _diff(connection) == []


def test_every_migration_downgrades_to_nothing_and_back(bare: Engine) -> None:
    with bare.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
        command.downgrade(alembic_config(connection), "base")
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        command.upgrade(alembic_config(connection), "head")
        assert _diff(connection) == []


def test_a_new_database_is_created_at_head_and_left_alone_after(bare: Engine, database_url: str) -> None:
    for _ in range(2):
        make_engine(database_url).dispose()
    with bare.connect() as connection:
        assert revision_of(connection) == head()
        assert _diff(connection) == []


def _errors_when_run_at_once(work: Callable[[], object], threads: int = 4) -> list[BaseException]:
    """What ``work`` raised when started on ``threads`` threads together."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return errors


def test_concurrent_starts_on_a_new_database_migrate_it_once(bare: Engine, database_url: str) -> None:
    assert _errors_when_run_at_once(lambda: make_engine(database_url).dispose()) == []
    with bare.connect() as connection:
        assert revision_of(connection) == head()
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_engines_starting_together_on_new_sqlite_files_all_switch_it_to_wal(tmp_path: Path) -> None:
    # Switching a new file to WAL answered "database is locked" without waiting in about one such start in
    # ten; many fresh files make the race show.
    for round_ in range(100):
        url = f"sqlite:///{tmp_path / f'store-{round_}.db'}"

        def start(url: str = url) -> None:
            engine = make_engine(url, migrate=False)
            try:
                engine.connect().close()
            finally:
                engine.dispose()

        assert _errors_when_run_at_once(start) == []
        with create_engine(url).connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _legacy_schema(connection: Connection) -> None:
    """articles, comments and scores as ``create_all`` made them before migrations: unnamed constraints,
    no ``alembic_version``, one stored comment with scores."""
    legacy = MetaData()
    for name in ("articles", "comments", "scores"):
        table = Base.metadata.tables[name].to_metadata(legacy)
        for constraint in table.constraints:
            constraint.name = None
    legacy.create_all(connection)
    # Only the baseline's columns: later revisions add theirs on top.
    baseline = _baseline_columns()
    for name in ("articles", "comments", "scores"):
        for column in legacy.tables[name].columns:
            if column.name not in baseline[name]:
                connection.execute(text(f"ALTER TABLE {name} DROP COLUMN {column.name}"))
    articles, comments, scores = (legacy.tables[name] for name in ("articles", "comments", "scores"))
    now = func.current_timestamp()
    connection.execute(
        insert(articles).values(
            id=1, key="k", captions=[], body=[], source_format="text", extra={}, excluded=[], created_at=now,
            updated_at=now,
        )
    )  # fmt: skip
    connection.execute(
        insert(comments).values(
            id=1, article_id=1, source_id="c1", text="hi", position=0, created_at=now, updated_at=now
        )
    )
    connection.execute(
        insert(scores).values(
            id=1, comment_id=1, model="m", sentiment="neutral", toxicity=0.9, scored_at=now,
            detail={"attributes": {"TOXICITY": 0.9, "INSULT": 0.7}},
        )
    )  # fmt: skip


def test_a_database_from_before_migrations_is_adopted_with_its_rows(bare: Engine, database_url: str) -> None:
    with bare.begin() as connection:
        _legacy_schema(connection)
    engine = make_engine(database_url)
    with transaction(engine) as session:
        assert session.scalar(select(CommentRow.text)) == "hi"
        # v0003 adds the languages: unknown (NULL) for comments stored before it.
        assert session.execute(select(CommentRow.language, CommentRow.language_confidence)).one() == (None, None)
        assert session.scalar(select(ScoreRow.toxicity)) == pytest.approx(0.9)
        attributes = session.execute(
            select(AttributeScoreRow.attribute, AttributeScoreRow.value).order_by(AttributeScoreRow.attribute)
        ).all()
        assert [tuple(row) for row in attributes] == [("INSULT", pytest.approx(0.7)), ("TOXICITY", pytest.approx(0.9))]
    engine.dispose()
    with bare.connect() as connection:
        assert revision_of(connection) == head()
        assert _diff(connection) == []


def test_a_database_from_an_older_build_is_refused_untouched(bare: Engine, database_url: str) -> None:
    with bare.begin() as connection:
        _legacy_schema(connection)
        connection.execute(text("ALTER TABLE comments RENAME COLUMN parent TO parent_id"))
    with pytest.raises(SchemaError, match=r"not the baseline schema \(comments.parent missing; comments.parent_id"):
        make_engine(database_url)
    with bare.connect() as connection:
        assert "alembic_version" not in inspect(connection).get_table_names()
        assert "decisions" not in inspect(connection).get_table_names()


def test_a_database_from_a_newer_build_is_refused(bare: Engine, database_url: str) -> None:
    make_engine(database_url).dispose()
    with bare.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'v9999'"))
    with pytest.raises(SchemaError, match="at revision v9999, which this build does not know"):
        make_engine(database_url)


def test_a_database_one_revision_behind_is_upgraded(bare: Engine, database_url: str) -> None:
    with bare.begin() as connection:
        command.upgrade(alembic_config(connection), BASELINE)
    make_engine(database_url).dispose()
    with bare.connect() as connection:
        assert revision_of(connection) == head()
        assert _diff(connection) == []


def test_make_engine_can_leave_the_schema_alone(bare: Engine, database_url: str) -> None:
    make_engine(database_url, migrate=False).dispose()
    with bare.connect() as connection:
        assert inspect(connection).get_table_names() == []
