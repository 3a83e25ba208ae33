"""The store, on SQLite and PostgreSQL: threads round-trip, re-imports update in place, scores are replaced
per model, and the moderation desk's listings filter and page.

Every test taking ``engine`` or ``database_url`` runs once per database. PostgreSQL runs when
``MODERATION_TEST_POSTGRES_URL`` names a server (``.ci/run`` starts one): each test gets its own schema
there, dropped afterwards. Without it those runs skip, and fail under ``CI``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from moderation import Article, Comment, CommentScores, InputError, Thread
from moderation.extraction import extract_path
from moderation.scores import LabelScores
from moderation.storage import make_engine, repository, transaction
from moderation.storage.migrations import alembic_config
from moderation.storage.repository import CommentFilter
from moderation.storage.tables import AttributeScoreRow, AuditRow, CommentRow, DecisionRow, ScoreRow, ThreadRow
from tests.conftest import EXAMPLE


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
        thread_id = repository.save_thread(session, thread).id
    with transaction(engine) as session:
        assert repository.load_thread(session, thread_id) == thread


def test_reimporting_the_same_thread_updates_and_never_duplicates(engine: Engine) -> None:
    thread = extract_path(EXAMPLE)
    for _ in range(2):
        with transaction(engine) as session:
            repository.save_thread(session, thread)
    assert (_count(engine, ThreadRow), _count(engine, CommentRow)) == (1, 1)
    changed = thread.model_copy(deep=True)
    changed.comments[0].votes.up = 7
    with transaction(engine) as session:
        thread_id = repository.save_thread(session, changed).id
    with transaction(engine) as session:
        stored = repository.load_thread(session, thread_id)
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
        saved = repository.save_thread(session, thread)
        repository.save_scores(session, saved, thread, [_scores(0.2)], "model-a")
        repository.save_scores(session, saved, thread, [_scores(0.9)], "model-a")
        repository.save_scores(session, saved, thread, [_scores(0.4)], "model-b")
        thread_id = saved.id
    assert _count(engine, ScoreRow) == 2
    with transaction(engine) as session:
        scores = repository.comment_scores(session, thread_id, model="model-a")
    assert scores[thread.comments[0].id].attributes["TOXICITY"] == pytest.approx(0.9)


def test_a_failed_transaction_stores_nothing(engine: Engine) -> None:
    thread = extract_path(EXAMPLE)
    with pytest.raises(ValueError, match="one score per comment"), transaction(engine) as session:
        saved = repository.save_thread(session, thread)
        repository.save_scores(session, saved, thread, [], "model-a")
    assert _count(engine, ThreadRow) == 0


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_comment_times_keep_their_instant_across_the_store(engine: Engine) -> None:
    thread = extract_path(EXAMPLE)
    comment = thread.comments[0]
    comment.published_raw = "Dec. 18 04:15 pm JST"
    comment.published = datetime(2023, 12, 18, 16, 15, tzinfo=timezone(timedelta(hours=9)))
    with transaction(engine) as session:
        thread_id = repository.save_thread(session, thread).id
    with transaction(engine) as session:
        stored = repository.load_thread(session, thread_id)
    assert stored is not None
    assert stored.comments[0].published == datetime(2023, 12, 18, 7, 15, tzinfo=timezone.utc)


def test_replies_and_replies_to_excluded_comments_round_trip(engine: Engine) -> None:
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
        thread_id = repository.save_thread(session, thread).id
    with transaction(engine) as session:
        assert repository.load_thread(session, thread_id) == thread


# --- attribute scores, listings, decisions, the queue and the audit log ---------------------------------------


def _label(label: str, labels: tuple[str, ...]) -> LabelScores:
    return LabelScores(label=label, probabilities={name: 1.0 if name == label else 0.0 for name in labels})


def _rich_scores(
    toxicity: float, insult: float = 0.0, *, stance: str = "neutral", sentiment: str = "neutral"
) -> CommentScores:
    return CommentScores(
        sentiment=_label(sentiment, ("negative", "neutral", "positive")),
        stance=_label(stance, ("against", "neutral", "favor")),
        toxicity=LabelScores(label="toxic", probabilities={"not_toxic": 1 - toxicity, "toxic": toxicity}),
        attributes={"TOXICITY": toxicity, "INSULT": insult},
    )


def _thread(name: str, n: int) -> Thread:
    return Thread(
        article=Article(title=f"Story {name}", url=f"https://example.org/{name}"),
        comments=[Comment(id=f"{name}{i}", text=f"comment {i}", position=i) for i in range(n)],
        source_format="json",
    )


def _store(session: Session, thread: Thread, scores: list[CommentScores], model: str = "m") -> ThreadRow:
    saved = repository.save_thread(session, thread)
    repository.save_scores(session, saved, thread, scores, model)
    return saved


def test_each_attribute_is_stored_as_a_row_and_replaced_with_its_score(engine: Engine) -> None:
    thread = _thread("a", 1)
    with transaction(engine) as session:
        _store(session, thread, [_rich_scores(0.3, 0.6)])
        _store(session, thread, [_rich_scores(0.1, 0.2)], model="other")
    with transaction(engine) as session:
        _store(session, thread, [CommentScores.model_validate({**_rich_scores(0.9).model_dump(), "attributes": {}})])
    with transaction(engine) as session:
        rows = session.execute(
            select(ScoreRow.model, AttributeScoreRow.attribute, AttributeScoreRow.value)
            .join(ScoreRow, ScoreRow.id == AttributeScoreRow.score_id)
            .order_by(ScoreRow.model, AttributeScoreRow.attribute)
        ).all()
        toxicity = session.scalar(select(ScoreRow.toxicity).where(ScoreRow.model == "m"))
    # Model m's INSULT is gone with its new scores; TOXICITY comes from the toxicity head when no attribute names it.
    assert [tuple(row) for row in rows] == [
        ("m", "TOXICITY", pytest.approx(0.9)),
        ("other", "INSULT", pytest.approx(0.2)),
        ("other", "TOXICITY", pytest.approx(0.1)),
    ]
    assert toxicity == pytest.approx(0.9)


def test_articles_are_listed_newest_first_a_page_at_a_time(engine: Engine) -> None:
    with transaction(engine) as session:
        ids = [repository.save_thread(session, _thread(name, 1)).id for name in "abc"]
    with transaction(engine) as session:
        first = repository.list_threads(session, limit=2)
        assert [a.id for a in first.items] == ids[::-1][:2] and first.next_cursor
        second = repository.list_threads(session, cursor=first.next_cursor, limit=2)
        assert [a.id for a in second.items] == ids[:1] and second.next_cursor is None
        assert repository.list_threads(session).items[0].id == ids[-1]


def _filtered_thread(engine: Engine) -> tuple[int, list[int]]:
    """Six comments: toxicity rises with position, stance and sentiment alternate, some decided."""
    thread = _thread("f", 6)
    scores = [
        _rich_scores(
            i / 10,
            insult=0.9 if i == 1 else 0.0,
            stance="against" if i % 2 else "favor",
            sentiment="negative" if i < 3 else "positive",
        )
        for i in range(6)
    ]
    with transaction(engine) as session:
        saved = _store(session, thread, scores)
        rows = sorted(saved.comments, key=lambda c: c.position)
        for row, decision in zip(rows, ["approve", "review", "review", "reject"], strict=False):
            repository.save_decision(session, row, decision, decided_by=repository.POLICY, policy_digest="p1")
        return saved.id, [row.id for row in rows]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (CommentFilter(), [0, 1, 2, 3, 4, 5]),
        (CommentFilter(decision="review"), [1, 2]),
        (CommentFilter(min_scores={"TOXICITY": 0.3}), [3, 4, 5]),
        (CommentFilter(min_scores={"TOXICITY": 0.1, "INSULT": 0.5}), [1]),
        (CommentFilter(min_scores={"SEVERE_TOXICITY": 0.0}), []),
        (CommentFilter(stance="against"), [1, 3, 5]),
        (CommentFilter(stance="against", sentiment="negative"), [1]),
        (CommentFilter(decision="review", min_scores={"TOXICITY": 0.2}, sentiment="negative"), [2]),
        (CommentFilter(stance="against", model="other"), []),
        (CommentFilter(stance="against", model="m"), [1, 3, 5]),
        (CommentFilter(min_scores={"TOXICITY": 0.4}, model="m"), [4, 5]),
    ],
)
def test_comments_are_filtered_by_decision_attribute_stance_and_sentiment(
    engine: Engine, filters: CommentFilter, expected: list[int]
) -> None:
    thread_id, ids = _filtered_thread(engine)
    with transaction(engine) as session:
        page = repository.list_comments(session, thread_id, filters)
    assert [c.id for c in page.items] == [ids[i] for i in expected]
    assert page.next_cursor is None


def test_filtered_comments_page_in_thread_order_with_decisions_and_scores_loaded(engine: Engine) -> None:
    thread_id, ids = _filtered_thread(engine)
    filters = CommentFilter(min_scores={"TOXICITY": 0.1})
    seen: list[int] = []
    cursor: str | None = None
    with transaction(engine) as session:
        while True:
            page = repository.list_comments(session, thread_id, filters, cursor=cursor, limit=2)
            seen += [c.id for c in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        last = page.items[-1]
    assert seen == ids[1:]
    assert last.decision is None and [s.model for s in last.scores] == ["m"]


def test_a_stored_comment_carries_its_newest_scores_and_its_decision_and_no_row(engine: Engine) -> None:
    with transaction(engine) as session:
        saved = _store(session, _thread("s", 1), [_rich_scores(0.2)], model="old")
        repository.save_scores(session, saved, _thread("s", 1), [_rich_scores(0.7)], "new")
        comment_id = saved.comments[0].id
        repository.save_decision(session, saved.comments[0], "review", decided_by="policy", reasons=[{"code": "x"}])
    with transaction(engine) as session:
        stored = repository.get_comment(session, comment_id)
        assert repository.get_comment(session, comment_id + 999) is None
        [listed] = repository.thread_comments(session, saved.id).items
    assert stored == listed and stored is not None
    assert (stored.id, stored.source_id, stored.text, stored.position) == (comment_id, "s0", "comment 0", 0)
    assert stored.scores is not None and stored.scores.model == "new"
    assert stored.scores.scores.attributes["TOXICITY"] == pytest.approx(0.7)
    assert stored.decision is not None
    assert (stored.decision.action, stored.decision.decided_by, stored.decision.reasons) == (
        "review",
        "policy",
        [{"code": "x"}],
    )


def test_decisions_replace_the_earlier_one_and_refuse_unknown_values(engine: Engine) -> None:
    with transaction(engine) as session:
        comment = _store(session, _thread("d", 1), [_rich_scores(0.5)]).comments[0]
        repository.save_decision(
            session, comment, "review", decided_by="policy", reasons=[{"attribute": "TOXICITY"}], policy_digest="p1"
        )
        row = repository.save_decision(session, comment, "reject", decided_by="alice", note="abusive")
        with pytest.raises(InputError, match="unknown decision"):
            repository.save_decision(session, comment, "maybe", decided_by="alice")
    with transaction(engine) as session:
        [stored] = session.scalars(select(DecisionRow))
        assert (stored.id, stored.decision, stored.decided_by, stored.note) == (row.id, "reject", "alice", "abusive")
        assert (stored.reasons, stored.policy_digest) == ([], None)
        assert stored.decided_at.tzinfo is timezone.utc


def test_the_database_refuses_a_decision_outside_the_three(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    with transaction(engine) as session:
        comment_id = _store(session, _thread("d", 1), [_rich_scores(0.5)]).comments[0].id
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(DecisionRow(comment_id=comment_id, decision="maybe", decided_by="x"))


def test_the_policy_redecides_its_own_stale_decisions_and_never_a_moderators(engine: Engine) -> None:
    with transaction(engine) as session:
        comments = sorted(_store(session, _thread("p", 4), [_rich_scores(0.1)] * 4).comments, key=lambda c: c.id)
        repository.save_decision(session, comments[0], "approve", decided_by="policy", policy_digest="old")
        repository.save_decision(session, comments[1], "approve", decided_by="policy", policy_digest="new")
        repository.save_decision(session, comments[2], "reject", decided_by="alice")
        ids = [c.id for c in comments]
    with transaction(engine) as session:
        assert [c.id for c in repository.comments_to_decide(session, "new")] == [ids[0], ids[3]]
        assert [c.id for c in repository.comments_to_decide(session, "new", after=ids[0])] == [ids[3]]
        assert [c.id for c in repository.comments_to_decide(session, "new", thread_id=ids[0] + 999)] == []


def test_the_queue_holds_review_decisions_riskiest_first_a_page_at_a_time(engine: Engine) -> None:
    # Risk is the highest attribute: comment 1's INSULT (0.9) outranks comment 4's TOXICITY (0.4).
    thread_id, ids = _filtered_thread(engine)
    with transaction(engine) as session:
        for i in (4, 5):
            repository.save_decision(session, session.get_one(CommentRow, ids[i]), "review", decided_by="policy")
        other = _store(session, _thread("o", 2), [_rich_scores(0.4), _rich_scores(0.95)], model="other")
        for row in other.comments:
            repository.save_decision(session, row, "review", decided_by="policy")
        unscored = repository.save_thread(session, _thread("u", 1)).comments[0]
        repository.save_decision(session, unscored, "review", decided_by="alice")
        other_ids = sorted(c.id for c in other.comments)
    expected = [other_ids[1], ids[1], ids[5], ids[4], other_ids[0], ids[2], unscored.id]
    with transaction(engine) as session:
        seen: list[tuple[int, float]] = []
        cursor: str | None = None
        while True:
            page = repository.review_queue(session, cursor=cursor, limit=4)  # the 0.4 tie straddles pages
            seen += [(item.comment.id, item.risk) for item in page.items]
            if (cursor := page.next_cursor) is None:
                break
        assert [comment_id for comment_id, _ in seen] == expected
        assert [risk for _, risk in seen] == pytest.approx([0.95, 0.9, 0.5, 0.4, 0.4, 0.2, 0.0])
        only = repository.review_queue(session, thread_id=thread_id, model="m")
        assert [item.comment.id for item in only.items] == [ids[1], ids[5], ids[4], ids[2]]
        assert only.items[0].thread.id == only.items[0].comment.thread_id == thread_id
        assert only.items[0].comment.decision is not None


def test_a_bad_cursor_or_limit_is_the_callers_error(engine: Engine) -> None:
    with transaction(engine) as session:
        for _ in range(2):
            repository.save_thread(session, _thread("c", 1))
            repository.save_thread(session, _thread("d", 1))
        threads_page = repository.list_threads(session, limit=1)
        assert threads_page.next_cursor is not None
        for cursor in ("not a cursor", "W10", threads_page.next_cursor + "x"):
            with pytest.raises(InputError, match="invalid cursor"):
                repository.list_threads(session, cursor=cursor)
        with pytest.raises(InputError, match="invalid cursor for queue"):
            repository.review_queue(session, cursor=threads_page.next_cursor)
        for limit in (0, 1001):
            with pytest.raises(InputError, match="limit"):
                repository.list_audit(session, limit=limit)


def test_the_audit_log_appends_lists_newest_first_and_refuses_changes(engine: Engine) -> None:
    with transaction(engine) as session:
        for i in range(5):
            repository.append_audit(
                session, "comment.decided", actor="policy", subject_type="comment", subject_id=i, payload={"i": i}
            )
        repository.append_audit(session, "thread.stored", actor="cli", subject_type="thread", subject_id=1)
    with transaction(engine) as session:
        first = repository.list_audit(session, limit=4)
        assert [row.action for row in first.items] == ["thread.stored"] + ["comment.decided"] * 3
        rest = repository.list_audit(session, cursor=first.next_cursor, limit=4)
        assert [row.payload for row in rest.items] == [{"i": 1}, {"i": 0}] and rest.next_cursor is None
        assert [r.subject_id for r in repository.list_audit(session, subject_type="comment", subject_id=3).items] == [
            "3"
        ]
        assert len(repository.list_audit(session, action="thread.stored").items) == 1
        row_id = first.items[0].id
        assert first.items[0].at.tzinfo is timezone.utc
    for change in ("update", "delete"):
        with pytest.raises(RuntimeError, match="append-only"), transaction(engine) as session:
            row = session.get_one(AuditRow, row_id)
            if change == "update":
                row.actor = "mallory"
            else:
                session.delete(row)
    with transaction(engine) as session:
        assert session.get_one(AuditRow, row_id).actor == "cli"


def test_audit_entries_written_as_article_read_and_filter_as_thread(engine: Engine) -> None:
    """Entries stored before "article" became "thread" stay as written (the log is append-only) and are read,
    and found by a filter, under the word that names them now."""
    with transaction(engine) as session:
        repository.append_audit(session, "thread.stored", actor="cli", subject_type="article", subject_id=1)
        repository.append_audit(session, "thread.stored", actor="cli", subject_type="thread", subject_id=2)
        repository.append_audit(session, "comment.decided", actor="policy", subject_type="comment", subject_id=3)
    with transaction(engine) as session:
        found = repository.list_audit(session, subject_type="thread").items
        assert [(e.subject_type, e.subject_id) for e in found] == [("thread", "2"), ("thread", "1")]
        assert session.scalars(select(AuditRow.subject_type).order_by(AuditRow.id)).all()[:2] == ["article", "thread"]


def test_deleting_a_thread_removes_its_comments_records_but_not_their_audit(engine: Engine) -> None:
    with transaction(engine) as session:
        saved = _store(session, _thread("x", 2), [_rich_scores(0.5), _rich_scores(0.6)])
        for row in saved.comments:
            repository.save_decision(session, row, "review", decided_by="policy")
            repository.append_audit(
                session, "comment.decided", actor="policy", subject_type="comment", subject_id=row.id
            )
        thread_id = saved.id
    with transaction(engine) as session:
        session.execute(delete(ThreadRow).where(ThreadRow.id == thread_id))  # the database's cascade
    assert [_count(engine, t) for t in (CommentRow, ScoreRow, AttributeScoreRow, DecisionRow)] == [0, 0, 0, 0]
    assert _count(engine, AuditRow) == 2


@pytest.mark.parametrize("made_by", ["create_all", "migrations"])
def test_the_database_itself_refuses_to_change_or_delete_audit_rows(database_url: str, made_by: str) -> None:
    """Not only the ORM: raw SQL and Core statements are refused too, in a database made new (``create_all``)
    or brought up by the migrations."""
    if made_by == "migrations":
        bare = create_engine(database_url)
        with bare.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        bare.dispose()
    engine = make_engine(database_url)
    try:
        with transaction(engine) as session:
            repository.append_audit(session, "thread.stored", actor="cli", subject_type="thread", subject_id=1)
        changes = [update(AuditRow).values(actor="mallory"), delete(AuditRow), text("DELETE FROM audit_log")]
        if engine.dialect.name == "postgresql":
            changes.append(text("TRUNCATE audit_log"))
        for change in changes:
            with pytest.raises(IntegrityError, match="append-only"), engine.begin() as connection:
                connection.execute(change)
        with transaction(engine) as session:
            assert list(session.scalars(select(AuditRow.actor))) == ["cli"]
    finally:
        engine.dispose()
