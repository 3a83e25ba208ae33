"""The store: threads round-trip, re-imports update in place, scores are replaced per model."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from moderation import CommentScores, LabelScores, Thread, extract_path
from moderation.storage import make_engine, repository, transaction
from moderation.storage.tables import ArticleRow, CommentRow, ScoreRow
from tests.conftest import EXAMPLE


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'store.db'}")


def _scores(toxic: float) -> CommentScores:
    return CommentScores(
        sentiment=LabelScores(label="negative", probabilities={"negative": 0.7, "neutral": 0.2, "positive": 0.1}),
        stance=LabelScores(label="against", probabilities={"against": 0.5, "neutral": 0.3, "favor": 0.2}),
        toxicity=LabelScores(
            label="toxic" if toxic > 0.5 else "not_toxic", probabilities={"not_toxic": 1 - toxic, "toxic": toxic}
        ),
        attributes={"TOXICITY": toxic},
    )


def _count(engine: Engine, table: type) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_thread_round_trips_unchanged(engine: Engine) -> None:
    thread = extract_path(EXAMPLE)
    with transaction(engine) as session:
        article_id = repository.save_thread(session, thread).id
    with transaction(engine) as session:
        assert repository.load_thread(session, article_id) == thread


def test_reimporting_the_same_thread_updates_and_never_duplicates(engine: Engine) -> None:
    thread = extract_path(EXAMPLE)
    for _ in range(2):
        with transaction(engine) as session:
            repository.save_thread(session, thread)
    assert (_count(engine, ArticleRow), _count(engine, CommentRow)) == (1, 1)
    changed = thread.model_copy(deep=True)
    changed.comments[0].votes.up = 7
    with transaction(engine) as session:
        article_id = repository.save_thread(session, changed).id
    with transaction(engine) as session:
        stored = repository.load_thread(session, article_id)
    assert stored is not None and stored.comments[0].votes.up == 7
    assert _count(engine, CommentRow) == 1


def test_comments_missing_from_a_later_partial_import_are_kept(engine: Engine) -> None:
    thread = extract_path(EXAMPLE)
    with transaction(engine) as session:
        repository.save_thread(session, thread)
    partial = Thread(article=thread.article, comments=[], source_format="text", announced_comments=1)
    with transaction(engine) as session:
        repository.save_thread(session, partial)
    assert _count(engine, CommentRow) == 1


def test_scores_are_replaced_per_model_and_kept_across_models(engine: Engine) -> None:
    thread = extract_path(EXAMPLE)
    with transaction(engine) as session:
        article = repository.save_thread(session, thread)
        repository.save_scores(session, article, thread, [_scores(0.2)], "model-a")
        repository.save_scores(session, article, thread, [_scores(0.9)], "model-a")
        repository.save_scores(session, article, thread, [_scores(0.4)], "model-b")
        article_id = article.id
    assert _count(engine, ScoreRow) == 2
    with transaction(engine) as session:
        scores = repository.comment_scores(session, article_id, model="model-a")
    assert scores[thread.comments[0].id].attributes["TOXICITY"] == pytest.approx(0.9)


def test_a_failed_transaction_stores_nothing(engine: Engine) -> None:
    thread = extract_path(EXAMPLE)
    with pytest.raises(ValueError, match="one score per comment"), transaction(engine) as session:
        article = repository.save_thread(session, thread)
        repository.save_scores(session, article, thread, [], "model-a")
    assert _count(engine, ArticleRow) == 0


def test_sqlite_runs_in_wal_mode(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_comment_times_keep_their_instant_across_the_store(engine: Engine) -> None:
    thread = extract_path(EXAMPLE)
    comment = thread.comments[0]
    comment.published_raw = "Dec. 18 04:15 pm JST"
    comment.published = datetime(2023, 12, 18, 16, 15, tzinfo=timezone(timedelta(hours=9)))
    with transaction(engine) as session:
        article_id = repository.save_thread(session, thread).id
    with transaction(engine) as session:
        stored = repository.load_thread(session, article_id)
    assert stored is not None
    assert stored.comments[0].published == datetime(2023, 12, 18, 7, 15, tzinfo=timezone.utc)


def test_replies_and_replies_to_excluded_comments_round_trip(engine: Engine) -> None:
    from moderation import Article, Comment
    from moderation.thread import ExcludedItem

    thread = Thread(
        article=Article(title="Export", url="https://example.org/export"),
        comments=[
            Comment(id="1", text="top", position=0),
            Comment(id="2", parent="1", parent_source_id="1", text="reply", position=1),
            Comment(id="4", parent=None, parent_source_id="3", text="answers a deleted one", position=2),
        ],
        excluded=[ExcludedItem(source_id="3", kind="deleted", reason="isDeleted=true")],
        source_format="disqus",
    )
    with transaction(engine) as session:
        article_id = repository.save_thread(session, thread).id
    with transaction(engine) as session:
        assert repository.load_thread(session, article_id) == thread
